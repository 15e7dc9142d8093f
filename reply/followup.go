package reply

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"
)

// Follow-up reminders (spec §5.5): a reminder mail's Reply-To carries a
// token bound to a follow-up (id "fu-" + the lower-cased follow-up id); a
// reply whose first line is `done` or `wont do REASON` closes it as the
// person whose configured address sent the reply, if that is its owner.

// FollowupTokenPrefix starts the token id of a follow-up reminder.
const FollowupTokenPrefix = "fu-"

// FollowupTokenID is the token id of follow-up id ("INC-42-F1" → "fu-inc-42-f1").
func FollowupTokenID(followupID string) string {
	return FollowupTokenPrefix + strings.ToLower(followupID)
}

// FollowupOf is the follow-up id a token id names, if it names one.
func FollowupOf(tokenID string) (string, bool) {
	if !strings.HasPrefix(tokenID, FollowupTokenPrefix) {
		return "", false
	}
	return strings.ToUpper(tokenID[len(FollowupTokenPrefix):]), true
}

// FollowupRef is the follow-up a reminder reply is about.
type FollowupRef struct {
	ID         string
	Title      string
	Owner      string // user id
	OwnerEmail string // where the reminder went
	Status     string
}

// FollowupReply is a parsed `done` / `wont do` reply.
type FollowupReply struct {
	ID      string // follow-up to close: the token's, or one named in the line
	From    string // sender address
	Status  string // "done" | "wont_do"
	Note    string
	DedupID string
}

// ErrNotOwner refuses a close from anyone but the follow-up's owner.
var ErrNotOwner = errors.New("not the follow-up's owner")

// FollowupBackend is what the SMTP server needs for follow-up replies.
type FollowupBackend interface {
	// FollowupForToken verifies a Reply-To token; ok is false when the
	// token (verified or not) names no follow-up, so the caller treats it
	// as a page token.
	FollowupForToken(token string, now time.Time) (ref FollowupRef, ok bool, err error)
	// CloseFollowup commits the close as the user whose address sent it.
	// Errors wrap ErrNotOwner, incident.ErrConflict (already closed; the
	// message says by whom), incident.ErrNotFound or ErrTransient.
	CloseFollowup(ctx context.Context, r FollowupReply) (FollowupRef, error)
}

var followupIDRe = regexp.MustCompile(`(?i)^inc-\d+-f\d+$`)

// ParseFollowupLine reads `done [INC-42-F2]`, `wont do REASON` (also
// `won't do`, `wontdo`) from the first line of a reply. id is a follow-up
// named after `done`, else "".
func ParseFollowupLine(line string) (status, note, id string, ok bool) {
	line = strings.TrimSpace(line)
	words := strings.Fields(line)
	if len(words) == 0 {
		return "", "", "", false
	}
	first := strings.ToLower(strings.TrimRight(words[0], ".!,:"))
	switch {
	case first == "done":
		if len(words) > 1 && followupIDRe.MatchString(strings.TrimRight(words[1], ".!,:")) {
			id = strings.ToUpper(strings.TrimRight(words[1], ".!,:"))
		}
		return "done", line, id, true
	case first == "wontdo" || first == "wont_do":
		return "wont_do", strings.TrimSpace(strings.Join(words[1:], " ")), "", true
	case (first == "wont" || first == "won't" || first == "won’t") && len(words) > 1 && strings.EqualFold(strings.TrimRight(words[1], ".!,:"), "do"):
		return "wont_do", strings.TrimSpace(strings.Join(words[2:], " ")), "", true
	}
	return "", "", "", false
}

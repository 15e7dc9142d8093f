package reply

import (
	"context"
	"strings"
	"time"
)

// Plan review reminders (spec §5.5): a review reminder's Reply-To carries
// a token bound to the service (id "rv-" + the service id); a reply whose
// first line is `reviewed [note]` records a review of the service's
// continuity plan as the person whose configured address sent it, if that
// is the service's owner or continuity manager.

// ReviewTokenPrefix starts the token id of a plan review reminder.
const ReviewTokenPrefix = "rv-"

// ReviewTokenID is the token id of a review reminder of service.
func ReviewTokenID(service string) string { return ReviewTokenPrefix + service }

// ReviewOf is the service a token id names, if it names one.
func ReviewOf(tokenID string) (string, bool) {
	if !strings.HasPrefix(tokenID, ReviewTokenPrefix) {
		return "", false
	}
	return tokenID[len(ReviewTokenPrefix):], true
}

// ReviewRef is the service a review reply is about.
type ReviewRef struct {
	Service    string
	Name       string
	Owner      string
	Manager    string
	OwnerEmail string
	// DueAt is the next review's due date (after a recorded review).
	DueAt *time.Time
}

// ReviewReply is a parsed `reviewed [note]` reply.
type ReviewReply struct {
	Service string
	From    string
	Note    string
	// DedupID names the reply (message id and token) so a retried
	// delivery records one review.
	DedupID string
}

// ReviewBackend is what the SMTP server needs for review replies.
type ReviewBackend interface {
	// ReviewForToken verifies a Reply-To token; ok is false when the token
	// names no review (the caller tries the others).
	ReviewForToken(token string, now time.Time) (ref ReviewRef, ok bool, err error)
	// RecordReview commits the review as the user whose address sent it.
	// Errors wrap ErrNotOwner, incident.ErrNotFound or ErrTransient.
	RecordReview(ctx context.Context, r ReviewReply) (ReviewRef, error)
}

// ParseReviewLine reads `reviewed [note]` from the first line of a reply.
func ParseReviewLine(line string) (note string, ok bool) {
	words := strings.Fields(line)
	if len(words) == 0 || !strings.EqualFold(strings.TrimRight(words[0], ".!,:"), "reviewed") {
		return "", false
	}
	return strings.TrimSpace(strings.Join(words[1:], " ")), true
}

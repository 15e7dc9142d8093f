package reply

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/pagerd/pagerd/incident"
)

// ActionUpdate posts a status update (spec §5.5: SMS `3u TEXT` internal,
// `3p TEXT` public; email `update: TEXT`, `public: TEXT`). The audience and
// text travel in Command, EmailReply and Request.
const ActionUpdate = "update"

// MaxUpdateText is the longest update text a reply posts: the API's limit
// on an update's message (POST /v1/incidents/{id}/updates refuses more).
// A follower forwards a reply's update to the leader through that API, so
// a longer text would be refused there but committed when the leader took
// the reply itself. An SMS is shorter anyway (MaxSMSLen); an email's first
// line is clipped to it.
const MaxUpdateText = 4000

// smsUpdateRe is "<code>u TEXT" or "<code>p TEXT" (code optional, one space
// allowed after it); TEXT keeps its case and must not be empty.
var smsUpdateRe = regexp.MustCompile(`(?is)^\s*(\d*)\s?([up])\s+(\S.*?)\s*$`)

// parseUpdateSMS reads an update reply; ok is false when body is not one.
// A body of only letters u/p and a word ("u ok") is an update: "u" and "p"
// are no other command.
func parseUpdateSMS(body string) (Command, bool, error) {
	m := smsUpdateRe.FindStringSubmatch(body)
	// The regexp's \S is ASCII; Unicode spaces (U+00A0, U+0085) pass it, so
	// text of only those is empty too.
	if m == nil || strings.TrimSpace(m[3]) == "" {
		return Command{}, false, nil
	}
	cmd := Command{Action: ActionUpdate, Audience: incident.AudienceInternal, Text: strings.TrimSpace(m[3])}
	if strings.EqualFold(m[2], "p") {
		cmd.Audience = incident.AudiencePublic
	}
	if m[1] != "" {
		code, problem := parseCode(m[1])
		if problem != "" {
			return Command{}, true, smsHelpErr(body, problem)
		}
		cmd.Code, cmd.HasCode = code, true
	}
	return cmd, true, nil
}

// emailUpdateRe is "update: TEXT" or "public: TEXT" at the start of the
// first line of new text.
var emailUpdateRe = regexp.MustCompile(`(?i)^\s*(update|public)\s*:\s*(\S.*?)\s*$`)

// parseUpdateLine reads an email update line; ok is false when line is
// not one.
func parseUpdateLine(line string) (audience, text string, ok bool) {
	m := emailUpdateRe.FindStringSubmatch(line)
	if m == nil || strings.TrimSpace(m[2]) == "" { // see parseUpdateSMS on \S
		return "", "", false
	}
	text = clipTo(strings.TrimSpace(m[2]), MaxUpdateText)
	if strings.EqualFold(m[1], "public") {
		return incident.AudiencePublic, text, true
	}
	return incident.AudienceInternal, text, true
}

// UpdateHelp is the SMS grammar of updates, for answers.
func UpdateHelp(code int) string {
	c := strconv.Itoa(code)
	return c + "u TEXT posts an internal update, " + c + "p TEXT a public one."
}

package reply

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// Text helpers shared by the reply transports' answers (TwiML, emails).

// ConflictText turns "transition not allowed: cannot acknowledge INC-42:
// already resolved by bob at T" into "Cannot acknowledge INC-42: already
// resolved by bob at T."
func ConflictText(err error) string {
	s := err.Error()
	if i := strings.Index(s, incident.ErrConflict.Error()+": "); i >= 0 {
		s = s[i+len(incident.ErrConflict.Error())+2:]
	}
	s = OneLine(s)
	if s == "" {
		return "That is not possible in the incident's current state."
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// OrElse is s, or def when s is empty.
func OrElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// OneLine makes s safe for one line of an answer or a header (see
// notify.OneLine, which the pages use).
func OneLine(s string) string { return notify.OneLine(s) }

// Shorten cuts s to n runes, marking the cut with an ellipsis.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRightFunc(string(r[:n]), unicode.IsSpace) + "…"
}

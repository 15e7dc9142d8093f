package reply

import (
	"errors"
	"strconv"
	"strings"

	"github.com/pagerd/pagerd/notify"
)

// maxHelpListed bounds how many open pages a help answer lists.
const maxHelpListed = 5

// SMSHelp is the answer to HELP/INFO: the phone's own open codes and every
// command for them — ack, resolve, escalate, and the practice words of
// spec §5.5 (severity, roles, updates). pages are the phone's open SMS pages
// (Backend.PagesForPhone). The answer stays within notify.MaxSMSSegments
// segments, as pages do: fewer open pages are listed when it would not fit
// (the commands are never cut).
func SMSHelp(pages []Page) string {
	return helpWithin("", pages, true)
}

// SMSAnswer is the answer to a body ParseSMS refused: its problem, then the
// phone's own codes (SMSHelp) where the parser could only give generic help.
// The practice words follow only when they fit the segment budget beside
// the problem (which echoes the input, and may force UCS-2); otherwise the
// answer points at HELP. An error that is not a parse error answers with
// its text.
func SMSAnswer(err error, pages []Page) string {
	var se *SMSError
	if !errors.As(err, &se) {
		return err.Error()
	}
	if se.problem == "" {
		return se.msg // already names the code the person used
	}
	return helpWithin(se.problem+" ", pages, false)
}

// Tails of a help answer, in order of preference.
const (
	tailPractice = iota // the practice words (severity, roles, updates)
	tailPointer         // "Send HELP for the others."
	tailNone
)

// helpWithin is prefix + the help for pages, within MaxSMSSegments
// segments where it can be: it lists as many open pages as fit and, unless
// practice is required (the HELP answer), trades the practice words for a
// pointer to HELP, then for nothing, when they do not fit. A prefix that
// alone is too long (an echoed input can force UCS-2) gets the shortest.
func helpWithin(prefix string, pages []Page, practice bool) string {
	tails := []int{tailPractice, tailPointer, tailNone}
	if practice {
		tails = tails[:1]
	}
	var last string
	for _, tail := range tails {
		for n := min(len(pages), maxHelpListed); n >= 0; n-- {
			last = prefix + helpText(pages, n, tail)
			if notify.SMSSegments(last) <= notify.MaxSMSSegments {
				return last
			}
			if len(pages) <= 1 {
				break // nothing to list away
			}
		}
	}
	return last
}

// helpText is the help listing the first listed of pages, ending in tail.
func helpText(pages []Page, listed int, tail int) string {
	code := 1 // the example code when the phone has no open page
	if len(pages) > 0 {
		code = pages[0].Code
	}
	end := ""
	switch tail {
	case tailPractice:
		end = " Also " + practiceHelp(code)
	case tailPointer:
		end = " Send HELP for more."
	}
	if len(pages) == 0 {
		return "You have no open pages. Each page SMS says its code: reply e.g. 1a to acknowledge, 1r to resolve, 1e to escalate." +
			end + " STOP turns SMS pages off."
	}
	c := strconv.Itoa(code)
	cmds := "Reply " + c + "a to acknowledge, " + c + "r to resolve, " + c + "e to escalate " + OneLine(pages[0].Key)
	if len(pages) == 1 {
		return cmds + "." + end
	}
	return listPages(pages, listed) + cmds + "; the same with another code for another page." + end
}

// listPages is "Open pages: 2 = INC-7, 1 = INC-4, +3 more. ", or "5 open
// pages. " when none are listed.
func listPages(pages []Page, listed int) string {
	if listed == 0 {
		return strconv.Itoa(len(pages)) + " open pages. "
	}
	var b strings.Builder
	b.WriteString("Open pages: ")
	for i, p := range pages[:listed] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p.Code) + " = " + OneLine(p.Key))
	}
	if rest := len(pages) - listed; rest > 0 {
		b.WriteString(", +" + strconv.Itoa(rest) + " more")
	}
	b.WriteString(". ")
	return b.String()
}

// practiceHelp names the practice replies of spec §5.5 for code: severity,
// roles (the built-in role words) and updates (UpdateHelp).
func practiceHelp(code int) string {
	c := strconv.Itoa(code)
	return c + "s1/" + c + "s2/" + c + "s3 sets the severity, " + c + "im/" + c + "tl/" + c + "cm takes a role, " + UpdateHelp(code)
}

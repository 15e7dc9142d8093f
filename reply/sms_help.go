package reply

import (
	"errors"
	"strconv"
	"strings"
)

// maxHelpListed bounds how many open pages a help answer lists, so it stays
// one or two SMS segments.
const maxHelpListed = 5

// SMSHelp is the answer to HELP, and the tail of every answer to a reply the
// parser refused: the phone's own open codes and what to send for them.
// pages are the phone's open SMS pages (Backend.PagesForPhone).
func SMSHelp(pages []Page) string {
	if len(pages) == 0 {
		return "You have no open pages. Each page SMS says its code: reply e.g. 1a to acknowledge, 1r to resolve, 1e to escalate. STOP turns SMS pages off."
	}
	c := strconv.Itoa(pages[0].Code)
	cmds := "Reply " + c + "a to acknowledge, " + c + "r to resolve, " + c + "e to escalate"
	if len(pages) == 1 {
		return cmds + " " + OneLine(pages[0].Key) + "."
	}
	var b strings.Builder
	b.WriteString("Open pages: ")
	for i, p := range pages {
		if i == maxHelpListed {
			b.WriteString(", +" + strconv.Itoa(len(pages)-maxHelpListed) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p.Code) + " = " + OneLine(p.Key))
	}
	b.WriteString(". " + cmds + " " + OneLine(pages[0].Key) + "; the same with another code for another page.")
	return b.String()
}

// SMSAnswer is the answer to a body ParseSMS refused: its problem, then the
// phone's own codes (SMSHelp) where the parser could only give generic help.
// An error that is not a parse error answers with its text.
func SMSAnswer(err error, pages []Page) string {
	var se *SMSError
	if !errors.As(err, &se) {
		return err.Error()
	}
	if se.problem == "" {
		return se.msg // already names the code the person used
	}
	return se.problem + " " + SMSHelp(pages)
}

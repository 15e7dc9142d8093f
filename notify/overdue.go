package notify

import (
	"fmt"
	"strings"

	"github.com/pagerd/pagerd/incident"
)

// KindUpdateOverdue is Message.Kind of a status update reminder (issue 14):
// "INC-42: status update overdue", with the reply codes to post one.
const KindUpdateOverdue = incident.KindUpdateOverdue

// overdueSMS is the reminder SMS: what is overdue, and how to answer it
// (an update) or silence it (an ack).
func overdueSMS(m *Message) string {
	inc := m.Incident
	head := incidentKey(inc) + ": status update overdue"
	if t := OneLine(inc.Title); t != "" {
		head += " (" + t + ")"
	}
	tail := "."
	if c := OneLine(m.ReplyCode); c != "" {
		tail = fmt.Sprintf(". Reply %[1]su TEXT to post an internal update, %[1]sp TEXT a public one, %[1]sa to silence until the next deadline", c)
	}
	return fitSMS("", head, tail)
}

func overdueSubject(m *Message) string {
	return "[" + incidentKey(m.Incident) + "] status update overdue"
}

func writeOverdue(b *strings.Builder, m *Message) {
	inc := m.Incident
	fmt.Fprintf(b, "%s: status update overdue\n\n", incidentKey(inc))
	field(b, "Incident", inc.Title)
	field(b, "Severity", inc.Severity)
	field(b, "Service", inc.Service)
	field(b, "Phase", orDefault(inc.Phase, "none posted yet"))
	if n := len(inc.Updates); n > 0 {
		last := inc.Updates[n-1]
		field(b, "Last update", fmtTime(last.At)+" ("+last.Audience+"): "+last.Message)
	}
	if m.ReplyTo != "" {
		b.WriteString("\nReply with \"update: TEXT\" (internal) or \"public: TEXT\" as the first line to post an update, or ack to silence this reminder until the next deadline.\n")
	}
}

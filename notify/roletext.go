package notify

import (
	"fmt"
	"strings"

	"github.com/pagerd/pagerd/incident"
)

// Role notifications (incident.KindRolePage, KindRoleInstructions): the
// page says which role the incident needs and how to take it; the
// instructions say what the role's holder does.

func isRoleMessage(m *Message) bool {
	return m != nil && !m.IsSummary() && m.Incident != nil &&
		(m.Kind == incident.KindRolePage || m.Kind == incident.KindRoleInstructions)
}

// roleSMS is e.g. "INC-42 needs an Incident Manager: sev1 checkout:
// HighErrorRate. Reply 3im to take it", or the instructions.
func roleSMS(m *Message) string {
	inc := m.Incident
	if m.Kind == incident.KindRoleInstructions {
		return fitSMS("You are "+OneLine(m.RoleName)+" of "+incidentKey(inc)+": ", OneLine(m.Instructions), "")
	}
	head := incidentKey(inc) + " needs " + article(m.RoleName) + " " + OneLine(m.RoleName) + ": " + incidentHead(inc) + ": "
	tail := ""
	if code := OneLine(m.ReplyCode); code != "" {
		word := OneLine(m.RoleReply)
		if word == "" {
			word = "a"
		}
		tail = fmt.Sprintf(". Reply %s%s to take it", code, word)
	}
	return fitSMS(head, OneLine(inc.Title), tail)
}

func roleSubject(m *Message) string {
	if m.Kind == incident.KindRoleInstructions {
		return "[" + incidentKey(m.Incident) + "] You are " + OneLine(m.RoleName)
	}
	return "[" + incidentKey(m.Incident) + "] needs " + article(m.RoleName) + " " + OneLine(m.RoleName)
}

func writeRoleBody(b *strings.Builder, m *Message) {
	if m.Kind == incident.KindRoleInstructions {
		fmt.Fprintf(b, "You are now %s of %s.\n\n%s\n\n", OneLine(m.RoleName), incidentKey(m.Incident), strings.TrimSpace(m.Instructions))
	} else {
		fmt.Fprintf(b, "%s needs %s %s. The first person to take it holds it.\n\n",
			incidentKey(m.Incident), article(m.RoleName), OneLine(m.RoleName))
	}
	writeIncident(b, m.Incident, m.Step, m.Loop, m.BridgeURL)
	if m.Kind == incident.KindRolePage && m.ReplyTo != "" {
		word := OneLine(m.RoleReply)
		if word == "" {
			fmt.Fprintf(b, "\nTo take the role, reply to this email with ack as the first line.\n")
		} else {
			fmt.Fprintf(b, "\nTo take the role, reply to this email with \"take %s\" (or ack) as the first line.\n", word)
		}
	}
}

// article is "an" before a vowel sound's letter, else "a".
func article(name string) string {
	if name != "" && strings.ContainsRune("AEIOUaeiou", rune(name[0])) {
		return "an"
	}
	return "a"
}

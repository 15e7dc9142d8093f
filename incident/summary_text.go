package incident

import (
	"fmt"
	"strings"
	"time"
)

// Text renders the summary as the plain-text mail body (and the API's
// ?format=text, and `pagerd summary`). Lines end in "\n".
func (s *Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n\n", s.Key, s.Status, s.Title)
	line(&b, "Service", s.Service)
	line(&b, "Severity", s.Severity)
	line(&b, "Link", s.URL)
	line(&b, "Bridge", s.BridgeURL)
	b.WriteString("\n")
	dur := s.Duration.Text() + " from " + s.Duration.From
	if s.Duration.Ongoing {
		dur += " (ongoing)"
	}
	line(&b, "Duration", dur)
	line(&b, "Impact", timeOr(s.ImpactStartedAt, "not set"))
	line(&b, "Detected", stamp(s.DetectedAt))
	ack := "never"
	if s.AcknowledgedAt != nil {
		ack = stamp(*s.AcknowledgedAt) + " by " + s.AcknowledgedBy
		if s.TimeToAck != nil {
			ack += ", " + s.TimeToAck.Text() + " after paging began"
		}
	}
	line(&b, "Acknowledged", ack)
	line(&b, "Mitigated", timeOr(s.MitigatedAt, "not recorded"))
	res := "not yet"
	if s.ResolvedAt != nil {
		res = stamp(*s.ResolvedAt) + " by " + s.ResolvedBy
	}
	line(&b, "Resolved", res)

	b.WriteString("\nSeverity history:\n")
	for i, c := range s.SeverityHistory {
		what := "opened as " + c.To
		switch {
		case i > 0 && c.From != "":
			what = c.From + " -> " + c.To
		case i > 0:
			what = "set to " + c.To
		}
		fmt.Fprintf(&b, "  %s  %s by %s", stamp(c.At), what, c.By)
		if c.Note != "" {
			b.WriteString(": " + c.Note)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nPages by channel:\n")
	if len(s.Pages) == 0 {
		b.WriteString("  none\n")
	}
	for _, ch := range sortedKeys(s.Pages) {
		c := s.Pages[ch]
		fmt.Fprintf(&b, "  %s: %d sent, %d failed, %d cancelled", ch, c.Sent, c.Failed, c.Cancelled)
		if c.Queued > 0 {
			fmt.Fprintf(&b, ", %d queued", c.Queued)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	line(&b, "Paged", listOr(s.Paged))
	line(&b, "Responders", listOr(s.Responders))
	roles := make([]string, 0, len(s.Roles))
	for _, r := range sortedKeys(s.Roles) {
		roles = append(roles, r+": "+s.Roles[r])
	}
	line(&b, "Roles", listOr(roles))
	if len(s.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "  %s %s: %s\n", stamp(n.At), n.By, oneLine(n.Note))
		}
	}
	return b.String()
}

func line(b *strings.Builder, name, v string) {
	if v != "" {
		fmt.Fprintf(b, "%-13s %s\n", name+":", oneLine(v))
	}
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return stamp(*t)
}

func listOr(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// oneLine keeps a value from breaking the text's layout: people's notes and
// source titles may hold newlines.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

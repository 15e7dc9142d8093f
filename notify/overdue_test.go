package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// The reminder says what is overdue and how to answer it, in SMS and email.
func TestUpdateOverdueText(t *testing.T) {
	inc := &incident.Incident{ID: 42, Key: "INC-42", Title: "Checkout errors", Severity: "sev1", Service: "checkout", Phase: "identified",
		Updates: []incident.Update{{At: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), Audience: "internal", Message: "rolling back"}}}
	m := &Message{ID: "u42-1", Incident: inc, Kind: KindUpdateOverdue, ReplyCode: "3", ReplyTo: "tok@reply.example.com"}
	sms := SMSBody(m)
	for _, want := range []string{"INC-42: status update overdue (Checkout errors)", "3u TEXT", "3p TEXT", "3a to silence"} {
		if !strings.Contains(sms, want) {
			t.Errorf("SMS %q lacks %q", sms, want)
		}
	}
	if got := EmailSubject(m); got != "[INC-42] status update overdue" {
		t.Errorf("subject %q", got)
	}
	body := EmailBody(m)
	for _, want := range []string{"INC-42: status update overdue", "Phase:", "identified", "rolling back", `"update: TEXT"`, "pagerd notification u42-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
}

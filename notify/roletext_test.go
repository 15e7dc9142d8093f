package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pagerd/pagerd/incident"
)

func TestRolePageTexts(t *testing.T) {
	inc := &incident.Incident{Key: "INC-42", Title: "HighErrorRate", Service: "checkout", Severity: "sev1"}
	m := &Message{Incident: inc, ReplyCode: "3", Kind: incident.KindRolePage, Role: "incident_manager",
		RoleName: "Incident Manager", RoleReply: "im", ReplyTo: "tok@reply.example.com"}
	if got, want := SMSBody(m), "INC-42 needs an Incident Manager: INC-42 sev1 checkout: HighErrorRate. Reply 3im to take it"; got != want {
		t.Errorf("SMS %q, want %q", got, want)
	}
	if got, want := EmailSubject(m), "[INC-42] needs an Incident Manager"; got != want {
		t.Errorf("subject %q, want %q", got, want)
	}
	if body := EmailBody(m); !strings.Contains(body, `reply to this email with "take im" (or ack)`) || strings.Contains(body, "ack, resolve or escalate") {
		t.Errorf("body lacks the role reply help or offers incident actions:\n%s", body)
	}
	m = &Message{Incident: inc, Kind: incident.KindRoleInstructions, Role: "incident_manager", RoleName: "Incident Manager",
		Instructions: "Own the incident."}
	if got, want := SMSBody(m), "You are Incident Manager of INC-42: Own the incident."; got != want {
		t.Errorf("instructions SMS %q, want %q", got, want)
	}
}

func FuzzRoleSMS(f *testing.F) {
	f.Add("Incident Manager", "Own it", "3", "im", true)
	f.Add(strings.Repeat("é", 300), strings.Repeat("{", 900), "", "", false)
	f.Fuzz(func(t *testing.T, name, instructions, code, word string, page bool) {
		kind := incident.KindRoleInstructions
		if page {
			kind = incident.KindRolePage
		}
		m := &Message{Incident: &incident.Incident{Key: "INC-1", Title: instructions}, ReplyCode: code, Kind: kind,
			RoleName: name, RoleReply: word, Instructions: instructions}
		body := SMSBody(m)
		if n := SMSSegments(body); n < 1 || n > MaxSMSSegments || !utf8.ValidString(body) {
			t.Fatalf("%d segments or invalid UTF-8: %q", n, body)
		}
	})
}

package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

const testPublic = "https://pager.example.com/"

// TestPagesCarryConsoleLink: with public_url set, the SMS and the email
// page link to the incident's console page (spec §5.6); a long title is cut
// for the link, never the link or the reply instructions.
func TestPagesCarryConsoleLink(t *testing.T) {
	link := "https://pager.example.com/ui/incidents/INC-42"
	m := &Message{ID: "n42-1-0", Incident: testIncident(), ReplyCode: "3", PublicURL: testPublic}
	want := "INC-42 sev1 checkout: HighErrorRate - 3 alerts. " + link + " Reply 3a to ack, 3r to resolve, 3e to escalate"
	if got := SMSBody(m); got != want {
		t.Fatalf("SMSBody:\n got %q\nwant %q", got, want)
	}
	m.Incident.Title = strings.Repeat("Very long title ", 30)
	if got := SMSBody(m); !strings.Contains(got, link+" Reply 3a") || !smsFits(got) {
		t.Fatalf("long title: SMS %q lost the link or does not fit", got)
	}
	if body := EmailBody(m); !strings.Contains(body, "\nOpen INC-42 in pagerd: "+link+"\n") {
		t.Fatalf("email body lacks the console link:\n%s", body)
	}
	flood := &Message{ID: "s-1", Summary: []*incident.Incident{testIncident(), nil}, PublicURL: testPublic}
	if body := EmailBody(flood); !strings.Contains(body, "\n    "+link+"\n") {
		t.Fatalf("flood summary lacks the console link:\n%s", body)
	}
	// Without public_url nothing changes.
	if got := SMSBody(&Message{Incident: testIncident(), ReplyCode: "3"}); strings.Contains(got, "http") {
		t.Fatalf("SMS without public_url has a link: %q", got)
	}
}

func TestResolutionMail(t *testing.T) {
	inc := testIncident()
	resolved := inc.CreatedAt.Add(45 * time.Minute)
	inc.Status, inc.ResolvedAt, inc.ResolvedBy = incident.Resolved, &resolved, "alice"
	sum := incident.BuildSummary(inc, resolved, ConsoleLink(testPublic, inc))
	m := &Message{ID: "n42-summary-alice", Incident: inc, Resolution: sum, PublicURL: testPublic}
	if got := EmailSubject(m); got != "[INC-42] Summary: sev1 checkout: HighErrorRate" {
		t.Fatalf("subject %q", got)
	}
	body := EmailBody(m)
	for _, w := range []string{"INC-42 resolved: HighErrorRate", "Duration:     47m0s from detected_at",
		"Link:         https://pager.example.com/ui/incidents/INC-42"} {
		if !strings.Contains(body, w) {
			t.Errorf("resolution mail lacks %q:\n%s", w, body)
		}
	}
}

// FuzzSMSBodyWithConsoleLink: whatever the title, the public_url and the
// graph link, the SMS fits and keeps the reply instructions.
func FuzzSMSBodyWithConsoleLink(f *testing.F) {
	f.Add("HighErrorRate", testPublic, testGraph)
	f.Add(strings.Repeat("x", 400), "https://"+strings.Repeat("p", 300), "")
	f.Add("é\u2028", "https://p/\xff", "http://g/")
	f.Fuzz(func(t *testing.T, title, public, graph string) {
		inc := testIncident()
		inc.Title = title
		inc.Alerts[0].GeneratorURL = graph
		body := SMSBody(&Message{Incident: inc, ReplyCode: "3", PublicURL: public})
		if n := SMSSegments(body); n < 1 || n > MaxSMSSegments {
			t.Fatalf("%d segments: %q", n, body)
		}
		if !strings.HasSuffix(body, " Reply 3a to ack, 3r to resolve, 3e to escalate") {
			t.Fatalf("body %q lost the reply instructions", body)
		}
	})
}

// TestFloodBundleMarksResolutionSummaries: a resolution summary mail held
// by flood control goes out in the bundle, marked resolved, with its link.
func TestFloodBundleMarksResolutionSummaries(t *testing.T) {
	open, done := testIncident(), testIncident()
	done.ID, done.Key, done.Status = 43, "INC-43", incident.Resolved
	body := EmailBody(&Message{ID: "s-1", Summary: []*incident.Incident{open, done}, PublicURL: testPublic})
	for _, want := range []string{"2 incidents sent you messages in a short time", "  INC-42 sev1 checkout: HighErrorRate\n",
		"  INC-43 sev1 checkout resolved: HighErrorRate\n    https://pager.example.com/ui/incidents/INC-43\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("bundle lacks %q:\n%s", want, body)
		}
	}
}

package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const testGraph = "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"

// TestEmailBodyHasLinks: the email page carries each alert's graph link
// (Prometheus' generatorURL) and Alertmanager silence link.
func TestEmailBodyHasLinks(t *testing.T) {
	inc := testIncident()
	inc.Alerts[0].GeneratorURL = testGraph
	inc.Alerts[0].SilenceURL = "http://am:9093/#/silences/new?filter=%7Binstance%3D%22web-1%22%7D"
	body := EmailBody(&Message{ID: "n1", Incident: inc})
	for _, want := range []string{
		"  Graph: " + testGraph + "\n",
		"  Silence: http://am:9093/#/silences/new?filter=%7Binstance%3D%22web-1%22%7D\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("email body lacks %q:\n%s", want, body)
		}
	}
}

// TestSMSBodyGraphLinkOnlyWhenItFits: the SMS carries the firing alert's
// graph link before the reply instructions when the whole title still fits,
// and leaves it out rather than cut the title.
func TestSMSBodyGraphLinkOnlyWhenItFits(t *testing.T) {
	inc := testIncident()
	inc.Alerts[0].GeneratorURL = testGraph
	got := SMSBody(&Message{Incident: inc, ReplyCode: "3"})
	want := "INC-42 sev1 checkout: HighErrorRate - 3 alerts. " + testGraph + " Reply 3a to ack, 3r to resolve, 3e to escalate"
	if got != want {
		t.Fatalf("SMSBody:\n got %q\nwant %q", got, want)
	}

	inc.Title = strings.Repeat("Very long title ", 12) // fits alone, not with the link
	got = SMSBody(&Message{Incident: inc, ReplyCode: "3"})
	if strings.Contains(got, "http") || !strings.Contains(got, strings.TrimSpace(inc.Title)) {
		t.Fatalf("link should give way to the whole title: %q", got)
	}
	if SMSSegments(got) > MaxSMSSegments {
		t.Fatalf("%d segments", SMSSegments(got))
	}
}

// FuzzSMSBodyWithLink: whatever the title and graph link, the SMS stays
// within MaxSMSSegments, is valid UTF-8 and keeps the reply instructions.
func FuzzSMSBodyWithLink(f *testing.F) {
	f.Add("HighErrorRate", testGraph)
	f.Add(strings.Repeat("x", 200), testGraph)
	f.Add("disk", "http://p/"+strings.Repeat("{", 300))
	f.Add("é", "http://p/\u2028\xff")
	f.Fuzz(func(t *testing.T, title, link string) {
		inc := testIncident()
		inc.Title = title
		inc.Alerts[0].GeneratorURL = link
		body := SMSBody(&Message{Incident: inc, ReplyCode: "3"})
		if n := SMSSegments(body); n < 1 || n > MaxSMSSegments {
			t.Fatalf("%d segments: %q", n, body)
		}
		if !utf8.ValidString(body) || !strings.HasSuffix(body, " Reply 3a to ack, 3r to resolve, 3e to escalate") {
			t.Fatalf("body %q", body)
		}
	})
}

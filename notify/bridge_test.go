package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

const testBridge = "https://meet.example.com/checkout"

// The service's bridge_url is in the email page and, when it fits beside the
// whole title, in the SMS before the reply instructions.
func TestPagesCarryBridgeURL(t *testing.T) {
	inc := testIncident()
	body := EmailBody(&Message{ID: "n1", Incident: inc, BridgeURL: testBridge})
	if !strings.Contains(body, "Bridge:     "+testBridge+"\n") {
		t.Errorf("email body lacks the bridge:\n%s", body)
	}
	if strings.Contains(EmailBody(&Message{ID: "n1", Incident: inc}), "Bridge:") {
		t.Error("email body without a bridge_url has a Bridge line")
	}

	got := SMSBody(&Message{Incident: inc, ReplyCode: "3", BridgeURL: testBridge})
	want := "INC-42 sev1 checkout: HighErrorRate - 3 alerts. Bridge: " + testBridge + " Reply 3a to ack, 3r to resolve, 3e to escalate"
	if got != want {
		t.Fatalf("SMSBody:\n got %q\nwant %q", got, want)
	}
	// With the graph link too, both when both fit; the bridge before the
	// link when only one does.
	inc.Alerts[0].GeneratorURL = testGraph
	if got := SMSBody(&Message{Incident: inc, ReplyCode: "3", BridgeURL: testBridge}); !strings.Contains(got, testGraph+" Bridge: "+testBridge+" Reply 3a") {
		t.Errorf("SMS with link and bridge: %q", got)
	}
	onlyOne := false
	for n := 1; n < 60 && !onlyOne; n++ {
		inc.Title = strings.TrimSpace(strings.Repeat("Long title ", n))
		got = SMSBody(&Message{Incident: inc, ReplyCode: "3", BridgeURL: testBridge})
		if strings.Contains(got, testGraph) && strings.Contains(got, testBridge) {
			continue
		}
		onlyOne = true
		if !strings.Contains(got, "Bridge: "+testBridge) || strings.Contains(got, testGraph) || !strings.Contains(got, inc.Title) {
			t.Errorf("SMS where only one link fits: %q", got)
		}
	}
	if !onlyOne {
		t.Error("no title length left room for only one link")
	}
	inc.Title = strings.Repeat("Very long title ", 12)
	got = SMSBody(&Message{Incident: inc, ReplyCode: "3", BridgeURL: testBridge})
	if strings.Contains(got, "Bridge:") || !strings.HasSuffix(got, "Reply 3a to ack, 3r to resolve, 3e to escalate") {
		t.Errorf("a bridge must not cut the title or the reply help: %q", got)
	}
}

// FuzzSMSBodyWithBridge: whatever the title, graph link and bridge URL, the
// SMS stays within its segments, valid UTF-8, with the reply help whole.
func FuzzSMSBodyWithBridge(f *testing.F) {
	f.Add("HighErrorRate", testGraph, testBridge)
	f.Add(strings.Repeat("x", 200), testGraph, testBridge)
	f.Add("é", "", "https://meet/\u2028\xff")
	f.Add("disk", "", "https://m/"+strings.Repeat("€", 200))
	f.Fuzz(func(t *testing.T, title, link, bridge string) {
		inc := testIncident()
		inc.Title = title
		inc.Alerts[0].GeneratorURL = link
		body := SMSBody(&Message{Incident: inc, ReplyCode: "3", BridgeURL: bridge})
		if n := SMSSegments(body); n < 1 || n > MaxSMSSegments {
			t.Fatalf("%d segments: %q", n, body)
		}
		if !utf8.ValidString(body) || !strings.HasSuffix(body, " Reply 3a to ack, 3r to resolve, 3e to escalate") {
			t.Fatalf("body %q", body)
		}
	})
}

package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// TestEventCarriesConsoleURL: with public_url the event names the
// incident's console page; without it the field is left out.
func TestEventCarriesConsoleURL(t *testing.T) {
	inc := &incident.Incident{ID: 7, Key: "INC-7"}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	body, err := EventBody(&notify.Message{ID: "n7-1-0", Incident: inc, PublicURL: "https://pager.example.com/"}, now)
	if err != nil || !strings.Contains(string(body), `"url":"https://pager.example.com/ui/incidents/INC-7"`) {
		t.Fatalf("event %s (%v) lacks the console url", body, err)
	}
	body, _ = EventBody(&notify.Message{ID: "n7-1-0", Incident: inc}, now)
	if strings.Contains(string(body), `"url"`) {
		t.Fatalf("event without public_url has a url: %s", body)
	}
}

package notify

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

// An incident past the alert cap counts every alert but keeps only some:
// the email page says how many it does not show, instead of listing the
// kept ones under a count that does not match. Under the cap nothing more
// is said.
func TestEmailSaysAlertsNotShown(t *testing.T) {
	inc := &incident.Incident{ID: 42, Key: "INC-42", Title: "Disk full", Service: "checkout", Severity: "sev1",
		Status: incident.Triggered, AlertCount: 1500, AlertsDropped: 1498,
		Alerts: []incident.Alert{{Fingerprint: "a1", Status: "firing"}, {Fingerprint: "a2", Status: "firing"}}}
	body := EmailBody(&Message{ID: "n1", Incident: inc})
	if !strings.Contains(body, "Alerts: 1500 alerts") || !strings.Contains(body, "[2/2]") ||
		!strings.Contains(body, "…and 1498 more alerts not shown") {
		t.Fatalf("capped incident's page:\n%s", body)
	}
	inc.AlertCount, inc.AlertsDropped = 2, 0
	if body := EmailBody(&Message{ID: "n1", Incident: inc}); strings.Contains(body, "not shown") {
		t.Fatalf("page under the cap says alerts are missing:\n%s", body)
	}
}

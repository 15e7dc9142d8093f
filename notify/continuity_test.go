package notify

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Every page and resolution summary of a service with a runbook and a
// continuity plan carries both links; without them no empty lines appear.
func TestServiceLinksInPagesAndSummaries(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	inc := &incident.Incident{ID: 7, Key: "INC-7", Title: "[DRILL] Checkout API", Service: "checkout", Severity: "sev2",
		Status: incident.Resolved, CreatedAt: now, ResolvedAt: &now}
	links := []string{"Runbook:    https://wiki.example.com/rb", "Continuity plan: https://wiki.example.com/plan"}
	page := &Message{ID: "n7-1-0", Incident: inc, Runbook: "https://wiki.example.com/rb", ContinuityPlan: "https://wiki.example.com/plan"}
	summary := *page
	summary.Resolution = incident.BuildSummary(inc, now, "")
	for name, m := range map[string]*Message{"page": page, "summary": &summary} {
		body := EmailBody(m)
		for _, want := range links {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %q:\n%s", name, want, body)
			}
		}
	}
	plain := &Message{ID: "n7-1-0", Incident: inc}
	if body := EmailBody(plain); strings.Contains(body, "Runbook") || strings.Contains(body, "Continuity plan") {
		t.Errorf("a service without links shows them:\n%s", body)
	}
}

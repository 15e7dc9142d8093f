package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// TestPrintIncidentCountsStepsFromOne: the text a person reads says "step 1"
// for the API's step 0, as the timeline's "step 1 of 2" does.
func TestPrintIncidentCountsStepsFromOne(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	inc := &incident.Incident{Key: "INC-1", Status: incident.Triggered, CreatedAt: at,
		Escalation: &incident.Escalation{Policy: "web", Step: 0, Loop: 0, NextAt: &at},
		Notifications: []incident.Notification{{ID: "n1-0-0", User: "dave", Channel: "email", Step: 1, Loop: 2},
			{ID: "n1-summary-dave", User: "dave", Channel: "email", Kind: incident.KindSummary}},
	}
	var b strings.Builder
	printIncident(&b, inc)
	out := b.String()
	for _, want := range []string{"policy web, step 1, loop 1,", "step 2 loop 3", "n1-summary-dave    dave  email    summary"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

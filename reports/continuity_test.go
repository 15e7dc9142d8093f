package reports

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// Known incidents and drills give exact met/breached counts: time to
// resolve runs from impact start (else detection), drills and incidents
// outside the window are left out, an incident open past its RTO is a
// breach and one open within it is neither.
func TestContinuityMetBreached(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(30 * 24 * time.Hour)
	now := to
	at := func(d time.Duration) time.Time { return from.Add(d) }
	res := func(d time.Duration) *time.Time { t := at(d); return &t }
	h := time.Hour
	incidents := []Record{
		// checkout (rto 1h): met, met (exactly 1h), breached (impact began
		// 30m before detection: 1h10m), breached (open 2h+), open within
		// (created 10m before now), a drill (left out), one before the window.
		{Service: "checkout", Created: at(h), ImpactStart: at(h), Resolved: res(h + 30*time.Minute)},
		{Service: "checkout", Created: at(2 * h), ImpactStart: at(2 * h), Resolved: res(3 * h)},
		{Service: "checkout", Created: at(4 * h), ImpactStart: at(4*h - 30*time.Minute), Resolved: res(4*h + 40*time.Minute)},
		{Service: "checkout", Created: to.Add(-3 * h), ImpactStart: to.Add(-3 * h)},
		{Service: "checkout", Created: to.Add(-10 * time.Minute), ImpactStart: to.Add(-10 * time.Minute)},
		{Service: "checkout", Created: at(5 * h), ImpactStart: at(5 * h), Resolved: res(9 * h), Drill: true},
		{Service: "checkout", Created: from.Add(-h), ImpactStart: from.Add(-h), Resolved: res(10 * h)},
		// search has no rto: counted, neither met nor breached.
		{Service: "search", Created: at(h), ImpactStart: at(h), Resolved: res(50 * h)},
	}
	drills := []DrillRecord{
		{ID: "q@1", Drill: "q", Service: "checkout", Status: "passed", StartedAt: at(24 * h)},
		{ID: "q@2", Drill: "q", Service: "checkout", Status: "failed", StartedAt: at(48 * h)},
		{ID: "q@3", Drill: "q", Service: "checkout", Status: "skipped", StartedAt: at(72 * h)},
		{ID: "q@0", Drill: "q", Service: "checkout", Status: "passed", StartedAt: from.Add(-h)},
	}
	due := from.Add(10 * 24 * h)
	reviews := []ReviewRecord{{Service: "checkout", DueAt: &due, Overdue: true}}
	services := []ServiceInfo{{ID: "checkout", Criticality: "tier1", RTO: h, RTOText: "1h"}, {ID: "search", Criticality: "tier3"}}
	rep := BuildContinuity(Query{From: from, To: to, By: ByService}, now, services, incidents, drills, reviews)
	c, s := rep.Services[0], rep.Services[1]
	if c.Incidents != 5 || c.RTOMet != 2 || c.RTOBreached != 2 {
		t.Fatalf("checkout: incidents %d met %d breached %d, want 5 2 2", c.Incidents, c.RTOMet, c.RTOBreached)
	}
	if c.Drills.Runs != 3 || c.Drills.Passed != 1 || c.Drills.Last == nil || c.Drills.Last.ID != "q@3" {
		t.Fatalf("checkout drills %+v", c.Drills)
	}
	if !c.Review.Overdue || !c.Review.DueAt.Equal(due) || c.RTO != "1h" || c.Criticality != "tier1" {
		t.Fatalf("checkout row %+v", c)
	}
	if s.Incidents != 1 || s.RTOMet != 0 || s.RTOBreached != 0 || s.Drills.Runs != 0 || s.Review.DueAt != nil {
		t.Fatalf("search row %+v", s)
	}
	var buf bytes.Buffer
	if err := WriteContinuityCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 || lines[1] != "checkout,tier1,1h,5,2,2,3,1,2026-11-04T00:00:00Z,skipped,2026-11-11T00:00:00Z,true" {
		t.Fatalf("csv:\n%s", buf.String())
	}
}

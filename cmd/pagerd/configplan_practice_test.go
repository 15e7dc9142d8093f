package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// config plan lists business_hours windows and severities that change,
// with the severity fields that change, and nothing for a config that
// parses the same (so comparing compiled windows does not flap).
func TestPlanListsBusinessHoursAndSeverities(t *testing.T) {
	parse := func(extra string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]config.Source{{Name: "c.yaml", Data: []byte(`
timezone: UTC
users: [{id: alice, email: a@example.com}]
services: [{id: checkout}]
business_hours:
  - id: office
    timezone: Europe/Amsterdam
    times: [{weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:30"}]}]
` + extra)}}, func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	same := func(string, string) (bool, bool) { return true, true }
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	plan := func(o, n *config.Config) []string {
		t.Helper()
		p, err := makePlan(baseline{cfg: o, secretSame: same}, n, from, from.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, c := range p.Objects {
			lines = append(lines, c.String())
		}
		return lines
	}
	if got := plan(parse(""), parse("")); len(got) != 0 {
		t.Fatalf("the same config plans changes: %q", got)
	}
	got := strings.Join(plan(parse(""), parse(`    except_dates: ["2026-12-25"]
severities:
  sev2: {page: office}
  sev3: {update_every: 0}
`)), "\n")
	for _, want := range []string{
		"~ business_hours office (changed, except_dates [] → [2026-12-25])",
		"~ severity sev2 (changed, page always → office)",
		"~ severity sev3 (changed, update_every 4h → off)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("plan lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "severity sev1") {
		t.Errorf("plan lists sev1, which did not change:\n%s", got)
	}
}

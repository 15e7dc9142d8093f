package main

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

// config plan computes both sides with the server's runtime overrides on
// top: where an override holds the schedule, a config change to the layers
// changes nobody's shifts, so the plan shows no change there.
func TestPlanAppliesRuntimeOverrides(t *testing.T) {
	parse := func(parts string) *config.Config {
		t.Helper()
		cfg, err := config.Parse([]config.Source{{Name: "c.yaml", Data: []byte(`
timezone: UTC
users: [{id: alice, email: a@example.com}, {id: bob, email: b@example.com}, {id: dave, email: d@example.com}]
rotations: [{id: ops, participants: ` + parts + `, shift: 1d, start: "2026-11-01 00:00"}]
schedules: [{id: web, layers: [ops]}]
services: [{id: checkout}]
`)}}, func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	to := from.Add(48 * time.Hour)
	old, swapped := parse("[alice, bob]"), parse("[bob, alice]")
	countWeb := func(p *Plan) int {
		n := 0
		for _, s := range p.Shifts {
			if s.Schedule == "web" {
				n++
			}
		}
		return n
	}
	p, err := makePlan(baseline{cfg: old, secretSame: func(string, string) (bool, bool) { return true, true }}, swapped, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if countWeb(p) == 0 {
		t.Fatal("swapping participants should change web's shifts without overrides")
	}
	base := baseline{cfg: old, secretSame: func(string, string) (bool, bool) { return true, true },
		overrides: map[string][]schedule.Override{"web": {{From: from, To: to, User: "dave"}}}}
	p, err = makePlan(base, swapped, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if n := countWeb(p); n != 0 {
		t.Errorf("with dave's runtime override over the whole window, web changes %d times: %+v", n, p.Shifts)
	}
}

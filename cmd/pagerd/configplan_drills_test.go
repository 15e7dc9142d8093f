package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

// config plan simulates who a drill's next run pages: the rotation's
// person at that instant, not now.
func TestPlanDrillsPages(t *testing.T) {
	cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(`timezone: UTC
users: [{id: alice, email: a@example.com}, {id: bob, email: b@example.com}]
rotations: [{id: r, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}]
policies: [{id: p, steps: [{notify: ["rotation:r"], escalate_after: 5m}]}]
services: [{id: s, policy: p, rto: 1h}]
drills: [{id: d, service: s, cron: "0 10 * * 2"}]
`)}}, config.LookupMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	set, err := schedule.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// From Sunday 29 Nov (alice's week 4: weeks from 2 Nov alternate
	// alice, bob, alice, bob; 30 Nov 09:00 starts alice's) the next run is
	// Tuesday 1 Dec 10:00, in alice's week.
	from := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	ds := planDrills(cfg, set, from)
	want := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if len(ds) != 1 || !ds[0].NextRun.Equal(want) || strings.Join(ds[0].Pages, ",") != "alice" {
		t.Fatalf("plan %+v", ds)
	}
	// A week later it is bob's turn.
	ds = planDrills(cfg, set, want)
	if strings.Join(ds[0].Pages, ",") != "bob" {
		t.Fatalf("plan a week later %+v", ds)
	}
}

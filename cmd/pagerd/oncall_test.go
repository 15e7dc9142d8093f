package main

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// zonedConfig hands the weekly rotation over on Mondays at 09:00 Amsterdam
// time (08:00Z in winter).
const zonedConfig = `
timezone: Europe/Amsterdam
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com}
  - {id: bob, name: Bob, email: bob@example.com}
rotations:
  - {id: week, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - {id: web, layers: [week]}
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
severity:
  label: severity
  map: {critical: sev1}
  default: sev2
`

func startZoned(t *testing.T) *nodetest.Node {
	t.Helper()
	t.Setenv("PAGERD_TOKEN", nodetest.Token)
	return nodetest.Start(t, nodetest.Options{Config: zonedConfig})
}

// TestShiftsShowTheSchedulesZone: shifts are shown on the schedule's wall
// clock by default and in UTC with --utc.
func TestShiftsShowTheSchedulesZone(t *testing.T) {
	n := startZoned(t)
	code, out, errOut := cli(t, "shifts", "web", "--from", "2026-11-09T00:00:00Z", "--to", "2026-11-10T00:00:00Z", "--server", n.URL)
	out = squash(out)
	if code != exitOK || !strings.Contains(out, "START (Europe/Amsterdam)") ||
		!strings.Contains(out, "alice 2026-11-09 01:00 CET 2026-11-09 09:00 CET") ||
		!strings.Contains(out, "bob 2026-11-09 09:00 CET 2026-11-10 01:00 CET") {
		t.Errorf("shifts: exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = cli(t, "shifts", "web", "--from", "2026-11-09T00:00:00Z", "--to", "2026-11-10T00:00:00Z", "--utc", "--server", n.URL)
	if code != exitOK || !strings.Contains(squash(out), "bob 2026-11-09T08:00:00Z 2026-11-10T00:00:00Z") {
		t.Errorf("shifts --utc: exit %d\n%s", code, out)
	}
}

// TestOnCallAtWallClock: --at "2026-11-09 08:30" is 08:30 in the schedule's
// zone (still alice's turn), and the list shows each schedule's zone.
func TestOnCallAtWallClock(t *testing.T) {
	n := startZoned(t)
	for at, want := range map[string]string{"2026-11-09 08:30": "web: alice\n", "2026-11-09 09:00": "web: bob\n"} {
		if code, out, errOut := cli(t, "oncall", "web", "--at", at, "--server", n.URL); code != exitOK || out != want {
			t.Errorf("oncall web --at %q: exit %d %q %s, want %q", at, code, out, errOut, want)
		}
	}
	code, out, _ := cli(t, "oncall", "--at", "2026-11-09 08:30", "--server", n.URL)
	if code != exitOK || !strings.Contains(out, "2026-11-09 08:30 CET (Europe/Amsterdam)") || !strings.Contains(out, "alice") {
		t.Errorf("oncall: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "oncall", "--at", "2026-11-09 08:30", "--utc", "--server", n.URL)
	if code != exitOK || !strings.Contains(out, "2026-11-09T07:30:00Z") {
		t.Errorf("oncall --utc: exit %d\n%s", code, out)
	}
	if code, _, errOut := cli(t, "oncall", "--at", "tomorrow", "--server", n.URL); code != exitUsage || !strings.Contains(errOut, "wall-clock") {
		t.Errorf("oncall --at tomorrow: exit %d %s", code, errOut)
	}
}

// squash collapses the runs of spaces tabwriter pads columns with.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}

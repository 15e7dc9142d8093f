package incident

import (
	"strings"
	"testing"
)

// flapPayloads applies n Alertmanager payloads for one group in which alert
// "flap" alternates firing and resolved; with steady, alert "steady" fires
// throughout (so the group stays firing).
func flapPayloads(t *testing.T, s *State, n, rules int, steady, autoResolve bool) {
	t.Helper()
	for i := range n {
		f := alert("flap", "firing", "sev2")
		f.StartsAt = at(i)
		status := "firing"
		if i%2 == 1 {
			f.Status, f.EndsAt = "resolved", at(i)
			status = "resolved"
		}
		alerts := []Alert{f}
		if steady {
			alerts = append(alerts, alert("steady", "firing", "sev2"))
			status = "firing"
		}
		g := group("checkout", keyA, status, alerts...)
		g.RulesVersion, g.AutoResolve = rules, autoResolve
		s.ApplyAlertGroup(at(i), g)
	}
}

func countOf(e Entry) int { return max(e.Count, 1) }

// Issue 12.4: 10,000 firing/resolved payloads of one flapping alert leave
// one incident with a bounded timeline and alert list, and counts that add
// up to what happened.
func TestFlappingAlertKeepsTheIncidentBounded(t *testing.T) {
	s := NewState()
	flapPayloads(t, s, 10_000, RulesCurrent, true, true)
	inc := mustGet(t, s, 1)
	if s.Len() != 1 || inc.Status != Triggered {
		t.Fatalf("%d incidents, INC-1 %s", s.Len(), inc.Status)
	}
	if len(inc.Alerts) != 2 || inc.AlertCount != 2 || inc.AlertsDropped != 0 {
		t.Fatalf("alerts %s, count %d, dropped %d", alertStatuses(inc), inc.AlertCount, inc.AlertsDropped)
	}
	if len(inc.Timeline) > 6 {
		t.Fatalf("timeline of %d entries: %v", len(inc.Timeline), entryTypes(inc))
	}
	var resolved, refired int
	for _, e := range inc.Timeline {
		switch {
		case e.Type == EntryAlertResolved && strings.HasPrefix(e.Message, "HighErrorRate"):
			resolved += countOf(e)
		case e.Type == EntryAlertAdded && strings.HasPrefix(e.Message, "firing again"):
			refired += countOf(e)
			if e.LastAt == nil || !e.LastAt.Equal(at(9998)) {
				t.Fatalf("firing again last at %v, want the last firing payload's time", e.LastAt)
			}
		}
	}
	if resolved != 5000 || refired != 4999 {
		t.Fatalf("counted %d resolutions and %d re-firings; want 5000 and 4999: %+v", resolved, refired, inc.Timeline)
	}
	// The counts survive a snapshot.
	r, err := ReadSnapshot(strings.NewReader(snapshotOf(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, mustGet(t, s, 1)), mustJSON(t, mustGet(t, r, 1)); a != b {
		t.Fatalf("after restore:\n%s\n%s", a, b)
	}
}

// With auto_resolve off, a lone flapping alert's resolved payloads are
// "ignored" entries, coalesced too.
func TestFlappingWithoutAutoResolveCoalescesIgnored(t *testing.T) {
	s := NewState()
	flapPayloads(t, s, 10_000, RulesCurrent, false, false)
	inc := mustGet(t, s, 1)
	if s.Len() != 1 || len(inc.Timeline) > 6 || len(inc.Alerts) != 1 {
		t.Fatalf("%d incidents; timeline %v; alerts %s", s.Len(), entryTypes(inc), alertStatuses(inc))
	}
	ignored := 0
	for _, e := range inc.Timeline {
		if e.Type == EntryIgnored {
			ignored += countOf(e)
		}
	}
	if ignored != 5000 {
		t.Fatalf("%d ignored resolutions counted, want 5000", ignored)
	}
}

// Commands stamped before rules version 2 replay as they were first
// applied: one entry per change, so a node replaying an old log reaches
// the state its peers reached.
func TestFlappingUnderRulesOneIsNotCoalesced(t *testing.T) {
	s := NewState()
	flapPayloads(t, s, 100, 1, true, true)
	if n := len(mustGet(t, s, 1).Timeline); n < 100 {
		t.Fatalf("rules version 1 gave %d entries, want one per flap", n)
	}
}

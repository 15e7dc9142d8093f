package escalation

import (
	"strconv"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// stormTrigger opens n incidents of the phoneless service (bob, email at
// once) 1 ms apart, letting the engine work every 50 of them, and returns
// their ids.
func stormTrigger(h *harness, n int, prefix string) []uint64 {
	ids := make([]uint64, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, h.trigger("phoneless", prefix+strconv.Itoa(i)))
		h.clock.set(h.clock.Now().Add(time.Millisecond))
		if i%50 == 49 {
			h.settle()
		}
	}
	h.settle()
	return ids
}

// checkStormAccounted asserts that bob got a bounded number of messages
// and that every incident of ids is in exactly one of them: its own page
// or a flood-control summary.
func checkStormAccounted(t *testing.T, h *harness, ids []uint64, maxMessages int) {
	t.Helper()
	seen := map[uint64]int{}
	messages := 0
	h.rec.mu.Lock()
	for _, s := range h.rec.sent {
		if s.channel != "email" || s.to != "bob" {
			continue
		}
		messages++
		if len(s.summary) > 0 {
			for _, id := range s.summary {
				seen[id]++
			}
		} else {
			seen[s.incident]++
		}
	}
	h.rec.mu.Unlock()
	if messages > maxMessages {
		t.Errorf("bob got %d messages for %d incidents; want at most %d", messages, len(ids), maxMessages)
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("INC-%d is in %d of bob's messages, want exactly 1", id, seen[id])
		}
		n := h.incident(id).Notifications
		for _, x := range n {
			if x.User == "bob" && x.Status != incident.NotifySent {
				t.Errorf("INC-%d page to bob is %s, want sent (recorded after the send)", id, x.Status)
			}
		}
	}
}

func TestStormOf5000IncidentsForOneUserIsBoundedAndAccounted(t *testing.T) {
	h := newHarness(t, "") // default flood control: 3 messages a minute
	ids := stormTrigger(h, 5000, "storm-")
	h.runUntil(3 * time.Minute)
	// 3 pages, then one summary when the window reopens at 1m: the storm
	// took 5 s, so everything held is in that one summary.
	checkStormAccounted(t, h, ids, 4)
}

func TestStormSurvivesALeaderChangeMidway(t *testing.T) {
	h := newHarness(t, "")
	ids := stormTrigger(h, 2500, "before-")
	// The leader dies: a new term starts from the replicated state only
	// (the held pages lived in the old leader's memory).
	h.newTerm()
	ids = append(ids, stormTrigger(h, 2500, "after-")...)
	h.runUntil(4 * time.Minute)
	// The new leader counts the old one's sends (seedFlood), so the bound
	// holds across the change: 3 pages and a summary a minute at most.
	checkStormAccounted(t, h, ids, 3+4)
}

// BenchmarkEnginePerIncident is the engine's planning and delivery
// bookkeeping per incident of a storm: plan step 0, commit the step start,
// send (to a recorder), commit the outcome. Flood control is lifted so
// every incident takes the full path; run with -benchmem to watch
// allocations per incident.
func BenchmarkEnginePerIncident(b *testing.B) {
	benchIncidents(b, noFloodControl, false, takeSent)
}

// noFloodControl lifts flood control so every incident takes the full path.
const noFloodControl = "  flood_control: {max: 100000000, per: 1m}\n"

// takeSent empties the recorder of sent messages, so it does not grow.
func takeSent(h *harness) { h.rec.take() }

// benchIncidents triggers b.N incidents of service phoneless (with step 0
// planned into the trigger when planned, as the daemon runs) and settles
// the engine after each; every 1,000 incidents it runs each1000.
func benchIncidents(b *testing.B, extraYAML string, planned bool, each1000 func(*harness)) {
	h := newHarness(&testing.T{}, extraYAML)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if key := "bench-" + strconv.Itoa(i); planned {
			h.triggerPlanned("phoneless", key)
		} else {
			h.trigger("phoneless", key)
		}
		h.settle()
		if each1000 != nil && i%1000 == 999 {
			each1000(h)
		}
	}
}

// BenchmarkEnginePerPlannedIncident is BenchmarkEnginePerIncident with
// step 0 planned into the trigger (issue 18), as the daemon runs: the
// leader's planning (cached per policy) and the engine's delivery
// bookkeeping per incident, without a step start to plan and commit.
func BenchmarkEnginePerPlannedIncident(b *testing.B) {
	benchIncidents(b, noFloodControl, true, takeSent)
}

// BenchmarkEnginePerHeldIncident is the same under default flood control:
// past the third page every incident is held for the summary.
func BenchmarkEnginePerHeldIncident(b *testing.B) {
	benchIncidents(b, "", false, nil)
}

// BenchmarkEnginePerStormIncident is the storm as the daemon runs it:
// step 0 planned into each trigger, default flood control (3 a minute),
// and every 1,000 incidents the clock moves on a minute, so the window's
// summary goes out and its outcome is recorded. Per incident: the engine's
// reads of it, its hold and hold commit, its share of the summary and the
// outcome's apply.
func BenchmarkEnginePerStormIncident(b *testing.B) {
	benchIncidents(b, "", true, func(h *harness) {
		h.clock.set(h.clock.Now().Add(time.Minute))
		h.settle()
		h.rec.take()
	})
}

package escalation

import (
	"fmt"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// waitFor polls cond (real goroutines are sending) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Issue 18: the outcomes of sends that finish while an outcome commit is
// in flight go into one delivery command (not one each, in a goroutine
// each), and every page is recorded sent once the commits return.
func TestOutcomesFinishingTogetherShareOneCommit(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 1000, per: 1m}\n")
	h.eng.opts.synchronous = false // real sends and commits, concurrently
	gate := make(chan struct{})
	h.store.deliveryGate = gate
	var ids []uint64
	for i := range 5 {
		ids = append(ids, h.triggerPlanned("phoneless", fmt.Sprint("k", i)))
	}
	h.term.step()
	// Every page went out; the first commit waits at the gate with the
	// outcomes it took, the others wait for it in the queue.
	waitFor(t, "5 sends and their outcomes pending", func() bool {
		h.rec.mu.Lock()
		sent := len(h.rec.sent)
		h.rec.mu.Unlock()
		h.term.mu.Lock()
		queued := 0
		for _, j := range h.term.outcomes {
			queued += len(j.items)
		}
		h.term.mu.Unlock()
		h.store.mu.Lock()
		blocked := h.store.blocked
		h.store.mu.Unlock()
		return sent == 5 && blocked+queued == 5
	})
	close(gate)
	waitFor(t, "all outcomes committed", func() bool {
		h.term.mu.Lock()
		defer h.term.mu.Unlock()
		return !h.term.outcomesBusy && len(h.term.inflight) == 0
	})
	h.term.wg.Wait()
	c, total := h.store.outcomeCommits, 0
	for _, n := range c {
		total += n
	}
	if len(c) > 2 || total != 5 {
		t.Fatalf("outcome commits of %v items; want the first send's, then the rest together (at most 2 commits)", c)
	}
	for _, id := range ids {
		if n := h.incident(id).Notifications[0]; n.Status != incident.NotifySent || n.Attempts != 1 {
			t.Fatalf("INC-%d page: %+v", id, n)
		}
	}
}

// Issue 18: the step starts an engine pass plans are committed together
// (one call of the store's SubmitStepStarts: one log entry on a node): 50
// incidents opened together run out of their one-step policy at the same
// instant.
func TestStepStartsOfOnePassShareOneCommit(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 1000, per: 1m}\n")
	for i := range 50 {
		h.triggerPlanned("phoneless", fmt.Sprint("k", i))
	}
	h.runUntil(10 * time.Minute)
	if got := h.store.stepBatches; len(got) != 1 || got[0] != 50 {
		t.Fatalf("step start commits of %v steps; want one of 50 (every incident exhausted at +10m)", got)
	}
	for i := range 50 {
		if inc := h.incident(uint64(i + 1)); !inc.Escalation.Exhausted {
			t.Fatalf("INC-%d not exhausted: %+v", i+1, inc.Escalation)
		}
	}
}

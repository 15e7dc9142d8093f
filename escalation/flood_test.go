package escalation

import (
	"fmt"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// A new incident's page held by flood control says so in its timeline, and
// the release says when it went out; the holds made together go in one
// commit, not one per page.
func TestFloodHoldAndReleaseAreInTheTimeline(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 1, per: 1m}\n")
	first := h.trigger("web", "a")
	h.settle()
	h.clock.set(t0.Add(10 * time.Second))
	var held []uint64
	for i := 0; i < 5; i++ {
		held = append(held, h.trigger("web", fmt.Sprintf("storm-%d", i)))
	}
	h.settle()
	if h.store.holdCommits != 1 {
		t.Errorf("%d commits recorded the 5 holds of one step, want 1", h.store.holdCommits)
	}
	for _, id := range held {
		h.timelineHas(id, incident.EntryNotifyHeld, "page to alice by sms held by flood control")
		h.timelineHas(id, incident.EntryNotifyHeld, "summary at about 2026-11-23T10:01:00Z")
		if n := h.incident(id).Notifications[0]; n.Status != incident.NotifyQueued || n.Attempts != 0 || n.HeldAt == nil {
			t.Fatalf("held page %+v: want queued, no attempt, held_at set", n)
		}
	}
	if inc := h.incident(first); hasEntry(inc, incident.EntryNotifyHeld) {
		t.Errorf("INC-%d went out at once but its timeline shows a hold", first)
	}
	h.runUntil(61 * time.Second)
	h.expectSent("0s sms alice step0 loop0 INC-1", "1m0s sms alice summary of 5")
	for _, id := range held {
		h.timelineHas(id, incident.EntryNotified, "released from the flood-control hold of 2026-11-23T10:00:10Z")
	}
	// A hold is recorded once: the same page held again changes nothing.
	inc := h.incident(held[0])
	n := inc.Notifications[0]
	if got := h.store.st.ApplyDelivery(h.clock.Now(), &incident.Delivery{Items: []incident.DeliveryItem{{
		Incident: inc.ID, Notification: n.ID, Attempt: n.Attempts + 1, Outcome: incident.OutcomeHeld}}}); got != 0 {
		t.Errorf("a hold of a sent page applied")
	}
}

// A new leader in a storm starts from the send times in the replicated
// state: the person's window is still full, so the next page is held.
func TestNewLeaderSeedsFloodWindowsFromSendTimes(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 3, per: 1m}\n")
	for i := 0; i < 3; i++ {
		h.trigger("web", fmt.Sprintf("a%d", i))
		h.settle()
		h.clock.set(h.clock.Now().Add(time.Second))
	}
	if got := h.rec.take(); len(got) != 3 {
		t.Fatalf("sent %v before the failover, want 3 pages", got)
	}
	h.clock.set(t0.Add(20 * time.Second))
	h.newTerm() // the leader fails over
	late := h.trigger("web", "after-failover")
	h.settle()
	h.expectSent()
	h.timelineHas(late, incident.EntryNotifyHeld, "held by flood control")
	// The window of the first page (sent at 0s) ends at 1m.
	h.runUntil(time.Minute)
	h.expectSent("1m0s sms alice step0 loop0 INC-4")
}

func hasEntry(inc *incident.Incident, typ string) bool {
	for _, e := range inc.Timeline {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// A send still in flight counts in its window however long it waits for a
// worker; it counts from when the provider accepted it once done.
func TestFloodWindowKeepsSendsInFlight(t *testing.T) {
	f := newFlood()
	k := floodKey{"alice", "sms"}
	per := time.Minute
	for i := 0; i < 3; i++ {
		if ok, _ := f.admit(k, t0, 3, per, heldRef{}); !ok {
			t.Fatalf("send %d refused in an empty window", i)
		}
	}
	// Two minutes on, the three are still waiting to be sent.
	later := t0.Add(2 * time.Minute)
	ok, until := f.admit(k, later, 3, per, heldRef{})
	if ok || !until.IsZero() {
		t.Fatalf("4th send admitted %v (room at %v) while 3 are in flight", ok, until)
	}
	if next := f.nextFlush(later); !next.IsZero() {
		t.Fatalf("flush planned at %v; it must wait for a send to finish", next)
	}
	for i := 0; i < 3; i++ {
		f.delivered(k, t0, later)
	}
	if next := f.nextFlush(later); !next.Equal(later.Add(per)) {
		t.Fatalf("next flush %v, want a window after the sends went out (%v)", next, later.Add(per))
	}
	// A send that never started gives its place back.
	f2 := newFlood()
	f2.admit(k, t0, 1, per, heldRef{})
	f2.cancel(k, t0)
	if ok, _ := f2.admit(k, t0, 1, per, heldRef{}); !ok {
		t.Fatal("a cancelled send still holds its place")
	}
}

// A summary flushed from a window whose sends have all left it (the engine
// came late: e2e TestStormStaysWithinFloodBound saw 4 messages in 50 ms)
// counts in the window: after it only max-1 more messages go out, not max.
func TestSummaryOfAnEmptiedWindowCounts(t *testing.T) {
	f := newFlood()
	k := floodKey{"alice", "email"}
	per := time.Minute
	for i := 0; i < 3; i++ {
		f.admit(k, t0, 3, per, heldRef{})
		f.delivered(k, t0, t0)
	}
	if ok, _ := f.admit(k, t0, 3, per, heldRef{}); ok {
		t.Fatal("4th page admitted")
	}
	later := t0.Add(2 * per) // all three left the window
	if b := f.due(later, 3, per); len(b) != 1 || len(b[0].held) != 1 {
		t.Fatalf("due: %+v", b)
	}
	f.record(k, later) // the summary (flushFlood)
	admitted := 0
	for i := 0; i < 3; i++ {
		if ok, _ := f.admit(k, later, 3, per, heldRef{}); ok {
			admitted++
		}
	}
	if admitted != 2 {
		t.Fatalf("%d pages admitted right after the summary; want 2 (3 a window)", admitted)
	}
}

// Within one engine pass incidents are reconciled oldest first: when a
// storm fills the person's flood window, the pages that go out are those
// of the first incidents, and the later ones wait for the summary (the
// ids used to be walked in map order, so which ones paged was random).
func TestAFullFloodWindowPagesTheOldestIncidents(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 3, per: 1m}\n")
	var ids []uint64
	for i := 0; i < 20; i++ {
		ids = append(ids, h.trigger("web", fmt.Sprintf("storm-%d", i)))
	}
	h.settle()
	h.expectSent("0s sms alice step0 loop0 INC-1", "0s sms alice step0 loop0 INC-2", "0s sms alice step0 loop0 INC-3")
	for _, id := range ids[3:] {
		h.timelineHas(id, incident.EntryNotifyHeld, "held by flood control")
	}
}

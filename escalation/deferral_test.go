package escalation

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Business hours (issue 13.1): a severity that pages only inside a window,
// opened outside it, is deferred to the window's next start, and the
// engine's timer starts its escalation then, exactly.

const officeHours = `
business_hours:
  - id: office
    timezone: Europe/Amsterdam
    times:
      - {weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:30"}]}
    except_dates: ["2026-12-25", "2026-12-26"]
`

var amsterdam = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		panic(err)
	}
	return loc
}()

func ams(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, amsterdam)
}

// deferralHarness starts a harness whose clock reads at.
func deferralHarness(t *testing.T, at time.Time) *harness {
	h := newHarness(t, officeHours)
	h.clock.mu.Lock()
	h.clock.now = at
	h.clock.mu.Unlock()
	return h
}

// triggerSev opens an incident of phoneless (which pages bob by email) with the given severity and
// the paging plan the leader stamps (cluster.Node.SubmitEvent does the same).
func (h *harness) triggerSev(key, sev string) uint64 {
	h.t.Helper()
	now := h.clock.Now()
	h.store.mu.Lock()
	res := h.store.st.ApplyEvent(now, &incident.Event{Integration: "events", Service: "phoneless",
		Action: incident.ActionTrigger, DedupKey: key, AutoResolve: true, Policy: "no-phone",
		Alert:     incident.Alert{Annotations: map[string]string{"summary": key}, Severity: sev},
		Deferrals: h.store.cfg.PagingPlan(now)})
	h.store.mu.Unlock()
	h.store.changed(res.Incident)
	return res.Incident
}

func (h *harness) setSeverity(id uint64, sev string) {
	h.t.Helper()
	now := h.clock.Now()
	h.store.mu.Lock()
	_, err := h.store.st.ApplySeverityChange(now, &incident.SeverityChange{Incident: id, Severity: sev, By: "alice",
		Note: "customers affected", Deferrals: h.store.cfg.PagingPlan(now)})
	h.store.mu.Unlock()
	if err != nil {
		h.t.Fatal(err)
	}
	h.store.changed(id)
}

// runTo advances the fake clock from wake-up to wake-up up to end, as Run's
// timer would, settling at each.
func (h *harness) runTo(end time.Time) {
	h.t.Helper()
	for {
		next := h.settle()
		if next.IsZero() || next.After(end) {
			h.clock.set(end)
			h.settle()
			return
		}
		h.clock.set(next)
	}
}

// pagedAt returns the absolute times of the messages sent since the last call.
func (h *harness) pagedAt() []time.Time {
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var out []time.Time
	for _, s := range h.rec.sent {
		out = append(out, t0.Add(s.at))
	}
	h.rec.sent = nil
	return out
}

func TestDeferredUntilBusinessHours(t *testing.T) {
	for _, c := range []struct {
		name         string
		opened, open time.Time
	}{
		{"friday evening pages monday 09:00", ams(2026, 11, 27, 18, 0), ams(2026, 11, 30, 9, 0)},
		{"christmas eve skips the holidays", ams(2026, 12, 24, 17, 45), ams(2026, 12, 28, 9, 0)},
		{"october DST change keeps 09:00 wall clock", ams(2026, 10, 23, 18, 0), ams(2026, 10, 26, 9, 0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := deferralHarness(t, c.opened)
			id := h.triggerSev("disk", "sev3")
			inc := h.incident(id)
			if inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(c.open) {
				t.Fatalf("deferred_until = %v, want %s", inc.DeferredUntil, c.open)
			}
			h.timelineHas(id, incident.EntryDeferred, "paging deferred until "+c.open.UTC().Format(time.RFC3339))
			h.runTo(c.open.Add(-time.Second))
			if got := h.pagedAt(); len(got) != 0 {
				t.Fatalf("paged before the window opened: %v", got)
			}
			h.runTo(c.open.Add(time.Minute))
			got := h.pagedAt()
			if len(got) != 1 || !got[0].Equal(c.open) {
				t.Fatalf("paged at %v, want once at %s", got, c.open)
			}
			if got[0].In(amsterdam).Hour() != 9 || got[0].In(amsterdam).Minute() != 0 {
				t.Fatalf("paged at %s wall clock", got[0].In(amsterdam))
			}
			if inc := h.incident(id); inc.DeferredUntil != nil {
				t.Fatalf("deferred_until still %s after paging began", inc.DeferredUntil)
			}
		})
	}
}

func TestDeferredResolvedBeforeWindowNeverPages(t *testing.T) {
	h := deferralHarness(t, ams(2026, 11, 27, 18, 0))
	id := h.triggerSev("disk", "sev3")
	h.runTo(ams(2026, 11, 28, 11, 0))
	h.act(id, incident.Resolve)
	h.runTo(ams(2026, 12, 1, 12, 0))
	if got := h.pagedAt(); len(got) != 0 {
		t.Fatalf("a resolved deferred incident paged at %v", got)
	}
	if inc := h.incident(id); inc.DeferredUntil != nil {
		t.Fatalf("deferred_until %s on a resolved incident", inc.DeferredUntil)
	}
}

func TestDeferredRaisedToSev1PagesAtOnce(t *testing.T) {
	h := deferralHarness(t, ams(2026, 11, 27, 18, 0))
	id := h.triggerSev("disk", "sev3")
	sat3 := ams(2026, 11, 28, 3, 0)
	h.runTo(sat3)
	if got := h.pagedAt(); len(got) != 0 {
		t.Fatalf("paged before the raise: %v", got)
	}
	h.setSeverity(id, "sev1")
	h.runTo(sat3.Add(time.Second))
	got := h.pagedAt()
	if len(got) != 1 || !got[0].Equal(sat3) {
		t.Fatalf("paged at %v, want once at %s", got, sat3)
	}
	inc := h.incident(id)
	if inc.Severity != "sev1" || inc.SeveritySetBy != "alice" || inc.DeferredUntil != nil {
		t.Fatalf("incident after raise: severity %s by %q, deferred_until %v", inc.Severity, inc.SeveritySetBy, inc.DeferredUntil)
	}
	h.timelineHas(id, incident.EntrySeverityChanged, "severity sev3 → sev1 via api: customers affected; sev1 pages at any time: paging starts now")
	// Lowering again never stops a page already sent, and Monday brings no
	// second first page.
	h.setSeverity(id, "sev3")
	h.act(id, incident.Ack)
	h.runTo(ams(2026, 11, 30, 12, 0))
	if got := h.pagedAt(); len(got) != 0 {
		t.Fatalf("paged again: %v", got)
	}
}

// A new leader rebuilds the deferral timer from the replicated state: the
// page comes at the window's start, once.
func TestDeferralSurvivesNewTerm(t *testing.T) {
	h := deferralHarness(t, ams(2026, 11, 27, 18, 0))
	h.triggerSev("disk", "sev3")
	h.runTo(ams(2026, 11, 29, 12, 0))
	h.newTerm()
	mon := ams(2026, 11, 30, 9, 0)
	h.runTo(mon.Add(time.Minute))
	if got := h.pagedAt(); len(got) != 1 || !got[0].Equal(mon) {
		t.Fatalf("paged at %v, want once at %s", got, mon)
	}
}

// Inside the window, and for severities that page always, nothing waits.
func TestNotDeferred(t *testing.T) {
	h := deferralHarness(t, ams(2026, 11, 27, 18, 0))
	id := h.triggerSev("outage", "sev2")
	h.runTo(h.clock.Now())
	if got := h.pagedAt(); len(got) != 1 {
		t.Fatalf("sev2 at night: paged %v", got)
	}
	if inc := h.incident(id); inc.DeferredUntil != nil {
		t.Fatal("sev2 deferred")
	}
	h2 := deferralHarness(t, ams(2026, 12, 1, 10, 0))
	h2.triggerSev("disk", "sev3")
	h2.runTo(h2.clock.Now())
	if got := h2.pagedAt(); len(got) != 1 {
		t.Fatalf("sev3 in office hours: paged %v", got)
	}
}

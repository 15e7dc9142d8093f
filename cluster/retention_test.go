package cluster

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// fakeClock is a settable clock whose timers fire when it is moved past them.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeTimer
}

type fakeTimer struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) (<-chan time.Time, func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, fakeTimer{at: c.now.Add(d), ch: ch})
	return ch, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, w := range c.waiters {
			if w.ch == ch {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				return
			}
		}
	}
}

// timerAt reports whether a timer is set for exactly at.
func (c *fakeClock) timerAt(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(at) {
			return true
		}
	}
	return false
}

// set moves the clock and fires the timers now due.
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(t) {
			kept = append(kept, w)
			continue
		}
		w.ch <- t
	}
	c.waiters = kept
}

func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func kept(n *Node, id uint64) bool {
	ok := false
	n.FSM().ReadIncidents(func(st *incident.State) { _, ok = st.Get(id) })
	return ok
}

// Issue 12.4 acceptance: with the default retention (180d) and a fake
// clock, incidents resolved 181 days ago are gone after the sweep, those
// resolved 179 days ago remain, and open ones are never touched. The
// sweep is timer-driven: the routine waits for the oldest expiry exactly.
func TestRetentionRemovesExpiredResolvedIncidents(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	n, reg := startNode(t, clock.Now)
	ctx := context.Background()
	open := func(key string) uint64 {
		r, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return r.Incident
	}
	resolve := func(id uint64) {
		if _, err := n.SubmitAction(ctx, &incident.Action{Incident: id, Kind: incident.Resolve, By: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	old := open("old") // resolved at t0: 181 days old at the sweep
	resolve(old)
	stillOpen := open("open") // opened at t0, never resolved
	clock.set(t0.Add(2 * day))
	recent := open("recent") // resolved at t0+2d: 179 days old at the sweep
	resolve(recent)

	ret := NewRetention(n, clock, reg)
	n.OnLeader(ret.Run)
	await(t, "a timer for the oldest expiry (t0+180d)", func() bool { return clock.timerAt(t0.Add(180 * day)) })
	if !kept(n, old) {
		t.Fatal("removed before its retention ran out")
	}

	clock.set(t0.Add(181 * day))
	await(t, "the incident resolved 181 days ago is removed", func() bool { return !kept(n, old) })
	if !kept(n, recent) || !kept(n, stillOpen) {
		t.Fatalf("recent kept=%v, open kept=%v; both must stay", kept(n, recent), kept(n, stillOpen))
	}
	var m dto.Metric
	if err := ret.removed.Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		got := m.GetCounter().GetValue()
		t.Fatalf("removed counter %v", got)
	}

	// The state's size is exported.
	if kept, last := gauge(t, reg, "pagerd_state_incidents"), gauge(t, reg, "pagerd_state_last_incident_id"); kept != 2 || last != 3 {
		t.Fatalf("pagerd_state_incidents %v, pagerd_state_last_incident_id %v; want 2 and 3", kept, last)
	}
	if err := n.SaveSnapshot(io.Discard); err != nil {
		t.Fatal(err)
	}
	if b := gauge(t, reg, "pagerd_snapshot_size_bytes"); b < 100 {
		t.Fatalf("pagerd_snapshot_size_bytes %v", b)
	}

	// The next timer is the recent one's expiry; past it, it goes too, and
	// the open incident (181 days old) still stays.
	await(t, "a timer for t0+182d", func() bool { return clock.timerAt(t0.Add(182 * day)) })
	clock.set(t0.Add(182*day + time.Second))
	await(t, "the second incident is removed", func() bool { return !kept(n, recent) })
	if !kept(n, stillOpen) {
		t.Fatal("an open incident was removed")
	}

	// Idle (nothing resolved): a new resolution arms the timer again.
	late := open("late")
	resolve(late)
	await(t, "a timer for the new resolution", func() bool { return clock.timerAt(t0.Add(362*day + time.Second)) })
}

// gauge reads one unlabelled gauge from reg.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// A config change re-arms the timer for the new retention at once, and a
// change that commits while the timer waits does not disarm it.
func TestRetentionFollowsConfigChanges(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	clock := &fakeClock{now: t0}
	n, reg := startNode(t, clock.Now)
	ctx := context.Background()
	r, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.SubmitAction(ctx, &incident.Action{Incident: r.Incident, Kind: incident.Resolve, By: "alice"}); err != nil {
		t.Fatal(err)
	}
	n.OnLeader(NewRetention(n, clock, reg).Run)
	await(t, "the default 180d timer", func() bool { return clock.timerAt(t0.Add(180 * day)) })

	// Another incident's change commits while the timer waits.
	if _, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "y"}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EVENTS_SUFFIX", "secret")
	if _, err := n.ApplyConfig(ctx, []config.Source{{Name: "c.yaml", Data: []byte(testConfig + "retention: {resolved: 30d}\n")}}); err != nil {
		t.Fatal(err)
	}
	await(t, "the 30d timer after the config change", func() bool { return clock.timerAt(t0.Add(30 * day)) })
	clock.set(t0.Add(31 * day))
	await(t, "the incident is removed under the new retention", func() bool { return !kept(n, r.Incident) })
	if !kept(n, r.Incident+1) {
		t.Fatal("the open incident was removed")
	}
}

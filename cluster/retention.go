package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Retention removes resolved incidents older than retention.resolved
// (issue 12.4), as a leader-only routine (register Run with OnLeader).
// It is driven by one timer, set for when the oldest resolved incident
// expires, and never polls: removals only make the next expiry later, a
// new resolution is later than the one the timer waits for, and a config
// change or restore (Change.All) recomputes it. While no incident is
// resolved it waits for a change that resolves one.
//
// Each removal is a Purge command of at most incident.MaxPurgeBatch ids with
// the cutoff the leader chose them by, so apply needs no clock and removes
// the same incidents on every replica; a log entry stays small and apply
// never pauses long.
type Retention struct {
	node    *Node
	clock   RetentionClock
	log     *slog.Logger
	removed prometheus.Counter

	mu sync.Mutex
	// watching: no timer covers what changes may resolve (the routine is
	// idle, or computing its timer), so changed incidents are collected.
	watching bool
	all      bool     // a change that may have changed everything
	pending  []uint64 // incidents changed while watching
	wake     chan struct{}
}

// RetentionClock is the routine's time source; tests inject a fake one.
type RetentionClock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed, and a
	// function that releases it.
	After(d time.Duration) (<-chan time.Time, func())
}

type realRetentionClock struct{}

func (realRetentionClock) Now() time.Time { return time.Now() }
func (realRetentionClock) After(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTimer(d)
	return t.C, func() { t.Stop() }
}

// retentionRetry is the wait after a failed purge (no quorum, lost lead).
const retentionRetry = 10 * time.Second

// NewRetention returns the routine; clock nil means the real clock, reg may
// be nil.
func NewRetention(n *Node, clock RetentionClock, reg prometheus.Registerer) *Retention {
	if clock == nil {
		clock = realRetentionClock{}
	}
	r := &Retention{node: n, clock: clock, log: n.log.With("component", "retention"), wake: make(chan struct{}, 1),
		removed: prometheus.NewCounter(prometheus.CounterOpts{Name: "pagerd_retention_removed_incidents_total",
			Help: "Resolved incidents removed by retention (on the leader that removed them)."})}
	if reg != nil {
		reg.MustRegister(r.removed)
	}
	return r
}

// Run is the leader routine; it returns when ctx ends.
func (r *Retention) Run(ctx context.Context) {
	cancel := r.node.fsm.Watch(r.changed)
	defer cancel()
	r.mu.Lock()
	r.all, r.pending = true, nil
	r.mu.Unlock()
	var due time.Time // when the oldest resolved incident expires; zero: none
	for {
		// Watch from before reading the state until a timer is set, so a
		// resolution committed meanwhile is not missed.
		r.mu.Lock()
		r.watching = true
		r.mu.Unlock()
		var err error
		if r.takeAll() {
			due, err = r.sweep(ctx)
		} else if d := r.pendingDue(); !d.IsZero() && (due.IsZero() || d.Before(due)) {
			due = d
		}
		timer, stop := r.arm(due, err)
		select {
		case <-ctx.Done():
			stop()
			return
		case <-timer:
			r.mu.Lock()
			r.all = true // the oldest has expired: sweep
			r.mu.Unlock()
		case <-r.wake:
		}
		stop()
	}
}

// arm sets the timer for due (or the retry after err); with neither, the
// routine is idle and waits for changes.
func (r *Retention) arm(due time.Time, err error) (<-chan time.Time, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err != nil:
		r.log.Warn("retention sweep failed; retrying", "err", err, "in", retentionRetry)
		r.all = true // the retry sweeps again
	case due.IsZero():
		return nil, func() {} // idle: keep watching
	}
	// A timer covers every later resolution (it resolves later than the
	// oldest one the timer waits for), so stop collecting.
	r.watching, r.pending = false, nil
	if err != nil {
		return r.clock.After(retentionRetry)
	}
	return r.clock.After(max(due.Sub(r.clock.Now()), 0))
}

// changed runs on the apply goroutine: it only records and signals.
func (r *Retention) changed(c Change) {
	r.mu.Lock()
	signal := c.All || r.watching
	if c.All {
		r.all = true
	} else if r.watching {
		r.pending = append(r.pending, c.Incidents...)
	}
	r.mu.Unlock()
	if signal {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

func (r *Retention) takeAll() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.all
	r.all = false
	if all {
		r.pending = nil
	}
	return all
}

// pendingDue is when the earliest resolved incident among those changed
// while idle expires (zero if none was resolved). It reads only them.
func (r *Retention) pendingDue() time.Time {
	r.mu.Lock()
	ids := r.pending
	r.pending = nil
	r.mu.Unlock()
	retain := r.retain()
	var due time.Time
	r.node.fsm.ReadIncidents(func(st *incident.State) {
		for _, id := range ids {
			if at, ok := st.ResolvedAt(id); ok {
				if d := at.Add(retain); due.IsZero() || d.Before(due) {
					due = d
				}
			}
		}
	})
	return due
}

func (r *Retention) retain() time.Duration {
	if ac := r.node.fsm.Config(); ac != nil {
		return ac.Config.ResolvedRetention()
	}
	return config.DefaultRetentionResolved.D()
}

// sweep removes every expired resolved incident, batch by batch, and
// returns when the oldest one left expires (zero: none is resolved).
func (r *Retention) sweep(ctx context.Context) (time.Time, error) {
	retain := r.retain()
	cutoff := r.clock.Now().Add(-retain)
	var after uint64
	for {
		var ids []uint64
		r.node.fsm.ReadIncidents(func(st *incident.State) { ids = st.ExpiredResolved(cutoff, after, incident.MaxPurgeBatch) })
		if len(ids) == 0 {
			break
		}
		v, err := r.node.Submit(ctx, TypePurge, incident.Purge{Cutoff: cutoff, IDs: ids})
		if err != nil {
			return time.Time{}, fmt.Errorf("purge %d incidents: %w", len(ids), err)
		}
		n, _ := v.(int)
		r.removed.Add(float64(n))
		r.log.Info("removed resolved incidents past retention", "removed", n, "resolved_before", cutoff, "first", ids[0], "last", ids[len(ids)-1])
		after = ids[len(ids)-1]
	}
	var oldest time.Time
	var ok bool
	r.node.fsm.ReadIncidents(func(st *incident.State) { oldest, ok = st.OldestResolved() })
	if !ok {
		return time.Time{}, nil
	}
	return oldest.Add(retain), nil
}

// applyPurge runs under the FSM lock.
func (f *FSM) applyPurge(body []byte) Result {
	var p incident.Purge
	if err := json.Unmarshal(body, &p); err != nil {
		return Result{Err: fmt.Errorf("decode purge: %w", err)}
	}
	if len(p.IDs) > incident.MaxPurgeBatch {
		return Result{Err: fmt.Errorf("purge of %d ids: at most %d per command", len(p.IDs), incident.MaxPurgeBatch)}
	}
	return Result{Value: f.incidents.ApplyPurge(&p)}
}

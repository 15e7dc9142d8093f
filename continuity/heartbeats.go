package continuity

import (
	"context"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// heartbeats declares down every heartbeat whose deadline has passed and
// returns the earliest deadline still ahead.
//
// The deadline is the last ping + every + grace, and never before this
// leader has run for grace: the pings a follower forwarded to the old
// leader during the election may not have been committed, so a new leader
// gives senders grace to reach it before it pages anyone.
func (e *Engine) heartbeats(ctx context.Context, cfg *config.Config, term, now time.Time) time.Time {
	states := e.store.FSM().HeartbeatStates()
	var next time.Time
	for _, hb := range cfg.Heartbeats {
		st := states[hb.ID]
		due, ok := e.heartbeatDue(hb, st, term)
		if !ok {
			continue
		}
		if due.After(now) {
			next = earliest(next, due)
			continue
		}
		_, _, err := e.store.SubmitHeartbeat(ctx, cluster.HeartbeatCommand{ID: hb.ID, Op: cluster.HeartbeatDown, LastPing: st.LastPingAt})
		if err != nil {
			e.log.Warn("declare heartbeat down", "heartbeat", hb.ID, "err", err)
			next = earliest(next, now.Add(time.Second))
			continue
		}
		e.log.Info("heartbeat down", "heartbeat", hb.ID)
	}
	return next
}

// heartbeatDue is when hb goes down; false while its incident is open.
func (e *Engine) heartbeatDue(hb config.Heartbeat, st cluster.HeartbeatState, term time.Time) (time.Time, bool) {
	base := term
	if st.LastPingAt != nil {
		base = *st.LastPingAt
	}
	if st.Incident != 0 {
		var inc *incident.Incident
		e.store.FSM().ReadIncidents(func(s *incident.State) { inc, _ = s.Get(st.Incident) })
		if inc != nil && inc.Status != incident.Resolved {
			return time.Time{}, false // down until the next ping
		}
		if inc != nil && inc.ResolvedAt != nil && inc.ResolvedAt.After(base) {
			base = *inc.ResolvedAt // resolved by hand: a fresh period
		}
	}
	due := heartbeatDeadline(hb, base, term)
	return due, true
}

// heartbeatDeadline is base + every + grace, but never before the leader
// term started plus grace.
func heartbeatDeadline(hb config.Heartbeat, base, term time.Time) time.Time {
	due := base.Add(hb.Deadline())
	if floor := term.Add(hb.Grace.D()); due.Before(floor) {
		due = floor
	}
	return due
}

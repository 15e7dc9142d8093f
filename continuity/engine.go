// Package continuity runs the leader-only side of service continuity
// (spec §5.4): it declares heartbeats down when their deadline passes,
// starts drills on their cron schedule, judges drill runs against their
// pass criteria and mails the result to the continuity manager and owner.
//
// Every decision is committed before anything happens because of it: a
// heartbeat goes down by a "down" command (ignored if a ping was committed
// since), a drill runs by a drill_run command whose id is the drill and its
// scheduled time (so a second leader committing it again is a no-op), a
// result is recorded ("report due") before the mail is sent and the mail's
// outcome after. A new leader therefore neither skips nor doubles anything.
package continuity

import (
	"context"
	"log/slog"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/escalation"
)

// Store is the replicated state and the leader's commit path.
type Store interface {
	FSM() *cluster.FSM
	Now() time.Time
	SubmitHeartbeat(ctx context.Context, c cluster.HeartbeatCommand) (cluster.HeartbeatState, uint64, error)
	SubmitDrillRun(ctx context.Context, c cluster.DrillRunCommand) (cluster.DrillRun, error)
	SubmitDrillResult(ctx context.Context, c cluster.DrillResultCommand) (cluster.DrillRun, error)
}

// Options configure an Engine.
type Options struct {
	Store   Store
	Senders escalation.Senders // for the drill result mail; nil sends none
	Logger  *slog.Logger
}

// Engine is the leader-only continuity routine; Run it with Node.OnLeader.
type Engine struct {
	store   Store
	senders escalation.Senders
	log     *slog.Logger
}

// New returns an engine.
func New(o Options) *Engine {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Engine{store: o.Store, senders: o.Senders, log: o.Logger.With("component", "continuity")}
}

// Longest sleep between passes: a missed signal costs at most this much.
const maxSleep = 2 * time.Second

// catchUp is how far back a new leader looks for a drill run its
// predecessor did not start (an election takes seconds; after a whole
// cluster was down for longer, the missed run is not made up).
const catchUp = 2 * time.Minute

// Run works until ctx ends (leadership lost).
func (e *Engine) Run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	cancel := e.store.FSM().Watch(func(cluster.Change) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	defer cancel()
	term := e.store.Now()
	e.log.Info("continuity routine started")
	for {
		next := e.pass(ctx, term)
		d := time.Until(next)
		if d > maxSleep || next.IsZero() {
			d = maxSleep
		}
		if d < 10*time.Millisecond {
			d = 10 * time.Millisecond
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass does everything due now and returns when the next thing is due.
func (e *Engine) pass(ctx context.Context, term time.Time) time.Time {
	ac := e.store.FSM().Config()
	if ac == nil || ac.Config == nil {
		return time.Time{}
	}
	now := e.store.Now()
	next := earliest(time.Time{}, e.heartbeats(ctx, ac.Config, term, now))
	next = earliest(next, e.drills(ctx, ac.Config, now))
	next = earliest(next, e.judge(ctx, ac.Config, now))
	e.reports(ctx, ac)
	return next
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

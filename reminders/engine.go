package reminders

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/pagerd/pagerd/internal/leaderloop"
)

// Reminder is one reminder due to one person.
type Reminder struct {
	// ID names the reminder and its date: "followup/INC-42-F1/2026-12-06T10:00:00Z".
	// One ID is sent at most once.
	ID   string
	Kind string // "followup", "postmortem", ...
	Ref  string // what it is about: "INC-42-F1", "INC-42"
	To   string // user id
	At   time.Time
	// Line is the one-line text of the reminder in a mail.
	Line string
}

// Job is one kind of calendar job.
type Job interface {
	// Due lists the reminders due at or before now that are not recorded
	// yet, and the next instant after now at which another falls due (zero
	// when none will).
	Due(now time.Time) (due []Reminder, next time.Time)
}

// Store is the replicated state the engine records sends in.
type Store interface {
	// Queue records items to person to as queued before they are sent. An
	// error wrapping ErrRecorded means another leader recorded one already:
	// the engine skips the mail.
	Queue(ctx context.Context, to string, items []Reminder) error
	// Outcome records how the mail of those items went.
	Outcome(ctx context.Context, ids []string, sendErr error) error
}

// ErrRecorded is what Store.Queue wraps when a reminder is already recorded.
var ErrRecorded = errors.New("reminder already recorded")

// Sender mails one person their due reminders, in one message.
type Sender interface {
	Send(ctx context.Context, to string, items []Reminder) error
}

// Clock is the engine's time source; tests inject a fake one.
type Clock = leaderloop.Clock

// Options configure an Engine.
type Options struct {
	Jobs   []Job
	Store  Store
	Sender Sender
	Clock  Clock
	Logger *slog.Logger
	// Retry is how soon a run that could not record (no quorum, say) is
	// tried again (default 30s).
	Retry time.Duration
	// SendTimeout bounds one mail (default 30s).
	SendTimeout time.Duration
}

// Engine runs the jobs. Run it on the leader only (cluster.Node.OnLeader).
type Engine struct {
	opts Options
	wake chan struct{}
}

// New returns an engine.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = leaderloop.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Retry <= 0 {
		opts.Retry = 30 * time.Second
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = 30 * time.Second
	}
	return &Engine{opts: opts, wake: make(chan struct{}, 1)}
}

// Wake makes a running engine look again (the FSM watch calls it when
// follow-ups, postmortems or reminder records change). It never blocks.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run sends reminders until ctx ends (leadership lost).
func (e *Engine) Run(ctx context.Context) {
	leaderloop.Run(ctx, e.opts.Clock, e.wake, func() time.Time { return e.RunOnce(ctx) })
}

// RunOnce sends what is due now and returns when to look next (zero: only
// on a state change).
func (e *Engine) RunOnce(ctx context.Context) time.Time {
	now := e.opts.Clock.Now()
	var due []Reminder
	var next time.Time
	for _, j := range e.opts.Jobs {
		d, n := j.Due(now)
		due = append(due, d...)
		next = earliest(next, n)
	}
	for _, to := range recipients(due) {
		if err := e.send(ctx, to, itemsFor(due, to)); err != nil {
			next = earliest(next, now.Add(e.opts.Retry))
		}
	}
	return next
}

// send records, mails and records the outcome of one person's digest. An
// error means the record could not be made: try again later.
func (e *Engine) send(ctx context.Context, to string, items []Reminder) error {
	log := e.opts.Logger.With("to", to, "reminders", len(items), "first", items[0].ID)
	if err := e.opts.Store.Queue(ctx, to, items); err != nil {
		if errors.Is(err, ErrRecorded) {
			log.Info("reminders already recorded; not sending", "err", err)
			return nil
		}
		log.Warn("reminders: cannot record the send; will retry", "err", err)
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, e.opts.SendTimeout)
	sendErr := e.opts.Sender.Send(sctx, to, items)
	cancel()
	if sendErr != nil {
		log.Warn("reminder mail failed", "err", sendErr)
	} else {
		log.Info("reminder mail sent")
	}
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i] = it.ID
	}
	if err := e.opts.Store.Outcome(ctx, ids, sendErr); err != nil {
		log.Warn("reminders: outcome not recorded", "err", err)
	}
	return nil
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func recipients(due []Reminder) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range due {
		if !seen[r.To] {
			seen[r.To] = true
			out = append(out, r.To)
		}
	}
	sort.Strings(out)
	return out
}

func itemsFor(due []Reminder, to string) []Reminder {
	var out []Reminder
	for _, r := range due {
		if r.To == to {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

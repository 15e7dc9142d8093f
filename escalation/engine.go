package escalation

import (
	"cmp"
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/leaderloop"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/schedule"
)

// Store is the replicated state as the engine sees it. *cluster.Node
// implements it; tests use an in-memory store.
type Store interface {
	// ActiveConfig is the committed config and its version (nil before one).
	ActiveConfig() (*config.Config, string)
	// ReadIncidents runs fn under the state's read lock.
	ReadIncidents(fn func(*incident.State))
	// WatchIncidents calls fn after every applied change with the incidents
	// it touched (all: anything may have changed). fn must not block.
	WatchIncidents(fn func(ids []uint64, all bool)) (cancel func())
	SubmitStepStart(ctx context.Context, st *incident.StepStart) error
	SubmitDelivery(ctx context.Context, d *incident.Delivery) (int, error)
	// SubmitRoleNotify commits a role page or a role's instructions.
	SubmitRoleNotify(ctx context.Context, rn *incident.RoleNotify) (*incident.Incident, error)
	// ReplyKeyring signs the Reply-To tokens of page emails.
	ReplyKeyring() reply.Keyring
}

// Senders returns the sender of one channel under one config version:
// "sms", "email", or "webhook" with the webhook id as target.
type Senders interface {
	Sender(cfg *config.Config, version, channel, target string) (notify.Sender, error)
}

// Clock is the engine's time source; tests inject a fake one.
type Clock = leaderloop.Clock

// Defaults of Options.
const (
	DefaultMaxAttempts = 6 // with the default backoff: retries over about a minute
	DefaultSendTimeout = 30 * time.Second
	DefaultConcurrency = 64
)

// Options configure an Engine.
type Options struct {
	Store    Store
	Senders  Senders
	Clock    Clock
	Logger   *slog.Logger
	Registry prometheus.Registerer
	Backoff  notify.Backoff
	// MaxAttempts bounds the sends of one notification; the last failure is
	// final and recorded.
	MaxAttempts int
	SendTimeout time.Duration
	Rand        func() float64 // backoff jitter
	// Concurrency bounds the sends and commits in flight.
	Concurrency int
	// IsLeader, when set, is checked right before each send, so a node that
	// has just lost leadership does not start new sends.
	IsLeader func() bool

	// synchronous makes sends and commits run inline (tests drive step()).
	synchronous bool
	// noSkip makes collect copy and reconcile every changed incident, even
	// one with nothing to do (tests compare the two ways).
	noSkip bool
}

// Engine runs escalation policies and delivers pages. It keeps no state
// between leadership terms: Run rebuilds every timer from the replicated
// state, so a new leader carries on where the old one stopped.
type Engine struct {
	opts    Options
	log     *slog.Logger
	metrics *metrics
}

// New returns an engine; register Run with cluster.Node.OnLeader.
func New(opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = leaderloop.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.SendTimeout <= 0 {
		opts.SendTimeout = DefaultSendTimeout
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Engine{opts: opts, log: opts.Logger.With("component", "escalation"), metrics: newMetrics(opts.Registry)}
}

// Run is the leader routine: it returns when ctx ends (leadership lost or
// shutdown), after waiting for the sends it started.
func (e *Engine) Run(ctx context.Context) {
	t := e.newTerm(ctx)
	cancel := e.opts.Store.WatchIncidents(t.changed)
	defer cancel()
	defer t.wg.Wait()
	e.log.Info("escalation engine started")
	leaderloop.Run(ctx, e.opts.Clock, t.wake, t.step)
	e.log.Info("escalation engine stopped")
}

// term is the engine's working state for one leadership term.
type term struct {
	e   *Engine
	ctx context.Context
	wg  sync.WaitGroup
	sem chan struct{}

	wake chan struct{}

	mu    sync.Mutex
	dirty map[uint64]bool
	// spare is the dirty set of the previous pass, emptied, for the next
	// (collect); only collect takes and returns it.
	spare map[uint64]bool
	all   bool
	// busy: incidents with a step commit in flight; inflight: notification
	// ids being sent (or held by flood control).
	busy     map[uint64]bool
	roleBusy map[uint64]bool // a role notification commit in flight (roles.go)
	inflight map[string]bool
	timers   timerHeap
	flood    *flood
	// holds are flood-control holds not yet committed (see commitHolds);
	// floodSeeded: the windows hold the replicated send times.
	holds     []incident.DeliveryItem
	holdsBusy bool // a hold commit is in flight
	// lastHolds is how many holds the last hold commit took: the next
	// batch starts with room for as many (a storm's grew from nil each
	// time, about twice its size in copies).
	lastHolds   int
	floodSeeded bool
	// outcomes are delivery outcomes not yet committed, outcomesBusy: a
	// committer runs (outcomes.go).
	outcomes     []job
	outcomesBusy bool

	setVersion string
	set        *schedule.Set

	// start is when the term began: acknowledgements and resolves stamped
	// from then on were committed by this leader, so it observes their time
	// to ack and to resolve (ackSeen, resolveSeen: once per incident). Earlier ones, replayed or seen by a
	// previous leader, are not observed again. Only step's goroutine
	// touches them.
	start       time.Time
	ackSeen     map[uint64]bool
	resolveSeen map[uint64]bool
	// stepFails counts the failed commits of an incident's step start in a
	// row (see stepCommitted).
	stepFails map[uint64]int
	// planned: step starts planned in this pass, committed together at
	// its end (commitSteps).
	planned []*incident.StepStart
	// reminding: incidents with an update reminder commit in flight.
	reminding map[uint64]bool
	// firstSeen: incidents whose step 0 this term counted in the steps
	// metric, or planned itself (see observeFirstStep). Under mu.
	firstSeen map[uint64]bool
}

func (e *Engine) newTerm(ctx context.Context) *term {
	return &term{e: e, ctx: ctx, sem: make(chan struct{}, e.opts.Concurrency), wake: make(chan struct{}, 1),
		dirty: map[uint64]bool{}, spare: map[uint64]bool{}, all: true, busy: map[uint64]bool{}, roleBusy: map[uint64]bool{}, inflight: map[string]bool{},
		timers: newTimerHeap(), flood: newFlood(), start: e.opts.Clock.Now(), ackSeen: map[uint64]bool{},
		resolveSeen: map[uint64]bool{}, stepFails: map[uint64]int{}, reminding: map[uint64]bool{}, firstSeen: map[uint64]bool{}}
}

// changed is the store's watch callback.
func (t *term) changed(ids []uint64, all bool) {
	t.mu.Lock()
	for _, id := range ids {
		t.dirty[id] = true
		delete(t.stepFails, id) // the incident changed: a fresh retry budget
	}
	t.all = t.all || all
	t.mu.Unlock()
	t.signal()
}

func (t *term) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// step reconciles every incident that changed or whose timer is due, and
// returns when it next needs to run (zero: only on a change).
func (t *term) step() time.Time {
	cfg, version := t.e.opts.Store.ActiveConfig()
	if cfg == nil {
		return time.Time{}
	}
	now := t.e.opts.Clock.Now()
	set := t.schedules(cfg, version)
	t.seedFlood(cfg, now)
	incs, optedOut := t.collect(cfg, set, now)
	for _, inc := range incs {
		t.reconcile(inc, cfg, version, set, now, optedOut)
	}
	t.commitSteps()
	t.commitHolds()
	t.flushFlood(cfg, version, now)
	t.mu.Lock()
	defer t.mu.Unlock()
	next := t.timers.peek()
	if f := t.flood.nextFlush(now); !f.IsZero() && (next.IsZero() || f.Before(next)) {
		next = f
	}
	return next
}

// collect takes the dirty and due incidents and reads copies of those
// with work to do; the others only have their timer armed.
func (t *term) collect(cfg *config.Config, set *schedule.Set, now time.Time) ([]*incident.Incident, map[string]bool) {
	t.mu.Lock()
	all := t.all
	ids := t.dirty
	if t.spare == nil {
		t.spare = map[uint64]bool{}
	}
	t.all, t.dirty, t.spare = false, t.spare, nil
	for _, id := range t.timers.popDue(now) {
		ids[id] = true
	}
	t.mu.Unlock()
	defer func() {
		// The set read here is the next pass's dirty set, emptied: a map
		// made afresh each pass grew again to a storm's size every time.
		clear(ids)
		t.mu.Lock()
		t.spare = ids
		t.mu.Unlock()
	}()
	var incs []*incident.Incident
	optedOut := map[string]bool{}
	t.e.opts.Store.ReadIncidents(func(st *incident.State) {
		if all {
			st.EachOpen(func(inc *incident.Incident) { ids[inc.ID] = true })
			st.EachPendingSummary(func(inc *incident.Incident) { ids[inc.ID] = true })
		}
		for id := range ids {
			live, ok := st.Peek(id)
			if ok {
				t.observeAck(live)
				t.observeResolve(live)
				t.observeFirstStep(live)
			}
			if !ok || !(live.Status.Open() || hasQueuedSummary(live)) {
				continue
			}
			if w := t.pending(live, cfg, set, now); w.idle() && !t.e.opts.noSkip {
				t.arm(id, w.wake) // all reconcile would do (pending.go)
				continue
			}
			inc, _ := st.EscalationView(id)
			incs = append(incs, inc)
			for _, n := range inc.Notifications {
				if n.Channel == incident.ChannelSMS && n.Status == incident.NotifyQueued {
					if _, off := st.SMSOff(n.To); off {
						optedOut[n.To] = true
					}
				}
			}
		}
	})
	// Oldest first: ids read from a map come in random order, and within
	// a pass the order decides who pages first and, when a flood window
	// fills, which incidents page and which wait for the summary.
	slices.SortFunc(incs, func(a, b *incident.Incident) int { return cmp.Compare(a.ID, b.ID) })
	return incs, optedOut
}

// scheduleSource is implemented by a store that compiles the schedules
// itself with the runtime overrides on top (*cluster.Node); a store without
// it gets the config's schedules alone.
type scheduleSource interface {
	Schedules() (*schedule.Set, string, error)
}

func (t *term) schedules(cfg *config.Config, version string) *schedule.Set {
	if src, ok := t.e.opts.Store.(scheduleSource); ok {
		set, v, err := src.Schedules()
		if err != nil && v != t.setVersion {
			t.e.log.Error("compile schedules; schedule and rotation targets page nobody", "err", err)
		}
		t.set, t.setVersion = set, v
		return set
	}
	if t.set == nil || t.setVersion != version {
		set, err := schedule.Compile(cfg)
		if err != nil {
			t.e.log.Error("compile schedules; schedule and rotation targets page nobody", "err", err)
		}
		t.set, t.setVersion = set, version
	}
	return t.set
}

// reconcile starts a due step and sends due notifications of one incident,
// and arms its timer for the next thing it waits for (pending decides).
func (t *term) reconcile(inc *incident.Incident, cfg *config.Config, version string, set *schedule.Set, now time.Time, optedOut map[string]bool) {
	w := t.pending(inc, cfg, set, now)
	if w.step != "" {
		t.queueStep(planStep(inc, w.step, cfg, set, now))
	}
	if w.remind {
		t.commitReminder(inc, cfg, now, w.remindDue, w.remindSent)
	}
	if w.role != nil {
		t.startRoleNotify(w.role)
	}
	for i := range inc.Notifications {
		n := &inc.Notifications[i]
		if n.Status == incident.NotifyQueued && !n.DueAt.After(now) {
			t.deliver(inc, n, cfg, version, now, optedOut[n.To] && n.Channel == incident.ChannelSMS)
		}
	}
	t.arm(inc.ID, w.wake)
}

// arm sets incident id's timer at wake (zero: none).
func (t *term) arm(id uint64, wake time.Time) {
	if !wake.IsZero() {
		t.mu.Lock()
		t.timers.set(id, wake)
		t.mu.Unlock()
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// async runs fn in the background, bounded by the term's concurrency; in
// synchronous mode (tests) it runs inline.
func (t *term) async(fn func()) {
	if t.e.opts.synchronous {
		fn()
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		select {
		case t.sem <- struct{}{}:
		case <-t.ctx.Done():
			return
		}
		defer func() { <-t.sem }()
		fn()
	}()
}

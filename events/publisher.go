package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/leaderloop"
	"github.com/pagerd/pagerd/notify"
)

// Window: an incident is streamed while open and for this long after it
// was resolved (the cluster keeps its cursors as long; see
// cluster/eventcursor.go). A webhook added to events_to later therefore
// receives the whole timelines of incidents still in the window, and none
// of older ones.
const Window = 24 * time.Hour

// Store is the replicated state as the publisher sees it; *cluster.Node
// implements it.
type Store interface {
	ActiveConfig() (*config.Config, string)
	ReadIncidents(fn func(*incident.State))
	WatchIncidents(fn func(ids []uint64, all bool)) (cancel func())
	EventCursors(ids []uint64) map[uint64]map[string]incident.EventCursor
	SubmitEventProgress(ctx context.Context, p *incident.EventProgress) (int, error)
}

// Senders returns the sender of a channel (the escalation engine's
// channels.Providers); a webhook sender that can post events implements
// Poster.
type Senders interface {
	Sender(cfg *config.Config, version, channel, target string) (notify.Sender, error)
}

// Poster posts an encoded, signed event (*webhook.Sender).
type Poster interface {
	PostEvent(ctx context.Context, id string, body []byte) error
}

// Clock is the publisher's time source.
type Clock = leaderloop.Clock

// Defaults of Options, as for pages.
const (
	DefaultMaxAttempts = 6
	DefaultSendTimeout = 30 * time.Second
	DefaultConcurrency = 32
	// commitAttempts bounds the retries of one cursor commit (no quorum).
	commitAttempts = 5
)

// Options configure a Publisher.
type Options struct {
	Store       Store
	Senders     Senders
	Clock       Clock
	Logger      *slog.Logger
	Backoff     notify.Backoff
	MaxAttempts int // sends of one event; the last failure is final
	SendTimeout time.Duration
	Rand        func() float64
	Concurrency int // streams sending at once
}

// Publisher streams incident events to webhooks on the leader.
type Publisher struct {
	opts Options
	log  *slog.Logger
}

// New returns a publisher; register Run with cluster.Node.OnLeader.
func New(o Options) *Publisher {
	if o.Clock == nil {
		o.Clock = leaderloop.RealClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = DefaultSendTimeout
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return &Publisher{opts: o, log: o.Logger.With("component", "events")}
}

// streamKey is one incident's stream to one webhook.
type streamKey struct {
	incident uint64
	webhook  string
}

// term is the publisher's state for one leadership term.
type term struct {
	p    *Publisher
	ctx  context.Context
	wg   sync.WaitGroup
	sem  chan struct{}
	wake chan struct{}
	// enabled: some service has events_to. While false the watch callback
	// returns at once, so ingest pays nothing for this feature.
	enabled atomic.Bool

	mu     sync.Mutex
	dirty  map[uint64]bool
	all    bool
	active map[streamKey]bool

	version string
	hooks   map[string][]string // service → webhook ids
	bridges map[string]string   // service → bridge_url
}

// Run is the leader routine; it returns when ctx ends, after its sends.
func (p *Publisher) Run(ctx context.Context) {
	t := &term{p: p, ctx: ctx, sem: make(chan struct{}, p.opts.Concurrency), wake: make(chan struct{}, 1),
		dirty: map[uint64]bool{}, all: true, active: map[streamKey]bool{}}
	cancel := p.opts.Store.WatchIncidents(t.changed)
	defer cancel()
	defer t.wg.Wait()
	// Steps only on a state change: the publisher keeps no deadline here.
	leaderloop.Run(ctx, p.opts.Clock, t.wake, func() time.Time { t.step(); return time.Time{} })
}

// changed is the store's watch callback: record and signal only.
func (t *term) changed(ids []uint64, all bool) {
	if !all && !t.enabled.Load() {
		return
	}
	t.mu.Lock()
	for _, id := range ids {
		t.dirty[id] = true
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

// step starts a stream for every incident with undelivered entries to one
// of its service's webhooks that has none running.
func (t *term) step() {
	cfg, version := t.p.opts.Store.ActiveConfig()
	if cfg == nil {
		return
	}
	t.loadConfig(cfg, version)
	t.mu.Lock()
	all, ids := t.all, t.dirty
	t.all, t.dirty = false, map[uint64]bool{}
	t.mu.Unlock()
	if len(t.hooks) == 0 {
		return
	}
	cut := t.p.opts.Clock.Now().Add(-Window)
	var due []streamKey
	var cand []uint64
	infos := map[uint64]incident.StreamInfo{}
	t.p.opts.Store.ReadIncidents(func(st *incident.State) {
		if all {
			st.EachStreamable(cut, func(id uint64) { ids[id] = true })
		}
		for id := range ids {
			info, ok := st.StreamInfo(id)
			if !ok || len(t.hooks[info.Service]) == 0 || (info.ResolvedAt != nil && info.ResolvedAt.Before(cut)) {
				continue
			}
			infos[id] = info
			cand = append(cand, id)
		}
	})
	cursors := t.p.opts.Store.EventCursors(cand)
	for _, id := range cand {
		info := infos[id]
		for _, hook := range t.hooks[info.Service] {
			if cursors[id][hook].Next < info.TimelineLen {
				due = append(due, streamKey{id, hook})
			}
		}
	}
	for _, k := range due {
		t.start(k, cfg, version)
	}
}

// loadConfig indexes events_to and bridge_url per service, once per version.
func (t *term) loadConfig(cfg *config.Config, version string) {
	if t.version == version && t.hooks != nil {
		return
	}
	t.version, t.hooks, t.bridges = version, map[string][]string{}, map[string]string{}
	for _, s := range cfg.Services {
		for _, target := range s.EventsTo {
			if id, ok := strings.CutPrefix(target, "webhook:"); ok {
				t.hooks[s.ID] = append(t.hooks[s.ID], id)
			}
		}
		t.bridges[s.ID] = s.BridgeURL
	}
	t.enabled.Store(len(t.hooks) > 0)
}

// start runs the stream k unless it runs already. At most
// maxStreams (4 × Concurrency) streams exist at once, so an incident storm
// cannot pile up goroutines; the rest stay dirty and start as streams end.
func (t *term) start(k streamKey, cfg *config.Config, version string) {
	t.mu.Lock()
	if t.active[k] {
		t.mu.Unlock()
		return
	}
	if len(t.active) >= 4*t.p.opts.Concurrency {
		t.dirty[k.incident] = true
		t.mu.Unlock()
		return
	}
	t.active[k] = true
	t.mu.Unlock()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer func() {
			// Entries applied while this stream was finishing are picked
			// up by the next step.
			t.mu.Lock()
			delete(t.active, k)
			t.dirty[k.incident] = true
			t.mu.Unlock()
			t.signal()
		}()
		select {
		case t.sem <- struct{}{}:
		case <-t.ctx.Done():
			return
		}
		defer func() { <-t.sem }()
		t.stream(k, cfg, version)
	}()
}

// stream delivers k's entries one at a time, in order: send, then commit
// the cursor past it, then the next. It returns when caught up, when ctx
// ends, or when a cursor cannot be committed.
func (t *term) stream(k streamKey, cfg *config.Config, version string) {
	for t.ctx.Err() == nil {
		inc, next, ok := t.read(k)
		if !ok || next >= len(inc.Timeline) {
			return
		}
		body, err := Body(inc, next, t.bridges[inc.Service], t.p.opts.Clock.Now())
		failure := ""
		if err == nil {
			err = t.deliver(k, DeliveryID(inc.ID, next), body, cfg, version)
		}
		if t.ctx.Err() != nil {
			return // not delivered as far as we know: the next leader sends it
		}
		if err != nil {
			failure = err.Error()
			t.p.log.Warn("incident event given up", "incident", inc.Key, "webhook", k.webhook, "seq", next+1, "err", err)
		}
		if !t.commit(k, next+1, failure) {
			return
		}
	}
}

// read returns a copy of the incident and the stream's cursor.
func (t *term) read(k streamKey) (*incident.Incident, int, bool) {
	var inc *incident.Incident
	var ok bool
	t.p.opts.Store.ReadIncidents(func(st *incident.State) { inc, ok = st.Get(k.incident) })
	if !ok {
		return nil, 0, false
	}
	return inc, t.p.opts.Store.EventCursors([]uint64{k.incident})[k.incident][k.webhook].Next, true
}

// deliver posts one event with the bounded retries of a page: backoff with
// jitter, the receiver's Retry-After honoured, permanent errors final.
func (t *term) deliver(k streamKey, id string, body []byte, cfg *config.Config, version string) error {
	s, err := t.p.opts.Senders.Sender(cfg, version, incident.ChannelWebhook, k.webhook)
	if err != nil {
		return err
	}
	poster, ok := s.(Poster)
	if !ok {
		return notify.Permanent(fmt.Errorf("webhook %s: this node's sender cannot post incident events", k.webhook))
	}
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(t.ctx, t.p.opts.SendTimeout)
		err = poster.PostEvent(ctx, id, body)
		cancel()
		if err == nil || !notify.IsRetryable(err) || attempt+1 >= t.p.opts.MaxAttempts || t.ctx.Err() != nil {
			return err
		}
		if !t.sleep(t.p.opts.Backoff.Next(attempt, err, t.p.opts.Rand)) {
			return t.ctx.Err()
		}
	}
}

// commit records the cursor, retrying a commit that failed for a transient
// reason a few times while this node leads.
func (t *term) commit(k streamKey, next int, failure string) bool {
	p := &incident.EventProgress{Items: []incident.EventProgressItem{{Incident: k.incident, Webhook: k.webhook, Next: next, Error: failure}}}
	for attempt := 0; attempt < commitAttempts; attempt++ {
		moved, err := t.p.opts.Store.SubmitEventProgress(t.ctx, p)
		if err == nil {
			// Not moved: the incident left the state, or the cursor is
			// already past; either way this stream has nothing more to do.
			return moved > 0
		}
		if t.ctx.Err() != nil || errors.Is(err, context.Canceled) {
			return false
		}
		t.p.log.Warn("commit incident event cursor; retrying", "incident", incident.KeyFor(k.incident), "webhook", k.webhook, "err", err)
		if !t.sleep(time.Second << attempt) {
			return false
		}
	}
	return false
}

func (t *term) sleep(d time.Duration) bool {
	return leaderloop.Sleep(t.ctx, t.p.opts.Clock, d)
}

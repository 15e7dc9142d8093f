package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/schedule"
)

// The harness drives the engine on a fake clock against an in-memory store
// that applies commands to a real incident.State, as the FSM does. Sends
// and commits run inline (synchronous mode), so after settle() everything
// the engine would do at the current instant has happened.

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday, 11:00 in Amsterdam

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

// After fires at once: in synchronous mode only the commit retry waits on
// it, and the harness advances the clock to each wake-up step() returns.
func (c *fakeClock) After(time.Duration) (<-chan time.Time, func()) {
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch, func() {}
}

type memStore struct {
	mu      sync.RWMutex
	clock   *fakeClock
	cfg     *config.Config
	st      *incident.State
	keyring reply.Keyring
	watch   func([]uint64, bool)
	// failCommits makes SubmitDelivery fail this many times (no quorum),
	// calling onFail first (e.g. to end the leadership term).
	failCommits int
	onFail      func()
	// failSteps makes SubmitStepStart fail this many times; stepSubmits
	// records when each step start was submitted (since t0).
	failSteps   int
	stepSubmits []time.Duration
	// holdCommits counts the delivery commits that record flood holds.
	holdCommits int
	// deliveryGate, when set, holds each SubmitDelivery until it can
	// receive; blocked counts the items of commits waiting there, and
	// outcomeCommits the items of each outcome commit (outcomes_test.go).
	stepBatches    []int
	deliveryGate   chan struct{}
	blocked        int
	outcomeCommits []int
	// changes counts the watch calls (every applied change).
	changes int
}

func (s *memStore) ActiveConfig() (*config.Config, string) { return s.cfg, "v1" }
func (s *memStore) ReadIncidents(fn func(*incident.State)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.st)
}
func (s *memStore) WatchIncidents(fn func([]uint64, bool)) func() {
	s.watch = fn
	return func() { s.watch = nil }
}
func (s *memStore) changed(ids ...uint64) {
	s.changes++
	if s.watch != nil {
		s.watch(ids, false)
	}
}
func (s *memStore) SubmitStepStart(_ context.Context, st *incident.StepStart) error {
	s.mu.Lock()
	s.stepSubmits = append(s.stepSubmits, s.clock.Now().Sub(t0))
	if s.failSteps > 0 {
		s.failSteps--
		s.mu.Unlock()
		return errors.New("no quorum")
	}
	_, err := s.st.RecordStepStart(s.clock.Now(), st)
	s.mu.Unlock()
	if err == nil {
		s.changed(st.Incident)
	}
	return err
}

// SubmitStepStarts is the cluster's: the steps of one engine pass in one
// call (stepBatches records the sizes), applied in order.
func (s *memStore) SubmitStepStarts(ctx context.Context, sts []*incident.StepStart) []error {
	s.mu.Lock()
	s.stepBatches = append(s.stepBatches, len(sts))
	s.mu.Unlock()
	errs := make([]error, len(sts))
	for i, st := range sts {
		errs[i] = s.SubmitStepStart(ctx, st)
	}
	return errs
}
func (s *memStore) SubmitDelivery(_ context.Context, d *incident.Delivery) (int, error) {
	if s.deliveryGate != nil {
		s.mu.Lock()
		s.blocked += len(d.Items)
		s.mu.Unlock()
		<-s.deliveryGate
	}
	s.mu.Lock()
	if len(d.Items) > 0 && d.Items[0].Outcome != incident.OutcomeHeld {
		s.outcomeCommits = append(s.outcomeCommits, len(d.Items))
	}
	if s.failCommits > 0 {
		s.failCommits--
		s.mu.Unlock()
		if s.onFail != nil {
			s.onFail()
		}
		return 0, errors.New("no quorum")
	}
	if len(d.Items) > 0 && d.Items[0].Outcome == incident.OutcomeHeld {
		s.holdCommits++
	}
	n := s.st.ApplyDelivery(s.clock.Now(), d)
	s.mu.Unlock()
	for _, it := range d.Items {
		s.changed(it.Incident)
	}
	return n, nil
}
func (s *memStore) SubmitRoleNotify(_ context.Context, rn *incident.RoleNotify) (*incident.Incident, error) {
	s.mu.Lock()
	inc, err := s.st.ApplyRoleNotify(s.clock.Now(), rn)
	s.mu.Unlock()
	if err == nil {
		s.changed(rn.Incident)
	}
	return inc, err
}
func (s *memStore) ReplyKeyring() reply.Keyring { return s.keyring }

// sent is one message a fake sender accepted.
type sent struct {
	at       time.Duration // since t0
	channel  string
	to       string // user id, or webhook id
	id       string
	step     int
	loop     int
	incident uint64
	summary  []uint64
	// resolution is the summary a resolution mail carried (resolution_test.go).
	resolution *incident.Summary
}

func (s sent) String() string {
	if r := s.resolution; r != nil {
		return fmt.Sprintf("%v %s %s resolution %s duration %ds pages %d", s.at, s.channel, s.to, r.Key, r.Duration.Seconds, pageCount(r))
	}
	if len(s.summary) > 0 {
		return fmt.Sprintf("%v %s %s summary of %d", s.at, s.channel, s.to, len(s.summary))
	}
	return fmt.Sprintf("%v %s %s step%d loop%d INC-%d", s.at, s.channel, s.to, s.step, s.loop, s.incident)
}

type recorder struct {
	mu    sync.Mutex
	clock *fakeClock
	sent  []sent
	// fail returns the error for the next send to a channel, if any.
	fail map[string][]error
}

func (r *recorder) Sender(_ *config.Config, _, channel, target string) (notify.Sender, error) {
	return senderFunc(func(_ context.Context, m *notify.Message) (notify.Receipt, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if errs := r.fail[channel]; len(errs) > 0 {
			r.fail[channel] = errs[1:]
			return notify.Receipt{}, errs[0]
		}
		s := sent{at: r.clock.Now().Sub(t0), channel: channel, id: m.ID, step: m.Step, loop: m.Loop, to: m.User.ID}
		if channel == "webhook" {
			s.to = target
		}
		if m.Incident != nil && !m.IsSummary() {
			s.incident = m.Incident.ID
		}
		for _, inc := range m.Summary {
			s.summary = append(s.summary, inc.ID)
		}
		s.resolution = m.Resolution
		r.sent = append(r.sent, s)
		return notify.Receipt{ProviderID: "p-" + m.ID}, nil
	}), nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sent {
		out = append(out, s.String())
	}
	r.sent = nil
	sort.Strings(out)
	return out
}

type senderFunc func(context.Context, *notify.Message) (notify.Receipt, error)

func (f senderFunc) Send(ctx context.Context, m *notify.Message) (notify.Receipt, error) {
	return f(ctx, m)
}

type harness struct {
	t     *testing.T
	clock *fakeClock
	store *memStore
	rec   *recorder
	eng   *Engine
	term  *term
	// planner plans step 0 into triggerPlanned's commands (firststep_test.go).
	planner    *FirstStepPlanner
	plannerSet *schedule.Set
}

const harnessConfig = `
timezone: Europe/Amsterdam
users:
  - {id: alice, email: alice@example.com, phone: "+31600000001", notify: [{via: sms, after: 0m}, {via: email, after: 2m}]}
  - {id: bob, email: bob@example.com, phone: "+31600000002", notify: [{via: email, after: 0m}]}
  - {id: carol, email: carol@example.com, notify: []}
rotations:
  - {id: primary, participants: [alice], shift: 1w, start: "2026-11-02 09:00"}
  - {id: nights, participants: [bob], shift: 1d, start: "2026-11-02 00:00", active: [{from: "22:00", to: "06:00"}]}
schedules:
  - {id: web, layers: [primary]}
  - {id: night, layers: [nights]}
policies:
  - id: two-step
    repeat: 1
    steps:
      - {notify: [schedule:web], escalate_after: 10m}
      - {notify: [user:bob, webhook:chat], escalate_after: 5m}
  - id: night-first
    steps:
      - {notify: [schedule:night], escalate_after: 10m}
      - {notify: [user:bob], escalate_after: 10m}
  - id: no-phone
    steps:
      - {notify: [user:carol, user:bob], escalate_after: 10m}
services:
  - {id: web, policy: two-step, ack_timeout: 30m}
  - {id: nightly, policy: night-first}
  - {id: phoneless, policy: no-phone}
integrations:
  - {name: events, key: k, service: web}
channels:
  email: {smtp: "127.0.0.1:25", from: "pagerd@example.com", reply_domain: "reply.example.com"}
  sms: {provider: twilio, account_sid: AC1, auth_token: tok, from: "+15550000000", api_base: "http://127.0.0.1:1"}
  webhooks:
    - {id: chat, url: "http://127.0.0.1:1/hook"}
`

func newHarness(t *testing.T, extraYAML string) *harness {
	t.Helper()
	cfg, err := config.Parse([]config.Source{{Name: "test.yaml", Data: []byte(harnessConfig + extraYAML)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: t0}
	store := &memStore{clock: clock, cfg: cfg, st: incident.NewState(),
		keyring: reply.Keyring{Keys: []reply.Key{{ID: 1, Secret: []byte("0123456789abcdef0123456789abcdef")}}}}
	rec := &recorder{clock: clock, fail: map[string][]error{}}
	eng := New(Options{Store: store, Senders: rec, Clock: clock, Logger: slog.New(slog.DiscardHandler), Rand: func() float64 { return 0.5 }, synchronous: true})
	h := &harness{t: t, clock: clock, store: store, rec: rec, eng: eng}
	h.newTerm()
	return h
}

// newTerm starts a leadership term, as a new leader does.
func (h *harness) newTerm() {
	h.term = h.eng.newTerm(context.Background())
	h.store.WatchIncidents(h.term.changed)
}

// trigger opens an incident of a service through the Events v2 path.
func (h *harness) trigger(service, key string) uint64 {
	h.t.Helper()
	svc, _ := h.store.cfg.Service(service)
	h.store.mu.Lock()
	res := h.store.st.ApplyEvent(h.clock.Now(), &incident.Event{Integration: "events", Service: service,
		Action: incident.ActionTrigger, DedupKey: key, AutoResolve: true, Policy: svc.Policy,
		Alert: incident.Alert{Annotations: map[string]string{"summary": key}, Severity: "sev1"}})
	h.store.mu.Unlock()
	h.store.changed(res.Incident)
	return res.Incident
}

func (h *harness) act(id uint64, kind string) {
	h.t.Helper()
	h.store.mu.Lock()
	_, err := h.store.st.ApplyAction(h.clock.Now(), &incident.Action{Incident: id, Kind: kind, By: "alice"})
	h.store.mu.Unlock()
	if err != nil {
		h.t.Fatalf("%s INC-%d: %v", kind, id, err)
	}
	h.store.changed(id)
}

// settle runs the engine until it has nothing left to do at this instant
// and returns its next wake-up.
func (h *harness) settle() time.Time {
	for i := 0; ; i++ {
		if i > 1000 {
			h.t.Fatal("engine does not settle")
		}
		next := h.term.step()
		h.term.mu.Lock()
		more := len(h.term.dirty) > 0 || h.term.all
		h.term.mu.Unlock()
		if !more && (next.IsZero() || next.After(h.clock.Now())) {
			return next
		}
	}
}

// runUntil advances the fake clock from wake-up to wake-up up to until,
// exactly as Run's timer would, and settles at each.
func (h *harness) runUntil(until time.Duration) {
	h.t.Helper()
	end := t0.Add(until)
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

func (h *harness) incident(id uint64) *incident.Incident {
	var inc *incident.Incident
	h.store.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(id) })
	return inc
}

func (h *harness) expectSent(want ...string) {
	h.t.Helper()
	got := h.rec.take()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Fatalf("sent:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func (h *harness) timelineHas(id uint64, typ, substr string) {
	h.t.Helper()
	inc := h.incident(id)
	for _, e := range inc.Timeline {
		if e.Type == typ && strings.Contains(e.Message, substr) {
			return
		}
	}
	var lines []string
	for _, e := range inc.Timeline {
		lines = append(lines, e.Type+": "+e.Message)
	}
	h.t.Fatalf("timeline of INC-%d has no %s entry containing %q:\n  %s", id, typ, substr, strings.Join(lines, "\n  "))
}

// endTermOnCommitFailure makes the next delivery commit fail because the
// leadership term ended, as when the leader dies mid-send.
func (h *harness) endTermOnCommitFailure() {
	ctx, cancel := context.WithCancel(context.Background())
	h.term.ctx = ctx
	h.store.failCommits, h.store.onFail = 1, cancel
}

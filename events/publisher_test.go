package events

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// memStore is an in-memory Store: the incident state and the cursors, with
// the FSM's cursor rule (forward only).
type memStore struct {
	mu      sync.Mutex
	cfg     *config.Config
	st      *incident.State
	cursors map[uint64]map[string]incident.EventCursor
	watch   func([]uint64, bool)
	// progressed is signalled after every cursor commit.
	progressed chan struct{}
}

func (m *memStore) ActiveConfig() (*config.Config, string) { return m.cfg, "v1" }
func (m *memStore) ReadIncidents(fn func(*incident.State)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(m.st)
}
func (m *memStore) WatchIncidents(fn func([]uint64, bool)) func() {
	m.mu.Lock()
	m.watch = fn
	m.mu.Unlock()
	return func() {}
}
func (m *memStore) EventCursors(ids []uint64) map[uint64]map[string]incident.EventCursor {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[uint64]map[string]incident.EventCursor{}
	for _, id := range ids {
		if c, ok := m.cursors[id]; ok {
			cp := map[string]incident.EventCursor{}
			for k, v := range c {
				cp[k] = v
			}
			out[id] = cp
		}
	}
	return out
}
func (m *memStore) SubmitEventProgress(_ context.Context, p *incident.EventProgress) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, it := range p.Items {
		if m.cursors[it.Incident] == nil {
			m.cursors[it.Incident] = map[string]incident.EventCursor{}
		}
		c := m.cursors[it.Incident][it.Webhook]
		if it.Next > c.Next {
			c.Next = it.Next
			if it.Error != "" {
				c.Failed++
				c.Error = it.Error
			}
			m.cursors[it.Incident][it.Webhook] = c
		}
	}
	select {
	case m.progressed <- struct{}{}:
	default:
	}
	return len(p.Items), nil
}

// failingPoster answers 503 to the first `fail` posts of each delivery id.
type failingPoster struct {
	mu    sync.Mutex
	fail  int
	tries map[string]int
	ok    []string
}

func (f *failingPoster) Send(context.Context, *notify.Message) (notify.Receipt, error) {
	return notify.Receipt{}, errors.New("not used")
}
func (f *failingPoster) PostEvent(_ context.Context, id string, _ []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries[id]++
	if f.tries[id] <= f.fail {
		return notify.NewStatusError("receiver", 503, "busy", nil, time.Now())
	}
	f.ok = append(f.ok, id)
	return nil
}

type oneSender struct{ p *failingPoster }

func (s oneSender) Sender(*config.Config, string, string, string) (notify.Sender, error) {
	return s.p, nil
}

type instantClock struct{}

func (instantClock) Now() time.Time { return time.Now() }
func (instantClock) After(time.Duration) (<-chan time.Time, func()) {
	c := make(chan time.Time, 1)
	c <- time.Now()
	return c, func() {}
}

func runPublisher(t *testing.T, fail, maxAttempts int) (*memStore, *failingPoster, uint64) {
	t.Helper()
	st := incident.NewState()
	now := time.Now()
	res := st.ApplyEvent(now, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "a",
		Alert: incident.Alert{Annotations: map[string]string{"summary": "a"}, Severity: "sev1"}})
	st.ApplyEvent(now, &incident.Event{Service: "quiet", Action: incident.ActionTrigger, DedupKey: "b",
		Alert: incident.Alert{Annotations: map[string]string{"summary": "b"}, Severity: "sev1"}})
	if _, err := st.ApplyAction(now, &incident.Action{Incident: res.Incident, Kind: incident.Resolve, By: "alice", Channel: "api"}); err != nil {
		t.Fatal(err)
	}
	store := &memStore{st: st, progressed: make(chan struct{}, 1), cursors: map[uint64]map[string]incident.EventCursor{}, cfg: &config.Config{
		Services: []config.Service{{ID: "checkout", EventsTo: []string{"webhook:chat"}}, {ID: "quiet"}}}}
	poster := &failingPoster{fail: fail, tries: map[string]int{}}
	p := New(Options{Store: store, Senders: oneSender{poster}, Clock: instantClock{}, MaxAttempts: maxAttempts})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	info, _ := st.StreamInfo(res.Incident)
	timeout := time.After(10 * time.Second)
	for store.EventCursors([]uint64{res.Incident})[res.Incident]["chat"].Next < info.TimelineLen {
		select {
		case <-store.progressed:
		case <-timeout:
			t.Fatalf("stream did not finish: cursor %+v of %d", store.EventCursors([]uint64{res.Incident}), info.TimelineLen)
		}
	}
	cancel()
	<-done
	return store, poster, res.Incident
}

// A 503 is retried and the entry then delivered; entries go out in order,
// each once; a service without events_to gets nothing.
func TestPublisherRetriesAndKeepsOrder(t *testing.T) {
	store, poster, id := runPublisher(t, 2, 6)
	info, _ := store.st.StreamInfo(id)
	if len(poster.ok) != info.TimelineLen {
		t.Fatalf("delivered %v, want %d entries", poster.ok, info.TimelineLen)
	}
	for i, got := range poster.ok {
		if want := DeliveryID(id, i); got != want || poster.tries[got] != 3 {
			t.Errorf("delivery %d: %s after %d tries, want %s after 3", i, got, poster.tries[got], want)
		}
	}
	if c := store.cursors[id]["chat"]; c.Failed != 0 {
		t.Errorf("cursor %+v: nothing should have failed", c)
	}
	if _, ok := store.cursors[2]; ok {
		t.Error("an incident of a service without events_to was streamed")
	}
}

// After the bounded attempts an entry is given up, counted in the cursor,
// and the stream goes on with the next one instead of blocking forever.
func TestPublisherGivesUpAfterBoundedAttempts(t *testing.T) {
	store, poster, id := runPublisher(t, 100, 3)
	info, _ := store.st.StreamInfo(id)
	for i := 0; i < info.TimelineLen; i++ {
		if n := poster.tries[DeliveryID(id, i)]; n != 3 {
			t.Errorf("entry %d tried %d times, want 3", i, n)
		}
	}
	if c := store.cursors[id]["chat"]; c.Next != info.TimelineLen || c.Failed != info.TimelineLen || c.Error == "" {
		t.Errorf("cursor %+v, want all %d entries given up", c, info.TimelineLen)
	}
}

// With room for four streams (Concurrency 1), all ten incidents' streams
// still complete:
// the ones that did not fit wait, dirty, for a stream to end.
func TestPublisherBoundsStreamsAndCatchesUp(t *testing.T) {
	st := incident.NewState()
	now := time.Now()
	for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		st.ApplyEvent(now, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: key,
			Alert: incident.Alert{Annotations: map[string]string{"summary": key}, Severity: "sev1"}})
	}
	store := &memStore{st: st, progressed: make(chan struct{}, 1), cursors: map[uint64]map[string]incident.EventCursor{},
		cfg: &config.Config{Services: []config.Service{{ID: "checkout", EventsTo: []string{"webhook:chat"}}}}}
	poster := &failingPoster{tries: map[string]int{}}
	p := New(Options{Store: store, Senders: oneSender{poster}, Clock: instantClock{}, Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	timeout := time.After(10 * time.Second)
	done := func() bool {
		for id := uint64(1); id <= 10; id++ {
			info, _ := st.StreamInfo(id)
			if store.EventCursors([]uint64{id})[id]["chat"].Next < info.TimelineLen {
				return false
			}
		}
		return true
	}
	for !done() {
		select {
		case <-store.progressed:
		case <-timeout:
			t.Fatalf("streams did not all finish: %+v", store.EventCursors([]uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}))
		}
	}
}

// Without any events_to in the config, the watch callback (run on the
// apply path) records nothing: ingest pays one atomic load.
func TestWatchCallbackIsFreeWithoutEventsTo(t *testing.T) {
	p := New(Options{Store: &memStore{}, Senders: oneSender{}})
	tm := &term{p: p, wake: make(chan struct{}, 1), dirty: map[uint64]bool{}, active: map[streamKey]bool{}}
	tm.loadConfig(&config.Config{Services: []config.Service{{ID: "quiet"}}}, "v1")
	tm.changed([]uint64{1, 2, 3}, false)
	if len(tm.dirty) != 0 || len(tm.wake) != 0 {
		t.Fatalf("disabled publisher recorded %v", tm.dirty)
	}
	tm.loadConfig(&config.Config{Services: []config.Service{{ID: "loud", EventsTo: []string{"webhook:chat"}}}}, "v2")
	tm.changed([]uint64{1}, false)
	if !tm.dirty[1] || len(tm.wake) != 1 {
		t.Fatalf("enabled publisher did not record: %v", tm.dirty)
	}
}

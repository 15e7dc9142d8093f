package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// Unavailable is transient cluster trouble: no leader, no quorum, leadership
// lost mid-commit, or shutting down. HTTP answers it with 503 and Retry-After.
type Unavailable struct {
	Reason string
	After  time.Duration
}

func (e *Unavailable) Error() string { return "cluster unavailable: " + e.Reason }

// RetryAfter tells the sender when to try again.
func (e *Unavailable) RetryAfter() time.Duration { return e.After }

func unavailable(reason string) error { return &Unavailable{Reason: reason, After: time.Second} }

// pending is one command waiting for its batch to commit.
type pending struct {
	cmd  command
	done chan Result
	// more are commands submitted together with this one (submitAll):
	// they go into the same log entry, after it.
	more []*pending
}

// batcher implements group commit: commands submitted concurrently are packed
// into one Raft log entry, so one fsync and one round of replication serve many
// requests. Up to maxInFlight entries are outstanding at once; while they are,
// new commands accumulate and form the next, larger batch. With a single
// client a batch holds one command and nothing waits for company.
type batcher struct {
	raft     *raft.Raft
	fsm      *FSM
	clock    func() time.Time
	in       chan *pending
	inflight chan struct{}
	maxBatch int
	reqID    atomic.Uint64
	// idPrefix is the request ids' common part, JSON-quoted without the
	// closing quote: an id is it, a counter and '"'.
	idPrefix []byte
	commit   prometheus.Histogram
	size     prometheus.Histogram

	mu       sync.Mutex
	lastNow  time.Time
	closed   bool
	wg       sync.WaitGroup
	stopped  chan struct{}
	stopOnce sync.Once
}

const (
	maxInFlight   = 4
	maxBatch      = 1024
	applyTimeout  = 5 * time.Second
	submitTimeout = 10 * time.Second
)

func newBatcher(r *raft.Raft, fsm *FSM, clock func() time.Time, nodeID string, reg prometheus.Registerer) *batcher {
	b := &batcher{
		raft: r, fsm: fsm, clock: clock,
		in:       make(chan *pending, 4*maxBatch),
		inflight: make(chan struct{}, maxInFlight),
		maxBatch: maxBatch,
		idPrefix: quotedPrefix(nodeID + "-" + strconv.FormatInt(clock().UnixNano(), 36) + "-"),
		stopped:  make(chan struct{}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pagerd_commit_duration_seconds",
			Help:    "Time from submitting a command on the leader to its Raft commit and apply.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pagerd_commit_batch_size",
			Help:    "Commands per Raft log entry (group commit).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 11),
		}),
	}
	if reg != nil {
		reg.MustRegister(b.commit, b.size)
	}
	go b.loop()
	return b
}

// submit enqueues one command and waits for its result.
func (b *batcher) submit(ctx context.Context, c command) (any, error) {
	if b.raft.State() != raft.Leader {
		return nil, unavailable("this node is not the leader")
	}
	start := time.Now()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, unavailable("node is shutting down")
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	p := pendingPool.Get().(*pending)
	p.cmd = c
	if !enqueue(ctx, b.in, p) {
		putPending(p)
		return nil, unavailable("commit queue full")
	}
	// Once queued the command may commit; wait for the outcome even if the
	// client went away, so the answer we log matches the state.
	r := <-p.done
	putPending(p)
	b.commit.Observe(time.Since(start).Seconds())
	return r.Value, r.Err
}

// pendingPool holds pending commands of submit with their answer
// channel: two allocations per ingested trigger otherwise. A pending
// goes back only once its one answer is received (the batcher sends
// exactly one per pending and touches it no more after) or when it was
// never queued. submitAll's are not pooled (they carry more).
var pendingPool = sync.Pool{New: func() any { return &pending{done: make(chan Result, 1)} }}

func putPending(p *pending) {
	*p = pending{done: p.done}
	pendingPool.Put(p)
}

// enqueue puts p on in, waiting at most submitTimeout (or until ctx ends)
// while in is full. The timer is made only then: a context with a
// deadline per command was a timer and two allocations on every submit.
func enqueue[T any](ctx context.Context, in chan<- T, p T) bool {
	select {
	case in <- p:
		return true
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	select {
	case in <- p:
		return true
	case <-ctx.Done():
		return false
	}
}

func (b *batcher) loop() {
	defer close(b.stopped)
	for first := range b.in {
		b.inflight <- struct{}{}
		items := b.drain(first)
		b.size.Observe(float64(len(items)))
		b.apply(items)
	}
}

// drain takes what has accumulated while the previous entries were in flight.
// Commands submitted together (submitAll) are never split, so an entry may
// exceed maxBatch by less than one such group.
func (b *batcher) drain(first *pending) []*pending {
	items := append([]*pending{first}, first.more...)
	for len(items) < b.maxBatch {
		select {
		case p, ok := <-b.in:
			if !ok {
				return items
			}
			items = append(items, p)
			items = append(items, p.more...)
		default:
			return items
		}
	}
	return items
}

func (b *batcher) apply(items []*pending) {
	data, err := b.encodeEntry(items)
	for _, p := range items {
		// The bodies are copied into data (or failed): their buffers
		// go back to the pool. data itself is Raft's from Apply on (it
		// keeps the entry in its log cache and sends it to followers
		// later), so it is never reused.
		releaseBody(p.cmd.pooled, p.cmd.Body)
		p.cmd.Body, p.cmd.pooled = nil, nil
	}
	if err != nil {
		<-b.inflight
		failAll(items, err)
		return
	}
	f := b.raft.Apply(data, applyTimeout)
	go func() {
		defer func() { <-b.inflight }()
		if err := f.Error(); err != nil {
			failAll(items, raftError(err))
			return
		}
		results, _ := f.Response().([]Result)
		for i, p := range items {
			if i < len(results) {
				p.done <- results[i]
			} else {
				p.done <- Result{Err: fmt.Errorf("commit returned %d results for %d commands", len(results), len(items))}
			}
		}
	}()
}

// stamp returns the leader time for the next entry: never earlier than any
// time already applied, so recorded time does not run backwards across a
// leader change or a clock step.
func (b *batcher) stamp() time.Time {
	now := b.clock().UTC().Round(0)
	if applied := b.fsm.LastNow(); applied.After(b.lastNow) {
		b.lastNow = applied
	}
	if now.Before(b.lastNow) {
		now = b.lastNow
	}
	b.lastNow = now
	return now
}

func failAll(items []*pending, err error) {
	for _, p := range items {
		p.done <- Result{Err: err}
	}
}

// raftError turns Raft's errors into Unavailable where retrying can succeed.
func raftError(err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress), errors.Is(err, raft.ErrEnqueueTimeout),
		errors.Is(err, raft.ErrRaftShutdown), errors.Is(err, raft.ErrAbortedByRestore):
		return unavailable(err.Error())
	}
	return fmt.Errorf("raft apply: %w", err)
}

// close stops accepting, waits for every queued command to get its answer and
// for in-flight entries to finish.
func (b *batcher) close() {
	b.stopOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		b.wg.Wait()
		close(b.in)
		<-b.stopped
		for i := 0; i < maxInFlight; i++ {
			b.inflight <- struct{}{}
		}
	})
}

// quotedPrefix is json.Marshal(prefix) without its closing quote: the
// digits of a counter after it need no escaping, so prefix+counter
// encodes as this, the digits and '"'.
func quotedPrefix(prefix string) []byte {
	q, _ := json.Marshal(prefix) // a string always encodes
	return q[:len(q)-1]
}

// encodeEntry writes the log entry of items, stamped with the leader's
// time, each command with the next request id, as encodeBatch would
// (TestEncodeEntryMatchesEncodeBatch), straight from the pending
// commands: no batch value, no request id strings, and the bodies are
// not re-validated (json.Marshal would scan and compact every
// json.RawMessage again, a tenth of the leader's ingest CPU in the bench
// profile, though each is valid, compact JSON with HTML characters
// escaped, as encodeCommand wrote it).
func (b *batcher) encodeEntry(items []*pending) ([]byte, error) {
	now, err := b.stamp().MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	size := 64 + len(now)
	for _, p := range items {
		size += len(p.cmd.Body) + len(b.idPrefix) + 48
	}
	buf := make([]byte, 0, size)
	buf = append(buf, entryBatch, entryBatchVersion)
	buf = append(buf, `{"now":`...)
	buf = append(buf, now...)
	buf = append(buf, `,"cmds":[`...)
	for i, p := range items {
		c := &p.cmd
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"t":`...)
		buf = strconv.AppendUint(buf, uint64(c.Type), 10)
		buf = append(buf, `,"v":`...)
		buf = strconv.AppendUint(buf, uint64(c.Version), 10)
		buf = append(buf, `,"id":`...)
		buf = append(buf, b.idPrefix...)
		buf = strconv.AppendUint(buf, b.reqID.Add(1), 10)
		buf = append(buf, `","b":`...)
		if len(c.Body) == 0 {
			buf = append(buf, "null"...)
		} else {
			buf = append(buf, c.Body...)
		}
		buf = append(buf, '}')
	}
	return append(buf, "]}"...), nil
}

// submitAll submits several commands as one unit and waits for every
// result (in order): they go into one log entry (issue 18: an engine
// pass's step starts), and the caller needs one goroutine, not one per
// command. At most maxBatch commands.
func (b *batcher) submitAll(ctx context.Context, cmds []command) []Result {
	out := make([]Result, len(cmds))
	fail := func(err error) []Result {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if len(cmds) == 0 {
		return out
	}
	if len(cmds) > b.maxBatch {
		return fail(fmt.Errorf("submit %d commands at once; at most %d", len(cmds), b.maxBatch))
	}
	if b.raft.State() != raft.Leader {
		return fail(unavailable("this node is not the leader"))
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fail(unavailable("node is shutting down"))
	}
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()
	start := time.Now()
	ps := make([]*pending, len(cmds))
	for i, c := range cmds {
		ps[i] = &pending{cmd: c, done: make(chan Result, 1)}
	}
	ps[0].more = ps[1:]
	ctx, cancel := context.WithTimeout(ctx, submitTimeout)
	defer cancel()
	select {
	case b.in <- ps[0]:
	case <-ctx.Done():
		return fail(unavailable("commit queue full"))
	}
	// As in submit: once queued the commands may commit; wait for them.
	for i, p := range ps {
		out[i] = <-p.done
	}
	b.commit.Observe(time.Since(start).Seconds())
	return out
}

package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
)

// Ingest forwarding (issue 18). A follower serves the ingest routes itself:
// its router authenticates, decodes, validates and routes the request
// against the replicated config, builds the command payload, and the
// follower sends the payload to the leader over one node-to-node channel
// that packs concurrently forwarded payloads into one HTTP request
// (POST IngestForwardPath). The leader submits each through its own
// Submit* path — it stamps the paging plan, time and ids exactly as for its
// own router's payloads — and answers each after its commit. Proxying the
// whole client request instead (LeaderOnly) cost a follower a reverse proxy
// round per alert and the leader an HTTP request, a body read and a decode
// per alert.

// The channel's name and version in the members' announced versions
// (NodeMeta.Commands; not a log command type). A follower forwards only to
// a leader that announces this very version; in a cluster of mixed
// versions it proxies the client's request as before. A change to the
// payloads the router builds (incident.Event, incident.AlertGroup) or to
// the wire format (ingestfwd_wire.go) bumps the version.
const (
	ingestForwardProtocol = "ingest_forward"
	ingestForwardVersion  = 1
)

// IngestForwardPath is the leader's endpoint of the channel.
const IngestForwardPath = "/v1/cluster/ingest"

const (
	// maxForwardInFlight requests are outstanding at once per follower;
	// while they are, new payloads accumulate into the next request (as
	// the batcher's group commit on the leader). Few, so that requests
	// are large: each costs an HTTP round on both ends and a signature.
	maxForwardInFlight = 2
	// maxForwardBatchBytes closes a request: a lone payload larger than
	// this still travels, alone.
	maxForwardBatchBytes = 4 << 20
	// maxForwardBody is the largest request the leader reads: a 1 MiB
	// Alertmanager body can grow when built into a group (silence links).
	maxForwardBody = 32 << 20
	// forwardTimeout bounds one request: the leader's submits give up
	// after submitTimeout.
	forwardTimeout = submitTimeout + 5*time.Second
	// forwardRetryAfter is the Retry-After of channel trouble.
	forwardRetryAfter = time.Second
)

// fwdCall is one payload waiting for its request's answer.
type fwdCall struct {
	kind string
	body []byte
	// pooled is body's buffer when it came from bodyPool: returned once
	// the request holding a copy of body is built.
	pooled *[]byte
	done   chan fwdResult
}

// ingestForwarder is a follower's side of the channel.
type ingestForwarder struct {
	n        *Node
	client   *http.Client
	in       chan *fwdCall
	inflight chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	speaks   atomic.Pointer[speaksCache]
	size     prometheus.Histogram
}

// speaksCache remembers whether a leader announces the channel, until
// the member records change (FSM.nodesGen) or another node leads.
type speaksCache struct {
	gen    uint64
	leader string
	ok     bool
}

func newIngestForwarder(n *Node, toLeader http.RoundTripper) *ingestForwarder {
	f := &ingestForwarder{
		n:        n,
		client:   &http.Client{Transport: toLeader, Timeout: forwardTimeout},
		in:       make(chan *fwdCall, 4*maxForwardItems),
		inflight: make(chan struct{}, maxForwardInFlight),
		stop:     make(chan struct{}),
		size: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "pagerd_ingest_forward_batch_size",
			Help:    "Ingest payloads per request a follower forwarded to the leader.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10),
		}),
	}
	if n.opts.Registry != nil {
		n.opts.Registry.MustRegister(f.size)
	}
	go f.loop()
	return f
}

func (f *ingestForwarder) close() { f.stopOnce.Do(func() { close(f.stop) }) }

// servingForwardKey marks the context of submits the leader makes for a
// forwarded request: those never forward again, even if this node lost
// leadership meanwhile (the submit then fails with Unavailable), so a
// leadership change cannot make payloads loop.
type servingForwardKey struct{}

// forwardsIngest reports whether an ingest submit on ctx goes to the
// leader over the channel: on a follower, unless it serves a forwarded
// request itself.
func (n *Node) forwardsIngest(ctx context.Context) bool {
	return !n.IsLeader() && ctx.Value(servingForwardKey{}) == nil
}

// leaderSpeaks reports whether the current leader announces the channel.
func (f *ingestForwarder) leaderSpeaks() bool {
	_, id := f.n.raft.LeaderWithID()
	if id == "" {
		return false
	}
	gen := f.n.fsm.nodesGen.Load()
	if c := f.speaks.Load(); c != nil && c.gen == gen && c.leader == string(id) {
		return c.ok
	}
	m, known := f.n.fsm.Node(string(id))
	ok := known && m.Commands[ingestForwardProtocol] == ingestForwardVersion
	f.speaks.Store(&speaksCache{gen: gen, leader: string(id), ok: ok})
	return ok
}

// event, alertGroup and heartbeats forward one payload and wait for the
// leader's answer to it.
func (f *ingestForwarder) event(ctx context.Context, e *incident.Event) (incident.IngestResult, error) {
	return f.forward(ctx, fwdEvent, e)
}

func (f *ingestForwarder) alertGroup(ctx context.Context, g *incident.AlertGroup) (incident.IngestResult, error) {
	return f.forward(ctx, fwdAlertGroup, g)
}

func (f *ingestForwarder) heartbeats(ctx context.Context, ids []string) error {
	_, err := f.forward(ctx, fwdHeartbeats, ids)
	return err
}

func (f *ingestForwarder) forward(ctx context.Context, kind string, payload any) (incident.IngestResult, error) {
	if !f.leaderSpeaks() {
		// The leader changed to one that does not take forwarded payloads
		// since the request was let in (IngestAnywhere): a retry is proxied.
		return incident.IngestResult{}, unavailable("the leader changed while forwarding; retry")
	}
	body, buf, err := marshalBodyPooled(payload)
	if err != nil {
		return incident.IngestResult{}, fmt.Errorf("encode forwarded %s: %w", kind, err)
	}
	c := fwdCallPool.Get().(*fwdCall)
	c.kind, c.body, c.pooled = kind, body, buf
	select {
	case <-f.stop:
		return incident.IngestResult{}, unavailable("node is shutting down")
	default:
	}
	if !enqueue(ctx, f.in, c) {
		return incident.IngestResult{}, unavailable("forward queue full")
	}
	// Once queued the payload may be sent and commit: wait for the
	// answer even if the client went away, as the batcher does.
	select {
	case r := <-c.done:
		putFwdCall(c)
		return r.ingestOutcome()
	case <-f.stop:
		return incident.IngestResult{}, unavailable("node is shutting down")
	}
}

// fwdCallPool holds calls with their answer channel (two allocations per
// forwarded trigger otherwise). A call goes back only after its one
// answer is received (send answers each call once and touches it no
// more after); one whose caller stopped waiting is left to the GC.
var fwdCallPool = sync.Pool{New: func() any { return &fwdCall{done: make(chan fwdResult, 1)} }}

func putFwdCall(c *fwdCall) {
	*c = fwdCall{done: c.done}
	fwdCallPool.Put(c)
}

func (f *ingestForwarder) loop() {
	for {
		var first *fwdCall
		select {
		case first = <-f.in:
		case <-f.stop:
			return
		}
		select {
		case f.inflight <- struct{}{}:
		case <-f.stop:
			return
		}
		calls := f.drain(first)
		f.size.Observe(float64(len(calls)))
		go f.send(calls)
	}
}

// drain takes what has accumulated while earlier requests were in flight.
func (f *ingestForwarder) drain(first *fwdCall) []*fwdCall {
	calls, size := []*fwdCall{first}, len(first.body)
	for len(calls) < maxForwardItems {
		select {
		case c := <-f.in:
			calls = append(calls, c)
			if size += len(c.body); size >= maxForwardBatchBytes {
				return calls
			}
		default:
			return calls
		}
	}
	return calls
}

// send makes one request and answers every call in it.
func (f *ingestForwarder) send(calls []*fwdCall) {
	defer func() { <-f.inflight }()
	results, err := f.roundTrip(calls)
	if err != nil {
		f.n.log.Warn("forward ingest to leader failed", "payloads", len(calls), "err", err)
		r := resultOf(incident.IngestResult{}, err)
		for _, c := range calls {
			c.done <- r
		}
		return
	}
	for i, c := range calls {
		c.done <- results[i]
	}
}

// roundTrip sends calls to the leader. Every failure is Unavailable: the
// payloads were valid (the router checked them), so the trouble is the
// cluster's, and the sender must retry, never give up on a 4xx.
func (f *ingestForwarder) roundTrip(calls []*fwdCall) ([]fwdResult, error) {
	kinds, bodies := make([]string, len(calls)), make([][]byte, len(calls))
	for i, c := range calls {
		kinds[i], bodies[i] = c.kind, c.body
	}
	data := encodeForwardRequest(kinds, bodies)
	for _, c := range calls {
		// data holds a copy of every body. data itself belongs to the
		// request (the transport may still read it after an answer).
		releaseBody(c.pooled, c.body)
		c.body, c.pooled = nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	req, err := f.n.LeaderRequest(ctx, http.MethodPost, IngestForwardPath, data)
	if err != nil {
		return nil, &Unavailable{Reason: "forward to leader: " + err.Error(), After: forwardRetryAfter}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, &Unavailable{Reason: "forward to leader: " + err.Error(), After: forwardRetryAfter}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, &Unavailable{After: retryAfterOf(resp), Reason: fmt.Sprintf(
			"forward to leader: %d %s", resp.StatusCode, strings.TrimSpace(string(msg)))}
	}
	results, err := decodeForwardAnswer(resp.Body, len(calls))
	if err != nil {
		return nil, &Unavailable{Reason: err.Error(), After: forwardRetryAfter}
	}
	return results, nil
}

// retryAfterOf is the leader's Retry-After, else forwardRetryAfter.
func retryAfterOf(resp *http.Response) time.Duration {
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return forwardRetryAfter
}

package cluster

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// IngestForwardHandler is the leader's end of the ingest forwarding channel
// (ingestfwd.go), mounted at POST IngestForwardPath. It takes only node
// credentials (nodeauth.go), never API tokens. Each payload is submitted
// concurrently, so a request's payloads share the batcher's next log
// entries; the answer holds one result per payload, each given after its
// commit.
func (n *Node) IngestForwardHandler() http.Handler {
	return http.HandlerFunc(n.serveIngestForward)
}

func (n *Node) serveIngestForward(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeForwardError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed, use POST")
		return
	}
	if !n.IsLeader() {
		// Never passed on: the sender retries against the new leader.
		WriteUnavailable(w, "this node is not the leader; retry", forwardRetryAfter)
		return
	}
	node, body, err := n.verifyNodeRequestBody(r, maxForwardBody)
	if err != nil {
		writeForwardError(w, http.StatusUnauthorized, "node credentials: "+err.Error())
		return
	}
	items, err := decodeForwardRequest(body)
	if err != nil {
		writeForwardError(w, http.StatusBadRequest, err.Error())
		return
	}
	results := n.submitForwarded(context.WithValue(r.Context(), servingForwardKey{}, node), items)
	data, err := encodeForwardAnswer(results)
	if err != nil {
		writeForwardError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(data) // the follower sees a cut answer as a failure
}

// submitForwarded submits every item concurrently and returns their
// results in order.
func (n *Node) submitForwarded(ctx context.Context, items []fwdItem) []fwdResult {
	results := make([]fwdResult, len(items))
	var wg sync.WaitGroup
	wg.Add(len(items))
	for i := range items {
		forwardWorkers.run(func() {
			defer wg.Done()
			results[i] = n.submitForwardedItem(ctx, &items[i])
		})
	}
	wg.Wait()
	return results
}

// forwardWorkers run the leader's submits of forwarded payloads.
var forwardWorkers = &workerPool{jobs: make(chan func())}

// workerPool runs each job on an idle worker, or on a new one that then
// stays for later jobs until idle for workerIdle. A new goroutine per
// payload grew its stack inside json.Marshal every time
// (runtime.newstack/copystack were 6.6 % of a storm leader's CPU); a
// worker's stack has grown already. Workers are as many as jobs run at
// once, as goroutines per job were.
type workerPool struct {
	jobs chan func() // unbuffered: a send succeeds only to an idle worker
}

const workerIdle = 10 * time.Second

func (p *workerPool) run(job func()) {
	select {
	case p.jobs <- job:
	default:
		go p.work(job)
	}
}

func (p *workerPool) work(job func()) {
	job()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case job := <-p.jobs:
			job()
			idle.Reset(workerIdle)
		case <-idle.C:
			return
		}
	}
}

func (n *Node) submitForwardedItem(ctx context.Context, it *fwdItem) fwdResult {
	switch it.kind {
	case fwdEvent:
		return resultOf(n.SubmitEvent(ctx, it.event))
	case fwdAlertGroup:
		return resultOf(n.SubmitAlertGroup(ctx, it.group))
	case fwdHeartbeats:
		return resultOf(incident.IngestResult{}, n.PingHeartbeats(ctx, it.heartbeats))
	}
	return fwdResult{Error: "unknown forwarded kind " + it.kind} // decodeForwardRequest refuses these
}

func writeForwardError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

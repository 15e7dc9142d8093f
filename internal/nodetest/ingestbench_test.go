package nodetest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/router"
)

// ingestConfig has one Events v2 integration and no escalation policy:
// what is measured is ingest alone (the storm bench's ingest points).
const ingestConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com}
services:
  - {id: checkout, name: Checkout API}
integrations:
  - name: events
    key: "test-events-key"
    service: checkout
`

// discardWriter keeps nothing of the answer but its status.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }

// BenchmarkIngestTrigger: one distinct Events v2 trigger per op through the
// router's handler into a real single-node cluster (group commit, Raft
// log with fsync, FSM apply), from 64 concurrent clients per core so
// that commands share log entries as in a storm. The allocations per op
// are the whole ingest path of the leader.
func BenchmarkIngestTrigger(b *testing.B) {
	n := nodetest.Start(b, nodetest.Options{Config: ingestConfig})
	active := func() *config.Config {
		if ac := n.FSM().Config(); ac != nil {
			return ac.Config
		}
		return nil
	}
	h := router.NewHandler(active, n.Node, router.Options{Registerer: prometheus.NewRegistry()})
	var seq atomic.Uint64
	b.SetParallelism(64)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU(b)
	defer func() {
		// Wall time per op depends on the fsync and on neighbours; the
		// process's CPU per op is what a trigger costs.
		b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
	}()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		req := httptest.NewRequest(http.MethodPost, router.PathEvents, nil)
		for pb.Next() {
			i := strconv.FormatUint(seq.Add(1), 10)
			body := []byte(`{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"storm-` + i +
				`","payload":{"summary":"storm alert ` + i + `","source":"bench","severity":"critical",` +
				`"custom_details":{"team":"core","n":` + i + `}}}`)
			req.Body = io.NopCloser(bytes.NewReader(body))
			req.ContentLength = int64(len(body))
			clear(w.h)
			h.ServeEvents(w, req)
			if w.status != http.StatusAccepted {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

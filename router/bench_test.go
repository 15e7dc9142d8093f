package router

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// nopSubmitter answers at once, so the benchmarks time the HTTP ingest
// path alone: read, decode, validate, route, build, answer.
type nopSubmitter struct{}

func (nopSubmitter) SubmitAlertGroup(context.Context, *incident.AlertGroup) (incident.IngestResult, error) {
	return incident.IngestResult{Incident: 7}, nil
}

func (nopSubmitter) SubmitEvent(context.Context, *incident.Event) (incident.IngestResult, error) {
	return incident.IngestResult{Incident: 7}, nil
}

// discardWriter is a ResponseWriter that keeps nothing (a recorder's
// buffers would dominate the allocations measured).
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

// BenchmarkServeEventsTrigger: one storm request (a distinct Events v2
// trigger) through the handler, per op.
func BenchmarkServeEventsTrigger(b *testing.B) {
	cfg := testConfig()
	h := NewHandler(func() *config.Config { return cfg }, nopSubmitter{}, Options{Registerer: prometheus.NewRegistry()})
	body := []byte(`{"routing_key":"` + directKey + `","event_action":"trigger","dedup_key":"storm-000123",` +
		`"payload":{"summary":"storm alert 123","source":"bench","severity":"critical"}}`)
	req := httptest.NewRequest(http.MethodPost, PathEvents, nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeEvents(w, req)
	}
}

// The hand-written 202 bodies are byte for byte what json.Encoder wrote
// for the maps they replaced, for any dedup key.
func TestAcceptedBodiesMatchEncoder(t *testing.T) {
	enc := func(v any) string {
		var buf bytes.Buffer
		if err := json.NewEncoder(&buf).Encode(v); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	for _, key := range []string{"", "k", "a<b>&c \"q\" \\ \u2028 \u2029 é \x01 \xff", strings.Repeat("x", 255)} {
		want := enc(map[string]any{"status": "success", "message": "Event processed", "dedup_key": key})
		if got := string(eventAccepted(key)); got != want {
			t.Errorf("dedup key %q:\n got %s\nwant %s", key, got, want)
		}
	}
	for _, id := range []uint64{0, 7, 1<<64 - 1} {
		want := enc(map[string]any{"status": "success", "message": "Alerts processed", "incident": id})
		if got := string(alertsAccepted(id)); got != want {
			t.Errorf("incident %d:\n got %s\nwant %s", id, got, want)
		}
	}
}

package router

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

const (
	promKey   = "prom-key-0123456789"
	directKey = "direct-key-abcdef"
)

// fixtureDir holds copies of /work/shared/fixtures/alertmanager (real
// Alertmanager 0.25 webhook bodies), so the package tests stand alone.
var fixtureDir = "testdata/alertmanager"

// fakeSubmitter stands in for the cluster: it records what it was given and
// answers with err (if set) or a fixed result.
type fakeSubmitter struct {
	mu     sync.Mutex
	groups []*incident.AlertGroup
	events []*incident.Event
	err    error
	res    incident.IngestResult
}

func (f *fakeSubmitter) SubmitAlertGroup(_ context.Context, g *incident.AlertGroup) (incident.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groups = append(f.groups, g)
	return f.res, f.err
}

func (f *fakeSubmitter) SubmitEvent(_ context.Context, e *incident.Event) (incident.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
	return f.res, f.err
}

func (f *fakeSubmitter) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.groups) + len(f.events)
}

// retryErr is a transient cluster error as the cluster package reports it.
type retryErr struct{ d time.Duration }

func (e retryErr) Error() string             { return "no leader" }
func (e retryErr) RetryAfter() time.Duration { return e.d }

func testConfig() *config.Config {
	off := false
	return &config.Config{
		Services: []config.Service{{ID: "checkout"}, {ID: "web", AutoResolve: &off}},
		Integrations: []config.Integration{
			{Name: "prometheus", Key: promKey, Routes: []config.Route{
				{Matchers: []string{`service="checkout"`}, Service: "checkout"},
				{Matchers: []string{`details_team=~"web|frontend"`}, Service: "web"},
				{Matchers: []string{`source="db-1"`, `severity!="info"`}, Service: "checkout"},
			}},
			{Name: "direct", Key: directKey, Service: "web"},
			{Name: "nokey", Service: "web"},
		},
		Severity: config.SeverityMap{
			Label:   "severity",
			Map:     map[string]string{"critical": "sev1", "page": "sev1", "error": "sev2", "warning": "sev3"},
			Default: "sev2",
		},
	}
}

type env struct {
	h   *Handler
	sub *fakeSubmitter
	reg *prometheus.Registry
	cfg *config.Config
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{sub: &fakeSubmitter{res: incident.IngestResult{Incident: 7}}, reg: prometheus.NewRegistry(), cfg: testConfig()}
	e.h = NewHandler(func() *config.Config { return e.cfg }, e.sub, Options{Registerer: e.reg, MaxBody: 64 << 10})
	return e
}

// do sends body to path through a real mux, the way the server mounts us.
func (e *env) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	e.h.Register(mux)
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	return w
}

func bearer(k string) []string { return []string{"Authorization", "Bearer " + k} }

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// mutate applies f to a fixture decoded as generic JSON and re-encodes it.
func mutate(t *testing.T, name string, f func(m map[string]any)) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, name), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func alertAt(m map[string]any, i int) map[string]any {
	return m["alerts"].([]any)[i].(map[string]any)
}

// errorOf decodes a JSON error answer.
func errorOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var b struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body %q: %v", w.Body.String(), err)
	}
	return b.Error
}

// counter reads pagerd_ingest_requests_total for one label set.
func counter(t *testing.T, reg *prometheus.Registry, source, integration, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pagerd_ingest_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			if got["source"] == source && got["integration"] == integration && got["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

var errBoom = errors.New("disk on fire")

package router

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/pagerd/pagerd/config"
)

func newChunkedRequest(path, body string) *http.Request {
	r := httptest.NewRequest("POST", path, io.NopCloser(strings.NewReader(body)))
	r.ContentLength = -1
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func TestRetryAfterIs503(t *testing.T) {
	e := newEnv(t)
	e.sub.err = fmt.Errorf("submit: %w", retryErr{2500 * time.Millisecond})
	w := e.do("POST", PathAlertmanager, string(readFixture(t, "firing-one-alert.json")), bearer(promKey)...)
	if w.Code != 503 || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("status %d retry-after %q", w.Code, w.Header().Get("Retry-After"))
	}
	if got := errorOf(t, w); got != "cannot commit now: submit: no leader" {
		t.Errorf("message %q", got)
	}
	w = e.do("POST", PathEvents, `{"routing_key":"`+directKey+`","event_action":"resolve","dedup_key":"k"}`)
	if w.Code != 503 || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("events: status %d retry-after %q", w.Code, w.Header().Get("Retry-After"))
	}
	if got := counter(t, e.reg, "events", "direct", "unavailable"); got != 1 {
		t.Errorf("unavailable counter %v", got)
	}
}

func TestDeadlineIs503(t *testing.T) {
	e := newEnv(t)
	e.sub.err = fmt.Errorf("apply: %w", context.DeadlineExceeded)
	w := e.do("POST", PathAlertmanager, string(readFixture(t, "firing-one-alert.json")), bearer(promKey)...)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("status %d retry-after %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestOtherSubmitErrorIs500(t *testing.T) {
	e := newEnv(t)
	e.sub.err = errBoom
	w := e.do("POST", PathAlertmanager, string(readFixture(t, "firing-one-alert.json")), bearer(promKey)...)
	if w.Code != 500 || errorOf(t, w) != "commit failed: disk on fire" {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if got := counter(t, e.reg, "alertmanager", "prometheus", "error"); got != 1 {
		t.Errorf("error counter %v", got)
	}
}

func TestNilConfigIs503(t *testing.T) {
	sub := &fakeSubmitter{}
	h := NewHandler(func() *config.Config { return nil }, sub, Options{})
	for _, c := range []struct{ path, body string }{
		{PathAlertmanager, string(readFixture(t, "firing-one-alert.json"))},
		{PathEvents, `{"routing_key":"x","event_action":"resolve","dedup_key":"k"}`},
	} {
		r := httptest.NewRequest("POST", c.path, strings.NewReader(c.body))
		r.Header.Set("Authorization", "Bearer "+promKey)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 503 || w.Header().Get("Retry-After") != "5" || errorOf(t, w) != "no config committed yet" {
			t.Errorf("%s: status %d retry-after %q body %s", c.path, w.Code, w.Header().Get("Retry-After"), w.Body)
		}
	}
	if sub.calls() != 0 {
		t.Error("submitter called without config")
	}
}

func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t)
	for _, p := range []string{PathAlertmanager, PathAlertmanager + "/" + promKey, PathEvents} {
		w := e.do("GET", p, "", bearer(promKey)...)
		if w.Code != 405 || w.Header().Get("Allow") != "POST" || errorOf(t, w) != "method GET not allowed, use POST" {
			t.Errorf("%s: status %d allow %q body %s", p, w.Code, w.Header().Get("Allow"), w.Body)
		}
	}
	if e.sub.calls() != 0 {
		t.Error("submitter called")
	}
}

func TestBadMatcherIs500(t *testing.T) {
	e := newEnv(t)
	e.cfg.Integrations[0].Routes[0].Matchers = []string{`service=~"("`}
	w := e.do("POST", PathAlertmanager, string(readFixture(t, "firing-one-alert.json")), bearer(promKey)...)
	if w.Code != 500 || !strings.HasPrefix(errorOf(t, w), `routing table: integration "prometheus": routes[0]: matcher "service=~\"(\""`) {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), promKey) {
		t.Error("key leaked into the error")
	}
}

func TestTableCachedPerConfigPointer(t *testing.T) {
	var c tableCache
	cfg := testConfig()
	t1, err := c.get(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := c.get(cfg)
	if t1 != t2 {
		t.Error("table recompiled for the same config")
	}
	t3, _ := c.get(testConfig())
	if t3 == t1 {
		t.Error("table not recompiled for a new config")
	}
}

func TestAuthenticate(t *testing.T) {
	tb, err := Compile(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{promKey: "prometheus", directKey: "direct", "": "", "x": "", promKey + "x": ""} {
		got, ok := tb.Authenticate(key)
		if got != want || ok != (want != "") {
			t.Errorf("Authenticate(%q) = %q, %v", key, got, ok)
		}
	}
}

func TestRoute(t *testing.T) {
	tb, err := Compile(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	svc, ar, err := tb.Route("prometheus", map[string]string{"details_team": "frontend"})
	if err != nil || svc != "web" || ar {
		t.Errorf("Route = %q %v %v", svc, ar, err)
	}
	if _, _, err := tb.Route("prometheus", map[string]string{"source": "db-1", "severity": "info"}); err == nil {
		t.Error("negative matcher ignored")
	}
	if _, _, err := tb.Route("missing", nil); err == nil {
		t.Error("unknown integration routed")
	}
}

func TestRouteMatchersFromLoaderOrStrings(t *testing.T) {
	cfg := testConfig()
	// Comma-separated matchers in one entry, as the config loader accepts them.
	cfg.Integrations[0].Routes = []config.Route{{Matchers: []string{`service="checkout", instance=~"web-.*"`}, Service: "web"}}
	tb, err := Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if svc, _, err := tb.Route("prometheus", map[string]string{"service": "checkout", "instance": "web-2"}); err != nil || svc != "web" {
		t.Errorf("comma-separated: %q %v", svc, err)
	}
	if _, _, err := tb.Route("prometheus", map[string]string{"service": "checkout", "instance": "db-1"}); err == nil {
		t.Error("second matcher of the entry ignored")
	}
	// Matchers compiled by the loader win over the strings.
	m, err := labels.ParseMatcher(`service="billing"`)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Integrations[0].Routes[0].Compiled = []*labels.Matcher{m}
	if tb, err = Compile(cfg); err != nil {
		t.Fatal(err)
	}
	if svc, _, err := tb.Route("prometheus", map[string]string{"service": "billing"}); err != nil || svc != "web" {
		t.Errorf("compiled: %q %v", svc, err)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/reports"
)

var reportConfig = fmt.Sprintf(`
timezone: UTC
api_tokens:
  - {name: admin, token: %q}
users:
  - {id: alice, email: alice@example.com}
policies:
  - {id: p, steps: [{notify: [user:alice], escalate_after: 10m}]}
services:
  - {id: checkout, policy: p}
integrations:
  - {name: events, key: %q, service: checkout}
`, nodetest.Token, testcluster.EventsKey)

// fakeClock is the leader's clock: the test sets the instant each command
// is stamped with.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func newFakeClock() *fakeClock       { c := &fakeClock{}; c.set(time.Now()); return c }
func reportPost(t *testing.T, n *nodetest.Node, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", path, resp.StatusCode, b, want)
	}
}

// On a real node, 20 incidents opened, acknowledged and resolved at known
// (leader-stamped) times give the exact report through the API and the CLI
// in JSON and CSV; an empty window is zeros; bad input is a 400 naming the
// field.
func TestResponseReportOnARealNode(t *testing.T) {
	t.Setenv("PAGERD_TOKEN", nodetest.Token)
	// The leader never stamps a time before one it stamped already, so the
	// clock starts at t0 and only moves forward.
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	clock := &fakeClock{}
	clock.set(t0)
	n := nodetest.Start(t, nodetest.Options{Config: reportConfig, Clock: clock.now})
	t.Setenv("PAGERD_SERVER", n.URL)
	for i := 1; i <= 20; i++ {
		created := t0.Add(time.Duration(i) * time.Hour)
		clock.set(created)
		reportPost(t, n, "/v2/enqueue", fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":"d%d",`+
			`"payload":{"summary":"s%d","source":"x","severity":"critical"}}`, testcluster.EventsKey, i, i), http.StatusAccepted)
		// Acknowledged i×10s + 250ms and resolved i minutes after creation
		// (the leader clock only moves forward).
		clock.set(created.Add(time.Duration(i)*10*time.Second + 250*time.Millisecond))
		reportPost(t, n, fmt.Sprintf("/v1/incidents/%d/ack", i), `{}`, http.StatusOK)
		clock.set(created.Add(time.Duration(i) * time.Minute))
		reportPost(t, n, fmt.Sprintf("/v1/incidents/%d/resolve", i), `{}`, http.StatusOK)
	}

	var out, errb bytes.Buffer
	if code := run([]string{"report", "response", "--from", "2026-11-02", "--to", "2026-11-03T09:00:00Z", "--output", "json"}, &out, &errb); code != 0 {
		t.Fatalf("report json: exit %d: %s", code, errb.String())
	}
	var rep reports.Response
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	wantTTA := reports.Stats{N: 20, P50: 100.25, P90: 180.25, Mean: 105.25}
	wantTTR := reports.Stats{N: 20, P50: 600, P90: 1080, Mean: 630}
	if len(rep.Groups) != 1 || rep.Groups[0].Group != "checkout" || rep.Total.Count != 20 ||
		rep.Total.TTA != wantTTA || rep.Total.TTR != wantTTR || rep.Groups[0].TTA != wantTTA {
		t.Fatalf("report %s", out.String())
	}

	out.Reset()
	if code := run([]string{"report", "response", "--from", "2026-11-02", "--to", "2026-11-03T09:00:00Z", "--by", "severity", "--output", "csv"}, &out, &errb); code != 0 {
		t.Fatalf("report csv: exit %d: %s", code, errb.String())
	}
	want := "severity,count,tta_n,tta_p50,tta_p90,tta_mean,ttr_n,ttr_p50,ttr_p90,ttr_mean,escalated,deferred,pages_sms,pages_email,pages_webhook\n" +
		"sev1,20,20,100.25,180.25,105.25,20,600,1080,630,0,0,0,0,0\n" +
		"total,20,20,100.25,180.25,105.25,20,600,1080,630,0,0,0,0,0\n"
	if out.String() != want {
		t.Fatalf("csv:\n%s\nwant:\n%s", out.String(), want)
	}

	// The window is [from, to): to at the 20th incident's creation leaves it
	// out; of 19 samples p90 is the ceil(17.1) = 18th.
	out.Reset()
	if code := run([]string{"report", "response", "--from", "2026-11-02", "--to", "2026-11-03T05:00:00Z", "--output", "json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Total.Count != 19 || rep.Total.TTA.P90 != 180.25 || rep.Total.TTA.Mean != 100.25 {
		t.Fatalf("19 incidents: %v %s", err, out.String())
	}

	// Text: a table row per group and the total.
	out.Reset()
	if code := run([]string{"report", "response", "--from", "2026-11-02", "--to", "2026-11-03T09:00:00Z"}, &out, &errb); code != 0 {
		t.Fatalf("report text: exit %d: %s", code, errb.String())
	}
	if !regexp.MustCompile(`(?m)^checkout +20 +100\.25s +180\.25s +105\.25s +600s +1080s +630s +0 +0 +-$`).MatchString(out.String()) {
		t.Fatalf("text report:\n%s", out.String())
	}

	// An empty window: zeros, exit 0.
	out.Reset()
	if code := run([]string{"report", "response", "--from", "2025-01-01", "--to", "2025-02-01", "--output", "json"}, &out, &errb); code != 0 {
		t.Fatalf("empty window: exit %d: %s", code, errb.String())
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Total.Count != 0 || len(rep.Groups) != 0 || rep.Total.TTA != (reports.Stats{}) {
		t.Fatalf("empty window: %v %s", err, out.String())
	}

	// Bad input: 400 naming the field.
	for _, c := range []struct{ query, field string }{
		{"from=2026-11-03&to=2026-11-02", "from:"},
		{"group_by=team", "group_by:"},
		{"from=yesterday", "from:"},
		{"to=2026-13-01", "to:"},
		{"format=xml", "format:"},
	} {
		req, _ := http.NewRequest(http.MethodGet, n.URL+"/v1/reports/response?"+c.query, nil)
		req.Header.Set("Authorization", "Bearer "+nodetest.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(e.Error, c.field) {
			t.Errorf("%s: %d %q, want 400 naming %s", c.query, resp.StatusCode, e.Error, c.field)
		}
	}
	errb.Reset()
	if code := run([]string{"report", "response", "--by", "team"}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "group_by:") {
		t.Fatalf("--by team: exit %d: %s", code, errb.String())
	}
}

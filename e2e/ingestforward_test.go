package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/internal/testpki"
)

// ingestCase is one raw ingest request, sent byte for byte to two nodes.
type ingestCase struct {
	name, method, path, body string
	headers                  map[string]string
}

type rawAnswer struct {
	code   int
	header http.Header
	body   string
}

func sendRaw(t *testing.T, n *testcluster.Node, c ingestCase) rawAnswer {
	t.Helper()
	req, err := http.NewRequest(c.method, n.URL()+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s to %s: %v", c.name, n.ID, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawAnswer{resp.StatusCode, resp.Header, string(b)}
}

// ingestAccepted is pagerd_ingest_requests_total{result="accepted"} on n,
// summed over sources and integrations: the ingest requests n's own
// router served (a proxied request is counted by the leader only).
func ingestAccepted(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) int {
	t.Helper()
	code, body := c.Do(n, http.MethodGet, "/metrics", nil, nil)
	if code != 200 {
		t.Fatalf("%s /metrics: %d", n.ID, code)
	}
	total := 0
	for _, m := range regexp.MustCompile(`(?m)^pagerd_ingest_requests_total\{[^}]*result="accepted"[^}]*\} (\d+)`).FindAllSubmatch(body, -1) {
		v, _ := strconv.Atoi(string(m[1]))
		total += v
	}
	return total
}

// TestFollowerIngestAnswersLikeTheLeader sends the same ingest requests
// (valid, duplicate, invalid, unauthorised, wrong method; Events v2 and
// Alertmanager) to a follower and then to the leader: status, body and the
// headers a sender reads must be identical. The follower serves them with
// its own router and forwards only the built payloads (cluster/ingestfwd.go):
// its accepted-requests counter moves, which a proxied request never moves.
func TestFollowerIngestAnswersLikeTheLeader(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader, f := c.Leader(), c.Followers()[0]
	ev := func(action, key, payload string) string {
		return fmt.Sprintf(`{"routing_key":%q,"event_action":%q,"dedup_key":%q%s}`, testcluster.EventsKey, action, key, payload)
	}
	payload := `,"payload":{"summary":"disk full","source":"db-1","severity":"critical"}`
	am := `{"version":"4","status":"firing","receiver":"pagerd","groupKey":"{}:{alertname=\"FwdSame\"}",
	  "groupLabels":{"alertname":"FwdSame"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
	  "alerts":[{"status":"firing","labels":{"alertname":"FwdSame","service":"payments"},"annotations":{"summary":"fwd am"},
	  "startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aaaa000000000002"}]}`
	amAuth := map[string]string{"Authorization": "Bearer " + testcluster.PrometheusKey}
	cases := []ingestCase{
		{name: "trigger", method: "POST", path: "/v2/enqueue", body: ev("trigger", "same-1", payload)},
		{name: "trigger again (dedup)", method: "POST", path: "/v2/enqueue", body: ev("trigger", "same-1", payload)},
		{name: "acknowledge", method: "POST", path: "/v2/enqueue", body: ev("acknowledge", "same-1", "")},
		{name: "resolve unknown key", method: "POST", path: "/v2/enqueue", body: ev("resolve", "never-seen", "")},
		{name: "missing summary", method: "POST", path: "/v2/enqueue", body: ev("trigger", "bad-1", `,"payload":{"source":"db-1","severity":"critical"}`)},
		{name: "unknown field", method: "POST", path: "/v2/enqueue", body: ev("trigger", "bad-2", payload+`,"dedupkey":"x"`)},
		{name: "bad severity", method: "POST", path: "/v2/enqueue", body: ev("trigger", "bad-3", `,"payload":{"summary":"s","source":"db-1","severity":"loud"}`)},
		{name: "malformed JSON", method: "POST", path: "/v2/enqueue", body: `{"routing_key":`},
		{name: "unknown routing key", method: "POST", path: "/v2/enqueue", body: strings.Replace(ev("trigger", "k", payload), testcluster.EventsKey, "nope", 1)},
		{name: "no routing key", method: "POST", path: "/v2/enqueue", body: `{"event_action":"trigger"}`},
		{name: "wrong method", method: "GET", path: "/v2/enqueue"},
		{name: "alertmanager", method: "POST", path: "/v1/ingest/alertmanager", body: am, headers: amAuth},
		{name: "alertmanager key in path", method: "POST", path: "/v1/ingest/alertmanager/" + testcluster.PrometheusKey, body: am},
		{name: "alertmanager unknown key", method: "POST", path: "/v1/ingest/alertmanager", body: am, headers: map[string]string{"Authorization": "Bearer nope"}},
		{name: "alertmanager no key", method: "POST", path: "/v1/ingest/alertmanager", body: am, headers: map[string]string{"Authorization": ""}},
		{name: "alertmanager bad version", method: "POST", path: "/v1/ingest/alertmanager", body: strings.Replace(am, `"version":"4"`, `"version":"3"`, 1), headers: amAuth},
		{name: "alertmanager no alerts", method: "POST", path: "/v1/ingest/alertmanager", body: `{"version":"4","status":"firing","groupKey":"g","alerts":[]}`, headers: amAuth},
	}
	waitFollowerServesIngest(t, c, f)
	before := ingestAccepted(t, c, f)
	for _, tc := range cases {
		got, want := sendRaw(t, f, tc), sendRaw(t, leader, tc)
		if got.code != want.code || got.body != want.body {
			t.Errorf("%s: follower %d %s; leader %d %s", tc.name, got.code, got.body, want.code, want.body)
		}
		for _, h := range []string{"Content-Type", "Retry-After", "WWW-Authenticate", "Allow", "Cache-Control"} {
			if got.header.Get(h) != want.header.Get(h) {
				t.Errorf("%s: %s: follower %q, leader %q", tc.name, h, got.header.Get(h), want.header.Get(h))
			}
		}
	}
	// trigger, dedup, acknowledge, resolve, 2 × alertmanager.
	if n := ingestAccepted(t, c, f) - before; n != 6 {
		t.Fatalf("follower's own router accepted %d requests, want 6: it did not serve ingest itself", n)
	}

	// A trigger without dedup_key: the follower's router makes the key,
	// the leader commits the incident under it.
	got := sendRaw(t, f, ingestCase{name: "no dedup key", method: "POST", path: "/v2/enqueue",
		body: fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger"%s}`, testcluster.EventsKey, payload)})
	var ans struct {
		Status   string `json:"status"`
		DedupKey string `json:"dedup_key"`
	}
	if err := json.Unmarshal([]byte(got.body), &ans); got.code != 202 || err != nil || len(ans.DedupKey) != 32 {
		t.Fatalf("trigger without dedup_key via follower: %d %s", got.code, got.body)
	}
	if inc := incidentByDedup(t, c, leader, ans.DedupKey); inc.Status != "triggered" {
		t.Fatalf("incident of the generated key on the leader: %+v", inc)
	}
}

// waitFollowerServesIngest waits until f serves ingest itself: it has
// caught up and knows that the leader takes forwarded payloads.
func waitFollowerServesIngest(t *testing.T, c *testcluster.Cluster, f *testcluster.Node) {
	t.Helper()
	i := 0
	c.WaitFor(15*time.Second, func() (bool, string) {
		before := ingestAccepted(t, c, f)
		i++
		code, body := c.Event(f, "trigger", fmt.Sprintf("probe-%d", i), "probe")
		if code != 202 {
			return false, fmt.Sprintf("probe trigger: %d %s", code, body)
		}
		return ingestAccepted(t, c, f) > before, "the follower proxies ingest to the leader"
	})
}

// TestForwardedIngestIsNotForwardedAgain: a request marked as forwarded
// by another node reaching a follower is answered 503 with Retry-After,
// never passed on, on the ingest routes as on every write.
func TestForwardedIngestIsNotForwardedAgain(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	f := c.Followers()[0]
	waitFollowerServesIngest(t, c, f)
	got := sendRaw(t, f, ingestCase{name: "marked", method: "POST", path: "/v2/enqueue",
		body:    fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":"loop-1","payload":{"summary":"s","source":"x","severity":"info"}}`, testcluster.EventsKey),
		headers: map[string]string{"X-Pagerd-Forwarded-By": "n9"}})
	if got.code != 503 || got.header.Get("Retry-After") == "" {
		t.Fatalf("forwarded request on a follower: %d %v %s", got.code, got.header, got.body)
	}
	// The leader's channel endpoint on a follower refuses as well, before
	// even reading the request.
	code, body := c.Do(f, http.MethodPost, "/v1/cluster/ingest", bytes.NewBufferString(`{"items":[]}`).Bytes(), nil)
	if code != 503 {
		t.Fatalf("channel endpoint on a follower: %d %s", code, body)
	}
}

// TestFollowerIngestThroughTheTLSTunnel: with --raft-tls-* and no cluster
// secret, a follower's forwarded payloads are signed with its certificate
// and travel through the tunnel on the leader's Raft port.
func TestFollowerIngestThroughTheTLSTunnel(t *testing.T) {
	member := testpki.NewCA(t, "pagerd-cluster-ca").WriteNode(t, t.TempDir(), "member")
	c := testcluster.Start(t, 3, testcluster.Options{ExtraArgs: member.Args(), Env: []string{"PAGERD_CLUSTER_SECRET="}})
	f := c.Followers()[0]
	waitFollowerServesIngest(t, c, f)
	code, body := c.Event(f, "trigger", "tls-fwd-1", "through the tunnel")
	mustOK(t, "trigger via follower", code, body, 202)
	if inc := incidentByDedup(t, c, c.Leader(), "tls-fwd-1"); inc.Status != "triggered" {
		t.Fatalf("incident on the leader: %+v", inc)
	}
}

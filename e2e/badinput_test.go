package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// observed is what bad input must leave untouched.
type observed struct {
	list          string // GET /v1/incidents?status=all, every page
	count         int
	configVersion string
}

func observe(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) observed {
	t.Helper()
	l, err := listAll(c, n, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct{ Version string }
	if code := c.GetJSON(n, "/v1/config", &cfg); code != 200 || cfg.Version == "" {
		t.Fatalf("GET /v1/config: %d %q", code, cfg.Version)
	}
	return observed{list: l.Raw, count: len(l.Items), configVersion: cfg.Version}
}

func (o observed) mustEqual(t *testing.T, after observed) {
	t.Helper()
	if after.count != o.count {
		t.Errorf("incident count changed: %d before, %d after", o.count, after.count)
	}
	if after.list != o.list {
		t.Errorf("incident list changed:\nbefore:\n%s\nafter:\n%s", o.list, after.list)
	}
	if after.configVersion != o.configVersion {
		t.Errorf("config version changed: %s before, %s after", o.configVersion, after.configVersion)
	}
}

const validAlertmanager = `{"version":"4","status":"firing","receiver":"pagerd","groupKey":"{}:{alertname=\"Base\"}",
 "groupLabels":{"alertname":"Base"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
 "alerts":[{"status":"firing","labels":{"alertname":"Base"},"annotations":{"summary":"base"},
 "startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"bbbb000000000001"}]}`

// TestBadInputChangesNothing sends every kind of bad request to a node and
// checks the status code, that the error message names the problem, and that
// the incidents and the config are exactly as before. The CLI's refusals and
// its read commands are checked against the same node.
func TestBadInputChangesNothing(t *testing.T) {
	// A short read timeout, so that a body announced and not sent is cut
	// (408) within the test; every other request sends at once.
	c := testcluster.Start(t, 1, testcluster.Options{ExtraArgs: []string{"--http-read-timeout", "2s"}})
	n := c.Nodes[0]

	// Base state: INC-1 open (with a note), INC-2 resolved, one Alertmanager incident.
	code, body := c.Event(n, "trigger", "base-open", "base open incident")
	mustOK(t, "trigger base-open", code, body, 202)
	if inc := incidentByDedup(t, c, n, "base-open"); inc.ID != 1 {
		t.Fatalf("first incident has id %d, want 1", inc.ID)
	}
	code, body = c.Do(n, http.MethodPost, "/v1/incidents/INC-1/notes", []byte(`{"by":"alice","note":"looking"}`), nil)
	mustOK(t, "note", code, body, 200)
	code, body = c.Event(n, "trigger", "base-resolved", "base resolved incident")
	mustOK(t, "trigger base-resolved", code, body, 202)
	code, body = c.Event(n, "resolve", "base-resolved", "")
	mustOK(t, "resolve base-resolved", code, body, 202)
	resolved := incidentByDedup(t, c, n, "base-resolved")
	if resolved.Status != "resolved" {
		t.Fatalf("base-resolved is %s", resolved.Status)
	}
	amHeaders := map[string]string{"Authorization": "Bearer " + testcluster.PrometheusKey, "Content-Type": "application/json"}
	code, body = c.Do(n, http.MethodPost, "/v1/ingest/alertmanager", []byte(validAlertmanager), amHeaders)
	mustOK(t, "alertmanager baseline", code, body, 202)
	base := observe(t, c, n)
	if base.count != 3 {
		t.Fatalf("base state has %d incidents, want 3", base.count)
	}

	big := strings.Repeat("x", 1<<20)
	evHeaders := map[string]string{"Content-Type": "application/json"}
	type tc struct {
		name, method, path, body string
		headers                  map[string]string
		code                     int
		msg                      []string // substrings the error must contain
		msgRe                    []string // patterns the error must match
	}
	cases := []tc{
		// Events v2.
		{name: "events malformed JSON", path: "/v2/enqueue", body: `{"routing_key": "test-events-key", "event_action": "trigger",`,
			code: 400, msg: []string{"json"}},
		{name: "events not an object", path: "/v2/enqueue", body: `[1,2]`, code: 400, msg: []string{"must be an object"}},
		{name: "events empty body", path: "/v2/enqueue", body: ``, code: 400, msg: []string{"body", "empty"}},
		{name: "events payload wrong type", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-1","payload":5}`,
			code: 400, msg: []string{"payload", "object"}},
		{name: "events event_action wrong type", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":5,"dedup_key":"bad-2","payload":{"summary":"s","source":"x","severity":"error"}}`,
			code: 400, msg: []string{"event_action", "string"}},
		{name: "events missing routing_key", path: "/v2/enqueue",
			body: `{"event_action":"trigger","dedup_key":"bad-3","payload":{"summary":"s","source":"x","severity":"error"}}`,
			code: 401, msg: []string{"routing_key"}},
		{name: "events unknown routing_key", path: "/v2/enqueue",
			body: `{"routing_key":"nope","event_action":"trigger","dedup_key":"bad-4","payload":{"summary":"s","source":"x","severity":"error"}}`,
			code: 401, msg: []string{"routing_key", "unknown"}},
		{name: "events admin token is not an integration key", path: "/v2/enqueue",
			body: `{"routing_key":"test-admin-token","event_action":"trigger","dedup_key":"bad-5","payload":{"summary":"s","source":"x","severity":"error"}}`,
			code: 401, msg: []string{"routing_key"}},
		{name: "events missing payload.summary", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-6","payload":{"source":"x","severity":"error"}}`,
			code: 400, msg: []string{"payload.summary", "required"}},
		{name: "events missing payload", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-7"}`,
			code: 400, msg: []string{"payload", "required"}},
		{name: "events bad severity", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-8","payload":{"summary":"s","source":"x","severity":"urgent"}}`,
			code: 400, msg: []string{"payload.severity"}},
		{name: "events unknown key", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedupkey":"bad-9","payload":{"summary":"s","source":"x","severity":"error"}}`,
			code: 400, msg: []string{"dedupkey", "unknown"}},
		{name: "events unknown key in payload", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-10","payload":{"summary":"s","source":"x","severty":"error"}}`,
			code: 400, msg: []string{"payload.severty", "unknown"}},
		{name: "events unknown action", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"snooze","dedup_key":"base-open"}`,
			code: 400, msg: []string{"event_action"}},
		{name: "events acknowledge without dedup_key", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"acknowledge"}`,
			code: 400, msg: []string{"dedup_key", "required"}},
		{name: "events body over 1 MiB", path: "/v2/enqueue",
			body: `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"bad-11","payload":{"summary":"` + big + `","source":"x","severity":"error"}}`,
			code: 413, msg: []string{"larger than 1048576 bytes"}},

		// Alertmanager.
		{name: "alertmanager malformed JSON", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: `{"version":"4","status":"firing",`, code: 400, msg: []string{"json"}},
		{name: "alertmanager alerts wrong type", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"alerts":[`, `"alerts":"x","x":[`, 1), code: 400, msg: []string{"alerts", "array"}},
		{name: "alertmanager groupKey missing", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"groupKey":"{}:{alertname=\"Base\"}",`, ``, 1), code: 400, msg: []string{"groupKey", "required"}},
		{name: "alertmanager alert without labels", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"labels":{"alertname":"Base"}`, `"labels":{}`, 1), code: 400, msg: []string{"alerts[0].labels"}},
		{name: "alertmanager bad startsAt", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"startsAt":"2026-01-01T00:00:00Z"`, `"startsAt":"yesterday"`, 1), code: 400, msg: []string{"alerts[0].startsAt"}},
		{name: "alertmanager wrong version", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"version":"4"`, `"version":"3"`, 1), code: 400, msg: []string{"version"}},
		{name: "alertmanager missing key", path: "/v1/ingest/alertmanager", headers: map[string]string{"Authorization": ""},
			body: validAlertmanager, code: 401, msg: []string{"missing integration key"}},
		{name: "alertmanager unknown key", path: "/v1/ingest/alertmanager", headers: map[string]string{"Authorization": "Bearer nope"},
			body: validAlertmanager, code: 401, msg: []string{"unknown integration key"}},
		{name: "alertmanager API token is not an integration key", path: "/v1/ingest/alertmanager",
			body: validAlertmanager, code: 401, msg: []string{"unknown integration key"}},
		{name: "alertmanager unknown key in path", path: "/v1/ingest/alertmanager/nope", headers: map[string]string{"Authorization": ""},
			body: validAlertmanager, code: 401, msg: []string{"unknown integration key"}},
		{name: "alertmanager body over 1 MiB", path: "/v1/ingest/alertmanager", headers: amHeaders,
			body: strings.Replace(validAlertmanager, `"summary":"base"`, `"summary":"`+big+`"`, 1), code: 413, msg: []string{"larger than 1048576 bytes"}},

		// Incidents.
		{name: "get unknown incident", method: "GET", path: "/v1/incidents/999", code: 404, msg: []string{"INC-999", "not found"}},
		{name: "get malformed incident id", method: "GET", path: "/v1/incidents/abc", code: 404, msg: []string{"abc"}},
		{name: "ack unknown incident", path: "/v1/incidents/999/ack", code: 404, msg: []string{"INC-999", "not found"}},
		{name: "ack resolved incident", path: fmt.Sprintf("/v1/incidents/%d/ack", resolved.ID), code: 409,
			msg: []string{resolved.Key, "already resolved"}},
		{name: "resolve resolved incident", path: fmt.Sprintf("/v1/incidents/%d/resolve", resolved.ID), code: 409,
			msg: []string{resolved.Key, "resolved"}},
		{name: "ack with a mistyped body", path: "/v1/incidents/1/ack", body: `{"by":5}`, code: 400, msg: []string{"by"}},
		{name: "ack with an unknown body key", path: "/v1/incidents/1/ack", body: `{"user":"alice"}`, code: 400, msg: []string{"user", "unknown"}},
		{name: "note without text", path: "/v1/incidents/1/notes", body: `{"by":"alice"}`, code: 400, msg: []string{"note", "required"}},
		{name: "impact in the future", path: "/v1/incidents/1/impact", body: `{"started_at":"2999-01-01T00:00:00Z"}`,
			code: 400, msg: []string{"started_at", "in the future"}},
		{name: "impact without a time", path: "/v1/incidents/1/impact", body: `{"by":"alice"}`, code: 400, msg: []string{"started_at", "required"}},
		{name: "summary in a bad format", method: "GET", path: "/v1/incidents/1/summary?format=pdf", code: 400, msg: []string{"format"}},
		{name: "unknown action", path: "/v1/incidents/1/snooze", code: 404, msg: []string{"snooze"}},
		{name: "unknown severity", path: "/v1/incidents/1/severity", body: `{"severity":"sev4","by":"alice"}`, code: 400, msg: []string{"severity", `"sev4"`}},
		{name: "severity missing", path: "/v1/incidents/1/severity", body: `{"by":"alice"}`, code: 400, msg: []string{"severity", "required"}},
		{name: "severity of a resolved incident", path: "/v1/incidents/2/severity", body: `{"severity":"sev1"}`, code: 409, msg: []string{"already resolved"}},
		{name: "list with a bad status", method: "GET", path: "/v1/incidents?status=bogus", code: 400, msg: []string{"status", "bogus"}},
		{name: "list with a bad limit", method: "GET", path: "/v1/incidents?limit=5000", code: 400, msg: []string{"limit"}},
		{name: "list with a bad cursor", method: "GET", path: "/v1/incidents?cursor=x", code: 400, msg: []string{"cursor"}},
		{name: "incident with a bad alerts_limit", method: "GET", path: "/v1/incidents/1?alerts_limit=5000", code: 400, msg: []string{"alerts_limit"}},
		{name: "incident with a bad alerts_cursor", method: "GET", path: "/v1/incidents/1?alerts_limit=10&alerts_cursor=x", code: 400, msg: []string{"alerts_cursor"}},
		{name: "ack without a token", path: "/v1/incidents/1/ack", headers: map[string]string{"Authorization": ""}, code: 401, msg: []string{"token"}},
		{name: "ack with a wrong token", path: "/v1/incidents/1/ack", headers: map[string]string{"Authorization": "Bearer test-events-key"}, code: 401, msg: []string{"token"}},

		// Config.
		{name: "config with an unknown key and a bad duration", method: "PUT", path: "/v1/config",
			body: strings.Replace(testcluster.DefaultConfig, "  - {id: payments, name: Payments}\n",
				"  - {id: payments, name: Payments}\n  - {id: search, name: Search, ack_timeout: 5 parsecs}\n", 1) + "wibble: 1\n",
			code: 400, msgRe: []string{`config\.yaml:\d+:\d+: .*wibble`, `config\.yaml:\d+:\d+: .*5 parsecs`}},
		{name: "config YAML syntax error", method: "PUT", path: "/v1/config", body: "timezone: UTC\nusers: [\n",
			code: 400, msgRe: []string{`config\.yaml:\d+:\d+: `}},
		{name: "config with an unset variable", method: "PUT", path: "/v1/config",
			body: strings.Replace(testcluster.DefaultConfig, `token: "test-admin-token"`, `token: "${PAGERD_E2E_SURELY_UNSET}"`, 1),
			code: 400, msgRe: []string{`config\.yaml:\d+:\d+: .*PAGERD_E2E_SURELY_UNSET`}},
		{name: "config empty body", method: "PUT", path: "/v1/config", body: "", code: 400, msg: []string{"empty"}},
		{name: "config severity with an unknown business-hours window", method: "PUT", path: "/v1/config",
			body: testcluster.DefaultConfig + "severities:\n  sev3: {page: nightshift}\n",
			code: 400, msgRe: []string{`config\.yaml:\d+:\d+: severities\.sev3\.page: .*nightshift`}},
		{name: "config with a malformed time_intervals entry", method: "PUT", path: "/v1/config",
			body: testcluster.DefaultConfig + "business_hours:\n  - id: office\n    times:\n      - {weekdays: [\"funday\"]}\n",
			code: 400, msgRe: []string{`config\.yaml:\d+:\d+: business_hours\[0\]\.times\[0\]\S*: .*funday`}},

		// Wrong methods (issue 10.10): 405 JSON naming the allowed ones, on every route.
		{name: "GET on events ingest", method: "GET", path: "/v2/enqueue", code: 405, msg: []string{"GET", "not allowed", "POST"}},
		{name: "GET on alertmanager ingest", method: "GET", path: "/v1/ingest/alertmanager", code: 405, msg: []string{"not allowed", "POST"}},
		{name: "DELETE an incident", method: "DELETE", path: "/v1/incidents/1", code: 405, msg: []string{"DELETE", "GET"}},
		{name: "GET an incident action", method: "GET", path: "/v1/incidents/1/ack", code: 405, msg: []string{"not allowed", "POST"}},
		{name: "POST the config", method: "POST", path: "/v1/config", body: "timezone: UTC\n", code: 405, msg: []string{"GET", "PUT"}},
		{name: "POST the snapshot", method: "POST", path: "/v1/snapshot", code: 405, msg: []string{"GET", "PUT"}},
		{name: "PUT healthz", method: "PUT", path: "/healthz", code: 405, msg: []string{"GET"}},
		{name: "GET on the Twilio webhook", method: "GET", path: "/v1/sms/twilio", code: 405, msg: []string{"POST"}},
		{name: "unknown path is still 404", method: "GET", path: "/v1/nothing-here", code: 404, msg: []string{"no such endpoint"}},

		// Snapshot restore.
		{name: "restore a snapshot that is not one", method: "PUT", path: "/v1/snapshot", body: "{\"format\":1}\nnot incidents",
			headers: map[string]string{"Content-Type": "application/octet-stream"}, code: 400, msg: []string{"snapshot"}},
		{name: "restore an empty snapshot", method: "PUT", path: "/v1/snapshot", body: "",
			headers: map[string]string{"Content-Type": "application/octet-stream"}, code: 400, msg: []string{"snapshot"}},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			method := k.method
			if method == "" {
				method = http.MethodPost
			}
			headers := k.headers
			if headers == nil && strings.HasPrefix(k.path, "/v2/") {
				headers = evHeaders
			}
			code, body := c.Do(n, method, k.path, []byte(k.body), headers)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Errorf("answer is not {\"error\": ...}: %d %.300s", code, body)
			}
			t.Logf("%d %s", code, trunc(e.Error))
			if code != k.code {
				t.Errorf("status %d, want %d: %.300s", code, k.code, body)
			}
			for _, want := range k.msg {
				if !strings.Contains(e.Error, want) {
					t.Errorf("error %q does not mention %q", trunc(e.Error), want)
				}
			}
			for _, re := range k.msgRe {
				if !regexp.MustCompile(`(?m)^` + re).MatchString(e.Error) {
					t.Errorf("error %q has no line matching %q", trunc(e.Error), re)
				}
			}
			base.mustEqual(t, observe(t, c, n))
		})
	}

	// A 405 names the allowed methods in Allow, as RFC 9110 requires.
	t.Run("405 Allow header", func(t *testing.T) {
		for path, want := range map[string]string{"/v2/enqueue": "POST", "/v1/config": "GET, HEAD, PUT",
			"/v1/incidents/1": "GET, HEAD", "/v1/sms/twilio": "POST"} {
			req, _ := http.NewRequest(http.MethodPatch, n.URL()+path, nil)
			req.Header.Set("Authorization", "Bearer "+testcluster.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 405 || resp.Header.Get("Allow") != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("PATCH %s: %d Allow %q Content-Type %q; want 405 Allow %q JSON", path, resp.StatusCode,
					resp.Header.Get("Allow"), resp.Header.Get("Content-Type"), want)
			}
		}
	})

	// A body announced and not sent is cut at --http-read-timeout with 408
	// {"error"} (issue 10.6), on ingest and on the Twilio webhook.
	t.Run("body not sent in time is 408", func(t *testing.T) {
		for _, path := range []string{"/v2/enqueue", "/v1/sms/twilio"} {
			conn, err := net.Dial("tcp", n.HTTPAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"X-Twilio-Signature: c2ln\r\nContent-Length: 100000\r\n\r\n{", path, n.HTTPAddr)
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("%s: no answer: %v", path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			var e struct{ Error string }
			if resp.StatusCode != 408 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "in time") {
				t.Errorf("%s: %d %s; want 408 {\"error\": ...in time}", path, resp.StatusCode, body)
			}
		}
		base.mustEqual(t, observe(t, c, n))
	})

	// The FILE:LINE:COL positions point at the offending text.
	t.Run("config error positions", func(t *testing.T) {
		yaml := testcluster.DefaultConfig + "wibble: 1\n"
		code, body := c.Do(n, http.MethodPut, "/v1/config", []byte(yaml), nil)
		wantLine := strings.Count(testcluster.DefaultConfig, "\n") + 1
		if code != 400 || !strings.Contains(string(body), fmt.Sprintf("config.yaml:%d:1: ", wantLine)) {
			t.Errorf("unknown top-level key on line %d: %d %s", wantLine, code, body)
		}
		base.mustEqual(t, observe(t, c, n))
	})

	t.Run("cli", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		os.WriteFile(bad, []byte("timezone: UTC\nusers:\n  - {id: alice, name: Alice, email: a@example.com, colour: blue}\n"+
			"services:\n  - {id: checkout, name: Checkout, ack_timeout: 5 parsecs}\n"), 0o600)
		rc, out := c.Run(n, "config", "check", bad)
		if rc != 2 {
			t.Errorf("config check on an invalid file: exit %d, want 2: %s", rc, out)
		}
		for _, want := range []string{bad + `:3:\d+: .*colour`, bad + `:5:\d+: .*5 parsecs`} {
			if !regexp.MustCompile(`(?m)^` + want).MatchString(out) {
				t.Errorf("config check output has no line matching %q:\n%s", want, out)
			}
		}
		rc, out = c.Run(n, "ack", "999")
		if rc != 1 || !strings.Contains(out, "INC-999") {
			t.Errorf("pagerd ack 999: exit %d, want 1, naming INC-999: %s", rc, out)
		}
		rc, out = c.Run(n, "ack", fmt.Sprint(resolved.ID))
		if rc != 1 || !strings.Contains(out, "already resolved") {
			t.Errorf("pagerd ack of a resolved incident: exit %d, want 1: %s", rc, out)
		}
		rc, out = c.Run(n, "incidents", "--status", "bogus")
		if rc != 2 || !strings.Contains(out, "bogus") {
			t.Errorf("pagerd incidents --status bogus: exit %d, want 2: %s", rc, out)
		}
		garbage := filepath.Join(t.TempDir(), "garbage.snap")
		os.WriteFile(garbage, []byte("this is not a snapshot\n"), 0o600)
		rc, out = c.Run(n, "snapshot", "restore", garbage)
		if rc != 2 || !strings.Contains(out, "not a pagerd snapshot") {
			t.Errorf("pagerd snapshot restore of a garbage file: exit %d, want 2: %s", rc, out)
		}
		rc, out = c.Run(n, "incident", "not-an-id")
		if rc != 2 {
			t.Errorf("pagerd incident not-an-id: exit %d, want 2: %s", rc, out)
		}
		base.mustEqual(t, observe(t, c, n))
	})

	t.Run("cli read commands", func(t *testing.T) {
		for _, status := range []string{"open", "all", "resolved"} {
			rc, out := c.Run(n, "incidents", "--status", status, "--output", "json")
			code, api := c.Do(n, http.MethodGet, "/v1/incidents?status="+status+"&limit=100", nil, nil)
			if rc != 0 || code != 200 || out != string(api) {
				t.Errorf("incidents --status %s --output json (exit %d) differs from the API (%d):\n%s\nAPI:\n%s", status, rc, code, out, api)
			}
		}
		rc, out := c.Run(n, "incident", "INC-1", "--output", "json")
		code, api := c.Do(n, http.MethodGet, "/v1/incidents/1", nil, nil)
		if rc != 0 || code != 200 || out != string(api) {
			t.Errorf("incident INC-1 --output json (exit %d) differs from the API (%d):\n%s\nAPI:\n%s", rc, code, out, api)
		}
		rc, out = c.Run(n, "incident", "INC-1")
		if rc != 0 {
			t.Fatalf("pagerd incident INC-1: exit %d: %s", rc, out)
		}
		_, timeline, ok := strings.Cut(out, "\ntimeline:\n")
		if !ok || !strings.Contains(out, "INC-1") || !strings.Contains(out, "base open incident") {
			t.Fatalf("pagerd incident INC-1 shows no timeline:\n%s", out)
		}
		var inc struct {
			Timeline []struct{ Type, Actor, Message string }
		}
		json.Unmarshal(api, &inc)
		if len(inc.Timeline) < 2 {
			t.Fatalf("INC-1 has %d timeline entries, want the trigger and the note", len(inc.Timeline))
		}
		lines := strings.Split(strings.TrimSpace(timeline), "\n")
		if len(lines) != len(inc.Timeline) {
			t.Errorf("timeline shows %d lines, the incident has %d entries:\n%s", len(lines), len(inc.Timeline), timeline)
		}
		for i, e := range inc.Timeline {
			if i < len(lines) && (!strings.Contains(lines[i], e.Type) || !strings.Contains(lines[i], e.Message)) {
				t.Errorf("timeline line %d %q does not show entry %+v", i, lines[i], e)
			}
		}
		if !strings.Contains(timeline, "looking") {
			t.Errorf("timeline lacks the note:\n%s", timeline)
		}
		rc, out = c.Run(n, "incidents")
		if rc != 0 || !strings.Contains(out, "INC-1") || strings.Contains(out, resolved.Key+" ") {
			t.Errorf("pagerd incidents (open): exit %d, want INC-1 and not the resolved %s:\n%s", rc, resolved.Key, out)
		}
	})
}

func trunc(s string) string {
	if len(s) > 300 {
		return s[:300] + "..."
	}
	return s
}

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// Tokens of authConfig, one per scope, and the feed tokens of its schedules.
const (
	readToken    = "test-read-token"
	respondToken = "test-respond-token"
	webFeed      = "test-web-feed-token"
	opsFeed      = "test-ops-feed-token"
)

// authConfig is DefaultConfig with a token of every scope and two schedules,
// each with its own calendar feed token.
var authConfig = strings.Replace(testcluster.DefaultConfig, `api_tokens:
  - {name: admin, token: "test-admin-token"}
`, `api_tokens:
  - {name: admin, token: "test-admin-token"}
  - {name: grafana, token: "`+readToken+`", scope: read}
  - {name: bot, token: "`+respondToken+`", scope: respond}
rotations:
  - {id: r1, participants: [alice], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - id: web
    layers: [r1]
    feed_tokens:
      - {name: alice-phone, token: "`+webFeed+`"}
  - id: ops
    layers: [r1]
    feed_tokens:
      - {name: ops-wall, token: "`+opsFeed+`"}
`, 1)

// authRow is one request and the answer it must get. token goes in the
// Authorization header ("" for none); a token in the URL is part of path.
type authRow struct {
	name, method, path, token, body string
	code                            int
	msg                             string // the error must contain it
}

// TestTokenScopesAndFeedTokens is issue 10.5 and 10.4 as a table: each token
// can do what its scope allows and gets 403 naming the needed scope beyond
// it; feed tokens read their own schedule's calendar and nothing else; a
// token in the query string counts only on the calendar route; and a config
// that would switch authentication off is refused. Refusals change nothing.
func TestTokenScopesAndFeedTokens(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{Config: authConfig})
	n := c.Nodes[0]
	if code, body := c.Event(n, "trigger", "auth-1", "disk full"); code != 202 {
		t.Fatalf("event: %d %s", code, body)
	}
	const admin = testcluster.Token
	rows := []authRow{
		// read: incidents, schedules, on call; nothing else.
		{"read lists incidents", "GET", "/v1/incidents", readToken, "", 200, ""},
		{"read gets an incident", "GET", "/v1/incidents/1", readToken, "", 200, ""},
		{"read asks who is on call", "GET", "/v1/oncall", readToken, "", 200, ""},
		{"read lists shifts", "GET", "/v1/schedules/web/shifts", readToken, "", 200, ""},
		{"read reads a calendar by header", "GET", "/v1/schedules/web/calendar.ics", readToken, "", 200, ""},
		{"read cannot ack", "POST", "/v1/incidents/1/ack", readToken, "", 403, `token "grafana" has scope read; POST /v1/incidents/1/ack needs scope respond`},
		{"read cannot read the config", "GET", "/v1/config", readToken, "", 403, "needs scope admin"},
		{"read cannot download the snapshot", "GET", "/v1/snapshot", readToken, "", 403, "needs scope admin"},
		// respond: read plus acting on incidents; not admin.
		{"respond adds a note", "POST", "/v1/incidents/1/notes", respondToken, `{"note":"looking"}`, 200, ""},
		{"respond sets the severity", "POST", "/v1/incidents/1/severity", respondToken, `{"severity":"sev2"}`, 200, ""},
		{"read cannot set the severity", "POST", "/v1/incidents/1/severity", readToken, `{"severity":"sev1"}`, 403, "needs scope respond"},
		{"respond hands a role over", "PUT", "/v1/incidents/1/roles/tech_lead", respondToken, `{"user":"alice"}`, 200, ""},
		{"respond releases a role", "DELETE", "/v1/incidents/1/roles/tech_lead", respondToken, "", 200, ""},
		{"read cannot take a role", "PUT", "/v1/incidents/1/roles/tech_lead", readToken, `{"user":"alice"}`, 403, "needs scope respond"},
		{"read cannot escalate", "POST", "/v1/incidents/1/escalate", readToken, "", 403, `token "grafana" has scope read; POST /v1/incidents/1/escalate needs scope respond`},
		// The scope check passes; the incident's state answers (this service
		// has no escalation policy), not the token's scope.
		{"respond may escalate", "POST", "/v1/incidents/1/escalate", respondToken, "", 409, "no escalation policy to advance"},
		{"read cannot resolve", "POST", "/v1/incidents/1/resolve", readToken, "", 403, `token "grafana" has scope read; POST /v1/incidents/1/resolve needs scope respond`},
		{"respond resolves", "POST", "/v1/incidents/1/resolve", respondToken, "", 200, ""},
		{"respond lists incidents", "GET", "/v1/incidents", respondToken, "", 200, ""},
		{"respond cannot replace the config", "PUT", "/v1/config", respondToken, "timezone: UTC\n", 403, "needs scope admin"},
		{"respond cannot download the snapshot", "GET", "/v1/snapshot", respondToken, "", 403, "needs scope admin"},
		{"respond cannot restore a snapshot", "PUT", "/v1/snapshot", respondToken, "x", 403, "needs scope admin"},
		{"respond cannot see the cluster", "GET", "/v1/cluster", respondToken, "", 403, "needs scope admin"},
		{"respond cannot join a node", "POST", "/v1/cluster/join", respondToken, `{"id":"x","raft_addr":"127.0.0.1:1","http_addr":"127.0.0.1:2"}`, 403, "needs scope admin"},
		{"respond cannot remove a node", "DELETE", "/v1/cluster/nodes/n9", respondToken, "", 403, "needs scope admin"},
		{"respond cannot rotate reply keys", "POST", "/v1/reply-keys/rotate", respondToken, "", 403, "needs scope admin"},
		// Feed tokens: their own schedule's calendar, by URL or header.
		{"feed token in the URL reads its calendar", "GET", "/v1/schedules/web/calendar.ics?token=" + webFeed, "", "", 200, ""},
		{"feed token in the header reads its calendar", "GET", "/v1/schedules/web/calendar.ics", webFeed, "", 200, ""},
		{"feed token of another schedule", "GET", "/v1/schedules/ops/calendar.ics?token=" + webFeed, "", "", 401, `not a feed token of schedule "ops"`},
		{"feed token lists incidents", "GET", "/v1/incidents", webFeed, "", 401, "unknown API token"},
		{"feed token downloads the snapshot", "GET", "/v1/snapshot", webFeed, "", 401, "unknown API token"},
		{"feed token shifts", "GET", "/v1/schedules/web/shifts", webFeed, "", 401, "unknown API token"},
		// ?token= counts on the calendar route only, and only for feed tokens.
		{"URL token on the incident list", "GET", "/v1/incidents?token=" + webFeed, "", "", 401, "missing API token"},
		{"URL token on an incident path ending .ics", "GET", "/v1/incidents/1.ics?token=" + admin, "", "", 401, "missing API token"},
		{"URL token on the snapshot", "GET", "/v1/snapshot?token=" + admin, "", "", 401, "missing API token"},
		{"API token in a calendar URL", "GET", "/v1/schedules/web/calendar.ics?token=" + admin, "", "", 401, "API tokens go in the Authorization header"},
		// Configs that would switch authentication off (issue 10.4).
		{"config {} has no tokens", "PUT", "/v1/config", admin, "{}", 400, "no token with scope admin"},
		{"config without api_tokens", "PUT", "/v1/config", admin, "timezone: UTC\n", 400, "config.yaml:1:1: api_tokens: no token with scope admin"},
		{"config with only a read token", "PUT", "/v1/config", admin, "api_tokens: [{name: r, token: rrrrrrrr, scope: read}]\n", 400, "no token with scope admin"},
		{"config auth: none outside --dev", "PUT", "/v1/config", admin, "auth: none\n", 400, `config.yaml:1:7: auth: "none" leaves the API open`},
		{"config with an unknown scope", "PUT", "/v1/config", admin, "api_tokens: [{name: a, token: aaaaaaaa, scope: root}]\n", 400, `config.yaml:1:48: api_tokens[0].scope: unknown scope "root"`},
		{"config with a feed token equal to an API token", "PUT", "/v1/config", admin,
			"api_tokens: [{name: a, token: same-token}]\nusers: [{id: u, email: u@example.com}]\nrotations: [{id: r, participants: [u], shift: 1d, start: \"2026-11-02 09:00\"}]\n" +
				"schedules: [{id: s, layers: [r], feed_tokens: [{name: f, token: same-token}]}]\n", 400, "schedules[0].feed_tokens[0].token: same value as api_tokens[0].token"},
		// Issue 10.3: what validates compiles, so this is refused up front
		// instead of making /v1/oncall answer 500 afterwards.
		{"config whose shift cannot compile", "PUT", "/v1/config", admin,
			"api_tokens: [{name: a, token: aaaaaaaa}]\nusers: [{id: u, email: u@example.com}]\n" +
				"rotations: [{id: r, participants: [u], shift: 90500ms, start: \"2026-11-02 09:00\"}]\n", 400,
			"config.yaml:3:47: rotations[0].shift: 1m30.5s is not a whole number of seconds"},
		{"on call still answers", "GET", "/v1/oncall", readToken, "", 200, ""},
		{"admin downloads the snapshot", "GET", "/v1/snapshot", admin, "", 200, ""},
	}
	before := configVersion(t, c, n)
	for _, row := range rows {
		code, body := doAs(t, n, row)
		if code != row.code {
			t.Errorf("%s: %s %s: got %d, want %d: %.300s", row.name, row.method, row.path, code, row.code, body)
			continue
		}
		if row.msg == "" {
			continue
		}
		var e struct{ Error string }
		if err := json.Unmarshal(body, &e); err != nil || !strings.Contains(e.Error, row.msg) {
			t.Errorf("%s: error %q (body %.300s), want it to contain %q", row.name, e.Error, body, row.msg)
		}
	}
	if after := configVersion(t, c, n); after != before {
		t.Errorf("config version changed from %s to %s", before, after)
	}
	// Authentication is still on after every refused config.
	if code, _ := doAs(t, n, authRow{method: "GET", path: "/v1/incidents"}); code != 401 {
		t.Errorf("GET /v1/incidents without a token after the refused configs: %d, want 401", code)
	}
}

// TestOpenAPIOnlyWithDev: `auth: none` is a written choice that only a --dev
// node accepts; any other node refuses to start with it, exit status 2.
func TestOpenAPIOnlyWithDev(t *testing.T) {
	open := strings.Replace(testcluster.DefaultConfig, `api_tokens:
  - {name: admin, token: "test-admin-token"}
`, "auth: none\n", 1)
	path := filepath.Join(t.TempDir(), "open.yaml")
	if err := os.WriteFile(path, []byte(open), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testcluster.Binary(t), "serve", "--config", path, "--data-dir", t.TempDir(),
		"--http-addr", testcluster.FreePort(t), "--raft-addr", testcluster.FreePort(t))
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), `auth: "none" leaves the API open`) {
		t.Fatalf("serve without --dev on an auth: none config: %v\n%s", err, out)
	}

	c := testcluster.Start(t, 1, testcluster.Options{Config: open, ExtraArgs: []string{"--dev"}})
	code, body := doAs(t, c.Nodes[0], authRow{method: "GET", path: "/v1/incidents"})
	if code != 200 {
		t.Fatalf("--dev node with auth: none, GET /v1/incidents without a token: %d %s", code, body)
	}
}

func doAs(t *testing.T, n *testcluster.Node, row authRow) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(row.method, n.URL()+row.path, strings.NewReader(row.body))
	if err != nil {
		t.Fatal(err)
	}
	if row.token != "" {
		req.Header.Set("Authorization", "Bearer "+row.token)
	}
	if strings.HasPrefix(row.body, "{\"") {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", row.method, row.path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		k, err := resp.Body.Read(buf)
		b.Write(buf[:k])
		if err != nil || b.Len() > 1<<20 {
			break
		}
	}
	return resp.StatusCode, []byte(b.String())
}

func configVersion(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) string {
	t.Helper()
	var v struct{ Version string }
	if code := c.GetJSON(n, "/v1/config", &v); code != 200 || v.Version == "" {
		t.Fatalf("GET /v1/config: %d", code)
	}
	return v.Version
}

package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/notify/channels"
	"github.com/pagerd/pagerd/notify/outbox"
)

// Secrets of testConfig that must never reach a page.
var secrets = []string{nodetest.Token, "read-only-secret-token", "evk-integration-secret", "AC0123456789secret", "sms-auth-token-secret", "hook-signing-secret", "am-integration-secret"}

const testConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
  - {name: grafana, token: "read-only-secret-token", scope: read}
users:
  - {id: alice, name: Alice, email: alice@example.com, phone: "+31612345001"}
  - {id: bob, name: Bob, email: bob@example.com}
rotations:
  - {id: primary, participants: [alice, bob], shift: 24h, start: "2026-11-01T09:00:00Z", active: [{days: [mon, tue, wed, thu, fri], from: "09:00", to: "17:00"}]}
schedules:
  - {id: web, layers: [primary]}
policies:
  - id: p
    steps:
      - {notify: [schedule:web], escalate_after: 10m}
      - {notify: [user:bob, webhook:chat], escalate_after: 10m}
services:
  - {id: checkout, name: Checkout API, policy: p, criticality: tier2, rto: 1h, runbook: "https://wiki.example.com/rb"}
integrations:
  - {name: events, key: "evk-integration-secret", service: checkout}
  - {name: am, key: "am-integration-secret", service: checkout}
channels:
  email: {smtp: "127.0.0.1:1", from: pagerd@example.com}
  sms: {provider: twilio, account_sid: "AC0123456789secret", auth_token: "sms-auth-token-secret", from: "+15550000000", api_base: "http://127.0.0.1:1"}
  webhooks:
    - {id: chat, url: "http://127.0.0.1:1/hook", secret: "hook-signing-secret"}
`

// console is a real single node with the console and the API on one server.
type console struct {
	node *nodetest.Node
	url  string
	box  *outbox.Outbox
}

func startConsole(t testing.TB, dev bool) *console {
	return startConsoleWith(t, consoleOptions{dev: dev})
}

// startConsoleAt runs the node with clock as the leader's clock.
func startConsoleAt(t testing.TB, dev bool, clock func() time.Time) *console {
	return startConsoleWith(t, consoleOptions{dev: dev, clock: clock})
}

// consoleOptions shape a test console.
type consoleOptions struct {
	dev   bool
	clock func() time.Time
	// publicURL sets the config's public_url to the console's own URL, so
	// mailed sign-in links work and point back at it.
	publicURL bool
	// devURL is web.Options.DevURL.
	devURL string
}

func startConsoleWith(t testing.TB, o consoleOptions) *console {
	t.Helper()
	box := outbox.New(outbox.Options{Node: "t1", EmailFrom: "pagerd@example.com"})
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	t.Cleanup(srv.Close)
	cfg := testConfig
	if o.publicURL {
		cfg += "public_url: http://" + srv.Listener.Addr().String() + "\n"
	}
	n := nodetest.Start(t, nodetest.Options{Config: cfg, Clock: o.clock})
	mux.Handle("/ui/", New(Options{Node: n.Node, Mailer: channels.Outbox{Outbox: box}, Dev: o.dev, DevURL: o.devURL}))
	srv.Start()
	return &console{node: n, url: srv.URL, box: box}
}

// client is a browser-like client: a cookie jar, no redirect following.
func client(t testing.TB) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t testing.TB, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func post(t testing.TB, c *http.Client, u string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func signIn(t testing.TB, cs *console, token string) *http.Client {
	t.Helper()
	c := client(t)
	code, body, h := post(t, c, cs.url+"/ui/login", url.Values{"token": {token}})
	if code != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("token sign-in: %d %s\n%s", code, h.Get("Location"), body)
	}
	return c
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token on the page:\n%s", page)
	}
	return m[1]
}

func trigger(t testing.TB, cs *console, summary string) {
	t.Helper()
	body := `{"routing_key":"evk-integration-secret","event_action":"trigger","payload":{"summary":` + summary + `,"source":"db1","severity":"critical","custom_details":{"runbook_url":"https://runbooks.example.com/db","note":"<img src=x onerror=alert(1)> \"q\""}}}`
	resp, err := http.Post(cs.node.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
}

func apiIncident(t testing.TB, cs *console, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", cs.node.URL+"/v1/incidents/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/mail"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// Status pages (spec §5.3) served by real pagerd processes, read by a
// real feed parser (Debian's python3-feedparser) and headless Chromium,
// with subscribers mailed through a real SMTP server process (aiosmtpd).

const statusConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
  - {name: reader, token: "test-read-token", scope: read}
users:
  - {id: alice, name: Alice, email: alice@example.com}
services:
  - {id: checkout, name: Checkout API}
  - {id: payments, name: Payments}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
severity:
  label: severity
  map: {critical: sev1, error: sev2, warning: sev3}
  default: sev2
status_pages:
  - id: public
    title: Example status
    components:
      - {id: api, name: Checkout API, services: [checkout]}
      - {id: payments, name: Payments, services: [payments]}
  - id: internal
    title: Internal status
    audience: internal
    components:
      - {id: api-internal, name: Checkout backend, services: [checkout]}
%s`

const statusMailChannel = `channels:
  email: {smtp: "%s", from: "status@pager.example.com"}
`

// alertSecret is alert-sender text (the incident title): it must never
// reach a public page or mail.
const alertSecret = "ALERTSENDER-title-<script>x</script>"

func stPost(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, path string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	return c.Do(n, http.MethodPost, path, b, map[string]string{"Content-Type": "application/json"})
}

// stUpdate posts an update with the admin token and returns it.
func stUpdate(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id uint64, body map[string]any) incident.Update {
	t.Helper()
	var code int
	var out []byte
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		code, out = stPost(t, c, n, fmt.Sprintf("/v1/incidents/%d/updates", id), body)
		return code == 200, fmt.Sprintf("post update: %d %s", code, out)
	})
	var inc incident.Incident
	if err := json.Unmarshal(out, &inc); err != nil || len(inc.Updates) == 0 {
		t.Fatalf("update answer: %v %s", err, out)
	}
	return inc.Updates[len(inc.Updates)-1]
}

func stGet(t *testing.T, n *testcluster.Node, path string, header map[string]string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.URL()+path, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes()
}

type stSummary struct {
	Status     string `json:"status"`
	Components []struct{ ID, Name, Status string }
	Incidents  []struct {
		Key     string
		Updates []struct{ ID, Message string }
	}
	History []struct{ Key string }
}

func stComponent(s stSummary, id string) string {
	for _, c := range s.Components {
		if c.ID == id {
			return c.Status
		}
	}
	return "missing"
}

func waitSummary(t *testing.T, n *testcluster.Node, cond func(stSummary) (bool, string)) stSummary {
	t.Helper()
	var s stSummary
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		code, b := stGet(t, n, "/status/public/summary.json", nil)
		if code != 200 {
			return false, fmt.Sprintf("summary.json on %s: %d %s", n.ID, code, b)
		}
		s = stSummary{}
		if err := json.Unmarshal(b, &s); err != nil {
			return false, err.Error()
		}
		ok, why := cond(s)
		return ok, why + ": " + string(b)
	})
	return s
}

type feedEntry struct {
	ID, Title, Content, Updated string
}

// parseFeed runs Debian's feedparser over the feed.
func parseFeed(t *testing.T, feed []byte) (bozo string, entries []feedEntry) {
	t.Helper()
	if out, err := exec.Command(pgSystemPython, "-c", "import feedparser").CombinedOutput(); err != nil {
		t.Fatalf("status feed tests need python3-feedparser (apt-get install python3-feedparser): %v: %s", err, out)
	}
	path := filepath.Join(t.TempDir(), "feed.atom")
	os.WriteFile(path, feed, 0o600)
	const script = `import feedparser, json, sys
d = feedparser.parse(sys.argv[1])
print(json.dumps({"bozo": str(d.bozo_exception) if d.bozo else "", "entries": [
  {"ID": e.id, "Title": e.title, "Content": e.content[0].value, "Updated": e.updated} for e in d.entries]}))`
	out, err := exec.Command(pgSystemPython, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("feedparser: %v", err)
	}
	var res struct {
		Bozo    string
		Entries []feedEntry
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("feedparser output %s: %v", out, err)
	}
	return res.Bozo, res.Entries
}

func TestStatusPageFeedSummaryAndBrowserAcrossLeaderKill(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(statusConfig, "")})
	leader := c.Leader()
	if code, b := c.Event(leader, "trigger", "db-down", alertSecret); code != 202 {
		t.Fatalf("trigger: %d %s", code, b)
	}
	inc := pgIncident(t, c, leader, "db-down")
	follower := c.Followers()[0]

	// Before any public update the incident is not on the page.
	s := waitSummary(t, follower, func(s stSummary) (bool, string) { return s.Status == "operational", "status " + s.Status })
	if len(s.Incidents) != 0 {
		t.Fatalf("an incident without public updates is listed: %+v", s.Incidents)
	}
	u1 := stUpdate(t, c, leader, inc.ID, map[string]any{"audience": "public", "phase": "investigating",
		"message": "Checkouts are slow & some fail with <b>errors</b>.", "components": map[string]string{"api": "partial_outage"}})
	stUpdate(t, c, leader, inc.ID, map[string]any{"audience": "internal", "message": "INTERNAL-ONLY: the db primary is wedged"})
	u3 := stUpdate(t, c, leader, inc.ID, map[string]any{"audience": "public", "phase": "identified",
		"message": "We identified a database failover in progress."})

	s = waitSummary(t, follower, func(s stSummary) (bool, string) {
		return len(s.Incidents) == 1 && len(s.Incidents[0].Updates) == 2, "waiting for two public updates"
	})
	if s.Status != "partial_outage" || stComponent(s, "api") != "partial_outage" || stComponent(s, "payments") != "operational" {
		t.Fatalf("summary: page %s, api %s, payments %s; want partial_outage, partial_outage, operational", s.Status, stComponent(s, "api"), stComponent(s, "payments"))
	}
	if s.Incidents[0].Updates[0].ID != u3.ID {
		t.Fatalf("updates not newest first: %+v", s.Incidents[0].Updates)
	}

	// The feed, through a real parser, from the follower.
	code, feed := stGet(t, follower, "/status/public/feed.atom", nil)
	if code != 200 {
		t.Fatalf("feed.atom: %d %s", code, feed)
	}
	bozo, entries := parseFeed(t, feed)
	if bozo != "" {
		t.Fatalf("feedparser found the feed malformed: %s\n%s", bozo, feed)
	}
	want := map[string]incident.Update{u1.ID: u1, u3.ID: u3}
	if len(entries) != len(want) {
		t.Fatalf("feed has %d entries, want %d public updates: %+v", len(entries), len(want), entries)
	}
	for _, e := range entries {
		var u incident.Update
		for id, wu := range want {
			if strings.HasSuffix(e.ID, "/"+id) {
				u = wu
			}
		}
		if u.ID == "" {
			t.Fatalf("feed entry %q is no public update", e.ID)
		}
		at, err := time.Parse(time.RFC3339, e.Updated)
		if err != nil || !at.Equal(u.At.Truncate(time.Millisecond)) {
			t.Fatalf("entry %s updated %q, want %s (%v)", e.ID, e.Updated, u.At, err)
		}
		if e.Content != u.Message {
			t.Fatalf("entry %s content %q, want %q", e.ID, e.Content, u.Message)
		}
	}
	for _, leak := range []string{"INTERNAL-ONLY", "ALERTSENDER"} {
		if bytes.Contains(feed, []byte(leak)) {
			t.Fatalf("feed contains %q:\n%s", leak, feed)
		}
	}

	// The internal page wants a read token.
	if code, _ := stGet(t, follower, "/status/internal", nil); code != 401 {
		t.Fatalf("internal page without a token: %d, want 401", code)
	}
	if code, b := stGet(t, follower, "/status/internal", map[string]string{"Authorization": "Bearer test-read-token"}); code != 200 || !bytes.Contains(b, []byte("Checkout backend")) {
		t.Fatalf("internal page with a read token: %d %s", code, b)
	}

	// Kill the leader; a browser reads the page from a follower.
	leader.Kill()
	ctx := newBrowser(t)
	var text, html string
	run(t, ctx, chromedp.Navigate(follower.URL()+"/status/public"), chromedp.WaitVisible("#"+u1.ID, chromedp.ByID),
		chromedp.Text("body", &text, chromedp.ByQuery), chromedp.OuterHTML("html", &html, chromedp.ByQuery))
	for _, want := range []string{u1.Message, u3.Message, "Partial outage", "Checkout API"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the page in the browser lacks %q:\n%s", want, text)
		}
	}
	for _, leak := range []string{"INTERNAL-ONLY", "ALERTSENDER", "<script>x"} {
		if strings.Contains(text, leak) || strings.Contains(html, leak) {
			t.Fatalf("the public page contains %q:\n%s", leak, html)
		}
	}
	if strings.Contains(html, "<b>errors</b>") {
		t.Fatalf("update text was not escaped:\n%s", html)
	}

	// Resolve through the surviving cluster: operational again, the
	// incident moves to the history.
	var alive *testcluster.Node
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		code, b := c.Do(follower, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/resolve", inc.ID), []byte(`{"by":"alice"}`), map[string]string{"Content-Type": "application/json"})
		alive = follower
		return code == 200 || code == 409, fmt.Sprintf("resolve: %d %s", code, b)
	})
	s = waitSummary(t, alive, func(s stSummary) (bool, string) {
		return stComponent(s, "api") == "operational" && len(s.History) == 1, "api " + stComponent(s, "api")
	})
	if s.Status != "operational" || len(s.Incidents) != 0 {
		t.Fatalf("after resolve: %+v", s)
	}

	// An ad hoc maintenance window on payments shows at once.
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		code, b := stPost(t, c, alive, "/v1/maintenance", map[string]any{"services": []string{"payments"}, "for": "1h", "reason": "Database upgrade", "by": "alice"})
		return code == 200 || code == 201, fmt.Sprintf("start maintenance: %d %s", code, b)
	})
	s = waitSummary(t, alive, func(s stSummary) (bool, string) {
		return stComponent(s, "payments") == "under_maintenance", "payments " + stComponent(s, "payments")
	})
	if s.Status != "under_maintenance" || stComponent(s, "api") != "operational" {
		t.Fatalf("during maintenance: %+v", s)
	}
}

// stMailbox reads aiosmtpd's Maildir, parsing each file once.
type stMailbox struct {
	*pgMailbox
	mu   sync.Mutex
	seen map[string]stMail
}

type stMail struct {
	To, Subject, MessageID, ListUnsub, Body string
}

func (m *stMailbox) all(t *testing.T) []stMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]stMail{}
	}
	files, _ := filepath.Glob(filepath.Join(m.dir, "new", "*"))
	for _, f := range files {
		if _, ok := m.seen[f]; ok {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		var body bytes.Buffer
		if p, err := r.NextPart(); err == nil {
			body.ReadFrom(p.Body)
		}
		to, _ := r.Header.AddressList("To")
		subj, _ := r.Header.Subject()
		id, _ := r.Header.MessageID()
		msg := stMail{Subject: subj, MessageID: id, ListUnsub: r.Header.Get("List-Unsubscribe"), Body: body.String()}
		if len(to) == 1 {
			msg.To = to[0].Address
		}
		m.seen[f] = msg
	}
	out := make([]stMail, 0, len(m.seen))
	for _, v := range m.seen {
		out = append(out, v)
	}
	return out
}

// to are the mails to addr whose Message-ID starts with prefix.
func (m *stMailbox) to(t *testing.T, addr, prefix string) []stMail {
	var out []stMail
	for _, msg := range m.all(t) {
		if msg.To == addr && strings.HasPrefix(msg.MessageID, prefix) {
			out = append(out, msg)
		}
	}
	return out
}

var linkRE = regexp.MustCompile(`http://[^\s]+/status/public/(confirm|unsubscribe)\?[^\s]+`)

func link(t *testing.T, body, kind string) string {
	t.Helper()
	for _, m := range linkRE.FindAllStringSubmatch(body, -1) {
		if m[1] == kind {
			return m[0]
		}
	}
	t.Fatalf("no %s link in mail:\n%s", kind, body)
	return ""
}

func follow(t *testing.T, link string) {
	t.Helper()
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		resp, err := http.Get(link)
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, fmt.Sprintf("GET %s: %d", link, resp.StatusCode)
	})
}

func subscribe(t *testing.T, n *testcluster.Node, email string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(n.URL()+"/status/public/subscribe", url.Values{"email": {email}})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func TestStatusSubscribersConfirmUpdateUnsubscribe(t *testing.T) {
	box := &stMailbox{pgMailbox: pgStartSMTP(t)}
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(statusConfig, fmt.Sprintf(statusMailChannel, box.addr))})
	n := c.Nodes[0]

	for _, bad := range []string{"not-an-address", "a@b", "Alice <a@example.com>", ""} {
		if code, body := subscribe(t, n, bad); code != 400 || !strings.Contains(body, "email") {
			t.Fatalf("subscribe %q: %d %s, want 400 naming email", bad, code, body)
		}
	}
	codeA, bodyA := subscribe(t, n, "ann@example.com")
	codeB, bodyB := subscribe(t, n, "bob@example.com")
	codeA2, bodyA2 := subscribe(t, n, "ann@example.com") // again: the same answer
	if codeA != 202 || codeB != 202 || codeA2 != 202 || bodyA != bodyA2 || bodyA != bodyB {
		t.Fatalf("subscribe answers differ: %d %d %d\n%s\n%s", codeA, codeB, codeA2, bodyA, bodyA2)
	}
	var confirmA stMail
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		a, b := box.to(t, "ann@example.com", "status-confirm-"), box.to(t, "bob@example.com", "status-confirm-")
		if len(a) == 1 {
			confirmA = a[0]
		}
		return len(a) == 1 && len(b) == 1, fmt.Sprintf("confirmation mails: ann %d, bob %d", len(a), len(b))
	})
	if confirmA.ListUnsub == "" || !strings.Contains(confirmA.Body, "/unsubscribe?") {
		t.Fatalf("confirmation mail lacks an unsubscribe link: %+v", confirmA)
	}
	// A forged link is refused.
	forged := strings.Replace(link(t, confirmA.Body, "confirm"), "ann%40example.com", "bob%40example.com", 1)
	if resp, err := http.Get(forged); err != nil || resp.StatusCode != 403 {
		t.Fatalf("forged confirm link: %v %v", resp, err)
	}
	follow(t, link(t, confirmA.Body, "confirm"))

	if code, b := c.Event(n, "trigger", "pay-down", alertSecret); code != 202 {
		t.Fatalf("trigger: %d %s", code, b)
	}
	inc := pgIncident(t, c, n, "pay-down")
	u1 := stUpdate(t, c, n, inc.ID, map[string]any{"audience": "public", "phase": "investigating", "message": "First public word."})
	stUpdate(t, c, n, inc.ID, map[string]any{"audience": "internal", "message": "INTERNAL-ONLY note"})
	u2 := stUpdate(t, c, n, inc.ID, map[string]any{"audience": "public", "phase": "monitoring", "message": "Second public word."})
	var lastA stMail
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		a1, a2 := box.to(t, "ann@example.com", "status-public-"+u1.ID+"-"), box.to(t, "ann@example.com", "status-public-"+u2.ID+"-")
		if len(a2) > 0 {
			lastA = a2[0]
		}
		return len(a1) == 1 && len(a2) == 1, fmt.Sprintf("ann has %d of U1, %d of U2", len(a1), len(a2))
	})
	if !strings.Contains(lastA.Body, "Second public word.") || strings.Contains(lastA.Body, "ALERTSENDER") || lastA.ListUnsub == "" {
		t.Fatalf("update mail: %+v", lastA)
	}
	for _, m := range box.all(t) {
		if strings.Contains(m.Body, "INTERNAL-ONLY") {
			t.Fatalf("an internal update was mailed: %+v", m)
		}
		if m.To == "bob@example.com" && !strings.HasPrefix(m.MessageID, "status-confirm-") {
			t.Fatalf("unconfirmed bob received more than the confirmation: %+v", m)
		}
	}

	// Unsubscribe by the mail's link (no sign-in); a new subscriber shows
	// when the next fan-out has run, and ann is not in it.
	follow(t, link(t, lastA.Body, "unsubscribe"))
	subscribe(t, n, "cid@example.com")
	var confirmC []stMail
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		confirmC = box.to(t, "cid@example.com", "status-confirm-")
		return len(confirmC) == 1, "cid's confirmation"
	})
	follow(t, link(t, confirmC[0].Body, "confirm"))
	u3 := stUpdate(t, c, n, inc.ID, map[string]any{"audience": "public", "phase": "resolved", "message": "Third public word."})
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		got := box.to(t, "cid@example.com", "status-public-"+u3.ID+"-")
		return len(got) == 1, fmt.Sprintf("cid has %d of U3", len(got))
	})
	if got := box.to(t, "ann@example.com", "status-public-"+u3.ID+"-"); len(got) != 0 {
		t.Fatalf("ann unsubscribed and still received U3")
	}
	if got := box.to(t, "cid@example.com", "status-public-"+u1.ID+"-"); len(got) != 0 {
		t.Fatalf("cid confirmed after U1 and received it")
	}
}

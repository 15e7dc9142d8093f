package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// The web console in a real browser (Debian's chromium driven by chromedp)
// against a real 3-node cluster, the browser talking to a follower so every
// write is forwarded to the leader. Mail goes to a real SMTP server process
// (aiosmtpd). PAGERD_SCREENSHOTS=1 saves the screenshots to docs/img/.

const consoleConfig = `
timezone: Europe/Amsterdam
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com}
  - {id: bob, name: Bob, email: bob@example.com}
rotations:
  - {id: primary, participants: [alice, bob], shift: 168h, start: "2026-11-02T09:00:00+01:00", timezone: Europe/Amsterdam, active: [{days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00"}]}
schedules:
  - {id: web, layers: [primary]}
policies:
  - id: web-critical
    steps:
      - {notify: [schedule:web], escalate_after: 10m}
      - {notify: [user:bob], escalate_after: 15m}
services:
  - {id: checkout, name: Checkout API, policy: web-critical}
  - {id: payments, name: Payments}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
severity:
  label: severity
  map: {critical: sev1, error: sev2, warning: sev3}
  default: sev2
channels:
  email: {smtp: "%s", from: "pagerd@pager.example.com"}
`

// consoleSecrets must never appear in a page.
var consoleSecrets = []string{"test-admin-token", "test-events-key"}

const chromium = "/usr/bin/chromium"

// newBrowser starts chromium headless with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("the console tests need Debian's chromium (apt-get install chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true), // screenshots at the exact width
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// Start the browser on ctx itself: the first Run's context owns the
	// browser, and run's per-step timeouts must not close it.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// The viewer is in Tokyo; the cluster's zone is Amsterdam.
	run(t, ctx, emulation.SetTimezoneOverride("Asia/Tokyo"))
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(c, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

func TestConsoleInBrowser(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(consoleConfig, box.addr)})
	follower := c.Followers()[0]
	base := follower.URL()
	ctx := newBrowser(t)

	// Without a session every page sends the browser to the sign-in page.
	var loc string
	run(t, ctx, chromedp.Navigate(base+"/ui/incidents"), chromedp.WaitVisible("#token", chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.HasPrefix(loc, base+"/ui/login") {
		t.Fatalf("without a session /ui/incidents went to %s", loc)
	}
	shoot(t, ctx, "login")

	// Sign in with a token; the page names the token and the viewer's zone.
	var who, zone string
	run(t, ctx, chromedp.SendKeys("#token", "test-admin-token", chromedp.ByQuery), chromedp.Click("#token-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#incidents", chromedp.ByQuery), chromedp.Text("#viewer", &who, chromedp.ByQuery))
	if !strings.HasPrefix(who, "admin") {
		t.Fatalf("signed in as %q, want the token name admin", who)
	}
	awaitZone(t, ctx, "Asia/Tokyo")
	run(t, ctx, chromedp.Text("#zone", &zone, chromedp.ByQuery))

	// A trigger sent after the page loaded shows up without a reload within 2 s.
	var marker bool
	run(t, ctx, chromedp.Evaluate(`window.__noReload = true`, &marker))
	title := `<script>window.__xss=1</script> "db" it's full`
	sent := time.Now()
	code, out := c.Do(c.Leader(), "POST", "/v2/enqueue", []byte(fmt.Sprintf(`{"routing_key":"test-events-key","event_action":"trigger","payload":{"summary":%q,"source":"db-1","severity":"critical","custom_details":{"<b>k</b>":"<img src=x onerror=window.__xss=2> \"v\""}}}`, title)), nil)
	if code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, out)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	err := chromedp.Run(wctx, chromedp.WaitVisible(`tr[data-key="INC-1"]`, chromedp.ByQuery))
	cancel()
	if err != nil {
		t.Fatalf("the new incident did not appear within 2s of the trigger (%v)", time.Since(sent))
	}
	t.Logf("incident appeared %v after the trigger", time.Since(sent).Round(time.Millisecond))
	var stillSame bool
	run(t, ctx, chromedp.Evaluate(`window.__noReload === true`, &stillSame))
	if !stillSame {
		t.Fatal("the page reloaded instead of refreshing the list")
	}

	// Untrusted text is text in the DOM: no element, no script ran.
	var cellText string
	var scripts int
	var xss any
	run(t, ctx, chromedp.Text(`tr[data-key="INC-1"] td.title`, &cellText, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('main script, main img, main b').length`, &scripts),
		chromedp.Evaluate(`window.__xss || null`, &xss))
	if strings.TrimSpace(cellText) != title || scripts != 0 || xss != nil {
		t.Fatalf("title cell %q (want %q), %d injected elements, __xss=%v", cellText, title, scripts, xss)
	}
	shoot(t, ctx, "incidents")

	// One incident: alert labels and annotations as text; acknowledge as the signed-in name.
	var h1, annotations string
	run(t, ctx, chromedp.Click(`tr[data-key="INC-1"] td.title a`, chromedp.ByQuery), chromedp.WaitVisible("#ack", chromedp.ByQuery),
		chromedp.Text("#title", &h1, chromedp.ByQuery), chromedp.Text(".alert dl", &annotations, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('main script, main img, main dd b').length`, &scripts))
	if !strings.Contains(h1, title) || !strings.Contains(annotations, `<img src=x onerror=window.__xss=2> \"v\"`) || scripts != 0 {
		t.Fatalf("incident page: title %q, annotations %q, %d injected elements", h1, annotations, scripts)
	}
	shoot(t, ctx, "incident")
	var ackedBy string
	run(t, ctx, chromedp.Click("#ack", chromedp.ByQuery), chromedp.WaitVisible("#acked-by", chromedp.ByQuery),
		chromedp.Text("#acked-by", &ackedBy, chromedp.ByQuery))
	var inc struct {
		Status         string `json:"status"`
		AcknowledgedBy string `json:"acknowledged_by"`
	}
	c.GetJSON(c.Leader(), "/v1/incidents/INC-1", &inc)
	if ackedBy != "admin" || inc.Status != "acknowledged" || inc.AcknowledgedBy != "admin" {
		t.Fatalf("after Acknowledge: page says %q, API says %+v", ackedBy, inc)
	}

	consolePracticeActions(t, ctx, c)

	// Reports: the acknowledged INC-1 is one sample of time to ack, drawn
	// as one p50 and one p90 point in the SVG; nothing is resolved, so the
	// time-to-resolve chart has no points.
	var ttaDots, ttrDots int
	var count string
	run(t, ctx, chromedp.Navigate(base+"/ui/reports?group_by=service"), chromedp.WaitVisible("#chart-tta", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#chart-tta circle.dot.p50, #chart-tta circle.dot.p90').length`, &ttaDots),
		chromedp.Evaluate(`document.querySelectorAll('#chart-ttr circle.dot').length`, &ttrDots),
		chromedp.Text(`tr[data-group="checkout"] td.count`, &count, chromedp.ByQuery))
	if ttaDots != 2 || ttrDots != 0 || count != "1" {
		t.Fatalf("reports page: %d time-to-ack points (want 2), %d time-to-resolve points (want 0), checkout count %q", ttaDots, ttrDots, count)
	}
	shoot(t, ctx, "reports")

	for _, p := range []struct{ name, path, wait string }{
		{"oncall", "/ui/oncall", "#oncall"}, {"schedule", "/ui/schedules/web", "#days"},
		{"services", "/ui/services", "#services"}, {"followups", "/ui/followups", "#followups"},
		{"maintenance", "/ui/maintenance", "#maintenance"}, {"cluster", "/ui/cluster", "#members"},
	} {
		var html string
		run(t, ctx, chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.wait, chromedp.ByQuery), chromedp.OuterHTML("html", &html, chromedp.ByQuery))
		for _, s := range consoleSecrets {
			if strings.Contains(html, s) {
				t.Fatalf("%s shows the secret %q", p.path, s)
			}
		}
		shoot(t, ctx, p.name)
	}
	var leader string
	run(t, ctx, chromedp.Text("#leader", &leader, chromedp.ByQuery))
	if leader != c.Leader().ID {
		t.Fatalf("cluster page names leader %q, want %q", leader, c.Leader().ID)
	}

	t.Run("mailed link", func(t *testing.T) { consoleLinkFlow(t, ctx, c, box, base) })
}

// consolePracticeActions, on INC-1's page: setting the severity in the
// browser commits it as the signed-in token, and a postmortem body with a
// script and quotes is text in the DOM (no element, nothing ran).
func consolePracticeActions(t *testing.T, ctx context.Context, c *testcluster.Cluster) {
	t.Helper()
	var loc, flash string
	run(t, ctx, chromedp.Location(&loc))
	page, _, _ := strings.Cut(loc, "?")
	// Each action starts from the page without a flash, so #flash showing
	// means the action's answer has loaded.
	fresh := func() { run(t, ctx, chromedp.Navigate(page), chromedp.WaitVisible("#severity", chromedp.ByQuery)) }
	fresh()
	run(t, ctx, chromedp.SetValue("#severity", "sev1", chromedp.ByQuery), chromedp.Click("#set-severity", chromedp.ByQuery),
		chromedp.WaitVisible("#flash", chromedp.ByQuery), chromedp.Text("#flash", &flash, chromedp.ByQuery))
	if flash != "Severity set." {
		t.Fatalf("after Set severity the page says %q", flash)
	}
	var inc struct {
		Severity string `json:"severity"`
	}
	c.GetJSON(c.Leader(), "/v1/incidents/INC-1", &inc)
	if inc.Severity != "sev1" {
		t.Fatalf("after Set severity in the browser the API says severity %q", inc.Severity)
	}
	body := `# Summary <script>window.__xss=3</script> "pm" it's <img src=x onerror=window.__xss=4>`
	var shown string
	var injected int
	var xss any
	fresh()
	run(t, ctx, chromedp.Click("#postmortem-edit", chromedp.ByQuery), chromedp.SetValue("#postmortem-body-input", body, chromedp.ByQuery), chromedp.Click("#save-postmortem", chromedp.ByQuery),
		chromedp.WaitVisible("#flash", chromedp.ByQuery), chromedp.Text("#flash", &flash, chromedp.ByQuery),
		chromedp.Text("#postmortem-body", &shown, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#postmortem-body *').length`, &injected),
		chromedp.Evaluate(`window.__xss || null`, &xss))
	if flash != "Postmortem saved." || shown != body || injected != 0 || xss != nil {
		t.Fatalf("flash %q; postmortem shown as %q (want %q), %d elements inside, __xss=%v", flash, shown, body, injected, xss)
	}
	if code, out := c.Do(c.Leader(), "POST", "/v1/incidents/INC-1/followups", []byte(`{"title":"alert on disk growth","owner":"alice"}`), nil); code != http.StatusCreated {
		t.Fatalf("add follow-up: %d %s", code, out)
	}
}

// consoleLinkFlow: without public_url the sign-in page offers no mailed
// link (it would have to be built from the request's Host header, which the
// requester chooses). With public_url, a one-time link mailed through the
// real SMTP server points there, signs bob in once, and is refused again.
func consoleLinkFlow(t *testing.T, ctx context.Context, c *testcluster.Cluster, box *pgMailbox, base string) {
	var msg string
	var mailForms int
	run(t, ctx, network.ClearBrowserCookies(), chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible("#mail-off", chromedp.ByQuery),
		chromedp.Text("#mail-off", &msg, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#who, #mail-submit').length`, &mailForms))
	if !strings.Contains(msg, "no public_url") || mailForms != 0 {
		t.Fatalf("sign-in page without public_url: %q, %d mail-link fields", msg, mailForms)
	}
	withURL := fmt.Sprintf(consoleConfig, box.addr) + "public_url: " + base + "/\n"
	code, out := c.Do(c.Leader(), "PUT", "/v1/config", []byte(withURL), nil)
	if code != http.StatusOK {
		t.Fatalf("apply public_url: %d %s", code, out)
	}
	var applied struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(out, &applied); err != nil {
		t.Fatal(err)
	}
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		var got struct {
			Version string `json:"version"`
		}
		for _, n := range c.Nodes {
			if n.URL() == base {
				c.GetJSON(n, "/v1/config", &got)
			}
		}
		return got.Version == applied.Version, "the browser's node has config " + got.Version + ", not " + applied.Version
	})
	run(t, ctx, chromedp.Navigate(base+"/ui/login"), chromedp.WaitVisible("#who", chromedp.ByQuery),
		chromedp.SendKeys("#who", "bob", chromedp.ByQuery), chromedp.Click("#mail-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#login-message", chromedp.ByQuery), chromedp.Text("#login-message", &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "on its way") {
		t.Fatalf("after asking for a link: %q", msg)
	}
	var link string
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			to, _ := m.header.AddressList("To")
			subj, _ := m.header.Subject()
			if len(to) == 1 && to[0].Address == "bob@example.com" && strings.Contains(subj, "sign-in link") {
				link = regexp.MustCompile(`http://\S+/ui/login/link\?t=[A-Za-z0-9_-]+`).FindString(m.body)
				return link != "", "no link in the mail"
			}
		}
		return false, "no sign-in mail for bob yet"
	})
	if !strings.HasPrefix(link, base+"/ui/login/link?t=") {
		t.Fatalf("link %q does not point at the node the person used (%s)", link, base)
	}
	var who string
	run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible("#use-link", chromedp.ByQuery), chromedp.Click("#use-link", chromedp.ByQuery),
		chromedp.WaitVisible("#viewer", chromedp.ByQuery), chromedp.Text("#viewer", &who, chromedp.ByQuery))
	if who != "bob" {
		t.Fatalf("the link signed in %q, want bob", who)
	}
	run(t, ctx, network.ClearBrowserCookies(), chromedp.Navigate(link), chromedp.WaitVisible("#use-link", chromedp.ByQuery),
		chromedp.Click("#use-link", chromedp.ByQuery), chromedp.WaitVisible("#login-message", chromedp.ByQuery),
		chromedp.Text("#login-message", &msg, chromedp.ByQuery))
	if !strings.Contains(msg, "not valid") {
		t.Fatalf("a reused link: %q, want refused", msg)
	}
}

// awaitZone waits until the page renders in the browser's zone (tz.js
// reports it once and reloads).
func awaitZone(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		var z string
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_ = chromedp.Run(c, chromedp.WaitVisible("#zone", chromedp.ByQuery), chromedp.AttributeValue("#zone", "data-zone", &z, nil, chromedp.ByQuery))
		return z == want, "page zone " + z
	})
}

// shoot saves a screenshot of the current page at phone and desktop widths
// to docs/img/console-NAME-{phone,desktop}.png when PAGERD_SCREENSHOTS=1.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("PAGERD_SCREENSHOTS") != "1" {
		return
	}
	for _, size := range []struct {
		label string
		w, h  int64
	}{{"phone", 390, 844}, {"desktop", 1280, 860}} {
		var png []byte
		run(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.FullScreenshot(&png, 100))
		path := filepath.Join("..", "docs", "img", "console-"+name+"-"+size.label+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, ctx, chromedp.EmulateViewport(1280, 860))
}

// chromedp is for tests only: the pagerd binary must not link it.
func TestChromedpIsTestOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/pagerd").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "chromedp") || strings.Contains(dep, "gobwas") {
			t.Fatalf("cmd/pagerd links %s", dep)
		}
	}
	if !strings.Contains(string(out), "github.com/pagerd/pagerd/web") {
		t.Fatal("cmd/pagerd does not link the web console")
	}
}

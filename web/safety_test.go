package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

func regexp1(t testing.TB, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%s", re, s)
	}
	return m[1]
}

// No page, fragment, error or failed sign-in shows an integration key, an
// API token or an SMS credential.
func TestNoPageShowsASecret(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"secret check"`)
	c := signIn(t, cs, "test-admin-token")
	var bodies []string
	for _, p := range append(pagePaths, "/ui/login", "/ui/nope", "/ui/incidents/INC-999", "/ui/schedules/nope",
		"/ui/static/style.css", "/ui/incidents?status=all&service=checkout&severity=sev1") {
		_, b, _ := get(t, c, cs.url+p)
		bodies = append(bodies, b)
	}
	for _, s := range secrets {
		_, b, _ := post(t, client(t), cs.url+"/ui/login", url.Values{"token": {s + "x"}})
		bodies = append(bodies, b)
		_, b, _ = post(t, client(t), cs.url+"/ui/login/mail", url.Values{"who": {s}})
		bodies = append(bodies, b)
	}
	_, b, _ := post(t, c, cs.url+"/ui/incidents/INC-1/ack", url.Values{"csrf": {"evk-integration-secret"}})
	bodies = append(bodies, b)
	for _, b := range bodies {
		for _, s := range secrets {
			if strings.Contains(b, s) {
				t.Fatalf("a page shows the secret %q:\n%s", s, b)
			}
		}
	}
}

// Titles, labels and annotations are text: html/template escapes them (the
// browser test checks the DOM).
func TestUntrustedTextIsEscaped(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"<script>alert(\"x\")</script> it's \"quoted\""`)
	c := signIn(t, cs, "test-admin-token")
	for _, p := range []string{"/ui/incidents", "/ui/incidents/INC-1", "/ui/incidents/rows"} {
		_, b, _ := get(t, c, cs.url+p)
		if strings.Contains(b, "<script>alert") || strings.Contains(b, "<img src=x") {
			t.Fatalf("%s has raw markup from an alert:\n%s", p, b)
		}
		if !strings.Contains(b, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Fatalf("%s lost the escaped title:\n%s", p, b)
		}
	}
}

// Links are picked from the alert: graph, silence and runbook, http(s) only.
func TestAlertLinks(t *testing.T) {
	av := viewAlert(incident.Alert{GeneratorURL: "javascript:alert(1)", SilenceURL: "https://am.example.com/#/silences/new",
		Annotations: map[string]string{"runbook_url": "https://runbooks.example.com/db"}, Labels: map[string]string{"b": "2", "a": "1"}})
	if av.GeneratorURL != "" || av.SilenceURL == "" || av.Runbook != "https://runbooks.example.com/db" || av.LabelList[0].K != "a" {
		t.Fatalf("%+v", av)
	}
}

// serve --dev signs a visitor in as the first user and says so.
func TestDevSignsInFirstUser(t *testing.T) {
	cs := startConsole(t, true)
	c := client(t)
	for _, p := range []string{"/ui/", "/ui/oncall", "/ui/cluster"} {
		code, b, _ := get(t, c, cs.url+p)
		if code != 200 || !strings.Contains(b, `id="dev-banner"`) || !strings.Contains(b, "<b>alice</b>") {
			t.Fatalf("%s in dev: %d\n%s", p, code, b)
		}
	}
}

// A --dev session cookie is no session on a node without --dev.
func TestDevSessionOnlyInDev(t *testing.T) {
	cs := startConsole(t, false)
	con := New(Options{Node: cs.node.Node})
	val, _, err := con.newSession("alice", kindDev)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/ui/", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: val})
	rec := httptest.NewRecorder()
	con.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("dev session on a non-dev node: %d, want 303 to login", rec.Code)
	}
}

// Times are shown in the zone the browser reported, named, with UTC on
// hover; a bad zone cookie falls back to UTC.
func TestTimesInViewerZone(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"zone"`)
	c := signIn(t, cs, "test-admin-token")
	u, _ := url.Parse(cs.url + "/ui/")
	c.Jar.SetCookies(u, []*http.Cookie{{Name: tzCookie, Value: "Asia%2FTokyo", Path: "/ui/"}})
	_, b, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	if !strings.Contains(b, `data-zone="Asia/Tokyo"`) || !strings.Contains(b, " JST</time>") || !strings.Contains(b, `Z (UTC)"`) {
		t.Fatalf("not in the viewer's zone:\n%s", b)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: tzCookie, Value: "../../etc/passwd", Path: "/ui/"}})
	if _, b, _ = get(t, c, cs.url+"/ui/incidents/INC-1"); !strings.Contains(b, `data-zone="UTC"`) {
		t.Fatal("a bad zone cookie was not replaced by UTC")
	}
}

// A day view cuts shifts at midnight and marks where nobody is on call.
func TestLayoutDaysMarksGaps(t *testing.T) {
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	shifts := []schedule.Shift{
		{User: "alice", Start: day.Add(9 * time.Hour), End: day.Add(17 * time.Hour)},
		{User: "bob", Start: day.Add(20 * time.Hour), End: day.Add(30 * time.Hour)},
	}
	days, gaps := layoutDays(shifts, day, 2)
	if gaps != 3 {
		t.Fatalf("gaps = %d, want 3 (00-09, 17-20, day 2 06-24)", gaps)
	}
	if got := len(days[0].Items); got != 4 {
		t.Fatalf("day 1 has %d slots, want gap, alice, gap, bob", got)
	}
	if s := days[1].Items[0]; s.User != "bob" || !s.Start.Equal(day.Add(24*time.Hour)) || !s.End.Equal(day.Add(30*time.Hour)) {
		t.Fatalf("day 2 starts with %+v, want bob's shift cut at midnight", s)
	}
	if s := days[0].Items[3]; s.From != "20:00" || s.To != "24:00" {
		t.Fatalf("bob's evening is labelled %s-%s, want 20:00-24:00", s.From, s.To)
	}
}

// An Alertmanager alert's page links its graph (generatorURL), silence and
// runbook, and shows labels and annotations.
func TestAlertmanagerAlertPage(t *testing.T) {
	cs := startConsole(t, false)
	body := `{"receiver":"hook","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"HighErrorRate","instance":"web-1","severity":"critical"},"annotations":{"runbook_url":"https://runbooks.example.com/checkout","summary":"5xx above 5%"},"startsAt":"2026-11-21T11:32:04Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"http://prom:9090/graph?g0.expr=x","fingerprint":"b1c11497b32ce15e"}],"groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am:9093","version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}","truncatedAlerts":0}`
	req, _ := http.NewRequest("POST", cs.node.URL+"/v1/ingest/alertmanager", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer am-integration-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("ingest: %d", resp.StatusCode)
	}
	_, b, _ := get(t, signIn(t, cs, "test-admin-token"), cs.url+"/ui/incidents/INC-1")
	for _, want := range []string{`href="http://prom:9090/graph?g0.expr=x"`, `href="https://runbooks.example.com/checkout"`,
		`>silence</a>`, `<b>alertname</b>=HighErrorRate`, `5xx above 5%`} {
		if !strings.Contains(b, want) {
			t.Fatalf("page lacks %s:\n%s", want, b)
		}
	}
}

package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
)

var pagePaths = []string{"/ui/", "/ui/incidents", "/ui/incidents/rows", "/ui/incidents/INC-1", "/ui/oncall",
	"/ui/schedules/web", "/ui/services", "/ui/reports", "/ui/cluster"}

// Every page sends a visitor without a session to /ui/login; an htmx poll
// is told to reload there.
func TestPagesWithoutSessionGoToLogin(t *testing.T) {
	cs := startConsole(t, false)
	c := client(t)
	for _, p := range pagePaths {
		code, _, h := get(t, c, cs.url+p)
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/login?next=") {
			t.Errorf("GET %s without session: %d Location %q, want 303 to /ui/login", p, code, h.Get("Location"))
		}
	}
	req, _ := http.NewRequest("GET", cs.url+"/ui/incidents/rows", nil)
	req.Header.Set("HX-Request", "true")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/ui/login" {
		t.Errorf("htmx poll without session: %d HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
	}
	// A tampered cookie is no session either.
	u, _ := url.Parse(cs.url + "/ui/")
	signIn(t, cs, "read-only-secret-token")
	c2 := signIn(t, cs, "read-only-secret-token")
	ck := c2.Jar.Cookies(u)[0]
	payload, rest, _ := strings.Cut(ck.Value, ".")
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: payload[:len(payload)-2] + "fQ." + rest, Path: "/ui/"}})
	if code, _, _ := get(t, c2, cs.url+"/ui/"); code != http.StatusSeeOther {
		t.Errorf("tampered session: %d, want 303 to login", code)
	}
}

// A sign-in form posted from another site signs nobody in (login CSRF).
func TestCrossSiteSignInRefused(t *testing.T) {
	cs := startConsole(t, false)
	req, _ := http.NewRequest("POST", cs.url+"/ui/login", strings.NewReader(url.Values{"token": {nodetest.Token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example.com")
	resp, err := client(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-site sign-in: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
}

// Signed in with a token, the console acknowledges as that token's name.
func TestTokenSignInActsAsToken(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"disk full"`)
	c := signIn(t, cs, nodetest.Token)
	code, page, _ := get(t, c, cs.url+"/ui/incidents/INC-1")
	if code != 200 || !strings.Contains(page, `id="ack"`) {
		t.Fatalf("incident page: %d\n%s", code, page)
	}
	code, _, h := post(t, c, cs.url+"/ui/incidents/INC-1/ack", url.Values{"csrf": {csrfOf(t, page)}})
	if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/incidents/INC-1?done=ack&at=") {
		t.Fatalf("ack: %d %q", code, h.Get("Location"))
	}
	if inc := apiIncident(t, cs, "1"); !strings.Contains(inc, `"acknowledged_by": "admin"`) {
		t.Fatalf("API after console ack:\n%s", inc)
	}
	_, page, _ = get(t, c, cs.url+"/ui/incidents/INC-1?done=ack")
	if !strings.Contains(page, "Acknowledged.") || !strings.Contains(page, `id="acked-by">admin<`) {
		t.Fatalf("page after ack:\n%s", page)
	}
	code, _, _ = post(t, c, cs.url+"/ui/incidents/INC-1/severity", url.Values{"csrf": {csrfOf(t, page)}, "severity": {"sev3"}})
	if inc := apiIncident(t, cs, "1"); code != http.StatusSeeOther || !strings.Contains(inc, `"severity": "sev3"`) {
		t.Fatalf("severity: %d\n%s", code, inc)
	}
	code, _, _ = post(t, c, cs.url+"/ui/incidents/INC-1/note", url.Values{"csrf": {csrfOf(t, page)}, "note": {"looking"}})
	if code != http.StatusSeeOther || !strings.Contains(apiIncident(t, cs, "1"), `"message": "looking"`) {
		t.Fatalf("note: %d", code)
	}
}

// A POST without the CSRF token, or with another session's, is refused and
// changes nothing; so is one without a session, and a read-only token's.
func TestForgedPostsChangeNothing(t *testing.T) {
	cs := startConsole(t, false)
	trigger(t, cs, `"cpu hot"`)
	a := signIn(t, cs, nodetest.Token)
	b := signIn(t, cs, nodetest.Token)
	_, pageB, _ := get(t, b, cs.url+"/ui/incidents/INC-1")
	_, pageA, _ := get(t, a, cs.url+"/ui/incidents/INC-1")
	if csrfOf(t, pageA) == csrfOf(t, pageB) {
		t.Fatal("two sessions share a CSRF token")
	}
	for name, try := range map[string]func() int{
		"no token": func() int { c, _, _ := post(t, a, cs.url+"/ui/incidents/INC-1/ack", nil); return c },
		"other session's token": func() int {
			c, _, _ := post(t, a, cs.url+"/ui/incidents/INC-1/ack", url.Values{"csrf": {csrfOf(t, pageB)}})
			return c
		},
		"from another site": func() int {
			req, _ := http.NewRequest("POST", cs.url+"/ui/incidents/INC-1/ack", strings.NewReader(url.Values{"csrf": {csrfOf(t, pageA)}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "https://evil.example.com")
			resp, err := a.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		},
		"no session": func() int {
			c, _, _ := post(t, client(t), cs.url+"/ui/incidents/INC-1/resolve", url.Values{"csrf": {csrfOf(t, pageA)}})
			return c
		},
		"read-only token": func() int {
			r := signIn(t, cs, "read-only-secret-token")
			_, p, _ := get(t, r, cs.url+"/ui/incidents/INC-1")
			if strings.Contains(p, `id="ack"`) {
				t.Error("read-only session is offered the ack button")
			}
			c, _, _ := post(t, r, cs.url+"/ui/incidents/INC-1/ack", url.Values{"csrf": {csrfOf(t, p)}})
			return c
		},
	} {
		if code := try(); code < 400 {
			t.Errorf("%s: %d, want refused", name, code)
		}
		if inc := apiIncident(t, cs, "1"); !strings.Contains(inc, `"status": "triggered"`) || strings.Count(inc, `"type": "acknowledged"`) != 0 {
			t.Fatalf("%s changed the incident:\n%s", name, inc)
		}
	}
}

// The mailed one-time link signs its user in once; a reused link and an
// unknown one are refused; asking for an unknown user mails nothing and
// answers the same.
func TestMailedLinkSignsInOnce(t *testing.T) {
	cs := startConsoleWith(t, consoleOptions{publicURL: true})
	c := client(t)
	code, page, _ := post(t, c, cs.url+"/ui/login/mail", url.Values{"who": {"nobody"}})
	if code != 200 || !strings.Contains(page, "sign-in link is on its way") || cs.box.Len() != 0 {
		t.Fatalf("unknown user: %d, %d mails", code, cs.box.Len())
	}
	post(t, c, cs.url+"/ui/login/mail", url.Values{"who": {"BOB@example.com"}})
	msgs := cs.box.Messages(0)
	if len(msgs) != 1 || msgs[0].To != "bob@example.com" {
		t.Fatalf("mails: %+v", msgs)
	}
	link := regexp1(t, regexp.QuoteMeta(cs.url)+`/ui/login/link\?t=([A-Za-z0-9_-]+)`, msgs[0].Body)
	code, page, _ = get(t, c, cs.url+"/ui/login/link?t="+link)
	if code != 200 || !strings.Contains(page, `id="use-link"`) {
		t.Fatalf("link page: %d", code)
	}
	code, _, h := post(t, c, cs.url+"/ui/login/link", url.Values{"t": {link}})
	if code != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Fatalf("link sign-in: %d %q", code, h.Get("Location"))
	}
	if _, page, _ := get(t, c, cs.url+"/ui/"); !strings.Contains(page, `data-kind="user">bob<`) {
		t.Fatalf("signed in as someone else:\n%s", page)
	}
	code, page, _ = post(t, client(t), cs.url+"/ui/login/link", url.Values{"t": {link}})
	if code != http.StatusForbidden || !strings.Contains(page, "not valid") {
		t.Fatalf("reused link: %d\n%s", code, page)
	}
	code, _, _ = post(t, client(t), cs.url+"/ui/login/link", url.Values{"t": {link + "x"}})
	if code != http.StatusForbidden {
		t.Fatalf("unknown link: %d", code)
	}
}

// The live list's poll answers 204 while nothing changed, so htmx leaves
// the rows alone, and the rows again once an incident comes in.
func TestRowsPollAnswersOnlyChanges(t *testing.T) {
	cs := startConsole(t, false)
	c := signIn(t, cs, nodetest.Token)
	var v, body string
	code := 0
	for try := 0; try < 3 && code != http.StatusNoContent; try++ { // a minute may roll over between the two requests
		_, page, _ := get(t, c, cs.url+"/ui/incidents")
		v = regexp1(t, `id="rows-version" name="v" value="([^"]+)"`, page)
		code, body, _ = get(t, c, cs.url+"/ui/incidents/rows?status=open&v="+v)
	}
	if code != http.StatusNoContent || body != "" {
		t.Fatalf("unchanged list: %d %q", code, body)
	}
	trigger(t, cs, `"new one"`)
	code, body, _ = get(t, c, cs.url+"/ui/incidents/rows?status=open&v="+v)
	if code != http.StatusOK || !strings.Contains(body, `data-key="INC-1"`) || strings.Contains(body, `value="`+v+`"`) {
		t.Fatalf("after a trigger: %d\n%s", code, body)
	}
}

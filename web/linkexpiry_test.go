package web

import (
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A mailed link used after its 15 minutes (by the leader's clock) is
// refused and signs nobody in.
func TestExpiredLinkIsRefused(t *testing.T) {
	var skew atomic.Int64
	cs := startConsoleWith(t, consoleOptions{publicURL: true, clock: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	c := client(t)
	post(t, c, cs.url+"/ui/login/mail", url.Values{"who": {"alice"}})
	msgs := cs.box.Messages(0)
	if len(msgs) != 1 {
		t.Fatalf("%d mails", len(msgs))
	}
	link := regexp1(t, `/ui/login/link\?t=([A-Za-z0-9_-]+)`, msgs[0].Body)
	skew.Store(int64(16 * time.Minute))
	code, page, h := post(t, c, cs.url+"/ui/login/link", url.Values{"t": {link}})
	if code != http.StatusForbidden || !strings.Contains(page, "expired") || strings.Contains(h.Get("Set-Cookie"), sessionCookie) {
		t.Fatalf("expired link: %d %q\n%s", code, h.Get("Set-Cookie"), page)
	}
}

// The session cookie is HttpOnly and SameSite=Lax always, and Secure when
// the console is reached over TLS (here: behind a proxy that says so).
func TestSessionCookieAttributes(t *testing.T) {
	cs := startConsole(t, false)
	for _, tls := range []bool{false, true} {
		req, _ := http.NewRequest("POST", cs.url+"/ui/login", strings.NewReader(url.Values{"token": {"test-admin-token"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tls {
			req.Header.Set("X-Forwarded-Proto", "https")
		}
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ck := resp.Cookies()
		if len(ck) != 1 || ck[0].Name != sessionCookie || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Secure != tls {
			t.Fatalf("tls=%v: cookies %+v", tls, ck)
		}
	}
}

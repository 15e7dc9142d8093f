package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// consoleOrigin is where the sign-in page is served in these tests.
const consoleOrigin = "https://pagerd.example"

// browserTarget is where a browser goes after the sign-in form's redirect to
// safeNext(next): http.Redirect cleans the path, and a browser drops every
// tab and newline from the Location (WHATWG URL parsing) before resolving
// it against the page.
func browserTarget(t *testing.T, next string) *url.URL {
	t.Helper()
	rec := httptest.NewRecorder()
	http.Redirect(rec, httptest.NewRequest(http.MethodPost, consoleOrigin+"/ui/login", nil), safeNext(next), http.StatusSeeOther)
	loc := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, rec.Header().Get("Location"))
	base, _ := url.Parse(consoleOrigin + "/ui/login")
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("next %q: Location %q does not parse: %v", next, loc, err)
	}
	return base.ResolveReference(ref)
}

// FuzzSafeNext: the sign-in form's next= is unauthenticated outside input
// that becomes a redirect. Wherever it sends a browser, that is a console
// page on this origin, never another site.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/ui/", "/ui/incidents?status=open", "/ui/incidents/INC-12#notes",
		"/ui/schedules/primary?view=month&from=2026-11-01", "//evil.example/", "/ui/../", "https://evil.example/ui/",
		"/ui/\\evil.example", "/ui/%2e%2e/x", "/ui/..//evil.example", "/ui/../\t/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := browserTarget(t, next)
		if got.Scheme != "https" || got.Host != "pagerd.example" || got.User != nil {
			t.Fatalf("next %q sends the browser to %s", next, got)
		}
		if got.Path != "/ui/" && !strings.HasPrefix(got.Path, "/ui/") {
			t.Fatalf("next %q sends the browser outside the console: %s", next, got)
		}
	})
}

package api

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzExportWindow: any query either gives a window with from before to (or
// no upper bound) or an error; it never panics.
func FuzzExportWindow(f *testing.F) {
	for _, s := range []string{"from=2026-01-01T00:00:00Z", "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", "from=x", "to=2026-01-01T00:00:00Z", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/v1/incidents/export?"+url.PathEscape(q), nil)
		r.URL.RawQuery = q
		from, to, err := exportWindow(r)
		if err == nil && (from.IsZero() && r.URL.Query().Get("from") == "" || !to.IsZero() && !to.After(from)) {
			t.Fatalf("%q accepted as [%v, %v)", q, from, to)
		}
	})
}

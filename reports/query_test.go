package reports

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzParseQuery: any query string is a window and grouping that
// passes Check, or an error naming one of the fields; never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-11-01&to=2026-11-02", "group_by=severity&format=csv",
		"from=2026-11-03&to=2026-11-02", "to=9999-12-31T23:59:59Z", "from=0001-01-01", "from=0001-01-01&to=9999-12-31", "group_by=%00",
		"to=0000-01-05", "from=0000-01-01T00:00:00%2B01:00&to=0000-02-01", "to=9999-12-31T23:59:59-01:00"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, format, err := ParseQuery(v, now)
		if err != nil {
			for _, field := range []string{"from:", "to:", "group_by:", "format:"} {
				if strings.HasPrefix(err.Error(), field) {
					return
				}
			}
			t.Fatalf("%q: error %q names no field", raw, err)
		}
		if q.Check() != nil || q.From.After(q.To) || (format != "json" && format != "csv") {
			t.Fatalf("%q: accepted %+v %q", raw, q, format)
		}
		// Whatever window it accepts, a report and a series of it are
		// computed without a panic, the series bounded, and both can be
		// written as JSON (json.Marshal refuses years outside 0000-9999).
		rep := Build(q, twenty())
		pts := Series(q, 24*time.Hour, twenty())
		if len(pts) > MaxPoints {
			t.Fatalf("%q: %d points", raw, len(pts))
		}
		if _, err := json.Marshal(rep); err != nil {
			t.Fatalf("%q: report does not marshal: %v", raw, err)
		}
		if _, err := json.Marshal(pts); err != nil {
			t.Fatalf("%q: series does not marshal: %v", raw, err)
		}
	})
}

package api

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseImpactTime: any started_at input is either a time no later than
// now or an error naming the field; never a panic.
func FuzzParseImpactTime(f *testing.F) {
	for _, s := range []string{"", "2026-11-29T14:05:00Z", "2026-11-29T14:05:00+01:00", "2999-01-01T00:00:00Z",
		"yesterday", "2026-11-29 14:05", "\xff\xfe", strings.Repeat("9", 200)} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		at, err := parseImpactTime(s, now)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "started_at: ") {
				t.Fatalf("error %q does not name started_at", err)
			}
			return
		}
		if at.After(now) || at.Location() != time.UTC {
			t.Fatalf("accepted %q as %v (now %v)", s, at, now)
		}
		if _, err := at.MarshalJSON(); err != nil { // the command could not be committed
			t.Fatalf("accepted %q as %v, which does not marshal: %v", s, at, err)
		}
	})
}

// A time that parses can fall outside the years 0000-9999 once in UTC, as
// pagerd stores it; json.Marshal refuses those, so accepting one made the
// commit fail with a 500. started_at and due refuse them naming the field
// (the console's forms do the same, web/practice.go).
func TestTimesOutsideStorableYearsAreRefused(t *testing.T) {
	now := time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC)
	for _, s := range []string{"0000-01-01T00:00:00+01:00", "0000-01-01T00:30:00+00:31"} {
		if at, err := parseImpactTime(s, now); err == nil || !strings.HasPrefix(err.Error(), "started_at: ") {
			t.Errorf("started_at %q: %v %v, want an error naming started_at", s, at, err)
		}
	}
	for _, c := range []struct{ s, zone string }{{"0000-01-01T00:00:00+01:00", "UTC"}, {"9999-12-31T23:30:00-01:00", "UTC"},
		{"0000-01-01", "Europe/Amsterdam"}} {
		if at, err := parseDueIn(c.s, now, c.zone); err == nil || !strings.HasPrefix(err.Error(), "due: ") {
			t.Errorf("due %q in %s: %v %v, want an error naming due", c.s, c.zone, at, err)
		}
	}
	if _, err := parseImpactTime("0000-01-01T00:00:00Z", now); err != nil {
		t.Errorf("year 0 in UTC is storable: %v", err)
	}
}

package api

import (
	"strings"
	"testing"
	"time"
)

func TestParseDue(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"2026-12-24T09:00:00Z": time.Date(2026, 12, 24, 9, 0, 0, 0, time.UTC),
		"2026-12-24":           time.Date(2026, 12, 23, 23, 0, 0, 0, time.UTC), // midnight in Amsterdam
		"14d":                  now.Add(14 * 24 * time.Hour),
		"2w":                   now.Add(14 * 24 * time.Hour),
	} {
		got, err := parseDueIn(in, now, "Europe/Amsterdam")
		if err != nil || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "tomorrow", "-3d", "2026-13-01"} {
		if _, err := parseDueIn(in, now, "UTC"); err == nil || !strings.HasPrefix(err.Error(), "due: ") {
			t.Errorf("%q: %v, want an error naming due", in, err)
		}
	}
}

func FuzzParseDue(f *testing.F) {
	f.Add("2026-12-24")
	f.Add("14d")
	f.Add("2026-12-24T09:00:00+01:00")
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		at, err := parseDueIn(s, now, "UTC")
		if err != nil && !strings.HasPrefix(err.Error(), "due: ") {
			t.Fatalf("error does not name the field: %v", err)
		}
		if _, merr := at.MarshalJSON(); err == nil && merr != nil { // the command could not be committed
			t.Fatalf("accepted %q as %v, which does not marshal: %v", s, at, merr)
		}
	})
}

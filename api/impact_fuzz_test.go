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
	})
}

package web

import (
	"strings"
	"testing"
	"time"
)

// The practice forms' own parsers never panic, and what they accept is
// well formed: components have non-empty trimmed names and statuses, times
// are UTC.
func FuzzPracticeFormFields(f *testing.F) {
	for _, s := range []string{"api=degraded_performance\ndb = outage", "x", "=", "2026-11-29T14:05", "2026-11-29T14:05:00+01:00", "2026-12-24"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if comps, err := parseComponents(s); err == nil {
			for k, v := range comps {
				if k == "" || v == "" || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
					t.Fatalf("component %q=%q from %q", k, v, s)
				}
			}
		}
		if at, err := parseFormTime(s); err == nil && at.Location() != time.UTC {
			t.Fatalf("time %v not UTC", at)
		}
	})
}

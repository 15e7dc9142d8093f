package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// The practice forms' own parsers never panic, and what they accept is
// well formed: components have non-empty trimmed names and statuses, times
// are UTC in the years json.Marshal writes (0000-9999).
func FuzzPracticeFormFields(f *testing.F) {
	for _, s := range []string{"api=degraded_performance\ndb = outage", "x", "=", "2026-11-29T14:05", "2026-11-29T14:05:00+01:00", "2026-12-24",
		"0000-01-01T00:00:00+01:00", "9999-12-31"} {
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
		if at, err := parseFormTime(s); err == nil {
			if _, merr := json.Marshal(at); at.Location() != time.UTC || merr != nil {
				t.Fatalf("time %v not UTC or not storable: %v", at, merr)
			}
		}
		if due, err := parseDueDate(&config.Config{Timezone: "Pacific/Pago_Pago"}, s); err == nil {
			if _, merr := json.Marshal(due); merr != nil {
				t.Fatalf("due %v not storable: %v", due, merr)
			}
		}
	})
}

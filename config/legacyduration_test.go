package config

import (
	"strings"
	"testing"
	"time"
)

// The previous release's reader still reads what it accepted, which today's
// ParseDuration refuses; ParseReplicated uses it, Parse does not.
func TestLegacyDurationReadsOldForms(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1h1d": 25 * time.Hour, "1d1d": 48 * time.Hour, "90500ms": 90500 * time.Millisecond, "1w": 7 * 24 * time.Hour,
	} {
		got, err := legacyParseDuration(in)
		if err != nil || got.D() != want {
			t.Errorf("%s: %v %v, want %v", in, got.D(), err, want)
		}
	}
	if _, err := ParseDuration("1h1d"); err == nil {
		t.Error("ParseDuration accepts 1h1d: the legacy path is no longer needed for it")
	}
	src := []Source{{Name: "c.yaml", Data: []byte("users: [{id: a, email: a@example.com, notify: [{via: email, after: 1h1d}]}]\n")}}
	if _, err := Parse(src, nil); err == nil {
		t.Error("Parse accepted 1h1d")
	}
	if _, err := ParseReplicated(src, nil); err != nil && strings.Contains(err.Error(), "1h1d") {
		t.Errorf("ParseReplicated refused the old duration: %v", err)
	}
}

// FuzzLegacyParseDuration: any string, no panic; an accepted value has the
// sign its text has.
func FuzzLegacyParseDuration(f *testing.F) {
	for _, s := range []string{"1h1d", "90500ms", "-1w", "1.5d", "99999999999d", "1d1d1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := legacyParseDuration(s)
		if err == nil && d < 0 && !strings.HasPrefix(s, "-") {
			t.Fatalf("%q read as negative %v", s, d.D())
		}
	})
}

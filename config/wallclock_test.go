package config

import (
	"testing"
	"time"
)

func TestWallClockDST(t *testing.T) {
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	ny, _ := time.LoadLocation("America/New_York")
	cases := []struct {
		name     string
		loc      *time.Location
		y        int
		m        time.Month
		d, h, mi int
		want     string
	}{
		// Amsterdam 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00Z). 02:30 does not
		// exist; the first instant after the gap is 03:00 CEST = 01:00Z.
		{"ams gap", ams, 2026, 3, 29, 2, 30, "2026-03-29T01:00:00Z"},
		// Amsterdam 2026-10-25: 03:00 CEST falls back to 02:00 CET (01:00Z). 02:30 occurs
		// at 00:30Z (CEST, +2) and 01:30Z (CET, +1); first occurrence is 00:30Z.
		{"ams fold", ams, 2026, 10, 25, 2, 30, "2026-10-25T00:30:00Z"},
		// Ordinary: 09:00 CET (+1) = 08:00Z; 09:00 CEST (+2) = 07:00Z.
		{"ams winter", ams, 2026, 1, 5, 9, 0, "2026-01-05T08:00:00Z"},
		{"ams summer", ams, 2026, 7, 6, 9, 0, "2026-07-06T07:00:00Z"},
		// New York 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z).
		{"ny gap", ny, 2026, 3, 8, 2, 30, "2026-03-08T07:00:00Z"},
		// New York 2026-11-01: 01:30 occurs at 05:30Z (EDT, -4) and 06:30Z (EST, -5).
		{"ny fold", ny, 2026, 11, 1, 1, 30, "2026-11-01T05:30:00Z"},
		{"utc", time.UTC, 2026, 11, 1, 1, 30, "2026-11-01T01:30:00Z"},
	}
	for _, c := range cases {
		got := WallClock(c.y, c.m, c.d, c.h, c.mi, 0, c.loc).UTC().Format(time.RFC3339)
		if got != c.want {
			t.Errorf("%s: got %s want %s", c.name, got, c.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90s": 90 * time.Second, "10m": 10 * time.Minute, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1w2d3h": 9*24*time.Hour + 3*time.Hour, "0m": 0, "1.5h": 90 * time.Minute,
		"90500ms": 90500 * time.Millisecond, "1d12h": 36 * time.Hour, "0": 0, "300us": 300 * time.Microsecond} {
		got, err := ParseDuration(in)
		if err != nil || got.D() != want {
			t.Errorf("%s: got %v %v want %v", in, got.D(), err, want)
		}
	}
	// Prometheus' syntax (model.ParseDuration): units largest first, each
	// once, so "1d1d" and "1h1d" are typos rather than 2d and 25h; no years.
	for _, bad := range []string{"", "1", "d", "1x", "1.5d", "abc", "1h-", "1d1d", "1h1d", "1y", "300000w"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q: want error", bad)
		}
	}
}

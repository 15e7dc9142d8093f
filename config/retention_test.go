package config

import (
	"testing"
	"time"
)

func TestResolvedRetentionDefaultAndSet(t *testing.T) {
	if got := (&Config{}).ResolvedRetention(); got != 180*24*time.Hour {
		t.Fatalf("default %s", got)
	}
	cfg, err := parseOne(t, "retention: {resolved: 30d}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.ResolvedRetention(); got != 30*24*time.Hour {
		t.Fatalf("retention.resolved: 30d gave %s", got)
	}
}

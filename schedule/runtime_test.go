package schedule

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// Runtime overrides go on top of the config's, in the order given, and
// leave the set they were added to unchanged (readers of the old set keep a
// consistent view).
func TestWithOverridesAppliesOnTopOfConfig(t *testing.T) {
	cfg := &config.Config{
		Users:     []config.User{{ID: "alice"}, {ID: "bob"}, {ID: "carol"}, {ID: "dave"}},
		Rotations: []config.Rotation{{ID: "ops", Participants: []string{"alice", "bob"}, Shift: dur(t, "1w"), Start: "2026-11-02T00:00:00Z"}},
		Schedules: []config.Schedule{{ID: "web", Layers: []string{"ops"}, Overrides: []config.Override{
			{From: "2026-11-03T00:00:00Z", To: "2026-11-04T00:00:00Z", User: "carol", Replaces: "alice"}}}},
	}
	base := mustCompile(t, cfg)
	set := base.WithOverrides(map[string][]Override{
		"web": {
			// replaces the config override's user: runtime ones come after
			{From: utc(t, "2026-11-03T06:00:00Z"), To: utc(t, "2026-11-03T12:00:00Z"), User: "dave", Replaces: "carol"},
			{From: utc(t, "2026-11-05T00:00:00Z"), To: utc(t, "2026-11-06T00:00:00Z"), User: "dave"},
			{From: utc(t, "2026-11-07T00:00:00Z"), To: utc(t, "2026-11-07T00:00:00Z"), User: "bob"}, // empty: ignored
		},
		"gone": {{From: utc(t, "2026-11-05T00:00:00Z"), To: utc(t, "2026-11-06T00:00:00Z"), User: "dave"}},
	})
	checkOnCall(t, set, "web", []onCallCase{
		{"2026-11-02T12:00:00Z", []string{"alice"}, "no override"},
		{"2026-11-03T01:00:00Z", []string{"carol"}, "config override"},
		{"2026-11-03T07:00:00Z", []string{"dave"}, "runtime override replaces the config override's user"},
		{"2026-11-05T12:00:00Z", []string{"dave"}, "runtime override without replaces"},
		{"2026-11-07T00:00:00Z", []string{"alice"}, "empty override ignored"},
	})
	checkOnCall(t, base, "web", []onCallCase{
		{"2026-11-03T07:00:00Z", []string{"carol"}, "base set unchanged"},
		{"2026-11-05T12:00:00Z", []string{"alice"}, "base set unchanged"},
	})
	shifts, err := set.Shifts("web", utc(t, "2026-11-05T00:00:00Z"), utc(t, "2026-11-06T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	if len(shifts) != 2 || shifts[0].User != "dave" || !shifts[0].End.Equal(utc(t, "2026-11-06T00:00:00Z")) || shifts[1].User != "alice" {
		t.Errorf("shifts with runtime override: %+v", shifts)
	}
	if got := base.WithOverrides(nil); got != base {
		t.Error("no overrides should return the set itself")
	}
	// A bound inside a second takes effect from the next whole second.
	sub := base.WithOverrides(map[string][]Override{"web": {{From: utc(t, "2026-11-05T00:00:00Z").Add(500 * time.Millisecond),
		To: utc(t, "2026-11-05T01:00:00Z"), User: "dave"}}})
	checkOnCall(t, sub, "web", []onCallCase{{"2026-11-05T00:00:00Z", []string{"alice"}, "before the rounded start"},
		{"2026-11-05T00:00:01Z", []string{"dave"}, "after it"}})
}

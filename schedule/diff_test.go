package schedule

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/config"
)

func planConfig(t testing.TB, participants ...string) *config.Config {
	return &config.Config{Timezone: "Europe/Amsterdam", Rotations: []config.Rotation{
		{ID: "web-primary", Participants: participants, Shift: dur(t, "1w"), Start: "2026-11-02 09:00"},
		{ID: "db", Participants: []string{"dave", "erin"}, Shift: dur(t, "1d"), Start: "2026-11-02 09:00"},
	}, Schedules: []config.Schedule{{ID: "web", Layers: []string{"web-primary"}}}}
}

// Reordering [alice bob carol] to [bob alice carol] (anchor Mon 2026-11-02
// 09:00 CET = 08:00Z; November is all CET, so every handoff is Mon 08:00Z):
//
//	turn 0 (11-02): alice -> bob    changed
//	turn 1 (11-09): bob -> alice    changed
//	turn 2 (11-16): carol -> carol  unchanged
//	turn 3 (11-23): alice -> bob    changed (3 mod 3 = 0)
//
// The same three changes show for schedule "web" (its only layer), listed
// first; "db" is untouched and must not appear.
func TestDiffReorderedParticipants(t *testing.T) {
	old := mustCompile(t, planConfig(t, "alice", "bob", "carol"))
	new := mustCompile(t, planConfig(t, "bob", "alice", "carol"))
	changes, err := Diff(old, new, utc(t, "2026-11-02T08:00:00Z"), utc(t, "2026-11-30T08:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, strings.Join([]string{c.Schedule, c.Start.Format("01-02T15"), c.End.Format("01-02T15"),
			strings.Join(c.Lost, "+"), strings.Join(c.Gained, "+"), c.Zone}, " "))
	}
	want := []string{
		"web 11-02T08 11-09T08 alice bob Europe/Amsterdam",
		"web 11-09T08 11-16T08 bob alice Europe/Amsterdam",
		"web 11-23T08 11-30T08 alice bob Europe/Amsterdam",
		"web-primary 11-02T08 11-09T08 alice bob Europe/Amsterdam",
		"web-primary 11-09T08 11-16T08 bob alice Europe/Amsterdam",
		"web-primary 11-23T08 11-30T08 alice bob Europe/Amsterdam",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	line := FormatChange(changes[0])
	for _, part := range []string{"web", "Mon 2026-11-02 09:00 CET", "Mon 2026-11-09 09:00 CET", "2026-11-02T08:00:00Z", "alice → bob"} {
		if !strings.Contains(line, part) {
			t.Errorf("FormatChange %q lacks %q", line, part)
		}
	}
	if same := DiffShifts(old, old, utc(t, "2026-11-02T08:00:00Z"), utc(t, "2026-11-30T08:00:00Z")); len(same) != 0 {
		t.Errorf("identical configs differ: %v", same)
	}
}

// An id in only one set is entirely gained or lost; a nil set is empty.
func TestDiffAddedAndRemovedIDs(t *testing.T) {
	cfg := planConfig(t, "alice")
	s := mustCompile(t, cfg)
	from, to := utc(t, "2026-11-02T08:00:00Z"), utc(t, "2026-11-03T08:00:00Z")
	added := DiffShifts(nil, s, from, to)
	var got []string
	for _, c := range added {
		got = append(got, c.Schedule+" "+strings.Join(c.Lost, "+")+">"+strings.Join(c.Gained, "+"))
	}
	if want := "web >alice|db >dave|web-primary >alice"; strings.Join(got, "|") != want {
		t.Errorf("added: %v want %s", got, want)
	}
	removed := DiffShifts(s, nil, from, to)
	if len(removed) != 3 || removed[0].Lost[0] != "alice" || len(removed[0].Gained) != 0 {
		t.Errorf("removed: %+v", removed)
	}
}

package schedule

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pyEvents parses ics with python3-icalendar (the independent parser of
// TestICSParsedByPythonICalendar) and returns its events.
func pyEvents(t *testing.T, ics []byte) []pyEvent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "feed.ics")
	if err := os.WriteFile(path, ics, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/usr/bin/python3", "-c", pyParse, path).Output()
	if err != nil {
		t.Fatalf("python icalendar (apt-get install python3-icalendar): %v\n%s", err, ics)
	}
	var cal struct{ Events []pyEvent }
	if err := json.Unmarshal(out, &cal); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return cal.Events
}

// TestCalendarFeedIsStableAcrossFetches: a feed's window moves with the
// request time; the events it shares with an earlier fetch must keep their
// UID, start and end, or a subscribed calendar deletes and re-adds them.
// The edge shifts are whole, not clamped to the window.
func TestCalendarFeedIsStableAcrossFetches(t *testing.T) {
	s := mustCompile(t, layeredConfig(t))
	feed := func(now time.Time) []pyEvent {
		shifts, err := s.WholeShifts("base", now.Add(-30*24*time.Hour), now.Add(90*24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return pyEvents(t, ICS("base", shifts, now))
	}
	first := feed(utc(t, "2026-08-05T10:17:03Z"))
	later := feed(utc(t, "2026-08-05T11:42:59Z"))
	if len(first) == 0 || len(first) != len(later) {
		t.Fatalf("%d and %d events", len(first), len(later))
	}
	for i := range first {
		if first[i] != later[i] {
			t.Errorf("event %d changed between fetches:\n %+v\n %+v", i, first[i], later[i])
		}
	}
	// Weekly shifts from Monday 2026-06-01: the window opens on Mon
	// 2026-07-06 10:17, inside a shift that began that midnight.
	if got := first[0]; got.Start != "2026-07-06T00:00:00Z" || got.End != "2026-07-13T00:00:00Z" {
		t.Errorf("first event %s → %s, want the whole shift 2026-07-06T00:00:00Z → 2026-07-13T00:00:00Z", got.Start, got.End)
	}
	if got := first[len(first)-1]; got.Start != "2026-11-02T00:00:00Z" || got.End != "2026-11-09T00:00:00Z" {
		t.Errorf("last event %s → %s, want the whole shift 2026-11-02T00:00:00Z → 2026-11-09T00:00:00Z", got.Start, got.End)
	}
}

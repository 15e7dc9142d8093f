package schedule

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// FuzzNoPanic feeds arbitrary config strings and instants through Compile and
// every query: errors are fine, panics are not. The seed corpus runs as part
// of `go test`; `go test -fuzz FuzzNoPanic` explores further.
func FuzzNoPanic(f *testing.F) {
	f.Add("Europe/Amsterdam", "2026-03-29 02:30", int64(86400), "22:00", "06:00", "sun", "2026-03-29 02:00", "2026-03-29 03:00", int64(1774746000))
	f.Add("", "2026-01-01T00:00:00Z", int64(3600), "24:00", "24:00", "", "x", "y", int64(-62135596800))
	f.Add("Pacific/Apia", "2011-12-30 00:00", int64(86400), "00:00", "00:00", "fri", "2011-12-29 23:00", "2011-12-31 01:00", int64(1325239200))
	f.Add("UTC", "9999-12-31 23:59", int64(60), "00:00", "23:59", "mon", "9999-12-31 00:00", "9999-12-31 23:00", int64(253402300000))
	f.Fuzz(func(t *testing.T, zone, start string, shiftSec int64, from, to, day, oFrom, oTo string, at int64) {
		cfg := &config.Config{Timezone: zone, Rotations: []config.Rotation{{
			ID: "r", Participants: []string{"a", "b"}, Shift: config.Duration(shiftSec * int64(time.Second)), Start: start,
			Active: []config.Window{{Days: []string{day}, From: from, To: to}},
		}}, Schedules: []config.Schedule{{ID: "s", Layers: []string{"r", "r"},
			Overrides: []config.Override{{From: oFrom, To: oTo, User: "c", Replaces: "a"}}}}}
		s, err := Compile(cfg)
		if err != nil {
			return
		}
		when := time.Unix(at%(400*365*86400), 0)
		for _, id := range []string{"s", "r", "?"} {
			_, _ = s.OnCall(id, when)
			_, _ = s.Shifts(id, when, when.Add(30*24*time.Hour))
			_, _ = s.Gaps(id, when.Add(-time.Hour), when)
		}
		_ = DiffShifts(s, nil, when, when.Add(7*24*time.Hour))
	})
}

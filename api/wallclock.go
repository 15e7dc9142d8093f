package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/schedule"
)

// wallClockLayouts are the local-time forms a schedule query accepts besides
// RFC 3339, read in the schedule's own zone ("2026-11-30 10:00" is 10:00
// wherever the schedule is, as its config's times are).
var wallClockLayouts = []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// timeInZone is a query time: RFC 3339 (an instant), or a wall-clock time
// in the zone of schedule id (in the config's top-level zone when id is
// ""). A wall-clock time that a DST change skips or repeats resolves as Go's
// time.Date does (the skipped hour moves forward; a repeated hour takes the
// first offset).
func timeInZone(r *http.Request, name string, def time.Time, set *schedule.Set, id, defZone string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	return wallTime(name, v, set, id, defZone)
}

// wallTime reads v as timeInZone does; name is the field named in the error.
func wallTime(name, v string, set *schedule.Set, id, defZone string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range wallClockLayouts {
		wall, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		zone := defZone
		if id != "" {
			if z, err := set.Zone(id); err == nil {
				zone = z
			}
		}
		loc, err := time.LoadLocation(zone)
		if err != nil {
			loc = time.UTC
		}
		return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("%s: want an RFC 3339 time such as 2026-11-25T18:00:00Z, or a wall-clock time in the schedule's zone such as \"2026-11-25 19:00\" (got %q)", name, v)
}

// zoneOf is the zone name schedule or rotation id shows its times in.
func zoneOf(set *schedule.Set, id string) string {
	z, err := set.Zone(id)
	if err != nil || z == "" {
		return "UTC"
	}
	return z
}

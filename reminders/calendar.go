package reminders

import "time"

// Week is the period of repeating reminders.
const Week = 7 * 24 * time.Hour

// Latest is the calendar of a repeating reminder: instants first,
// first+every, first+2·every, ... It returns the latest instant at or
// before now (ok false when none yet) and the one after it.
func Latest(first time.Time, every time.Duration, now time.Time) (latest time.Time, ok bool, next time.Time) {
	if now.Before(first) {
		return time.Time{}, false, first
	}
	n := now.Sub(first) / every
	latest = first.Add(n * every)
	return latest, true, latest.Add(every)
}

// ID names a reminder of kind about ref for the instant at.
func ID(kind, ref string, at time.Time) string {
	return kind + "/" + ref + "/" + at.UTC().Format(time.RFC3339)
}

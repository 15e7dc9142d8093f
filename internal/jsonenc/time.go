package jsonenc

import "time"

// OutsideStorableYears is the error text for a time StorableTime refuses.
const OutsideStorableYears = "is outside the years 0000-9999 in UTC"

// StorableTime reports whether t, converted to UTC as pagerd stores every
// time, can be written as RFC 3339: json.Marshal (which encodes commands,
// snapshots and answers) refuses a year outside 0000-9999. A time that
// parses can still fall outside once in UTC: "0000-01-01T00:00:00+01:00"
// is in the year -1. Inputs check it so such a time is a 400 naming the
// field, not a commit that fails with a 500.
func StorableTime(t time.Time) bool {
	y := t.UTC().Year()
	return y >= 0 && y <= 9999
}

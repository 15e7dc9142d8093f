package schedule

import (
	"time"

	"github.com/pagerd/pagerd/config"
)

const secondsPerDay = 86400

// maxOffsetChange bounds how far apart two UTC offsets of one zone can be. No
// zone has ever changed by more than about 26 hours, so an instant at least this
// far into a zone period cannot have an earlier twin reading in the previous
// period.
const maxOffsetChange = 48 * 3600

// floorDiv divides rounding toward negative infinity; b must be positive.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

// floorMod is the non-negative remainder of a/b; b must be positive.
func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// daysFromCivil converts a proleptic Gregorian date to days since 1970-01-01
// (H. Hinnant's algorithm). Pure integer arithmetic keeps the hot path free of
// time.Date and its zone lookups.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mp := int64((m + 9) % 12)
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// weekdayOfDay is the weekday of a day number (1970-01-01 was a Thursday).
func weekdayOfDay(day int64) time.Weekday {
	return time.Weekday(floorMod(day+4, 7))
}

// zoneHint caches the UTC offset and bounds of one zone period so that
// resolving wall-clock readings near a known instant costs integer arithmetic
// instead of zone lookups. The zero value is empty and valid to use.
type zoneHint struct {
	valid            bool
	off              int64 // seconds east of UTC in the period
	start, end       int64 // period bounds in Unix seconds
	hasStart, hasEnd bool  // whether start / end exist
}

// set fills the hint from the zone period containing instant sec.
func (z *zoneHint) set(loc *time.Location, sec int64) {
	lt := time.Unix(sec, 0).In(loc)
	_, off := lt.Zone()
	s, e := lt.ZoneBounds()
	z.valid, z.off = true, int64(off)
	z.hasStart, z.hasEnd = !s.IsZero(), !e.IsZero()
	if z.hasStart {
		z.start = s.Unix()
	}
	if z.hasEnd {
		z.end = e.Unix()
	}
}

// fast returns the instant with wall reading naive (seconds since the epoch as
// if UTC) if it lies inside the hinted period far enough from its start that no
// earlier occurrence of the same reading can exist.
func (z *zoneHint) fast(naive int64) (int64, bool) {
	if !z.valid {
		return 0, false
	}
	u := naive - z.off
	if z.hasStart && u < z.start+maxOffsetChange {
		return 0, false
	}
	if z.hasEnd && u >= z.end {
		return 0, false
	}
	return u, true
}

// wallAt returns the instant (Unix seconds) at which the wall clock in loc reads
// day (days since 1970-01-01) plus tod seconds. Gap and fold resolution follow
// config.WallClock: first instant after a gap, first occurrence in a fold. The
// hint is refreshed as a side effect.
func wallAt(loc *time.Location, day, tod int64, z *zoneHint) int64 {
	naive := day*secondsPerDay + tod
	if u, ok := z.fast(naive); ok {
		return u
	}
	guess := naive
	if z.valid {
		guess = naive - z.off
	}
	z.set(loc, guess)
	if u, ok := z.fast(naive); ok {
		return u
	}
	// Near a transition: let the reference implementation decide.
	y, m, d := civilFromDays(day)
	return config.WallClock(int(y), time.Month(m), d, int(tod/3600), int(tod/60%60), int(tod%60), loc).Unix()
}

package config

import (
	"errors"
	"fmt"
	"time"
)

// The functions in this file are the single definition of what a rotation's
// shift, start, active window and a schedule override may be. Validation
// (Parse) and schedule.Compile both call them, so a config that validates
// always compiles: there is no second, stricter reader to disagree with.

// SecondsPerDay is the length of a civil day in the schedule arithmetic.
const SecondsPerDay = 86400

// MinShift is the shortest rotation turn. Nobody is paged in turns shorter
// than a minute, and a floor keeps window enumeration cheap.
const MinShift = time.Minute

// ErrTimeRange is wrapped by the errors for instants outside years 1..9999;
// day arithmetic on them would approach int64 limits.
var ErrTimeRange = errors.New("out of range")

var (
	minInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// CheckShift reports whether d can be a rotation's turn length: a whole
// number of seconds and at least MinShift.
func CheckShift(d Duration) error {
	switch {
	case d == 0:
		return fmt.Errorf("required and must be positive (e.g. 1w)")
	case d < 0:
		return fmt.Errorf("must be positive")
	case d.D()%time.Second != 0:
		return fmt.Errorf("%s is not a whole number of seconds", d)
	case d.D() < MinShift:
		return fmt.Errorf("%s is shorter than the minimum of 1m", d)
	}
	return nil
}

// ParseAnchor reads a rotation start as a wall-clock reading in loc: the day
// (days since 1970-01-01) and time of day (seconds) of the handoff, and the
// instant of the anchor handoff in Unix seconds. The reading, not the instant,
// anchors whole-day rotations, so "02:30" keeps meaning 02:30 on days where it
// exists even if the anchor day was a spring-forward day.
func ParseAnchor(s string, loc *time.Location) (day, tod, inst int64, err error) {
	if t, perr := time.Parse(time.RFC3339, s); perr == nil {
		if t.Nanosecond() != 0 {
			return 0, 0, 0, fmt.Errorf("%q has fractional seconds", s)
		}
		if err := checkRange(t); err != nil {
			return 0, 0, 0, err
		}
		_, off := t.In(loc).Zone()
		naive := t.Unix() + int64(off)
		return floorDiv(naive, SecondsPerDay), floorMod(naive, SecondsPerDay), t.Unix(), nil
	}
	for _, layout := range wallLayouts {
		w, perr := time.Parse(layout, s)
		if perr != nil {
			continue
		}
		if err := checkRange(w); err != nil {
			return 0, 0, 0, err
		}
		naive := w.Unix()
		inst = WallClock(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), loc).Unix()
		return floorDiv(naive, SecondsPerDay), floorMod(naive, SecondsPerDay), inst, nil
	}
	return 0, 0, 0, fmt.Errorf("invalid time %q (want \"YYYY-MM-DD HH:MM\" or RFC 3339)", s)
}

// ParseInstant reads a config time (an override bound) as whole Unix seconds.
func ParseInstant(s string, loc *time.Location) (int64, error) {
	t, err := ParseTime(s, loc)
	if err != nil {
		return 0, err
	}
	if t.Nanosecond() != 0 {
		return 0, fmt.Errorf("%q has fractional seconds", s)
	}
	if err := checkRange(t); err != nil {
		return 0, err
	}
	return t.Unix(), nil
}

// ParseClock reads "HH:MM" as seconds of day; "24:00" only when allow24 (the
// end of a window).
func ParseClock(s string, allow24 bool) (int64, error) {
	bad := fmt.Errorf("invalid time of day %q (want \"HH:MM\", 00:00 to 23:59%s)", s, map[bool]string{true: ", or 24:00", false: ""}[allow24])
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	digits := func(a, b byte) (int64, bool) {
		if a < '0' || a > '9' || b < '0' || b > '9' {
			return 0, false
		}
		return int64(a-'0')*10 + int64(b-'0'), true
	}
	h, ok1 := digits(s[0], s[1])
	m, ok2 := digits(s[3], s[4])
	switch {
	case !ok1 || !ok2 || m > 59:
		return 0, bad
	case h == 24 && m == 0 && allow24:
		return SecondsPerDay, nil
	case h > 23:
		return 0, bad
	}
	return h*3600 + m*60, nil
}

// checkRange keeps day arithmetic far from int64 limits.
func checkRange(t time.Time) error {
	if t.Before(minInstant) || !t.Before(maxInstant) {
		return fmt.Errorf("%w: %s is outside years 1..9999", ErrTimeRange, t.UTC().Format(time.RFC3339))
	}
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }

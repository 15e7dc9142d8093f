package config

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/alertmanager/timeinterval"
	yamlv2 "gopkg.in/yaml.v2"
)

// BusinessHours is a named window of time (spec §5.1 business_hours): the
// union of its Times entries, written in Alertmanager's time_intervals
// syntax and read in Timezone, minus the whole days of ExceptDates.
// Severities whose `page` names it page only inside it.
type BusinessHours struct {
	ID       string         `yaml:"id"`
	Timezone string         `yaml:"timezone"`
	Times    []TimeInterval `yaml:"times"`
	// ExceptDates are holidays ("2026-12-25"): outside the window all day.
	ExceptDates []string `yaml:"except_dates"`

	// Filled by Parse: the entries compiled by Alertmanager's timeinterval
	// package, the zone, and the holidays as dates in that zone.
	compiled []timeinterval.TimeInterval
	loc      *time.Location
	holidays map[civilDate]bool
}

// TimeInterval is one entry of an Alertmanager time_intervals list as
// written. Parse hands each value to Alertmanager's own timeinterval
// parser, so the syntax and its meaning are Alertmanager's; the zone is the
// window's Timezone (an entry has no location of its own).
type TimeInterval struct {
	Times       []TimeRange `yaml:"times"`
	Weekdays    []string    `yaml:"weekdays"`
	DaysOfMonth []string    `yaml:"days_of_month"`
	Months      []string    `yaml:"months"`
	Years       []string    `yaml:"years"`
}

// TimeRange is a start and end time of day, "HH:MM" ("24:00" ends a day).
type TimeRange struct {
	StartTime string `yaml:"start_time"`
	EndTime   string `yaml:"end_time"`
}

type civilDate struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time) civilDate { return civilDate{t.Year(), t.Month(), t.Day()} }

// BusinessHoursWindow returns the window with the given id.
func (c *Config) BusinessHoursWindow(id string) (*BusinessHours, bool) {
	for i := range c.BusinessHours {
		if c.BusinessHours[i].ID == id {
			return &c.BusinessHours[i], true
		}
	}
	return nil, false
}

// Contains reports whether t lies inside the window.
func (w *BusinessHours) Contains(t time.Time) bool {
	lt := t.In(w.location())
	if w.holidays[dateOf(lt)] {
		return false
	}
	for _, ti := range w.compiled {
		if ti.ContainsTime(lt) {
			return true
		}
	}
	return false
}

// searchDays bounds NextOpen's search. A window that does not open within
// two years (say, `years: ["2020"]`) is treated as never opening.
const searchDays = 2 * 366

// NextOpen is the first instant at or after t inside the window: t itself
// when the window is open, else its next start, in wall-clock time of the
// window's zone (so 09:00 stays 09:00 across a DST change) with holidays
// skipped. ok is false when the window does not open within two years.
//
// The window can only open at a range's start minute, at midnight (a new
// day may meet the weekday, month or holiday rules), or at a zone
// transition (a clock set back re-enters earlier minutes), so those are
// the candidates tried, day by day, in order. A range's start is checked
// against its own entry only (were another entry open there, the window
// opened earlier, at that entry's own candidate): checking each against
// every entry made a window of many entries cost their square, two years
// of days over (TestNextOpenWorkGrowsWithEntriesNotTheirSquare).
func (w *BusinessHours) NextOpen(t time.Time) (time.Time, bool) {
	at, ok, _ := w.nextOpen(t)
	return at, ok
}

// nextOpen is NextOpen, also counting the entry checks it made (checks),
// so a test can bound its work without timing it.
func (w *BusinessHours) nextOpen(t time.Time) (at time.Time, ok bool, checks int) {
	checks = len(w.compiled)
	if w.Contains(t) {
		return t, true, checks
	}
	loc := w.location()
	lt := t.In(loc)
	for day := 0; day < searchDays; day++ {
		d := time.Date(lt.Year(), lt.Month(), lt.Day()+day, 12, 0, 0, 0, loc)
		if w.holidays[dateOf(d)] {
			continue
		}
		for _, c := range w.candidates(d.Year(), d.Month(), d.Day()) {
			if c.at.Before(t) {
				continue
			}
			open, cost := w.opensAt(c)
			checks += cost
			if open {
				return c.at, true, checks
			}
		}
	}
	return time.Time{}, false, checks
}

// candidate is an instant of one local day at which the window may open:
// where entry (an index of compiled) starts a time range, or, with entry
// -1, midnight or a zone transition, where any entry may.
type candidate struct {
	at    time.Time
	entry int
}

// opensAt reports whether the window is open at c (by c's entry alone),
// and how many entries it checked to tell.
func (w *BusinessHours) opensAt(c candidate) (open bool, checks int) {
	if c.entry < 0 {
		return w.Contains(c.at), len(w.compiled)
	}
	lt := c.at.In(w.location())
	return !w.holidays[dateOf(lt)] && w.compiled[c.entry].ContainsTime(lt), 1
}

// candidates are the instants of one local day at which the window may
// open, in time order, each once per entry.
func (w *BusinessHours) candidates(y int, m time.Month, d int) []candidate {
	loc := w.location()
	midnight := WallClock(y, m, d, 0, 0, 0, loc)
	out := []candidate{{midnight, -1}}
	// A zone transition inside the day (DST) starts a new zone period; a
	// clock set back by back reads the minutes before it twice, so a
	// range's start there is tried at its second reading too.
	var back time.Duration
	if _, end := midnight.ZoneBounds(); !end.IsZero() && dateOf(end.In(loc)) == (civilDate{y, m, d}) {
		out = append(out, candidate{end, -1})
		_, before := end.Add(-time.Second).Zone()
		_, after := end.Zone()
		back = time.Duration(before-after) * time.Second
	}
	for i, ti := range w.compiled {
		for _, r := range ti.Times {
			if r.StartMinute <= 0 || r.StartMinute >= 24*60 {
				continue
			}
			at := WallClock(y, m, d, r.StartMinute/60, r.StartMinute%60, 0, loc)
			out = append(out, candidate{at, i})
			if again := at.Add(back); back > 0 && sameWallMinute(again.In(loc), at.In(loc)) {
				out = append(out, candidate{again, i})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.Before(out[j].at)
		}
		return out[i].entry < out[j].entry
	})
	return slices.CompactFunc(out, func(a, b candidate) bool { return a.at.Equal(b.at) && a.entry == b.entry })
}

func sameWallMinute(a, b time.Time) bool {
	return dateOf(a) == dateOf(b) && a.Hour() == b.Hour() && a.Minute() == b.Minute()
}

func (w *BusinessHours) location() *time.Location {
	if w.loc == nil {
		return time.UTC
	}
	return w.loc
}

// compileTimeInterval parses one written entry with Alertmanager's parser.
// report is called with the path below the entry ("weekdays[0]") and the
// parser's message for every value it refuses.
func compileTimeInterval(in TimeInterval, loc *time.Location, report func(path, msg string)) timeinterval.TimeInterval {
	var out timeinterval.TimeInterval
	for i, r := range in.Times {
		var tr timeinterval.TimeRange
		if err := unmarshalV2(map[string]string{"start_time": r.StartTime, "end_time": r.EndTime}, &tr); err != nil {
			report(fmt.Sprintf("times[%d]", i), err.Error())
			continue
		}
		out.Times = append(out.Times, tr)
	}
	for i, s := range in.Weekdays {
		var r timeinterval.WeekdayRange
		if compileRange("weekdays", i, s, &r, report) {
			out.Weekdays = append(out.Weekdays, r)
		}
	}
	for i, s := range in.DaysOfMonth {
		var r timeinterval.DayOfMonthRange
		if compileRange("days_of_month", i, s, &r, report) {
			out.DaysOfMonth = append(out.DaysOfMonth, r)
		}
	}
	for i, s := range in.Months {
		var r timeinterval.MonthRange
		if compileRange("months", i, s, &r, report) {
			out.Months = append(out.Months, r)
		}
	}
	for i, s := range in.Years {
		var r timeinterval.YearRange
		if compileRange("years", i, s, &r, report) {
			out.Years = append(out.Years, r)
		}
	}
	out.Location = &timeinterval.Location{Location: loc}
	return out
}

func compileRange(field string, i int, s string, into any, report func(path, msg string)) bool {
	if err := unmarshalV2(s, into); err != nil {
		report(fmt.Sprintf("%s[%d]", field, i), err.Error())
		return false
	}
	return true
}

// unmarshalV2 feeds v through yaml.v2, whose unmarshalers the timeinterval
// types implement; the value was already read by pagerd's own decoder, so
// positions and unknown keys are reported there.
func unmarshalV2(v any, into any) error {
	b, err := yamlv2.Marshal(v)
	if err != nil {
		return err
	}
	return yamlv2.UnmarshalStrict(b, into)
}

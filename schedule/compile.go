package schedule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // zones must resolve identically on every node, with or without system tzdata

	"github.com/pagerd/pagerd/config"
)

// Errors returned (wrapped) by this package.
var (
	// ErrUnknown: the id names neither a schedule nor a rotation.
	ErrUnknown = errors.New("unknown schedule or rotation")
	// ErrInvalid: the config cannot be compiled (bad zone, time, reference...).
	ErrInvalid = errors.New("invalid schedule config")
	// ErrRange: an instant outside years 1..9999, or a window that would
	// produce more than maxSegments on-call changes.
	ErrRange = errors.New("out of range")
)

// Set is a compiled configuration: every zone loaded, every time parsed. It is
// immutable after Compile and safe for concurrent use.
type Set struct {
	schedules map[string]*compiledSchedule
	rotations map[string]*rotation
	ids       []string
	// broken: schedules and rotations that do not compile, by id, with why.
	// Only a replicated config an earlier release admitted can have them
	// (config.ParseReplicated); lookups of those ids answer the error, and
	// every other id works.
	broken map[string]error
}

// rotation is a compiled config.Rotation.
type rotation struct {
	id    string
	parts []string
	loc   *time.Location
	zone  string
	// wall rotations (shift a whole number of days) hand off at wall-clock time
	// tod (seconds of day) on day day0 + n*days (days since 1970-01-01).
	wall       bool
	days       int64
	day0, tod  int64
	shift      int64 // absolute rotations: turn length in seconds
	start0     int64 // absolute rotations: anchor instant (Unix seconds)
	windows    []window
	overnights bool // some window ends on the day after it starts
}

// window is a compiled config.Window. It starts on a day whose weekday is in
// days at from (seconds of day) and ends toDay days later at to.
type window struct {
	days  [7]bool // indexed by time.Weekday
	from  int64
	toDay int64 // 0: same day, 1: next day
	to    int64
}

// compiledSchedule is a compiled config.Schedule.
type compiledSchedule struct {
	id        string
	zone      string
	loc       *time.Location
	layers    []*rotation
	overrides []override
}

// override is a compiled config.Override on [from, to) in Unix seconds.
type override struct {
	from, to       int64
	user, replaces string
}

// Compile validates the schedule-related parts of cfg and precomputes
// everything lookups need. It never panics; problems wrap ErrInvalid.
func Compile(cfg *config.Config) (*Set, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil config", ErrInvalid)
	}
	zones := zoneCache{}
	s := &Set{schedules: map[string]*compiledSchedule{}, rotations: map[string]*rotation{}, broken: map[string]error{}}
	for i := range cfg.Rotations {
		r, err := compileRotation(&cfg.Rotations[i], cfg.Timezone, zones)
		if err != nil && cfg.Rotations[i].ID != "" {
			s.broken[cfg.Rotations[i].ID] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, dup := s.rotations[r.id]; dup {
			return nil, fmt.Errorf("%w: duplicate rotation id %q", ErrInvalid, r.id)
		}
		s.rotations[r.id] = r
	}
	for i := range cfg.Schedules {
		c, err := s.compileSchedule(&cfg.Schedules[i], cfg.Timezone, zones)
		if err != nil && cfg.Schedules[i].ID != "" {
			s.broken[cfg.Schedules[i].ID] = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, dup := s.schedules[c.id]; dup {
			return nil, fmt.Errorf("%w: duplicate schedule id %q", ErrInvalid, c.id)
		}
		s.schedules[c.id] = c
	}
	s.ids = sortedIDs(s)
	return s, nil
}

// sortedIDs lists schedules then rotations, each sorted; a rotation sharing a
// schedule's id is shadowed by it and listed once.
func sortedIDs(s *Set) []string {
	var sch, rot []string
	for id := range s.schedules {
		sch = append(sch, id)
	}
	for id := range s.rotations {
		if _, shadowed := s.schedules[id]; !shadowed {
			rot = append(rot, id)
		}
	}
	sort.Strings(sch)
	sort.Strings(rot)
	return append(sch, rot...)
}

// zoneCache loads each zone name once per Compile.
type zoneCache map[string]*time.Location

// load resolves name, falling back to def and then UTC when empty.
func (zc zoneCache) load(name, def string) (string, *time.Location, error) {
	if name == "" {
		name = def
	}
	if name == "" {
		name = "UTC"
	}
	if loc, ok := zc[name]; ok {
		return name, loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return "", nil, fmt.Errorf("%w: time zone %q: %v", ErrInvalid, name, err)
	}
	zc[name] = loc
	return name, loc, nil
}

func compileRotation(cr *config.Rotation, defZone string, zones zoneCache) (*rotation, error) {
	if cr.ID == "" {
		return nil, fmt.Errorf("%w: rotation without id", ErrInvalid)
	}
	wrap := func(format string, a ...any) error {
		return fmt.Errorf("%w: rotation %q: %s", ErrInvalid, cr.ID, fmt.Sprintf(format, a...))
	}
	zone, loc, err := zones.load(cr.Timezone, defZone)
	if err != nil {
		return nil, fmt.Errorf("rotation %q: %w", cr.ID, err)
	}
	r := &rotation{id: cr.ID, parts: append([]string(nil), cr.Participants...), loc: loc, zone: zone}
	for _, p := range r.parts {
		if p == "" {
			return nil, wrap("empty participant")
		}
	}
	// The same checks Parse ran while validating: a validated config compiles.
	if err := config.CheckShift(cr.Shift); err != nil {
		return nil, wrap("shift: %v", err)
	}
	shift := cr.Shift.D()
	day, tod, inst, err := config.ParseAnchor(cr.Start, loc)
	if err != nil {
		return nil, wrap("start: %v", err)
	}
	if shift%(24*time.Hour) == 0 {
		r.wall, r.days, r.day0, r.tod = true, int64(shift/(24*time.Hour)), day, tod
	} else {
		r.shift, r.start0 = int64(shift/time.Second), inst
	}
	for i, w := range cr.Active {
		cw, err := compileWindow(w)
		if err != nil {
			return nil, wrap("active[%d]: %v", i, err)
		}
		r.windows = append(r.windows, cw)
		r.overnights = r.overnights || cw.toDay > 0
	}
	return r, nil
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// compileWindow reads days and HH:MM bounds. `to` not after `from` means the
// window ends the next day; from == to is a full 24 hours; "24:00" is accepted
// as `to` for the end of the start day.
func compileWindow(w config.Window) (window, error) {
	var cw window
	if len(w.Days) == 0 {
		cw.days = [7]bool{true, true, true, true, true, true, true}
	}
	for _, d := range w.Days {
		wd, ok := dayNames[strings.ToLower(strings.TrimSpace(d))]
		if !ok {
			return cw, fmt.Errorf("unknown day %q (want mon..sun)", d)
		}
		cw.days[wd] = true
	}
	from, err := config.ParseClock(w.From, false)
	if err != nil {
		return cw, fmt.Errorf("from: %v", err)
	}
	to, err := config.ParseClock(w.To, true)
	if err != nil {
		return cw, fmt.Errorf("to: %v", err)
	}
	cw.from, cw.to = from, to
	if to == secondsPerDay {
		cw.toDay, cw.to = 1, 0
	} else if to <= from {
		cw.toDay = 1
	}
	return cw, nil
}

func (s *Set) compileSchedule(cs *config.Schedule, defZone string, zones zoneCache) (*compiledSchedule, error) {
	if cs.ID == "" {
		return nil, fmt.Errorf("%w: schedule without id", ErrInvalid)
	}
	wrap := func(format string, a ...any) error {
		return fmt.Errorf("%w: schedule %q: %s", ErrInvalid, cs.ID, fmt.Sprintf(format, a...))
	}
	zone, loc, err := zones.load(cs.Timezone, defZone)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", cs.ID, err)
	}
	c := &compiledSchedule{id: cs.ID, zone: zone, loc: loc}
	for _, l := range cs.Layers {
		r, ok := s.rotations[l]
		if berr := s.broken[l]; !ok && berr != nil {
			return nil, wrap("layer %q does not compile: %v", l, berr)
		}
		if !ok {
			return nil, wrap("layer %q is not a rotation", l)
		}
		c.layers = append(c.layers, r)
	}
	for i, o := range cs.Overrides {
		co, err := compileOverride(o, loc)
		if err != nil {
			return nil, wrap("overrides[%d]: %v", i, err)
		}
		c.overrides = append(c.overrides, co)
	}
	return c, nil
}

func compileOverride(o config.Override, loc *time.Location) (override, error) {
	if o.User == "" {
		return override{}, fmt.Errorf("missing user")
	}
	from, err := config.ParseInstant(o.From, loc)
	if err != nil {
		return override{}, fmt.Errorf("from: %v", err)
	}
	to, err := config.ParseInstant(o.To, loc)
	if err != nil {
		return override{}, fmt.Errorf("to: %v", err)
	}
	if to <= from {
		return override{}, fmt.Errorf("to %q is not after from %q", o.To, o.From)
	}
	return override{from: from, to: to, user: o.User, replaces: o.Replaces}, nil
}

var (
	minInstant = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxInstant = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkRange keeps day arithmetic far from int64 limits.
func checkRange(t time.Time) error {
	if t.Before(minInstant) || !t.Before(maxInstant) {
		return fmt.Errorf("%w: %s is outside years 1..9999", ErrRange, t.UTC().Format(time.RFC3339))
	}
	return nil
}

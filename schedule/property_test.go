package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
)

// The property tests compare the package against a deliberately naive oracle
// that walks turns one by one with time.Date and config.WallClock (no civil
// arithmetic, no zone hints), over random configs in zones with unusual rules.

var propZones = []string{
	"UTC", "Europe/Amsterdam", "America/New_York", "Australia/Lord_Howe", // 30-minute DST
	"Asia/Kolkata", "Pacific/Chatham", "America/Santiago", // DST at local midnight
	"America/Havana", "Asia/Kathmandu",
}

var (
	propShifts = []string{"1h", "90m", "8h", "12h", "36h", "1d", "2d", "1w", "2w"}
	propClocks = []string{"00:00", "00:30", "01:30", "02:00", "02:30", "03:00", "09:00", "17:45", "22:00", "23:30", "24:00"}
	propDays   = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	propUsers  = []string{"u1", "u2", "u3", "u4", "u5", "u6"}
	// Random instants span two years.
	propFrom = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	propTo   = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

func randInstant(r *rand.Rand, from, to time.Time) time.Time {
	d := to.Sub(from)
	return from.Add(time.Duration(r.Int64N(int64(d))))
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

// randConfig builds a config of 4 rotations and one schedule "s". single
// restricts overrides to ones without replaces so one user is on call at once.
func randConfig(r *rand.Rand, single bool) *config.Config {
	cfg := &config.Config{Timezone: pick(r, propZones)}
	for i := range 4 {
		ro := config.Rotation{ID: fmt.Sprintf("r%d", i)}
		for range 1 + r.IntN(4) {
			ro.Participants = append(ro.Participants, pick(r, propUsers))
		}
		sh, _ := config.ParseDuration(pick(r, propShifts))
		ro.Shift = sh
		if r.IntN(3) > 0 {
			ro.Timezone = pick(r, propZones)
		}
		day := randInstant(r, propFrom.AddDate(-1, 0, 0), propTo.AddDate(1, 0, 0))
		clock := pick(r, propClocks[:len(propClocks)-1])
		ro.Start = day.Format("2006-01-02") + " " + clock
		if r.IntN(5) == 0 { // sometimes an RFC 3339 anchor
			ro.Start = day.Truncate(time.Minute).Format(time.RFC3339)
		}
		for range r.IntN(3) {
			w := config.Window{From: pick(r, propClocks[:len(propClocks)-1]), To: pick(r, propClocks)}
			for _, d := range propDays {
				if r.IntN(2) == 0 {
					w.Days = append(w.Days, d)
				}
			}
			ro.Active = append(ro.Active, w)
		}
		cfg.Rotations = append(cfg.Rotations, ro)
	}
	sch := config.Schedule{ID: "s"}
	if r.IntN(2) == 0 {
		sch.Timezone = pick(r, propZones)
	}
	for range 1 + r.IntN(3) {
		sch.Layers = append(sch.Layers, fmt.Sprintf("r%d", r.IntN(4)))
	}
	for range r.IntN(6) {
		from := randInstant(r, propFrom, propTo).Truncate(time.Minute)
		to := from.Add(time.Duration(1+r.IntN(120)) * time.Hour)
		o := config.Override{From: from.Format(time.RFC3339), To: to.Format(time.RFC3339), User: pick(r, propUsers)}
		if r.IntN(2) == 0 { // wall-clock form, read in the schedule's zone
			o.From, o.To = from.Format("2006-01-02 15:04"), to.Format("2006-01-02 15:04")
		}
		if !single && r.IntN(2) == 0 {
			o.Replaces = pick(r, propUsers)
		}
		sch.Overrides = append(sch.Overrides, o)
	}
	cfg.Schedules = []config.Schedule{sch}
	return cfg
}

// ---- the oracle ----

func zoneOrDefault(name, def string) *time.Location {
	if name == "" {
		name = def
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// wallOn resolves a wall reading on a (possibly denormalized) date.
func wallOn(y int, m time.Month, d, h, mi int, loc *time.Location) time.Time {
	n := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return config.WallClock(n.Year(), n.Month(), n.Day(), h, mi, 0, loc)
}

func refRotation(ro config.Rotation, defZone string, at time.Time) (string, bool) {
	loc := zoneOrDefault(ro.Timezone, defZone)
	if len(ro.Participants) == 0 || !refActive(ro, loc, at) {
		return "", false
	}
	var y, d, h, mi int
	var m time.Month
	if t, err := time.Parse(time.RFC3339, ro.Start); err == nil {
		l := t.In(loc)
		y, m, d, h, mi = l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute()
	} else {
		w, err := time.Parse("2006-01-02 15:04", ro.Start)
		if err != nil {
			panic(err)
		}
		y, m, d, h, mi = w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute()
	}
	shift := ro.Shift.D()
	var start func(n int) time.Time
	if shift%(24*time.Hour) == 0 {
		days := int(shift / (24 * time.Hour))
		start = func(n int) time.Time { return wallOn(y, m, d+n*days, h, mi, loc) }
	} else {
		anchor, _ := config.ParseTime(ro.Start, loc)
		start = func(n int) time.Time { return anchor.Add(time.Duration(n) * shift) }
	}
	n := 0 // walk turn by turn: slow, obviously right
	for start(n).After(at) {
		n--
	}
	for !start(n + 1).After(at) {
		n++
	}
	k := len(ro.Participants)
	return ro.Participants[((n%k)+k)%k], true
}

func refActive(ro config.Rotation, loc *time.Location, at time.Time) bool {
	if len(ro.Active) == 0 {
		return true
	}
	l := at.In(loc)
	for _, w := range ro.Active {
		for back := 0; back <= 1; back++ {
			day := time.Date(l.Year(), l.Month(), l.Day()-back, 0, 0, 0, 0, time.UTC)
			if len(w.Days) > 0 && !slices.Contains(w.Days, strings.ToLower(day.Weekday().String()[:3])) {
				continue
			}
			fh, fm := hm(w.From)
			th, tm := hm(w.To)
			next := 0
			if th*60+tm <= fh*60+fm || th == 24 {
				next = 1
			}
			if th == 24 {
				th = 0
			}
			s := wallOn(day.Year(), day.Month(), day.Day(), fh, fm, loc)
			e := wallOn(day.Year(), day.Month(), day.Day()+next, th, tm, loc)
			if !at.Before(s) && at.Before(e) {
				return true
			}
		}
	}
	return false
}

func hm(s string) (int, int) {
	var h, m int
	fmt.Sscanf(s, "%d:%d", &h, &m)
	return h, m
}

func refSchedule(cfg *config.Config, sch config.Schedule, at time.Time) []string {
	rots := map[string]config.Rotation{}
	for _, ro := range cfg.Rotations {
		rots[ro.ID] = ro
	}
	var out []string
	for i := len(sch.Layers) - 1; i >= 0; i-- {
		if u, ok := refRotation(rots[sch.Layers[i]], cfg.Timezone, at); ok {
			out = []string{u}
			break
		}
	}
	loc := zoneOrDefault(sch.Timezone, cfg.Timezone)
	for _, o := range sch.Overrides {
		f, _ := config.ParseTime(o.From, loc)
		t, _ := config.ParseTime(o.To, loc)
		if at.Before(f) || !at.Before(t) {
			continue
		}
		var kept []string
		for _, u := range out {
			if o.Replaces != "" && u != o.Replaces {
				kept = append(kept, u)
			}
		}
		if !slices.Contains(kept, o.User) {
			kept = append(kept, o.User)
		}
		out = kept
	}
	return out
}

// ---- properties ----

func TestPropertyOnCallMatchesOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for c := range 150 {
		cfg := randConfig(r, false)
		s := mustCompile(t, cfg)
		for range 60 {
			at := randInstant(r, propFrom, propTo)
			got, err := s.OnCall("s", at)
			if err != nil {
				t.Fatal(err)
			}
			if want := refSchedule(cfg, cfg.Schedules[0], at); !equalStrings(got, want) {
				t.Fatalf("config %d at %s: OnCall %v, oracle %v\n%+v", c, at.Format(time.RFC3339Nano), got, want, cfg)
			}
			ro := cfg.Rotations[r.IntN(len(cfg.Rotations))]
			got, _ = s.OnCall(ro.ID, at)
			u, ok := refRotation(ro, cfg.Timezone, at)
			if ok != (len(got) == 1) || (ok && got[0] != u) {
				t.Fatalf("config %d rotation %s at %s: %v, oracle %q %v\n%+v", c, ro.ID, at.Format(time.RFC3339Nano), got, u, ok, ro)
			}
		}
	}
}

func TestPropertyShiftsTileWindow(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for c := range 200 {
		single := c%2 == 0
		cfg := randConfig(r, single)
		s := mustCompile(t, cfg)
		from := randInstant(r, propFrom, propTo)
		to := from.Add(time.Duration(r.Int64N(int64(40 * 24 * time.Hour))))
		for _, id := range []string{"s", fmt.Sprintf("r%d", r.IntN(4))} {
			checkTiling(t, s, id, from, to, single || !s.IsSchedule(id), r)
		}
	}
}

// checkTiling checks Shifts and Gaps over [from, to) against OnCall.
func checkTiling(t *testing.T, s *Set, id string, from, to time.Time, single bool, r *rand.Rand) {
	t.Helper()
	shifts, err := s.Shifts(id, from, to)
	if err != nil {
		t.Fatal(err)
	}
	gaps, err := s.Gaps(id, from, to)
	if err != nil {
		t.Fatal(err)
	}
	type iv struct {
		s, e time.Time
		user string
	}
	var all []iv
	for _, sh := range shifts {
		if !sh.Start.Before(sh.End) || sh.Start.Before(from) || sh.End.After(to) {
			t.Fatalf("%s: bad shift %+v in [%s, %s)", id, sh, from, to)
		}
		all = append(all, iv{sh.Start, sh.End, sh.User})
		// Boundaries agree with OnCall, and shifts are maximal (merged).
		in := func(at time.Time) bool { u, _ := s.OnCall(id, at); return slices.Contains(u, sh.User) }
		if !in(sh.Start) || !in(sh.End.Add(-time.Nanosecond)) {
			t.Fatalf("%s: %+v not on call at its own bounds", id, sh)
		}
		if (sh.Start.After(from) && in(sh.Start.Add(-time.Nanosecond))) || (sh.End.Before(to) && in(sh.End)) {
			t.Fatalf("%s: %+v is not maximal", id, sh)
		}
	}
	for _, g := range gaps {
		all = append(all, iv{g.Start, g.End, ""})
		if u, _ := s.OnCall(id, g.Start); len(u) != 0 {
			t.Fatalf("%s: gap %+v has %v", id, g, u)
		}
	}
	if single {
		// One user at a time: shifts and gaps tile the window exactly.
		slices.SortFunc(all, func(a, b iv) int { return a.s.Compare(b.s) })
		cur := from
		for _, x := range all {
			if !x.s.Equal(cur) {
				t.Fatalf("%s: tiling breaks at %s (next starts %s)", id, cur, x.s)
			}
			cur = x.e
		}
		if from.Before(to) && !cur.Equal(to) {
			t.Fatalf("%s: tiling ends at %s, want %s", id, cur, to)
		}
	}
	// Any instant: the users of the shifts containing it are OnCall's answer,
	// and it is in a gap exactly when nobody is on call.
	for range 40 {
		if !from.Before(to) {
			break
		}
		at := randInstant(r, from, to)
		var users []string
		inGap := 0
		for _, x := range all {
			if !at.Before(x.s) && at.Before(x.e) {
				if x.user == "" {
					inGap++
				} else {
					users = append(users, x.user)
				}
			}
		}
		want, _ := s.OnCall(id, at)
		slices.Sort(users)
		want = slices.Sorted(slices.Values(want))
		if !equalStrings(users, want) || (inGap == 1) != (len(want) == 0) || inGap > 1 {
			t.Fatalf("%s at %s: shifts give %v (gap %d), OnCall %v", id, at, users, inGap, want)
		}
	}
}

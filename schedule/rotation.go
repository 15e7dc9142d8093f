package schedule

import (
	"slices"
	"time"
)

// span is an interval [s, e) in Unix seconds covered by participant who.
type span struct {
	s, e int64
	who  int
}

// localDay returns the local date (days since 1970-01-01) of instant sec,
// refreshing the hint when sec lies outside its zone period.
func (z *zoneHint) localDay(loc *time.Location, sec int64) int64 {
	if !z.valid || (z.hasStart && sec < z.start) || (z.hasEnd && sec >= z.end) {
		z.set(loc, sec)
	}
	return floorDiv(sec+z.off, secondsPerDay)
}

// turnStart returns the first instant of turn n.
func (r *rotation) turnStart(n int64, z *zoneHint) int64 {
	if r.wall {
		return wallAt(r.loc, r.day0+n*r.days, r.tod, z)
	}
	return r.start0 + n*r.shift
}

// turnAt returns the turn containing sec and its bounds [s, e). It is O(1) in
// the distance from the anchor: wall rotations derive the turn from the
// calendar-day difference, then correct by at most a few turns for handoffs
// that moved across sec (a handoff later in sec's own day, gap resolution).
func (r *rotation) turnAt(sec int64, z *zoneHint) (n, s, e int64) {
	if !r.wall {
		n = floorDiv(sec-r.start0, r.shift)
		return n, r.turnStart(n, z), r.turnStart(n+1, z)
	}
	n = floorDiv(z.localDay(r.loc, sec)-r.day0, r.days)
	s = r.turnStart(n, z)
	for i := 0; s > sec && i < 3; i++ {
		n--
		s = r.turnStart(n, z)
	}
	e = r.turnStart(n+1, z)
	for i := 0; e <= sec && i < 3; i++ {
		n++
		s, e = e, r.turnStart(n+1, z)
	}
	return n, s, e
}

// who maps a turn to its participant index.
func (r *rotation) who(n int64) int {
	return int(floorMod(n, int64(len(r.parts))))
}

// userAt returns the participant on call at sec, if any.
func (r *rotation) userAt(sec int64, z *zoneHint) (string, bool) {
	if len(r.parts) == 0 {
		return "", false
	}
	if len(r.windows) > 0 && !r.active(sec, z) {
		return "", false
	}
	n, _, _ := r.turnAt(sec, z)
	return r.parts[r.who(n)], true
}

// active reports whether sec lies inside one of the rotation's windows. Only
// windows starting on sec's local day, or the day before for windows ending
// the next day, can contain it.
func (r *rotation) active(sec int64, z *zoneHint) bool {
	d := z.localDay(r.loc, sec)
	for i := range r.windows {
		w := &r.windows[i]
		if w.contains(r.loc, d, sec, z) || (w.toDay > 0 && w.contains(r.loc, d-1, sec, z)) {
			return true
		}
	}
	return false
}

// bounds returns the instance of w starting on day.
func (w *window) bounds(loc *time.Location, day int64, z *zoneHint) (s, e int64) {
	return wallAt(loc, day, w.from, z), wallAt(loc, day+w.toDay, w.to, z)
}

// contains reports whether the instance of w starting on day contains sec.
func (w *window) contains(loc *time.Location, day, sec int64, z *zoneHint) bool {
	if !w.days[weekdayOfDay(day)] {
		return false
	}
	s, e := w.bounds(loc, day, z)
	return s <= sec && sec < e
}

// spans lists who covers which part of [a, b), sorted and disjoint, walking
// only the turns and window instances inside the window.
func (r *rotation) spans(a, b int64, budget *int) ([]span, error) {
	if len(r.parts) == 0 || a >= b {
		return nil, nil
	}
	var z zoneHint
	n, s, e := r.turnAt(a, &z)
	var turns []span
	for s < b {
		if err := spend(budget); err != nil {
			return nil, err
		}
		turns = append(turns, span{max(s, a), min(e, b), r.who(n)})
		n++
		s, e = e, r.turnStart(n+1, &z)
	}
	if len(r.windows) == 0 {
		return turns, nil
	}
	act, err := r.activeIntervals(a, b, budget)
	if err != nil {
		return nil, err
	}
	return intersect(turns, act), nil
}

// activeIntervals returns the union of window instances within [a, b), sorted
// and disjoint (who is unused).
func (r *rotation) activeIntervals(a, b int64, budget *int) ([]span, error) {
	var z zoneHint
	first, last := z.localDay(r.loc, a)-1, z.localDay(r.loc, b)
	var out []span
	for d := first; d <= last; d++ {
		for i := range r.windows {
			w := &r.windows[i]
			if !w.days[weekdayOfDay(d)] {
				continue
			}
			if err := spend(budget); err != nil {
				return nil, err
			}
			s, e := w.bounds(r.loc, d, &z)
			if s, e = max(s, a), min(e, b); s < e {
				out = append(out, span{s: s, e: e})
			}
		}
	}
	slices.SortFunc(out, func(x, y span) int { return cmpInt(x.s, y.s) })
	merged := out[:0]
	for _, iv := range out {
		if k := len(merged) - 1; k >= 0 && iv.s <= merged[k].e {
			merged[k].e = max(merged[k].e, iv.e)
			continue
		}
		merged = append(merged, iv)
	}
	return merged, nil
}

// intersect clips the sorted disjoint turns to the sorted disjoint active set.
func intersect(turns, act []span) []span {
	var out []span
	i, j := 0, 0
	for i < len(turns) && j < len(act) {
		s, e := max(turns[i].s, act[j].s), min(turns[i].e, act[j].e)
		if s < e {
			out = append(out, span{s, e, turns[i].who})
		}
		if turns[i].e < act[j].e {
			i++
		} else {
			j++
		}
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxSegments bounds the work one window query may do, so a huge window over
// minute-long shifts fails cleanly instead of exhausting memory.
const maxSegments = 1 << 20

// spend consumes one unit of the query budget.
func spend(budget *int) error {
	*budget--
	if *budget < 0 {
		return ErrRange
	}
	return nil
}

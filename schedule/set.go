package schedule

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Shift is one contiguous period during which User is on call. Times are UTC.
type Shift struct {
	User  string    `json:"user"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Gap is a period during which nobody is on call.
type Gap struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// IDs lists schedule ids then rotation ids, each sorted.
func (s *Set) IDs() []string {
	if s == nil {
		return nil
	}
	return slices.Clone(s.ids)
}

// IsSchedule reports whether id names a schedule (rather than a rotation or
// nothing).
func (s *Set) IsSchedule(id string) bool {
	if s == nil {
		return false
	}
	_, ok := s.schedules[id]
	return ok
}

// Broken lists the schedules and rotations that did not compile, by id,
// with the reason (it wraps ErrInvalid and names the field).
func (s *Set) Broken() map[string]error {
	if s == nil {
		return nil
	}
	return maps.Clone(s.broken)
}

// unknown is the error of a lookup of an id the set cannot answer: the
// reason it did not compile, else ErrUnknown.
func (s *Set) unknown(id string) error {
	if s != nil {
		if err := s.broken[id]; err != nil {
			return err
		}
	}
	return fmt.Errorf("%w: %q", ErrUnknown, id)
}

// Zone returns the zone name in which id's times are shown: the rotation's
// zone, or the schedule's (its own, else the top-level one, else UTC).
func (s *Set) Zone(id string) (string, error) {
	if s == nil {
		return "", s.unknown(id)
	}
	if c, ok := s.schedules[id]; ok {
		return c.zone, nil
	}
	if r, ok := s.rotations[id]; ok {
		return r.zone, nil
	}
	return "", s.unknown(id)
}

// OnCall returns who is on call for schedule or rotation id at instant at:
// the winning layer's user first, then override users in config order. A gap
// is an empty slice and a nil error.
func (s *Set) OnCall(id string, at time.Time) ([]string, error) {
	if err := checkRange(at); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, s.unknown(id)
	}
	sec := at.Unix() // floor: config instants are whole seconds, so comparisons stay exact
	if c, ok := s.schedules[id]; ok {
		return c.onCall(sec), nil
	}
	if r, ok := s.rotations[id]; ok {
		var z zoneHint
		if u, ok := r.userAt(sec, &z); ok {
			return []string{u}, nil
		}
		return []string{}, nil
	}
	return nil, s.unknown(id)
}

// onCall evaluates layers from the last (which wins) and then overrides.
func (c *compiledSchedule) onCall(sec int64) []string {
	var z zoneHint
	var base string
	has := false
	for i := len(c.layers) - 1; i >= 0 && !has; i-- {
		if i < len(c.layers)-1 && c.layers[i].loc != c.layers[i+1].loc {
			z = zoneHint{}
		}
		base, has = c.layers[i].userAt(sec, &z)
	}
	return c.applyOverrides(sec, base, has, make([]string, 0, 2))
}

// applyOverrides puts each override active at sec on call, in config order:
// with replaces only that user leaves, without it everyone else does.
func (c *compiledSchedule) applyOverrides(sec int64, base string, has bool, out []string) []string {
	if has {
		out = append(out, base)
	}
	for i := range c.overrides {
		o := &c.overrides[i]
		if sec < o.from || sec >= o.to {
			continue
		}
		if o.replaces == "" {
			out = out[:0]
		} else if k := slices.Index(out, o.replaces); k >= 0 {
			out = slices.Delete(out, k, k+1)
		}
		if !slices.Contains(out, o.user) {
			out = append(out, o.user)
		}
	}
	return out
}

// seg is a maximal interval [s, e) with one set of users; users is empty in a
// gap.
type seg struct {
	s, e  int64
	users []string
}

// timeline partitions [a, b) into segments of constant on-call set.
func (s *Set) timeline(id string, a, b int64) ([]seg, error) {
	budget := maxSegments
	if c, ok := s.schedules[id]; ok {
		return c.timeline(a, b, &budget)
	}
	if r, ok := s.rotations[id]; ok {
		sp, err := r.spans(a, b, &budget)
		if err != nil {
			return nil, windowErr(err)
		}
		return rotationTimeline(r, sp, a, b), nil
	}
	return nil, s.unknown(id)
}

func windowErr(err error) error {
	return fmt.Errorf("%w: window has more than %d on-call changes; ask for a shorter one", err, maxSegments)
}

// rotationTimeline fills the holes between spans with gap segments.
func rotationTimeline(r *rotation, sp []span, a, b int64) []seg {
	var out []seg
	cur := a
	for _, x := range sp {
		if x.s > cur {
			out = appendSeg(out, seg{cur, x.s, nil})
		}
		out = appendSeg(out, seg{x.s, x.e, []string{r.parts[x.who]}})
		cur = x.e
	}
	if cur < b {
		out = appendSeg(out, seg{cur, b, nil})
	}
	return out
}

// appendSeg appends x, merging it into the previous segment when contiguous
// with the same users.
func appendSeg(out []seg, x seg) []seg {
	if k := len(out) - 1; k >= 0 && out[k].e == x.s && slices.Equal(out[k].users, x.users) {
		out[k].e = x.e
		return out
	}
	return append(out, x)
}

// timeline cuts [a, b) at every layer span and override bound, then evaluates
// each piece once.
func (c *compiledSchedule) timeline(a, b int64, budget *int) ([]seg, error) {
	layers := make([][]span, len(c.layers))
	cuts := []int64{a, b}
	for i, r := range c.layers {
		sp, err := r.spans(a, b, budget)
		if err != nil {
			return nil, windowErr(err)
		}
		layers[i] = sp
		for _, x := range sp {
			cuts = append(cuts, x.s, x.e)
		}
	}
	for _, o := range c.overrides {
		if o.from > a && o.from < b {
			cuts = append(cuts, o.from)
		}
		if o.to > a && o.to < b {
			cuts = append(cuts, o.to)
		}
	}
	slices.Sort(cuts)
	cuts = slices.Compact(cuts)
	ptr := make([]int, len(layers))
	var out []seg
	for k := 0; k+1 < len(cuts); k++ {
		p := cuts[k]
		base, has := c.layerAt(layers, ptr, p)
		users := c.applyOverrides(p, base, has, nil)
		out = appendSeg(out, seg{p, cuts[k+1], users})
	}
	return out, nil
}

// layerAt returns the winning layer user at p; ptr advances monotonically so a
// whole timeline costs one pass over each layer's spans.
func (c *compiledSchedule) layerAt(layers [][]span, ptr []int, p int64) (string, bool) {
	for i := range layers {
		for ptr[i] < len(layers[i]) && layers[i][ptr[i]].e <= p {
			ptr[i]++
		}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if j := ptr[i]; j < len(layers[i]) && layers[i][j].s <= p {
			return c.layers[i].parts[layers[i][j].who], true
		}
	}
	return "", false
}

// secondsWindow converts a query window to whole seconds covering it.
func secondsWindow(from, to time.Time) (a, b int64, err error) {
	if err := checkRange(from); err != nil {
		return 0, 0, err
	}
	if err := checkRange(to); err != nil {
		return 0, 0, err
	}
	a, b = from.Unix(), to.Unix()
	if to.Nanosecond() != 0 {
		b++
	}
	return a, b, nil
}

// clip converts [s, e) seconds to times clipped to [from, to), in UTC.
func clip(s, e int64, from, to time.Time) (time.Time, time.Time, bool) {
	st, en := time.Unix(s, 0), time.Unix(e, 0)
	if st.Before(from) {
		st = from
	}
	if en.After(to) {
		en = to
	}
	return st.UTC(), en.UTC(), st.Before(en)
}

// Shifts returns the shifts of schedule or rotation id clipped to [from, to).
// Each user gets their own shifts: when several users are on call at once
// (an override with replaces adds a user beside the layer's), their shifts
// overlap. A user's consecutive turns merge into one shift. The result is
// sorted by start, then user. A window where from is not before to is empty.
func (s *Set) Shifts(id string, from, to time.Time) ([]Shift, error) {
	tl, err := s.window(id, from, to)
	if err != nil {
		return nil, err
	}
	out := []Shift{}
	open := map[string]int64{}
	closeShift := func(u string, end int64) {
		if st, en, ok := clip(open[u], end, from, to); ok {
			out = append(out, Shift{User: u, Start: st, End: en})
		}
		delete(open, u)
	}
	var prev []string
	for _, g := range tl {
		for _, u := range prev {
			if !slices.Contains(g.users, u) {
				closeShift(u, g.s)
			}
		}
		for _, u := range g.users {
			if _, ok := open[u]; !ok {
				open[u] = g.s
			}
		}
		prev = g.users
	}
	if len(tl) > 0 {
		for _, u := range prev {
			closeShift(u, tl[len(tl)-1].e)
		}
	}
	slices.SortFunc(out, func(x, y Shift) int {
		if c := x.Start.Compare(y.Start); c != 0 {
			return c
		}
		return strings.Compare(x.User, y.User)
	})
	return out, nil
}

// window validates a query window and computes its timeline (nil if empty).
func (s *Set) window(id string, from, to time.Time) ([]seg, error) {
	a, b, err := secondsWindow(from, to)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, s.unknown(id)
	}
	if _, ok := s.schedules[id]; !ok {
		if _, ok := s.rotations[id]; !ok {
			return nil, s.unknown(id)
		}
	}
	if !from.Before(to) {
		return nil, nil
	}
	return s.timeline(id, a, b)
}

// Gaps returns the periods within [from, to) when nobody is on call for id,
// sorted.
func (s *Set) Gaps(id string, from, to time.Time) ([]Gap, error) {
	tl, err := s.window(id, from, to)
	if err != nil {
		return nil, err
	}
	out := []Gap{}
	for _, g := range tl {
		if len(g.users) > 0 {
			continue
		}
		if st, en, ok := clip(g.s, g.e, from, to); ok {
			out = append(out, Gap{st, en})
		}
	}
	return out, nil
}

package schedule

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// ShiftChange is a maximal period in which the on-call set of one schedule or
// rotation differs between two configs in the same way: Lost were on call in
// the old config and are not in the new one, Gained the reverse. Zone is the
// zone the period is best shown in (the rotation's or schedule's).
type ShiftChange struct {
	Schedule string    `json:"schedule"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Lost     []string  `json:"lost"`
	Gained   []string  `json:"gained"`
	Zone     string    `json:"zone"`
}

// DiffShifts is Diff without its error, for callers whose window is known to
// be valid (a few weeks around now). Ids whose timeline cannot be computed are
// left out; call Diff to learn about them.
func DiffShifts(old, new *Set, from, to time.Time) []ShiftChange {
	changes, _ := Diff(old, new, from, to)
	return changes
}

// Diff compares the on-call timelines of every schedule and rotation id in
// either set over [from, to). An id present in only one set counts as nobody
// on call in the other, so everything it covers is gained or lost. A nil set
// is an empty one. Changes are ordered by id (schedules first) then start.
func Diff(old, new *Set, from, to time.Time) ([]ShiftChange, error) {
	if _, _, err := secondsWindow(from, to); err != nil {
		return nil, err
	}
	out := []ShiftChange{}
	var firstErr error
	for _, id := range unionIDs(old, new) {
		changes, err := diffID(id, old, new, from, to)
		if err != nil {
			firstErr = cmpErr(firstErr, fmt.Errorf("%s: %w", id, err))
			continue
		}
		out = append(out, changes...)
	}
	return out, firstErr
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// unionIDs lists the ids of both sets: schedules (in either) first, each group
// sorted.
func unionIDs(old, new *Set) []string {
	seen := map[string]bool{}
	var ids []string
	for _, s := range []*Set{new, old} {
		if s == nil {
			continue
		}
		for _, id := range s.ids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	isSch := func(id string) bool {
		return (old != nil && old.IsSchedule(id)) || (new != nil && new.IsSchedule(id))
	}
	sort.Slice(ids, func(i, j int) bool {
		if a, b := isSch(ids[i]), isSch(ids[j]); a != b {
			return a
		}
		return ids[i] < ids[j]
	})
	return ids
}

// timelineOrGap returns id's timeline in s, or one gap when s lacks id.
func timelineOrGap(s *Set, id string, from, to time.Time) ([]seg, error) {
	if s == nil || (s.schedules[id] == nil && s.rotations[id] == nil) {
		a, b, _ := secondsWindow(from, to)
		if a >= b {
			return nil, nil
		}
		return []seg{{a, b, nil}}, nil
	}
	return s.window(id, from, to)
}

// diffID walks both timelines together, cutting at every boundary of either.
func diffID(id string, old, new *Set, from, to time.Time) ([]ShiftChange, error) {
	to1, err := timelineOrGap(old, id, from, to)
	if err != nil {
		return nil, err
	}
	to2, err := timelineOrGap(new, id, from, to)
	if err != nil {
		return nil, err
	}
	zone := zoneOf(new, id)
	if zone == "" {
		zone = zoneOf(old, id)
	}
	var out []ShiftChange
	i, j := 0, 0
	for i < len(to1) && j < len(to2) {
		s, e := max(to1[i].s, to2[j].s), min(to1[i].e, to2[j].e)
		lost, gained := minus(to1[i].users, to2[j].users), minus(to2[j].users, to1[i].users)
		if st, en, ok := clip(s, e, from, to); ok && (len(lost) > 0 || len(gained) > 0) {
			out = appendChange(out, ShiftChange{Schedule: id, Start: st, End: en, Lost: lost, Gained: gained, Zone: zone})
		}
		if to1[i].e < to2[j].e {
			i++
		} else if to1[i].e > to2[j].e {
			j++
		} else {
			i, j = i+1, j+1
		}
	}
	return out, nil
}

func zoneOf(s *Set, id string) string {
	if s == nil {
		return ""
	}
	z, _ := s.Zone(id)
	return z
}

// minus returns the users of a not in b, sorted.
func minus(a, b []string) []string {
	var out []string
	for _, u := range a {
		if !slices.Contains(b, u) {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

// appendChange merges c into the previous change when contiguous and equal.
func appendChange(out []ShiftChange, c ShiftChange) []ShiftChange {
	if k := len(out) - 1; k >= 0 && out[k].End.Equal(c.Start) &&
		slices.Equal(out[k].Lost, c.Lost) && slices.Equal(out[k].Gained, c.Gained) {
		out[k].End = c.End
		return out
	}
	return append(out, c)
}

// FormatChange renders a change on one line for `pagerd config plan`, in the
// change's zone and in UTC, e.g.
//
//	web-primary  Mon 2026-11-02 09:00 CET → Mon 2026-11-09 09:00 CET (Europe/Amsterdam)  [2026-11-02T08:00:00Z → 2026-11-09T08:00:00Z]  alice → bob
//
// An unknown zone falls back to UTC.
func FormatChange(c ShiftChange) string {
	loc, err := time.LoadLocation(c.Zone)
	if err != nil || c.Zone == "" {
		loc = time.UTC
	}
	const local = "Mon 2006-01-02 15:04 MST"
	return fmt.Sprintf("%s  %s → %s (%s)  [%s → %s]  %s → %s",
		c.Schedule,
		c.Start.In(loc).Format(local), c.End.In(loc).Format(local), loc,
		c.Start.UTC().Format(time.RFC3339), c.End.UTC().Format(time.RFC3339),
		names(c.Lost), names(c.Gained))
}

func names(users []string) string {
	if len(users) == 0 {
		return "nobody"
	}
	return strings.Join(users, ", ")
}

package schedule

import "time"

// Look-around bounds of WholeShifts: it first looks a week beyond each edge
// of the window and doubles that until the edge shifts are whole, up to
// maxWholeLookaround.
const (
	minWholeLookaround = 7 * 24 * time.Hour
	maxWholeLookaround = 448 * 24 * time.Hour
)

// WholeShifts returns the shifts of id that overlap [from, to), each whole:
// a shift that began before from or ends after to keeps its real start and
// end instead of being clipped to the window. A calendar feed needs this:
// its window moves with the request time, and a clipped first or last event
// would change its times and UID on every fetch, so subscribed calendars
// delete and re-add it. Only a shift longer than maxWholeLookaround beyond
// the window (someone on call without a break for over a year) is still cut.
func (s *Set) WholeShifts(id string, from, to time.Time) ([]Shift, error) {
	for pad := minWholeLookaround; ; pad *= 2 {
		wideFrom, wideTo := from.Add(-pad), to.Add(pad)
		if checkRange(wideFrom) != nil || checkRange(wideTo) != nil {
			return s.Shifts(id, from, to) // at the edge of time; clipping is all there is
		}
		wide, err := s.Shifts(id, wideFrom, wideTo)
		if err != nil {
			return nil, err
		}
		out, cut := []Shift{}, false
		for _, sh := range wide {
			if !sh.End.After(from) || !sh.Start.Before(to) {
				continue
			}
			cut = cut || sh.Start.Equal(wideFrom.UTC()) || sh.End.Equal(wideTo.UTC())
			out = append(out, sh)
		}
		if !cut || pad >= maxWholeLookaround {
			return out, nil
		}
	}
}

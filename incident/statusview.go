package incident

import "time"

// EachPublic calls fn with every incident that has a public update and is
// open or was resolved at or after cut, for status pages (not a copy: fn
// must not keep or change it). It visits every incident, so callers cache
// what they build from it.
func (s *State) EachPublic(cut time.Time, fn func(*Incident)) {
	for i := len(s.incidents) - 1; i >= 0; i-- {
		inc := s.incidents[i]
		if inc == nil || len(inc.Updates) == 0 || (inc.ResolvedAt != nil && inc.ResolvedAt.Before(cut)) {
			continue
		}
		if inc.HadPublicUpdate() {
			fn(inc)
		}
	}
}

// HasPublicUpdate reports whether incident id has a public update (cheap:
// the status page cache asks it for every incident an entry touched).
func (s *State) HasPublicUpdate(id uint64) bool {
	inc := s.byID(id)
	return inc != nil && inc.HadPublicUpdate()
}

// PublicUpdateCount is how many public updates incident id has.
func (s *State) PublicUpdateCount(id uint64) int {
	inc := s.byID(id)
	if inc == nil {
		return 0
	}
	n := 0
	for i := range inc.Updates {
		if inc.Updates[i].Public() {
			n++
		}
	}
	return n
}

package incident

import "time"

// AddEntry appends a timeline entry to incident id (false when unknown).
// Package learning records postmortem_* and followup_* changes with it
// (spec §5.2: every change is a timeline entry).
func (s *State) AddEntry(now time.Time, id uint64, typ, actor, msg string) bool {
	inc := s.own(s.byID(id))
	if inc == nil {
		return false
	}
	inc.addEntry(now, typ, actor, msg)
	return true
}

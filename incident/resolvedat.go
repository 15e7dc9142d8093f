package incident

import "time"

// ResolvedAt is when incident id was resolved (false while open or
// unknown). It copies nothing, so the FSM can ask after every command
// whether one was just resolved (a postmortem is due) at no real cost.
func (s *State) ResolvedAt(id uint64) (time.Time, bool) {
	inc := s.byID(id)
	if inc == nil || inc.ResolvedAt == nil {
		return time.Time{}, false
	}
	return *inc.ResolvedAt, true
}

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

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

package incident

// EscalationView is Get without the timeline, for the leader's escalation
// engine: it reads status, escalation, notifications, alerts and roles of
// every incident that changed, and never the timeline, which grows with
// every step and page (copying it showed in storm profiles).
// The resolution summary does read the timeline: the engine builds it from
// Get (escalation/resolution.go).
func (s *State) EscalationView(id uint64) (*Incident, bool) {
	inc := s.byID(id)
	if inc == nil {
		return nil, false
	}
	c := *inc
	c.Timeline = nil
	return c.Clone(), true
}

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
	alerts := c.Alerts
	c.Alerts = nil
	out := c.Clone()
	// The alerts' label and annotation maps are shared, not copied: the
	// state never writes into an alert's maps (a change replaces the alert
	// whole, mergeAlerts) and the engine only reads them. Copying them
	// made the leader allocate, on every change, maps of exactly the sizes
	// the state keeps, which left the leader's heap fragmented after a
	// burst (docs/PERFORMANCE.md, "Leader memory").
	out.Alerts = append([]Alert(nil), alerts...)
	return out, true
}

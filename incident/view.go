package incident

// EscalationView is Get without the timeline, for the leader's escalation
// engine: it reads status, escalation, notifications, alerts and roles of
// every incident that changed, and never the timeline, which grows with
// every step and page (copying it showed in storm profiles).
// The resolution summary does read the timeline: the engine builds it from
// Get (escalation/resolution.go).
//
// What the state never writes into is shared, not copied:
//   - the alerts' label and annotation maps: a change replaces an alert
//     whole (mergeAlerts) and the engine only reads them. Copying them made
//     the leader allocate, on every change, maps of exactly the sizes the
//     state keeps, which left the leader's heap fragmented after a burst
//     (docs/PERFORMANCE.md, "Leader memory");
//   - the times behind pointers (created_at aside, every *time.Time of an
//     incident, its escalation and its notifications): apply always points
//     such a field at a new time (inc.ResolvedAt = &t) and never writes
//     through one (TestEscalationViewUnchangedByLaterApplies). A deep copy
//     of them was about half of the view's allocations, and the engine
//     takes a view of every incident each time it changes (issue 18).
//
// The structs and slices the state does change in place (the incident, its
// escalation, alerts and notifications, updates and roles) are copied.
func (s *State) EscalationView(id uint64) (*Incident, bool) {
	inc := s.byID(id)
	if inc == nil {
		return nil, false
	}
	c := *inc
	c.Timeline = nil
	c.Alerts = append([]Alert(nil), inc.Alerts...)
	if inc.Escalation != nil {
		e := *inc.Escalation
		c.Escalation = &e
	}
	c.Notifications = append([]Notification(nil), inc.Notifications...)
	cloneUpdates(&c)
	cloneRoles(&c, inc)
	return &c, true
}

// Peek is the incident itself, not a copy, for a read under the caller's
// read lock of the state: the caller must neither change it nor keep it
// (or anything it points to) past the lock. The escalation engine reads
// with it whether an incident that changed has anything for it to do, and
// copies only those that have (EscalationView): in a storm about half of
// the changes it sees leave nothing to do (issue 18).
func (s *State) Peek(id uint64) (*Incident, bool) {
	inc := s.byID(id)
	return inc, inc != nil
}

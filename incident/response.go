package incident

import "time"

// FirstAckAt is when the incident was first acknowledged: the first
// acknowledged entry of its timeline (an escalate or an ack timeout clears
// AcknowledgedAt, and a later ack sets it again), else AcknowledgedAt; nil
// if never acknowledged.
func (inc *Incident) FirstAckAt() *time.Time {
	for i := range inc.Timeline {
		if e := &inc.Timeline[i]; e.Type == EntryAcknowledged {
			at := e.At
			return &at
		}
	}
	return cloneTime(inc.AcknowledgedAt)
}

// ImpactStart is where time to resolve is measured from: when customer
// impact began as a person said, else when monitoring detected the problem,
// else the incident's creation.
func (inc *Incident) ImpactStart() time.Time {
	switch {
	case inc.ImpactStartedAt != nil:
		return *inc.ImpactStartedAt
	case inc.DetectedAt != nil:
		return *inc.DetectedAt
	}
	return inc.CreatedAt
}

// EachCreatedIn calls fn with every incident created in [from, to) (not a
// copy: fn must not keep or change it), oldest id first. Ids follow
// creation, but creation times are leader-stamped and two leaders' clocks
// may disagree slightly, so every incident's time is compared (no early
// stop); that is one time comparison per incident ever held.
func (s *State) EachCreatedIn(from, to time.Time, fn func(*Incident)) {
	for _, inc := range s.incidents {
		if !inc.CreatedAt.Before(from) && inc.CreatedAt.Before(to) {
			fn(inc)
		}
	}
}

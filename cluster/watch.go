package cluster

import (
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"slices"
)

// Change says what one applied log entry touched, for the leader's
// escalation engine: it replans exactly those incidents instead of polling.
type Change struct {
	Incidents []uint64
	// All: the whole state may have changed (snapshot restore, new config,
	// an SMS opt-out); replan everything.
	All bool
	// Subscribers: a status page subscriber or fan-out command applied
	// (the leader's subscriber mailer wakes on it).
	Subscribers bool
	// Learning: postmortems, follow-ups or reminder records changed
	// (the reminders engine replans).
	Learning bool
}

// stepStarted is the result value of a StepStart command: the incident's
// id, not a copy of it (see incident.State.RecordStepStart).
type stepStarted struct{ incident uint64 }

// deliveryApplied is the result value of a Delivery command.
type deliveryApplied struct {
	n int
	d *incident.Delivery
}

func (c *Change) note(t CommandType, r Result) {
	switch v := r.Value.(type) {
	case incident.IngestResult:
		if v.Incident != 0 {
			c.Incidents = append(c.Incidents, v.Incident)
		}
	case *incident.Incident:
		if v != nil {
			c.Incidents = append(c.Incidents, v.ID)
		}
	case stepStarted:
		if v.incident != 0 {
			c.Incidents = append(c.Incidents, v.incident)
		}
	case learning.Postmortem: // its timeline got a postmortem_* entry
		c.Incidents = append(c.Incidents, v.Incident)
	case learning.Followup: // its timeline got a followup_* entry
		c.Incidents = append(c.Incidents, v.Incident)
	case continuityApplied:
		if v.incident != 0 {
			c.Incidents = append(c.Incidents, v.incident)
		}
	case deliveryApplied:
		c.Incidents = slices.Grow(c.Incidents, len(v.d.Items)) // a storm's holds: one per page
		for _, it := range v.d.Items {
			c.Incidents = append(c.Incidents, it.Incident)
		}
	}
	if isSubscriberType(t) {
		c.Subscribers = true
	}
	if _, ok := learningNames[t]; ok || t == TypeReview { // reviews move reminder due dates
		c.Learning = true
	}
	if t == TypeConfig || t == TypeSMSOptOut || t == TypeRestoreCommit || t == TypeMaintenance {
		c.All = true
	}
}

// Watch registers fn to be told of every applied change until the returned
// cancel is called. fn runs on the apply path: it must not block or call
// back into the FSM's write side.
func (f *FSM) Watch(fn func(Change)) (cancel func()) {
	f.watchMu.Lock()
	defer f.watchMu.Unlock()
	if f.watchers == nil {
		f.watchers = map[int]func(Change){}
	}
	f.watchSeq++
	id := f.watchSeq
	f.watchers[id] = fn
	return func() {
		f.watchMu.Lock()
		delete(f.watchers, id)
		f.watchMu.Unlock()
	}
}

func (f *FSM) notify(c Change) {
	if len(c.Incidents) == 0 && !c.All && !c.Subscribers && !c.Learning {
		return
	}
	f.watchMu.Lock()
	defer f.watchMu.Unlock()
	for _, fn := range f.watchers {
		fn(c)
	}
}

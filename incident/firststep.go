package incident

import (
	"fmt"
	"time"
)

// FirstStep is the leader's plan of escalation step 0, carried in the
// ingest command that may open an incident (event version 5, alert_group
// version 4; issue 18). With it a new incident that pages now has its first
// step recorded in the same commit that opens it, so its pages are durable,
// and can be sent, one quorum commit after the alert instead of two.
//
// Apply uses the plan only when the command opens a new incident whose
// step 0 is due at once: the very checks a StepStart from the escalation
// engine passes (triggered, seq 0, next_at not after the stamped time), so
// a deferred incident (business hours, a maintenance window), an incident
// of another policy, or a trigger that only updates an open incident ignores
// it and the engine plans as before. The outcome is the state the engine's
// own step start would have recorded: the same notifications, ids, reply
// codes, timeline lines and next_at. The plan is compact (only what the
// leader decides, times relative to the step's start): it rides in every
// trigger that may open an incident.
type FirstStep struct {
	// Policy is the policy the plan is for; apply ignores a plan for
	// another (the incident's policy is the command's Policy).
	Policy string `json:"policy"`
	// ConfigVersion is the active config the leader planned under. The
	// FSM drops the plan when another config was committed in between.
	ConfigVersion string `json:"config_version"`
	// Exhausted: the policy has no step to start (none, or not in the
	// config); Message says why and nobody is paged.
	Exhausted bool `json:"exhausted,omitempty"`
	// NextAfter is when step 1 is due, counted from the step's start (the
	// stamped time): the step's escalate_after, or 0 when it pages nobody.
	NextAfter time.Duration `json:"next_after_ns,omitempty"`
	// Pages are the step's notifications in order; apply names them
	// n<incident>-1-<k>. Schedules and rotations were resolved by the leader
	// when it planned.
	Pages []PlannedPage `json:"pages,omitempty"`
	// Message is the step's timeline line.
	Message string `json:"message"`
}

// PlannedPage is one notification of a planned first step, with only what
// the plan decides (the rest of a Notification follows from it).
type PlannedPage struct {
	User    string `json:"user,omitempty"` // empty for a webhook
	Channel string `json:"channel"`
	To      string `json:"to"`
	// After is when it is due, counted from the step's start (the user's
	// rule's after).
	After time.Duration `json:"after_ns,omitempty"`
	// Error, when set, is why the plan already knows it cannot be sent (a
	// user without a phone): it is recorded failed, not queued.
	Error string `json:"error,omitempty"`
}

// NotificationID is "n<incident>-<seq>-<k>": unique within the cluster,
// stable across a resend, and short enough for a Reply-To token. seq is the
// escalation seq after the step start that queued it.
func NotificationID(incidentID uint64, seq, k int) string {
	return fmt.Sprintf("n%d-%d-%d", incidentID, seq, k)
}

// startFirstStep records the leader's plan of step 0 for inc, just opened
// by the command being applied at now, if it may: see FirstStep. It reports
// whether the step started.
func (s *State) startFirstStep(now time.Time, inc *Incident, fs *FirstStep) bool {
	if fs == nil || inc.Escalation == nil || inc.Escalation.Policy != fs.Policy {
		return false
	}
	st := fs.stepStart(now, inc.ID)
	// The same checks and recording as the engine's StepStart; ErrStale
	// (deferred paging) leaves the incident to the engine.
	_, err := s.applyStepStart(now, &st)
	return err == nil
}

// stepStart is the plan as the StepStart the engine would commit for
// incident id, its step starting at now.
func (fs *FirstStep) stepStart(now time.Time, id uint64) StepStart {
	st := StepStart{Incident: id, Reason: ReasonTrigger, Exhausted: fs.Exhausted, Message: fs.Message, planned: true}
	if !fs.Exhausted {
		next := now.Add(fs.NextAfter)
		st.NextAt = &next
	}
	st.Notifications = make([]Notification, len(fs.Pages))
	for k, p := range fs.Pages {
		n := Notification{ID: NotificationID(id, 1, k), User: p.User, Channel: p.Channel, To: p.To,
			DueAt: now.Add(p.After), Status: NotifyQueued}
		if p.Error != "" {
			n.Status, n.Error = NotifyFailed, p.Error
		}
		st.Notifications[k] = n
	}
	return st
}

// HasOpen reports whether service has an open incident with dedupKey: the
// leader plans no first step for a trigger that only updates one (a storm of
// repeats costs a map lookup each).
func (s *State) HasOpen(service, dedupKey string) bool {
	return s.open[openKey{service, dedupKey}] != nil
}

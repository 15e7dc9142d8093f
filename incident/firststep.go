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
// codes, timeline lines and next_at.
type FirstStep struct {
	// Policy is the policy the plan is for; apply ignores a plan for
	// another (the incident's policy is the command's Policy).
	Policy string `json:"policy"`
	// ConfigVersion is the active config the leader planned under. The
	// FSM drops the plan when another config was committed in between.
	ConfigVersion string `json:"config_version"`
	// At is the instant the leader planned at: schedules and rotations were
	// resolved then. The step's times (next_at, each page's due_at) are
	// moved by the difference to the stamped time the incident opens at, so
	// they count from the step's start as the engine's would.
	At time.Time `json:"at"`
	// Step is the plan: reason trigger, step and loop 0 (or exhausted),
	// notifications without ids (apply names them n<incident>-1-<k>).
	Step StepStart `json:"step"`
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
	if fs == nil || inc.Escalation == nil || inc.Escalation.Policy != fs.Policy || fs.Step.Reason != ReasonTrigger {
		return false
	}
	st := fs.Step.at(now.Sub(fs.At), inc.ID)
	// The same checks and recording as the engine's StepStart; ErrStale
	// (deferred paging) leaves the incident to the engine.
	_, err := s.applyStepStart(now, &st)
	return err == nil
}

// at is the planned step for incident id, its times moved by shift.
func (st StepStart) at(shift time.Duration, id uint64) StepStart {
	out := st
	out.Incident, out.ExpectSeq, out.LogVersion = id, 0, 0
	if st.NextAt != nil {
		next := st.NextAt.Add(shift)
		out.NextAt = &next
	}
	out.Notifications = make([]Notification, len(st.Notifications))
	for k, n := range st.Notifications {
		n.ID = NotificationID(id, 1, k)
		n.DueAt = n.DueAt.Add(shift)
		out.Notifications[k] = n
	}
	return out
}

// HasOpen reports whether service has an open incident with dedupKey: the
// leader plans no first step for a trigger that only updates one (a storm of
// repeats costs a map lookup each).
func (s *State) HasOpen(service, dedupKey string) bool {
	return s.open[openKey{service, dedupKey}] != nil
}

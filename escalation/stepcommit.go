package escalation

import (
	"errors"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// A step start whose commit fails is retried after 1 s, 2 s, 4 s … up to
// stepRetryMax, maxStepCommitAttempts times in all (about two minutes).
// Then this term stops trying that step until the incident changes (any
// command touching it resets the count) or a new term reconciles it: a
// commit that fails that long is not a blip, and retrying an apply error
// forever would only flood the log. Its queued pages still go out.
const (
	maxStepCommitAttempts = 8
	stepRetryMax          = time.Minute
)

// stepRetryDelay is the wait after the n-th failed step commit in a row.
func stepRetryDelay(n int) time.Duration {
	if n > 7 {
		return stepRetryMax
	}
	return min(time.Second<<(n-1), stepRetryMax)
}

func (t *term) logStepCommit(st *incident.StepStart, err error, fails int) {
	switch {
	case err == nil:
		t.e.metrics.steps.WithLabelValues(stepLabel(st)).Inc()
	case errors.Is(err, incident.ErrStale), t.ctx.Err() != nil:
	case fails >= maxStepCommitAttempts:
		t.e.log.Error("commit escalation step failed; not retrying until the incident changes or leadership moves",
			"incident", incident.KeyFor(st.Incident), "reason", st.Reason, "attempts", fails, "err", err)
	default:
		t.e.log.Warn("commit escalation step; retrying", "incident", incident.KeyFor(st.Incident),
			"attempt", fails, "retry_in", stepRetryDelay(fails), "err", err)
	}
}

// observeAck observes an incident's time to acknowledge once, on the
// leader, when its first acknowledgement was committed in this term.
// Observing in apply counted every acknowledgement again on each node and
// on every log replay. ackSeen grows by one small entry per incident
// acknowledged in the term.
func (t *term) observeAck(inc *incident.Incident) {
	at := inc.FirstAckAt()
	if at == nil || t.ackSeen[inc.ID] {
		return
	}
	t.ackSeen[inc.ID] = true
	if at.Before(t.start) {
		return // committed before this term: replayed, or a previous leader's
	}
	t.e.metrics.timeToAck.WithLabelValues(inc.Service, inc.Severity).Observe(at.Sub(inc.CreatedAt).Seconds())
}

// observeResolve observes an incident's time to resolve (from its impact
// start, as the response report measures it) once, like observeAck: only
// a resolve committed in this term, once per incident.
func (t *term) observeResolve(inc *incident.Incident) {
	at := inc.ResolvedAt
	if at == nil || t.resolveSeen[inc.ID] {
		return
	}
	t.resolveSeen[inc.ID] = true
	if at.Before(t.start) {
		return
	}
	t.e.metrics.timeToResolve.WithLabelValues(inc.Service, inc.Severity).Observe(at.Sub(inc.ImpactStart()).Seconds())
}

// observeFirstStep counts, once, a step 0 that started in the apply of the
// command that opened the incident (incident.FirstStep: planned by the
// leader into the trigger, so this engine committed no step start for it)
// in pagerd_escalation_steps_total, as if the engine had started it. Only
// one started in this term: an earlier one was counted by its leader.
func (t *term) observeFirstStep(inc *incident.Incident) {
	esc := inc.Escalation
	if esc == nil || esc.StepStartedAt == nil || !esc.StepStartedAt.Equal(inc.CreatedAt) || esc.StepStartedAt.Before(t.start) {
		return
	}
	t.mu.Lock()
	seen := t.firstSeen[inc.ID]
	t.firstSeen[inc.ID] = true
	t.mu.Unlock()
	if !seen {
		label := incident.ReasonTrigger
		if esc.Exhausted {
			label = "exhausted"
		}
		t.e.metrics.steps.WithLabelValues(label).Inc()
	}
}

func stepLabel(st *incident.StepStart) string {
	if st.Exhausted {
		return "exhausted"
	}
	return st.Reason
}

package escalation

import (
	"context"
	"errors"

	"github.com/pagerd/pagerd/incident"
)

// stepsSubmitter is a store that commits several step starts together
// (*cluster.Node: one log entry); a store without it gets them one by one.
type stepsSubmitter interface {
	SubmitStepStarts(ctx context.Context, sts []*incident.StepStart) []error
}

// queueStep queues a planned step start for commitSteps; the incident is
// busy (no second plan) until its commit returns.
func (t *term) queueStep(st *incident.StepStart) {
	t.mu.Lock()
	t.busy[st.Incident] = true
	if st.Reason == incident.ReasonTrigger {
		t.firstSeen[st.Incident] = true // counted by logStepCommit, not observeFirstStep
	}
	t.mu.Unlock()
	t.planned = append(t.planned, st)
}

// commitSteps commits the step starts planned in this engine pass
// together, in one background task (issue 18: not a goroutine and a log
// entry each): a storm's timeouts due at one instant cost one commit.
func (t *term) commitSteps() {
	sts := t.planned
	t.planned = nil
	if len(sts) == 0 {
		return
	}
	t.async(func() {
		var errs []error
		if s, ok := t.e.opts.Store.(stepsSubmitter); ok {
			errs = s.SubmitStepStarts(t.ctx, sts)
		} else {
			errs = make([]error, len(sts))
			for i, st := range sts {
				errs[i] = t.e.opts.Store.SubmitStepStart(t.ctx, st)
			}
		}
		for i, st := range sts {
			t.stepCommitted(st, errs[i])
		}
		t.signal()
	})
}

// stepCommitted handles the result of one step start's commit.
func (t *term) stepCommitted(st *incident.StepStart, err error) {
	t.mu.Lock()
	delete(t.busy, st.Incident)
	fails := 0
	switch {
	case err == nil, errors.Is(err, incident.ErrStale):
		// Committed, or replan from the state that won.
		delete(t.stepFails, st.Incident)
		t.dirty[st.Incident] = true
	default:
		// Not committed (no quorum, leadership lost, an apply error):
		// try again after a backoff, a bounded number of times.
		t.stepFails[st.Incident]++
		fails = t.stepFails[st.Incident]
		if fails < maxStepCommitAttempts {
			t.timers.set(st.Incident, t.e.opts.Clock.Now().Add(stepRetryDelay(fails)))
		}
	}
	t.mu.Unlock()
	t.logStepCommit(st, err, fails)
}

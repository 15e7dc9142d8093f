package cluster

import (
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// Issue 18: the leader plans escalation step 0 into the ingest command that
// may open an incident (incident.FirstStep), so a new incident that pages
// now needs one quorum commit before its page is recorded, not two (the
// trigger, then the engine's step start).

// Versions of the ingest commands that carry the first step.
const (
	firstStepEventVersion      = 5
	firstStepAlertGroupVersion = 4
)

// FirstStepPlanner plans step 0 of a policy at an instant, as the
// escalation engine would (escalation.FirstStepPlanner). The result is
// shared and must not be changed.
type FirstStepPlanner interface {
	PlanFirstStep(cfg *config.Config, configVersion string, set *schedule.Set, setVersion, policy string, at time.Time) *incident.FirstStep
}

// firstStepFor is the plan of step 0 for an ingest command of type t that
// may open an incident of service with dedupKey under policy: nil without
// a planner or policy, while the version gate writes a version of t without
// the plan (a member does not apply it), and when an incident of that key
// is open already (the trigger only updates it; should it be resolved
// before the command applies, the engine plans the new incident's step, as
// it did before). Apply decides whether the plan is used (FirstStep).
func (n *Node) firstStepFor(t CommandType, service, dedupKey, policy string) *incident.FirstStep {
	if n.opts.FirstSteps == nil || policy == "" || !n.writesFirstStep(t) {
		return nil
	}
	open := false
	n.fsm.ReadIncidents(func(s *incident.State) { open = s.HasOpen(service, dedupKey) })
	ac := n.fsm.Config()
	if open || ac == nil || ac.Config == nil {
		return nil
	}
	set, setVersion, _ := n.fsm.Schedules() // nil set: the plan says schedules are unavailable, as the engine's would
	return n.opts.FirstSteps.PlanFirstStep(ac.Config, ac.Version, set, setVersion, policy, n.planNow())
}

// writesFirstStep: the gate lets the leader write the version of t that
// carries the plan.
func (n *Node) writesFirstStep(t CommandType) bool {
	v, _ := n.writableVersion(t)
	switch t {
	case TypeEvent:
		return v >= firstStepEventVersion
	case TypeAlertGroup:
		return v >= firstStepAlertGroupVersion
	}
	return false
}

// usableFirstStep is the plan a command of version v carries if apply may
// use it: none below the version that introduced it (a body written by an
// earlier build is applied as that build applied it), and none planned
// under another config than the one now active (replicated state, so every
// replica decides alike).
func (f *FSM) usableFirstStep(fs *incident.FirstStep, v, since uint8) *incident.FirstStep {
	if fs == nil || v < since {
		return nil
	}
	if ac := f.config.Load(); ac == nil || ac.Version != fs.ConfigVersion {
		return nil
	}
	return fs
}

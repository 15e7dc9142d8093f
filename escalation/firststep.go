package escalation

import (
	"strings"
	"sync"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// FirstStepPlanner plans escalation step 0 of a policy for the leader to put
// into an ingest command (incident.FirstStep, issue 18): planStep as the
// engine runs it for a new incident, so the state apply records is the one
// the engine's own step start would have recorded. Safe for concurrent use.
//
// Plans are cached per policy while the config and schedules are the same
// and nobody's shift begins or ends (the plan's times are relative to the
// step's start, which apply sets to the stamped time), so a storm plans
// each policy about once.
type FirstStepPlanner struct {
	mu    sync.Mutex
	cache map[string]cachedFirstStep // by policy id
}

type cachedFirstStep struct {
	version     string    // config and schedule set versions
	from, until time.Time // the plan holds for instants in [from, until); zero until: no bound
	plan        *incident.FirstStep
}

// NewFirstStepPlanner returns a planner with an empty cache.
func NewFirstStepPlanner() *FirstStepPlanner {
	return &FirstStepPlanner{cache: map[string]cachedFirstStep{}}
}

// cacheHorizon bounds how far ahead a plan with schedule targets is trusted
// without looking at the shifts again.
const cacheHorizon = time.Hour

// PlanFirstStep returns the plan of step 0 of policyID at instant at under
// cfg (version configVersion) and the compiled schedules set (version
// setVersion, nil when they do not compile). The result is shared: callers
// must not change it.
func (p *FirstStepPlanner) PlanFirstStep(cfg *config.Config, configVersion string, set *schedule.Set, setVersion, policyID string, at time.Time) *incident.FirstStep {
	version := configVersion + "/" + setVersion
	p.mu.Lock()
	c, ok := p.cache[policyID]
	p.mu.Unlock()
	if ok && c.version == version && !at.Before(c.from) && (c.until.IsZero() || at.Before(c.until)) {
		return c.plan
	}
	inc := &incident.Incident{Escalation: &incident.Escalation{Policy: policyID}}
	plan := compactPlan(planStep(inc, incident.ReasonTrigger, cfg, set, at), at)
	plan.Policy, plan.ConfigVersion = policyID, configVersion
	if until, ok := planValidUntil(cfg, set, policyID, at); ok {
		p.mu.Lock()
		p.cache[policyID] = cachedFirstStep{version: version, from: at, until: until, plan: plan}
		p.mu.Unlock()
	}
	return plan
}

// compactPlan is st, planned at at, as the plan apply turns back into it
// (incident.FirstStep): what the leader decided, times relative to at.
func compactPlan(st *incident.StepStart, at time.Time) *incident.FirstStep {
	fs := &incident.FirstStep{Exhausted: st.Exhausted, Message: st.Message}
	if st.NextAt != nil && !st.Exhausted {
		fs.NextAfter = st.NextAt.Sub(at)
	}
	if len(st.Notifications) > 0 {
		fs.Pages = make([]incident.PlannedPage, len(st.Notifications))
	}
	for k, n := range st.Notifications {
		p := incident.PlannedPage{User: n.User, Channel: n.Channel, To: n.To, After: n.DueAt.Sub(at)}
		if n.Status == incident.NotifyFailed {
			p.Error = n.Error
		}
		fs.Pages[k] = p
	}
	return fs
}

// planValidUntil is until when the plan of step 0 of policyID made at at
// stays the same: unbounded (zero) without schedule or rotation targets,
// else the next start or end of a shift of any of them within the cache
// horizon. false: the plan names the instant (nobody on call at ..., a
// schedule error) and is not reused.
func planValidUntil(cfg *config.Config, set *schedule.Set, policyID string, at time.Time) (time.Time, bool) {
	pol, ok := policy(cfg, policyID)
	if !ok || len(pol.Steps) == 0 {
		return time.Time{}, true
	}
	var until time.Time
	for _, target := range pol.Steps[0].Notify {
		kind, id, _ := strings.Cut(target, ":")
		if kind != "schedule" && kind != "rotation" {
			continue
		}
		if users, err := onCall(set, id, at); err != nil || len(users) == 0 {
			return time.Time{}, false
		}
		end := at.Add(cacheHorizon)
		shifts, err := set.Shifts(id, at, end)
		if err != nil {
			return time.Time{}, false
		}
		for _, sh := range shifts {
			if sh.Start.After(at) && sh.Start.Before(end) {
				end = sh.Start
			}
			if sh.End.After(at) && sh.End.Before(end) {
				end = sh.End
			}
		}
		until = earliest(until, end)
	}
	return until, true
}

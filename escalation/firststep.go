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
// and nobody's shift begins or ends (the plan's times are relative to its
// start, and apply moves them to the stamped time), so a storm plans each
// policy about once and a repeat trigger costs a map lookup.
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
	st := planStep(inc, incident.ReasonTrigger, cfg, set, at)
	st.Incident = 0
	for i := range st.Notifications {
		st.Notifications[i].ID = "" // apply names them after the incident
	}
	plan := &incident.FirstStep{Policy: policyID, ConfigVersion: configVersion, At: at, Step: *st}
	if until, ok := planValidUntil(cfg, set, policyID, at); ok {
		p.mu.Lock()
		p.cache[policyID] = cachedFirstStep{version: version, from: at, until: until, plan: plan}
		p.mu.Unlock()
	}
	return plan
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

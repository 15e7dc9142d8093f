package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"
	"github.com/robfig/cron/v3"
)

// Service criticality tiers (spec §5.1). tier0 is mission critical; tier0
// and tier1 services must carry a full recovery record (CriticalFields).
const (
	Tier0 = "tier0"
	Tier1 = "tier1"
	Tier2 = "tier2"
	Tier3 = "tier3"
)

// Critical reports whether the service's tier demands a recovery record.
func (s Service) Critical() bool { return s.Criticality == Tier0 || s.Criticality == Tier1 }

// RecoverWithinRTO is the value of drills[].pass.recover_within that means
// "the drill's service's rto".
const RecoverWithinRTO = "rto"

// Defaults of a drill.
const (
	DefaultDrillAckWithin = Duration(5 * time.Minute)
	DefaultDrillSeverity  = "sev2"
)

// Heartbeat expects a ping every Every; Grace more without one opens an
// incident (dedup key "heartbeat:<id>") on Service, and the next ping
// resolves it. A heartbeat with Alertmanager set is pinged by the firing
// alerts of that integration that match its matchers (the Watchdog).
type Heartbeat struct {
	ID           string                 `yaml:"id"`
	Service      string                 `yaml:"service"`
	Key          string                 `yaml:"key" secret:"true"`
	Every        Duration               `yaml:"every"`
	Grace        Duration               `yaml:"grace"`
	Severity     string                 `yaml:"severity"`
	Title        string                 `yaml:"title"`
	Alertmanager *HeartbeatAlertmanager `yaml:"alertmanager"`
}

// HeartbeatAlertmanager names the integration and the alerts that ping.
type HeartbeatAlertmanager struct {
	Integration string   `yaml:"integration"`
	Matchers    []string `yaml:"matchers"`
	// Compiled holds Matchers parsed by Parse; an alert pings when it
	// matches all of them.
	Compiled []*labels.Matcher `yaml:"-"`
}

// DedupKey is the dedup key of the heartbeat's incident.
func (h Heartbeat) DedupKey() string { return "heartbeat:" + h.ID }

// Deadline is how long after a ping the heartbeat is declared down.
func (h Heartbeat) Deadline() time.Duration { return h.Every.D() + h.Grace.D() }

// IncidentTitle is the title of the incident a missing heartbeat opens.
func (h Heartbeat) IncidentTitle() string {
	if h.Title != "" {
		return h.Title
	}
	return "Heartbeat " + h.ID + " missed"
}

// Matches reports whether an alert's labels ping the heartbeat.
func (a *HeartbeatAlertmanager) Matches(ls map[string]string) bool {
	for _, m := range a.Compiled {
		if !m.Matches(ls[m.Name]) {
			return false
		}
	}
	return true
}

// Drill pages a service's policy for real on a cron schedule (spec §5.1).
type Drill struct {
	ID       string    `yaml:"id"`
	Service  string    `yaml:"service"`
	Cron     string    `yaml:"cron"`
	Timezone string    `yaml:"timezone"`
	Severity string    `yaml:"severity"`
	Pass     DrillPass `yaml:"pass"`

	sched cron.Schedule
}

// DrillPass is what a run must achieve to pass.
type DrillPass struct {
	AckWithin Duration `yaml:"ack_within"`
	// RecoverWithin is a duration or RecoverWithinRTO.
	RecoverWithin string `yaml:"recover_within"`
}

// Next is the first scheduled run strictly after t (zero when the drill's
// cron never fires again or did not compile).
func (d Drill) Next(t time.Time) time.Time {
	if d.sched == nil {
		return time.Time{}
	}
	return d.sched.Next(t).UTC()
}

// RecoverLimit is how long a run may take to resolve: recover_within, or
// the service's rto.
func (d Drill) RecoverLimit(c *Config) time.Duration {
	if d.Pass.RecoverWithin == RecoverWithinRTO || d.Pass.RecoverWithin == "" {
		if s, ok := c.Service(d.Service); ok {
			return s.RTO.D()
		}
		return 0
	}
	v, _ := ParseDuration(d.Pass.RecoverWithin)
	return v.D()
}

// Heartbeat returns the heartbeat with id.
func (c *Config) Heartbeat(id string) (Heartbeat, bool) {
	for _, h := range c.Heartbeats {
		if h.ID == id {
			return h, true
		}
	}
	return Heartbeat{}, false
}

// Drill returns the drill with id.
func (c *Config) Drill(id string) (Drill, bool) {
	for _, d := range c.Drills {
		if d.ID == id {
			return d, true
		}
	}
	return Drill{}, false
}

// cronParser reads the classic 5-field cron syntax (with @daily and the like).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// checkContinuity validates the catalogue fields of every service, the
// dependency graph, the heartbeats and the drills.
func (v *validator) checkContinuity() {
	for i := range v.cfg.Services {
		v.checkCatalogue(i, v.cfg.Services[i])
	}
	v.checkDependencyCycles()
	v.checkHeartbeats()
	v.checkDrills()
}

// criticalFields are what a tier0 or tier1 service must say, in the order
// they are reported.
var criticalFields = []string{"rto", "rpo", "runbook", "continuity_plan", "owner", "continuity_manager"}

func (v *validator) checkCatalogue(i int, s Service) {
	p := idx("services", i, "")
	switch s.Criticality {
	case "", Tier0, Tier1, Tier2, Tier3:
	default:
		v.add(p+".criticality", "unknown tier %q (use tier0, tier1, tier2 or tier3)", s.Criticality)
	}
	if s.Critical() {
		for _, f := range criticalFields {
			if _, set := v.where[p+"."+f]; !set {
				v.add(p, "%s: required for a %s service (tier0 and tier1 need rto, rpo, runbook, continuity_plan, owner and continuity_manager)", f, s.Criticality)
			}
		}
	}
	for _, d := range []struct {
		f string
		d Duration
	}{{"rto", s.RTO}, {"rpo", s.RPO}, {"review_every", s.ReviewEvery}} {
		if d.d < 0 {
			v.add(p+"."+d.f, "must not be negative")
		}
	}
	if _, set := v.where[p+".rto"]; set && s.RTO == 0 {
		v.add(p+".rto", "must be positive")
	}
	for f, u := range map[string]string{"owner": s.Owner, "continuity_manager": s.ContinuityManager} {
		if u != "" && !v.users[u] {
			v.add(p+"."+f, "unknown user %q", u)
		}
	}
	for f, u := range map[string]string{"runbook": s.Runbook, "continuity_plan": s.ContinuityPlan} {
		if u != "" && checkURL(u) != nil {
			v.add(p+"."+f, "invalid URL %q (want an absolute http or https URL)", u)
		}
	}
	seen := map[string]bool{}
	for k, d := range s.DependsOn {
		dp := idx(p+".depends_on", k, "")
		switch {
		case d == s.ID:
			v.add(dp, "service %q cannot depend on itself", d)
		case !v.services[d]:
			v.add(dp, "unknown service %q", d)
		case seen[d]:
			v.add(dp, "service %q is listed twice", d)
		}
		seen[d] = true
	}
}

// checkDependencyCycles refuses a depends_on cycle, naming every service on
// it, at the entry that closes it.
func (v *validator) checkDependencyCycles() {
	ss := v.cfg.Services
	index := map[string]int{}
	for i, s := range ss {
		if _, dup := index[s.ID]; !dup {
			index[s.ID] = i
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(ss))
	var path []string
	var visit func(i int)
	visit = func(i int) {
		state[i] = onPath
		path = append(path, ss[i].ID)
		for k, d := range ss[i].DependsOn {
			j, ok := index[d]
			if !ok || d == ss[i].ID {
				continue // reported by checkCatalogue
			}
			switch state[j] {
			case onPath:
				start := 0
				for path[start] != d {
					start++
				}
				cycle := append(append([]string{}, path[start:]...), d)
				v.add(idx(idx("services", i, "depends_on"), k, ""), "dependency cycle: %s", strings.Join(cycle, " -> "))
			case unseen:
				visit(j)
			}
		}
		path = path[:len(path)-1]
		state[i] = done
	}
	for i := range ss {
		if state[i] == unseen {
			visit(i)
		}
	}
}

func (v *validator) checkHeartbeats() {
	hs := v.cfg.Heartbeats
	v.ids(len(hs), func(i int) string { return hs[i].ID }, func(i int) string { return idx("heartbeats", i, "id") })
	keys := map[string]string{}
	for i := range hs {
		h := &hs[i]
		p := idx("heartbeats", i, "")
		v.checkContinuityService(p, h.Service)
		if h.Every <= 0 {
			v.add(p+".every", "required: a positive duration (how often a ping is due)")
		}
		if h.Grace < 0 {
			v.add(p+".grace", "must not be negative")
		}
		if h.Severity != "" && !ValidSeverity(h.Severity) {
			v.add(p+".severity", "unknown severity %q (use sev1, sev2 or sev3)", h.Severity)
		}
		if h.Alertmanager == nil && h.Key == "" {
			v.add(p+".key", "required (pings authenticate with it), unless alertmanager is set")
		}
		if h.Key != "" {
			if prev, dup := keys[h.Key]; dup {
				v.add(p+".key", "same value as %s; every heartbeat key must be distinct", prev)
			}
			keys[h.Key] = p + ".key"
			for j, in := range v.cfg.Integrations {
				if in.Key == h.Key {
					v.add(p+".key", "same value as %s; use separate secrets", idx("integrations", j, "key"))
				}
			}
		}
		if am := h.Alertmanager; am != nil {
			v.checkHeartbeatAM(p+".alertmanager", am)
		}
	}
}

func (v *validator) checkHeartbeatAM(p string, am *HeartbeatAlertmanager) {
	found := false
	for _, in := range v.cfg.Integrations {
		found = found || in.Name == am.Integration
	}
	switch {
	case am.Integration == "":
		v.add(p+".integration", "required (the integration whose webhooks ping)")
	case !found:
		v.add(p+".integration", "unknown integration %q", am.Integration)
	}
	if len(am.Matchers) == 0 {
		v.add(p+".matchers", "at least one matcher is required (e.g. 'alertname=\"Watchdog\"')")
	}
	am.Compiled = v.compileMatchers(p+".matchers", am.Matchers)
}

func (v *validator) checkContinuityService(p, id string) {
	switch {
	case id == "":
		v.add(p+".service", "required")
	case !v.services[id]:
		v.add(p+".service", "unknown service %q", id)
	}
}

func (v *validator) checkDrills() {
	ds := v.cfg.Drills
	v.ids(len(ds), func(i int) string { return ds[i].ID }, func(i int) string { return idx("drills", i, "id") })
	for i := range ds {
		d := &ds[i]
		p := idx("drills", i, "")
		v.checkContinuityService(p, d.Service)
		if d.Severity == "" {
			d.Severity = DefaultDrillSeverity
		} else if !ValidSeverity(d.Severity) {
			v.add(p+".severity", "unknown severity %q (use sev1, sev2 or sev3)", d.Severity)
		}
		if d.Pass.AckWithin == 0 {
			d.Pass.AckWithin = DefaultDrillAckWithin
		} else if d.Pass.AckWithin < 0 {
			v.add(p+".pass.ack_within", "must be positive")
		}
		v.checkRecoverWithin(p, d)
		loc := v.top
		if d.Timezone != "" {
			loc = v.zone(p+".timezone", d.Timezone)
		}
		if loc == nil {
			loc = time.UTC
		}
		d.Timezone = loc.String()
		if d.Cron == "" {
			v.add(p+".cron", "required (5-field cron: minute hour day-of-month month day-of-week)")
			continue
		}
		sched, err := parseCron(d.Cron)
		if err != nil {
			v.add(p+".cron", "%v", err)
			continue
		}
		if spec, ok := sched.(*cron.SpecSchedule); ok {
			spec.Location = loc
		}
		d.sched = sched
	}
}

func (v *validator) checkRecoverWithin(p string, d *Drill) {
	rw := d.Pass.RecoverWithin
	if rw == "" || rw == RecoverWithinRTO {
		d.Pass.RecoverWithin = RecoverWithinRTO
		if s, ok := v.cfg.Service(d.Service); ok && s.RTO <= 0 {
			v.add(p+".pass.recover_within", "%s means the service's rto, but service %q has none (set its rto or a duration here)", RecoverWithinRTO, d.Service)
		}
		return
	}
	if dur, err := ParseDuration(rw); err != nil || dur <= 0 {
		v.add(p+".pass.recover_within", "invalid value %q (want %q or a positive duration such as 30m)", rw, RecoverWithinRTO)
	}
}

// parseCron guards the third-party parser: a config must not crash a node.
func parseCron(s string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("cannot parse cron expression %q: %v", s, r)
		}
	}()
	if strings.HasPrefix(strings.TrimSpace(s), "TZ=") || strings.HasPrefix(strings.TrimSpace(s), "CRON_TZ=") {
		return nil, fmt.Errorf("invalid cron expression %q: set the zone with timezone, not TZ=", s)
	}
	sched, err = cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("invalid cron expression %q (want 5 fields: minute hour day-of-month month day-of-week): %v", s, err)
	}
	return sched, nil
}

// Short formats the duration as it is written in a config ("1h", "90d",
// "1h30m"), for people reading the catalogue.
func (d Duration) Short() string { return model.Duration(d).String() }

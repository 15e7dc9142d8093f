package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Service continuity state (spec §5.1, §5.4): heartbeat pings and drill
// runs. Both are replicated beside the incidents, and the commands that
// change them open and resolve their incidents in the same apply, so a
// leader change can never leave a ping recorded but its incident open, or a
// drill run recorded without its incident (or opened twice).

// Heartbeat command operations.
const (
	HeartbeatPing = "ping" // a ping: records the time, resolves an open incident
	HeartbeatFail = "fail" // the job says it failed: opens the incident now
	HeartbeatDown = "down" // the leader saw the deadline pass: opens the incident
)

// HeartbeatCommand is one heartbeat event. For HeartbeatDown, LastPing is the
// last ping the leader saw when it judged the deadline passed: if a ping
// was committed since, apply ignores the command.
type HeartbeatCommand struct {
	ID        string              `json:"id"`
	Op        string              `json:"op"`
	Source    string              `json:"source,omitempty"` // api | alertmanager
	LastPing  *time.Time          `json:"last_ping,omitempty"`
	Deferrals []incident.Deferral `json:"deferrals,omitempty"`
}

// HeartbeatState is the replicated state of one heartbeat.
type HeartbeatState struct {
	ID         string     `json:"id"`
	LastPingAt *time.Time `json:"last_ping_at"`
	Pings      uint64     `json:"pings"`
	// Incident is the heartbeat's incident while it is open (0 otherwise).
	Incident uint64 `json:"incident,omitempty"`
}

// Drill run statuses.
const (
	DrillRunning = "running"
	DrillPassed  = "passed"
	DrillFailed  = "failed"
	DrillSkipped = "skipped"
)

// DrillRunCommand starts one run. The run id is the drill id and the
// scheduled time, so a second leader committing the same scheduled run is
// a no-op: a run is never doubled.
type DrillRunCommand struct {
	Drill       string              `json:"drill"`
	ScheduledAt time.Time           `json:"scheduled_at"`
	Manual      bool                `json:"manual,omitempty"`
	By          string              `json:"by,omitempty"`
	Deferrals   []incident.Deferral `json:"deferrals,omitempty"`
}

// DrillRunID names the run of drill scheduled at t.
func DrillRunID(drill string, t time.Time) string {
	return drill + "@" + t.UTC().Format("20060102T150405Z")
}

// DrillRun is one run of a drill and its result.
type DrillRun struct {
	ID          string    `json:"id"`
	Drill       string    `json:"drill"`
	Service     string    `json:"service"`
	ScheduledAt time.Time `json:"scheduled_at"`
	StartedAt   time.Time `json:"started_at"`
	Manual      bool      `json:"manual,omitempty"`
	By          string    `json:"by,omitempty"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	Incident    string    `json:"incident,omitempty"`
	IncidentID  uint64    `json:"incident_id,omitempty"`
	// The measures, in seconds, and what the run was held to.
	AckWithinSeconds     float64    `json:"ack_within_seconds"`
	RecoverWithinSeconds float64    `json:"recover_within_seconds"`
	AckedAt              *time.Time `json:"acked_at,omitempty"`
	AckedBy              string     `json:"acked_by,omitempty"`
	AckChannel           string     `json:"ack_channel,omitempty"`
	TimeToAckSeconds     *float64   `json:"time_to_ack_seconds,omitempty"`
	ResolvedAt           *time.Time `json:"resolved_at,omitempty"`
	TimeToResolveSeconds *float64   `json:"time_to_resolve_seconds,omitempty"`
	// StepReached is the highest escalation step (1-based) that paged.
	StepReached int        `json:"step_reached,omitempty"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
	// Report is the result mail to the continuity manager and owner:
	// "due" once the result is recorded, then "sent" or "failed: ...".
	Report string `json:"report,omitempty"`
}

// DrillResultCommand records a run's result (from the leader's judge) or
// the outcome of its report mail.
type DrillResultCommand struct {
	Run    string   `json:"run"`
	Result DrillRun `json:"result"`
	// ReportOutcome, when set, only records the report mail's outcome.
	ReportOutcome string `json:"report_outcome,omitempty"`
}

// maxDrillRuns bounds the replicated run history (oldest dropped first).
const maxDrillRuns = 2000

type continuityState struct {
	Heartbeats map[string]*HeartbeatState `json:"heartbeats,omitempty"`
	Runs       []DrillRun                 `json:"drill_runs,omitempty"`
}

func (c *continuityState) empty() bool { return len(c.Heartbeats) == 0 && len(c.Runs) == 0 }

// continuityApplied is the result of a continuity command: the value for
// the submitter and the incident it touched, for the escalation engine.
type continuityApplied struct {
	value    any
	incident uint64
}

// applyHeartbeat runs under the FSM lock.
func (f *FSM) applyHeartbeat(now time.Time, body []byte) Result {
	var c HeartbeatCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode heartbeat command: %w", err)}
	}
	cfg := f.activeConfig()
	if cfg == nil {
		return Result{Err: fmt.Errorf("%w: no config committed yet", incident.ErrNotFound)}
	}
	hb, ok := cfg.Heartbeat(c.ID)
	if !ok {
		return Result{Err: fmt.Errorf("%w: no heartbeat %q", incident.ErrNotFound, c.ID)}
	}
	svc, _ := cfg.Service(hb.Service)
	if f.cont.Heartbeats == nil {
		f.cont.Heartbeats = map[string]*HeartbeatState{}
	}
	st := f.cont.Heartbeats[c.ID]
	if st == nil {
		st = &HeartbeatState{ID: c.ID}
		f.cont.Heartbeats[c.ID] = st
	}
	var touched uint64
	switch c.Op {
	case HeartbeatPing:
		t := now
		st.LastPingAt, st.Pings = &t, st.Pings+1
		if inc, open := f.incidents.OpenBy(hb.Service, hb.DedupKey()); open && inc.Status != incident.Resolved {
			r := f.incidents.ApplyEvent(now, &incident.Event{Integration: "heartbeat:" + hb.ID, Service: hb.Service,
				Action: incident.ActionResolve, DedupKey: hb.DedupKey(), AutoResolve: true, RulesVersion: incident.RulesCurrent})
			touched = r.Incident
		}
		st.Incident = 0
	case HeartbeatDown, HeartbeatFail:
		if c.Op == HeartbeatDown && !sameTime(c.LastPing, st.LastPingAt) {
			return Result{Value: continuityApplied{value: *st}} // a ping beat the deadline
		}
		sev := hb.Severity
		if sev == "" {
			sev = cfg.Severity.Default
		}
		msg := "no ping for " + hb.Deadline().String()
		if c.Op == HeartbeatFail {
			msg = "the job reported failure"
		}
		r := f.incidents.ApplyEvent(now, &incident.Event{Integration: "heartbeat:" + hb.ID, Service: hb.Service,
			Action: incident.ActionTrigger, DedupKey: hb.DedupKey(), Policy: svc.Policy, AutoResolve: true,
			RulesVersion: incident.RulesCurrent, Deferrals: c.Deferrals,
			Alert: incident.Alert{Labels: map[string]string{"heartbeat": hb.ID}, Severity: sev, StartsAt: now,
				Annotations: map[string]string{"summary": hb.IncidentTitle(), "description": msg}}})
		st.Incident, touched = r.Incident, r.Incident
	default:
		return Result{Err: fmt.Errorf("%w: op: want ping, fail or down, got %q", incident.ErrInvalid, c.Op)}
	}
	return Result{Value: continuityApplied{value: *st, incident: touched}}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// applyDrillRun runs under the FSM lock.
func (f *FSM) applyDrillRun(now time.Time, body []byte) Result {
	var c DrillRunCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode drill run command: %w", err)}
	}
	id := DrillRunID(c.Drill, c.ScheduledAt)
	if k := f.runIndex(id); k >= 0 {
		return Result{Value: continuityApplied{value: f.cont.Runs[k]}} // already run: never twice
	}
	cfg := f.activeConfig()
	if cfg == nil {
		return Result{Err: fmt.Errorf("%w: no config committed yet", incident.ErrNotFound)}
	}
	d, ok := cfg.Drill(c.Drill)
	if !ok {
		return Result{Err: fmt.Errorf("%w: no drill %q", incident.ErrNotFound, c.Drill)}
	}
	svc, _ := cfg.Service(d.Service)
	run := DrillRun{ID: id, Drill: d.ID, Service: d.Service, ScheduledAt: c.ScheduledAt.UTC(), StartedAt: now,
		Manual: c.Manual, By: c.By, Status: DrillRunning,
		AckWithinSeconds: d.Pass.AckWithin.D().Seconds(), RecoverWithinSeconds: d.RecoverLimit(cfg).Seconds()}
	var touched uint64
	if real := f.incidents.OpenRealSev1(d.Service); real != 0 {
		t := now
		run.Status, run.FinishedAt = DrillSkipped, &t
		run.Reason = fmt.Sprintf("a real sev1 incident (%s) is open on service %s", incident.KeyFor(real), d.Service)
	} else {
		name := svc.Name
		if name == "" {
			name = svc.ID
		}
		r := f.incidents.ApplyEvent(now, &incident.Event{Integration: "drill:" + d.ID, Service: d.Service,
			Action: incident.ActionTrigger, DedupKey: "drill:" + id, Policy: svc.Policy, AutoResolve: true,
			RulesVersion: incident.RulesCurrent, Deferrals: c.Deferrals,
			Alert: incident.Alert{Labels: map[string]string{"drill": d.ID}, Severity: d.Severity, StartsAt: now,
				Annotations: map[string]string{"summary": "[DRILL] " + name,
					"description": "Continuity drill " + d.ID + ": acknowledge and resolve as if it were real."}}})
		f.incidents.MarkDrill(now, r.Incident, incident.DrillRef{ID: d.ID, Run: id})
		run.IncidentID, run.Incident, touched = r.Incident, incident.KeyFor(r.Incident), r.Incident
	}
	f.cont.Runs = append(f.cont.Runs, run)
	if over := len(f.cont.Runs) - maxDrillRuns; over > 0 {
		f.cont.Runs = slices.Delete(f.cont.Runs, 0, over)
	}
	return Result{Value: continuityApplied{value: run, incident: touched}}
}

// applyDrillResult runs under the FSM lock. A result lands only on a run
// still running; a report outcome only on a finished run.
func (f *FSM) applyDrillResult(now time.Time, body []byte) Result {
	var c DrillResultCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode drill result command: %w", err)}
	}
	k := f.runIndex(c.Run)
	if k < 0 {
		return Result{Err: fmt.Errorf("%w: no drill run %q", incident.ErrNotFound, c.Run)}
	}
	run := &f.cont.Runs[k]
	switch {
	case c.ReportOutcome != "":
		run.Report = c.ReportOutcome
	case run.Status == DrillRunning && (c.Result.Status == DrillPassed || c.Result.Status == DrillFailed):
		res := c.Result
		t := now
		run.Status, run.Reason, run.FinishedAt, run.Report = res.Status, res.Reason, &t, "due"
		run.AckedAt, run.AckedBy, run.AckChannel, run.TimeToAckSeconds = res.AckedAt, res.AckedBy, res.AckChannel, res.TimeToAckSeconds
		run.ResolvedAt, run.TimeToResolveSeconds, run.StepReached = res.ResolvedAt, res.TimeToResolveSeconds, res.StepReached
	}
	return Result{Value: continuityApplied{value: *run}}
}

func (f *FSM) runIndex(id string) int {
	for k := len(f.cont.Runs) - 1; k >= 0; k-- {
		if f.cont.Runs[k].ID == id {
			return k
		}
	}
	return -1
}

// snapshotContinuity copies the state for a snapshot; under the FSM lock.
func (f *FSM) snapshotContinuity() *continuityState {
	if f.cont.empty() {
		return nil
	}
	c := &continuityState{Heartbeats: map[string]*HeartbeatState{}, Runs: slices.Clone(f.cont.Runs)}
	for k, v := range f.cont.Heartbeats {
		cp := *v
		c.Heartbeats[k] = &cp
	}
	return c
}

func (f *FSM) setContinuity(c *continuityState) {
	f.cont = continuityState{}
	if c != nil {
		f.cont = *c
	}
}

// HeartbeatStates returns the replicated state of every heartbeat seen.
func (f *FSM) HeartbeatStates() map[string]HeartbeatState {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]HeartbeatState, len(f.cont.Heartbeats))
	for k, v := range f.cont.Heartbeats {
		out[k] = *v
	}
	return out
}

// DrillRuns lists the runs of drill ("" for all), oldest first.
func (f *FSM) DrillRuns(drill string) []DrillRun {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := []DrillRun{}
	for _, r := range f.cont.Runs {
		if drill == "" || r.Drill == drill {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	return out
}

// SubmitHeartbeat commits a heartbeat command, stamping the leader's paging
// plan for the incident it may open.
func (n *Node) SubmitHeartbeat(ctx context.Context, c HeartbeatCommand) (HeartbeatState, uint64, error) {
	if c.Op != HeartbeatPing {
		c.Deferrals = n.pagingPlanFor(n.continuityService(func(cfg *config.Config) (string, bool) {
			h, ok := cfg.Heartbeat(c.ID)
			return h.Service, ok
		}))
	}
	v, err := n.Submit(ctx, TypeHeartbeat, c)
	ca, _ := v.(continuityApplied)
	st, _ := ca.value.(HeartbeatState)
	return st, ca.incident, err
}

// SubmitDrillRun commits a drill run (or finds the one already committed).
func (n *Node) SubmitDrillRun(ctx context.Context, c DrillRunCommand) (DrillRun, error) {
	c.Deferrals = n.pagingPlanFor(n.continuityService(func(cfg *config.Config) (string, bool) {
		d, ok := cfg.Drill(c.Drill)
		return d.Service, ok
	}))
	v, err := n.Submit(ctx, TypeDrillRun, c)
	ca, _ := v.(continuityApplied)
	run, _ := ca.value.(DrillRun)
	return run, err
}

// SubmitDrillResult commits a run's result or its report's outcome.
func (n *Node) SubmitDrillResult(ctx context.Context, c DrillResultCommand) (DrillRun, error) {
	v, err := n.Submit(ctx, TypeDrillResult, c)
	ca, _ := v.(continuityApplied)
	run, _ := ca.value.(DrillRun)
	return run, err
}

// continuityService is the service a heartbeat or drill belongs to in the
// active config ("" when unknown: apply refuses the command then).
func (n *Node) continuityService(of func(*config.Config) (string, bool)) string {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return ""
	}
	svc, _ := of(ac.Config)
	return svc
}

// PingHeartbeats implements router.HeartbeatPinger: one ping per heartbeat,
// committed together through the group commit.
func (n *Node) PingHeartbeats(ctx context.Context, ids []string) error {
	if n.forwardsIngest(ctx) { // a follower's router (ingestfwd.go)
		return n.forwarder.ingest.heartbeats(ctx, ids)
	}
	errs := make(chan error, len(ids))
	for _, id := range ids {
		go func() {
			_, _, err := n.SubmitHeartbeat(ctx, HeartbeatCommand{ID: id, Op: HeartbeatPing, Source: "alertmanager"})
			errs <- err
		}()
	}
	var first error
	for range ids {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

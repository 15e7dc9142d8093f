package continuity

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// drills starts every drill whose scheduled time has come and returns the
// earliest scheduled time ahead. The run is committed with its scheduled
// time as its identity, so if the previous leader committed it already,
// this commit changes nothing; if it died before, this one runs it.
func (e *Engine) drills(ctx context.Context, cfg *config.Config, now time.Time) time.Time {
	var next time.Time
	runs := e.store.FSM().DrillRuns("")
	for _, d := range cfg.Drills {
		due, ok := dueRun(d, runs, now)
		if ok {
			run, err := e.store.SubmitDrillRun(ctx, cluster.DrillRunCommand{Drill: d.ID, ScheduledAt: due})
			if err != nil {
				e.log.Warn("start drill", "drill", d.ID, "err", err)
				next = earliest(next, now.Add(time.Second))
				continue
			}
			e.log.Info("drill run", "drill", d.ID, "run", run.ID, "status", run.Status, "incident", run.Incident)
		}
		next = earliest(next, d.Next(now))
	}
	return next
}

// dueRun is the latest scheduled time of d at or before now that has no
// run yet, looking back at most catchUp (and never before the last
// scheduled run).
func dueRun(d config.Drill, runs []cluster.DrillRun, now time.Time) (time.Time, bool) {
	from := now.Add(-catchUp)
	for _, r := range runs {
		if r.Drill == d.ID && !r.Manual && !r.ScheduledAt.Before(from) {
			from = r.ScheduledAt
		}
	}
	var due time.Time
	for t := d.Next(from); !t.IsZero() && !t.After(now); t = d.Next(t) {
		due = t
	}
	return due, !due.IsZero()
}

// NextRun is when drill d runs next after t (for config plan).
func NextRun(d config.Drill, t time.Time) time.Time { return d.Next(t) }

// judge decides every running drill run that can be decided and returns
// the earliest acknowledgement deadline ahead.
func (e *Engine) judge(ctx context.Context, cfg *config.Config, now time.Time) time.Time {
	var next time.Time
	for _, run := range e.store.FSM().DrillRuns("") {
		if run.Status != cluster.DrillRunning {
			continue
		}
		var inc *incident.Incident
		e.store.FSM().ReadIncidents(func(s *incident.State) { inc, _ = s.Get(run.IncidentID) })
		if inc == nil {
			continue
		}
		res, decided := Judge(run, inc, now)
		if !decided {
			if inc.AcknowledgedAt == nil {
				next = earliest(next, run.StartedAt.Add(seconds(run.AckWithinSeconds)))
			}
			continue
		}
		if _, err := e.store.SubmitDrillResult(ctx, cluster.DrillResultCommand{Run: run.ID, Result: res}); err != nil {
			e.log.Warn("record drill result", "run", run.ID, "err", err)
			next = earliest(next, now.Add(time.Second))
		}
	}
	return next
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Judge measures a run against its pass criteria: passed when acknowledged
// within ack_within and resolved within recover_within of the start; failed
// as soon as either limit is missed (a run never acknowledged fails at the
// ack deadline). Undecided while the incident is within its limits.
func Judge(run cluster.DrillRun, inc *incident.Incident, now time.Time) (cluster.DrillRun, bool) {
	res := run
	ackLimit, recLimit := seconds(run.AckWithinSeconds), seconds(run.RecoverWithinSeconds)
	ackAt, ackBy := inc.AcknowledgedAt, inc.AcknowledgedBy
	if ackAt == nil && inc.ResolvedAt != nil {
		ackAt, ackBy = inc.ResolvedAt, inc.ResolvedBy // resolving answers the page too
	}
	res.StepReached = stepReached(inc)
	if ackAt != nil {
		tta := ackAt.Sub(run.StartedAt).Seconds()
		res.AckedAt, res.AckedBy, res.TimeToAckSeconds = ackAt, ackBy, &tta
		res.AckChannel = ackChannel(inc)
	}
	if inc.ResolvedAt != nil {
		ttr := inc.ResolvedAt.Sub(run.StartedAt).Seconds()
		res.ResolvedAt, res.TimeToResolveSeconds = inc.ResolvedAt, &ttr
	}
	switch {
	case ackAt == nil && now.Sub(run.StartedAt) >= ackLimit:
		res.Status, res.Reason = cluster.DrillFailed, fmt.Sprintf("not acknowledged within %s", ackLimit)
	case ackAt != nil && ackAt.Sub(run.StartedAt) > ackLimit:
		res.Status, res.Reason = cluster.DrillFailed, fmt.Sprintf("acknowledged after %s, limit %s", ackAt.Sub(run.StartedAt).Round(time.Second), ackLimit)
	case inc.ResolvedAt == nil && recLimit > 0 && now.Sub(run.StartedAt) >= recLimit:
		res.Status, res.Reason = cluster.DrillFailed, fmt.Sprintf("not resolved within %s", recLimit)
	case inc.ResolvedAt != nil && recLimit > 0 && inc.ResolvedAt.Sub(run.StartedAt) > recLimit:
		res.Status, res.Reason = cluster.DrillFailed, fmt.Sprintf("resolved after %s, limit %s", inc.ResolvedAt.Sub(run.StartedAt).Round(time.Second), recLimit)
	case inc.ResolvedAt != nil:
		res.Status, res.Reason = cluster.DrillPassed, ""
	default:
		return run, false
	}
	return res, true
}

// stepReached is the highest escalation step (1-based) that paged.
func stepReached(inc *incident.Incident) int {
	top := 0
	for _, n := range inc.Notifications {
		if n.Step+1 > top {
			top = n.Step + 1
		}
	}
	return top
}

// ackChannel reads the channel from the acknowledgement's timeline entry
// ("acknowledged via sms").
func ackChannel(inc *incident.Incident) string {
	for _, en := range inc.Timeline {
		if en.Type != incident.EntryAcknowledged && en.Type != incident.EntryResolved {
			continue
		}
		if _, after, ok := strings.Cut(en.Message, " via "); ok {
			ch, _, _ := strings.Cut(after, ":")
			return strings.Fields(ch + " ")[0]
		}
		return "api"
	}
	return ""
}

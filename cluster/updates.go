package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// applyStatusCommand applies the status-communication commands: updates,
// cadence reminders and ad hoc maintenance windows.
func (f *FSM) applyStatusCommand(now time.Time, c *command) Result {
	switch c.Type {
	case TypeUpdatePost:
		var up incident.UpdatePost
		if err := json.Unmarshal(c.Body, &up); err != nil {
			return Result{Err: fmt.Errorf("decode update: %w", err)}
		}
		inc, err := f.incidents.ApplyUpdatePost(now, &up)
		return Result{Value: inc, Err: err}
	case TypeUpdateReminder:
		var r incident.UpdateReminder
		if err := json.Unmarshal(c.Body, &r); err != nil {
			return Result{Err: fmt.Errorf("decode update reminder: %w", err)}
		}
		inc, err := f.incidents.ApplyUpdateReminder(now, &r)
		return Result{Value: inc, Err: err}
	case TypeMaintenance:
		return f.applyMaintenance(now, c.Body)
	}
	return Result{Err: fmt.Errorf("%w: type %d", errUnknownCommand, c.Type)}
}

// SubmitUpdate commits a status update. The caller (API, reply handler)
// has rendered any template and checked the components; the leader stamps
// the next deadline here: now + next (when > 0) or the severity's
// update_every.
func (n *Node) SubmitUpdate(ctx context.Context, up *incident.UpdatePost, next time.Duration) (*incident.Incident, error) {
	if next <= 0 {
		next = n.updateEvery(up.Incident)
	}
	if next > 0 {
		at := n.planNow().Add(next)
		up.NextUpdateAt = &at
	}
	v, err := n.Submit(ctx, TypeUpdatePost, up)
	inc, _ := v.(*incident.Incident)
	return inc, err
}

// updateEvery is the update cadence of an incident's severity (0: none).
func (n *Node) updateEvery(id uint64) time.Duration {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return 0
	}
	var sev string
	n.fsm.ReadIncidents(func(s *incident.State) {
		if inc, ok := s.Get(id); ok {
			sev = inc.Severity
		}
	})
	return ac.Config.SeverityPolicyOf(sev).UpdateEvery.D()
}

// planNow is the instant the batcher will stamp at the earliest: the
// leader's clock, never before the last applied time.
func (n *Node) planNow() time.Time {
	now := n.opts.Clock()
	if last := n.fsm.LastNow(); last.After(now) {
		now = last
	}
	return now.UTC().Round(0)
}

// postmortemSeverities are the severities whose postmortem is required, by
// the active config: the leader stamps them into resolves for the final
// public update's text.
func (n *Node) postmortemSeverities() []string {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return nil
	}
	var out []string
	for _, sev := range config.Severities {
		if ac.Config.SeverityPolicyOf(sev).Postmortem == config.PostmortemRequired {
			out = append(out, sev)
		}
	}
	return out
}

package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// finalUpdateVersion is the action version that may carry a resolve's
// postmortem severities (incident.Action.Postmortem), after version 4
// (incident.SummaryLogVersion); alert_group 3 and event 4 likewise. Older versions are written without them until every
// member applies these: no member can have posted a status update before
// (update_post is gated the same way), so there is no final update to post.
const finalUpdateVersion = 5

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

// UpdateRequest is a status update as a person or token asked for it (API
// body, SMS `3u`/`3p`, email `update:`/`public:`), before the leader
// renders and checks it against the config.
type UpdateRequest struct {
	Incident   uint64
	Audience   string // internal (default) | public
	Phase      string // default: the incident's phase, else investigating
	Message    string
	Template   string
	Components map[string]string
	// NextIn overrides the severity's update_every for the next deadline.
	NextIn  time.Duration
	By      string
	Channel string
	ByToken bool
	DedupID string
}

// PostUpdate renders req against the active config and the incident as it
// stands, checks its components, and commits it. Errors wrap
// incident.ErrInvalid (400: unknown component, status or template, a
// template that fails to render), ErrNotFound, ErrConflict, or are
// transient. Only the leader calls this.
func (n *Node) PostUpdate(ctx context.Context, req UpdateRequest) (*incident.Incident, error) {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return nil, unavailable("no config committed yet")
	}
	var inc *incident.Incident
	n.fsm.ReadIncidents(func(s *incident.State) { inc, _ = s.Get(req.Incident) })
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", incident.ErrNotFound, incident.KeyFor(req.Incident))
	}
	up, err := renderUpdate(ac.Config, inc, &req, n.planNow())
	if err != nil {
		return nil, err
	}
	return n.SubmitUpdate(ctx, up, req.NextIn)
}

func renderUpdate(cfg *config.Config, inc *incident.Incident, req *UpdateRequest, now time.Time) (*incident.UpdatePost, error) {
	if req.Audience == "" {
		req.Audience = incident.AudienceInternal
	}
	if err := cfg.CheckComponents(req.Components); err != nil {
		return nil, fmt.Errorf("%w: %v", incident.ErrInvalid, err)
	}
	up := &incident.UpdatePost{Incident: req.Incident, Audience: req.Audience, Phase: req.Phase, Message: req.Message,
		Template: req.Template, Components: req.Components, By: req.By, Channel: req.Channel, ByToken: req.ByToken, DedupID: req.DedupID}
	if req.Template != "" {
		t, ok := cfg.UpdateTemplateByID(req.Template)
		if !ok {
			return nil, fmt.Errorf("%w: template: unknown update template %q", incident.ErrInvalid, req.Template)
		}
		if up.Phase == "" {
			up.Phase = t.Phase
		}
		if up.Message == "" {
			next := now.Add(cfg.SeverityPolicyOf(inc.Severity).UpdateEvery.D())
			if req.NextIn > 0 {
				next = now.Add(req.NextIn)
			}
			msg, err := t.Render(up.Audience, updateData(cfg, inc, req.Components, next))
			if err != nil {
				return nil, fmt.Errorf("%w: %v", incident.ErrInvalid, err)
			}
			up.Message = msg
		}
	}
	if up.Phase == "" {
		up.Phase = inc.Phase
		if up.Phase == "" {
			up.Phase = incident.PhaseInvestigating
		}
	}
	return up, nil
}

func updateData(cfg *config.Config, inc *incident.Incident, comps map[string]string, next time.Time) config.UpdateData {
	ids := make([]string, 0, len(comps))
	for id := range comps {
		ids = append(ids, id)
	}
	return config.UpdateData{Key: inc.Key, Title: inc.Title, Severity: inc.Severity, Service: inc.Service,
		Components: cfg.ComponentNames(ids, inc.Service), NextUpdate: next.UTC().Format("2006-01-02 15:04 UTC"),
		Roles: incidentRoles(inc)}
}

// incidentRoles maps role ids to their holders, for templates' .Role.
func incidentRoles(inc *incident.Incident) map[string]string {
	out := make(map[string]string, len(inc.Roles))
	for k, v := range inc.Roles {
		out[k] = v
	}
	return out
}

// SubmitUpdateReminder commits a planned status update reminder. An error
// wrapping incident.ErrStale means the state moved on and nothing changed.
func (n *Node) SubmitUpdateReminder(ctx context.Context, r *incident.UpdateReminder) (*incident.Incident, error) {
	v, err := n.Submit(ctx, TypeUpdateReminder, r)
	if err != nil {
		return nil, err
	}
	inc, _ := v.(*incident.Incident)
	return inc, nil
}

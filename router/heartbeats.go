package router

import (
	"context"
	"slices"

	"github.com/pagerd/pagerd/config"
)

// HeartbeatPinger is implemented by a Submitter that records heartbeat
// pings (the cluster node). It returns once every ping is committed.
type HeartbeatPinger interface {
	PingHeartbeats(ctx context.Context, ids []string) error
}

// takeWatchdogs removes from m the alerts that belong to a heartbeat of the
// Alertmanager form on integration (spec §5.1: the always-firing Watchdog)
// and returns the heartbeats the firing ones ping. Such alerts open no
// incident, firing or resolved: they exist to prove the pipeline works.
func takeWatchdogs(cfg *config.Config, integration string, m *AlertmanagerMessage) []string {
	var hbs []config.Heartbeat
	for _, h := range cfg.Heartbeats {
		if h.Alertmanager != nil && h.Alertmanager.Integration == integration {
			hbs = append(hbs, h)
		}
	}
	if len(hbs) == 0 {
		return nil
	}
	var pinged []string
	rest := m.Alerts[:0:0]
	for _, a := range m.Alerts {
		taken := false
		for _, h := range hbs {
			if !h.Alertmanager.Matches(a.Labels) {
				continue
			}
			taken = true
			if a.Status != "resolved" && !slices.Contains(pinged, h.ID) {
				pinged = append(pinged, h.ID)
			}
		}
		if !taken {
			rest = append(rest, a)
		}
	}
	m.Alerts = rest
	return pinged
}

// pingWatchdogs commits the pings of the heartbeat alerts in msg and
// removes those alerts. done means the request is answered: the pings
// failed to commit (5xx, so Alertmanager retries) or nothing else is left.
func (h *Handler) pingWatchdogs(ctx context.Context, integration string, msg *AlertmanagerMessage) (outcome, bool) {
	cfg := h.cfg()
	if cfg == nil {
		return outcome{}, false
	}
	ids := takeWatchdogs(cfg, integration, msg)
	if len(ids) > 0 {
		p, ok := h.sub.(HeartbeatPinger)
		if !ok {
			return fail(500, integration, "heartbeat pings are not supported by this node"), true
		}
		if err := p.PingHeartbeats(ctx, ids); err != nil {
			return h.submitFailed(err, integration), true
		}
	}
	if len(msg.Alerts) > 0 {
		return outcome{}, false
	}
	return outcome{status: 202, integration: integration, body: map[string]any{
		"status": "success", "message": "Heartbeat pinged", "heartbeats": ids}}, true
}

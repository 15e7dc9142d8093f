package web

import (
	"net/http"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// serviceRow is one service: its policy, the integrations that route to it
// (by name: an integration's key is a secret and never shown) and its open
// incidents.
type serviceRow struct {
	ID, Name, Policy string
	Integrations     []string
	Open             int
	// The continuity catalogue and state (docs/continuity.md).
	Tier, RTO, RPO, Owner, Manager string
	Runbook, Plan                  string
	LastDrill                      string
	Heartbeats                     []string
}

func (c *Console) servicesPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	cfg := c.config()
	open := map[string]int{}
	c.node.FSM().ReadIncidents(func(st *incident.State) {
		st.Count(func(service string, status incident.Status, n int) {
			if status.Open() {
				open[service] += n
			}
		})
	})
	rows := make([]serviceRow, 0, len(cfg.Services))
	runs, hbs := c.node.FSM().DrillRuns(""), c.node.FSM().HeartbeatStates()
	for _, s := range cfg.Services {
		row := serviceRow{ID: s.ID, Name: s.Name, Policy: s.Policy, Open: open[s.ID],
			Tier: s.Criticality, Owner: s.Owner, Manager: s.ContinuityManager, Runbook: s.Runbook, Plan: s.ContinuityPlan}
		if s.RTO > 0 {
			row.RTO = s.RTO.Short()
		}
		if s.RPO > 0 {
			row.RPO = s.RPO.Short()
		}
		for _, run := range runs {
			if run.Service == s.ID {
				row.LastDrill = run.Status + " " + run.StartedAt.UTC().Format("2006-01-02")
			}
		}
		for _, h := range cfg.Heartbeats {
			if h.Service == s.ID {
				state := "up"
				if st := hbs[h.ID]; st.Incident != 0 {
					state = "down"
				}
				row.Heartbeats = append(row.Heartbeats, h.ID+": "+state)
			}
		}
		for _, in := range cfg.Integrations {
			if routesTo(in.Service, in.Routes, s.ID) {
				row.Integrations = append(row.Integrations, in.Name)
			}
		}
		rows = append(rows, row)
	}
	c.render(w, r, http.StatusOK, "services", "layout", pageData{Title: "Services", Nav: "services", V: v, Data: rows})
}

// routesTo: the integration sends to service id, directly or by a route.
func routesTo(service string, routes []config.Route, id string) bool {
	if service == id {
		return true
	}
	for _, r := range routes {
		if r.Service == id {
			return true
		}
	}
	return false
}

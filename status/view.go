// Package status renders status pages (spec §5.3 /status/{page}) from the
// replicated state: every node serves them, a follower too while the
// leader is down. Rendering never writes. Subscriptions (subscribe.go) are
// written through the leader; the leader's Mailer (mailer.go) mails
// confirmations and public updates to subscribers.
//
// What reaches a page is only what a person posted: component names from
// config, and the text of public updates. Incident titles, alert labels and
// annotations come from alert senders and never appear; neither do internal
// updates, drill incidents or incidents without a public update.
package status

import (
	"sort"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// UpcomingWindow is how far ahead maintenance is listed.
const UpcomingWindow = 7 * 24 * time.Hour

// View is one status page as readers see it; summary.json is its JSON.
type View struct {
	Page        string          `json:"page"`
	Title       string          `json:"title"`
	Status      string          `json:"status"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Components  []ComponentView `json:"components"`
	Incidents   []IncidentView  `json:"incidents"`
	History     []IncidentView  `json:"history"`
	Maintenance []WindowView    `json:"maintenance"`
}

// ComponentView is a component and its current status.
type ComponentView struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// IncidentView is an incident as a page shows it: its key, the components
// it affects and its public updates, newest first.
type IncidentView struct {
	Key        string       `json:"key"`
	Name       string       `json:"name"`
	Status     string       `json:"status"` // open | resolved
	Phase      string       `json:"phase"`
	Components []string     `json:"components"`
	StartedAt  time.Time    `json:"started_at"`
	ResolvedAt *time.Time   `json:"resolved_at,omitempty"`
	Updates    []UpdateView `json:"updates"`
}

// UpdateView is one public update.
type UpdateView struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Phase   string    `json:"phase"`
	Message string    `json:"message"`
}

// WindowView is a maintenance window on the page's services.
type WindowView struct {
	ID         string    `json:"id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	Active     bool      `json:"active"`
	Components []string  `json:"components"`
	Reason     string    `json:"reason,omitempty"`
}

// IsDrill reports whether an incident is a drill (spec §5.2 `drill`);
// drills never appear on a status page nor in subscribers' mail. A
// variable so tests can mark incidents as drills without running one.
var IsDrill = func(inc *incident.Incident) bool { return inc.Drill != nil }

// Build computes the view of page at now from the incidents worth looking
// at (open ones and those resolved recently; others are ignored) and the
// maintenance windows on or starting within UpcomingWindow.
func Build(page config.StatusPage, incs []*incident.Incident, windows []config.MaintenanceWindow, now time.Time) View {
	v := View{Page: page.ID, Title: page.Title, UpdatedAt: now, Components: []ComponentView{}, Incidents: []IncidentView{},
		History: []IncidentView{}, Maintenance: []WindowView{}}
	if v.Title == "" {
		v.Title = page.ID
	}
	worst := map[string]string{}
	for _, c := range page.Components {
		worst[c.ID] = incident.ComponentOperational
	}
	raise := func(comp, st string) {
		if cur, ok := worst[comp]; ok && incident.ComponentStatusRank(st) > incident.ComponentStatusRank(cur) {
			worst[comp] = st
		}
	}
	cut := now.Add(-page.History.D())
	for _, inc := range incs {
		iv, current, ok := incidentView(page, inc)
		if !ok {
			continue
		}
		if inc.ResolvedAt == nil {
			for comp, st := range current {
				raise(comp, st)
			}
			v.Incidents = append(v.Incidents, iv)
		} else if !inc.ResolvedAt.Before(cut) {
			v.History = append(v.History, iv)
		}
	}
	for _, w := range windows {
		wv, ok := windowView(page, w, now)
		if !ok {
			continue
		}
		if wv.Active {
			for _, c := range page.Components {
				if covers(c, w.Services) {
					raise(c.ID, incident.ComponentUnderMaintenance)
				}
			}
		}
		v.Maintenance = append(v.Maintenance, wv)
	}
	v.Status = incident.ComponentOperational
	for _, c := range page.Components {
		v.Components = append(v.Components, ComponentView{ID: c.ID, Name: nameOf(c), Status: worst[c.ID]})
		if incident.ComponentStatusRank(worst[c.ID]) > incident.ComponentStatusRank(v.Status) {
			v.Status = worst[c.ID]
		}
	}
	sortIncidents(v.Incidents)
	sortIncidents(v.History)
	return v
}

// incidentView is inc as page shows it, with the component statuses its
// public updates set last (per component); ok is false when the incident
// does not belong on the page.
func incidentView(page config.StatusPage, inc *incident.Incident) (IncidentView, map[string]string, bool) {
	if IsDrill(inc) || !inc.HadPublicUpdate() {
		return IncidentView{}, nil, false
	}
	onPage := map[string]bool{}
	for _, c := range page.Components {
		for _, s := range c.Services {
			if s == inc.Service {
				onPage[c.ID] = true
			}
		}
	}
	current := map[string]string{}
	var ups []UpdateView
	for i := range inc.Updates {
		u := &inc.Updates[i]
		if !u.Public() {
			continue
		}
		for comp, st := range u.Components {
			if pageHas(page, comp) {
				onPage[comp] = true
				current[comp] = st // later updates replace earlier ones
			}
		}
		ups = append(ups, UpdateView{ID: u.ID, At: u.At, Phase: u.Phase, Message: u.Message})
	}
	if len(onPage) == 0 {
		return IncidentView{}, nil, false
	}
	sort.SliceStable(ups, func(i, j int) bool { return ups[i].At.After(ups[j].At) })
	iv := IncidentView{Key: inc.Key, Status: "open", Phase: ups[0].Phase, StartedAt: inc.CreatedAt, ResolvedAt: inc.ResolvedAt, Updates: ups}
	if inc.ResolvedAt != nil {
		iv.Status = "resolved"
	}
	for _, c := range page.Components {
		if onPage[c.ID] {
			iv.Components = append(iv.Components, nameOf(c))
		}
	}
	iv.Name = "Incident affecting " + joinNames(iv.Components)
	return iv, current, true
}

func windowView(page config.StatusPage, w config.MaintenanceWindow, now time.Time) (WindowView, bool) {
	if w.StatusPage != "" && w.StatusPage != page.ID {
		return WindowView{}, false
	}
	wv := WindowView{ID: w.ID, From: w.From, To: w.To, Active: !now.Before(w.From) && now.Before(w.To), Reason: w.Reason}
	for _, c := range page.Components {
		if covers(c, w.Services) {
			wv.Components = append(wv.Components, nameOf(c))
		}
	}
	return wv, len(wv.Components) > 0
}

func covers(c config.Component, services []string) bool {
	for _, s := range services {
		for _, cs := range c.Services {
			if s == cs {
				return true
			}
		}
	}
	return false
}

func pageHas(page config.StatusPage, comp string) bool {
	for _, c := range page.Components {
		if c.ID == comp {
			return true
		}
	}
	return false
}

func nameOf(c config.Component) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func joinNames(names []string) string {
	switch len(names) {
	case 0:
		return "this service"
	case 1:
		return names[0]
	}
	out := names[0]
	for i := 1; i < len(names)-1; i++ {
		out += ", " + names[i]
	}
	return out + " and " + names[len(names)-1]
}

// sortIncidents orders incidents by their newest update, newest first.
func sortIncidents(list []IncidentView) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].Updates[0].At.After(list[j].Updates[0].At) })
}

package web

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/pagerd/pagerd/incident"
)

// listLimit is how many incidents the list shows; the API pages further.
const listLimit = 100

// incidentsData is the incident list with its filters.
type incidentsData struct {
	Status, Service, Severity string
	Statuses                  []string
	Services                  []string
	Severities                []string
	Rows                      []*incident.Incident
	More                      bool
	Query                     string // the filters as a query string, for the live refresh
	// Version names what the rows show: this node's applied index and the
	// minute (ages are shown to the minute). The poll sends it back; an
	// unchanged list answers 204 and htmx leaves the rows alone.
	Version string
}

var listStatuses = map[string][]incident.Status{
	"open":         {incident.Triggered, incident.Acknowledged},
	"triggered":    {incident.Triggered},
	"acknowledged": {incident.Acknowledged},
	"resolved":     {incident.Resolved},
	"all":          nil,
}

func (c *Console) incidentsPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	d := c.listIncidents(r)
	c.render(w, r, http.StatusOK, "incidents", "layout", pageData{Title: "Incidents", Nav: "incidents", V: v, Data: d})
}

// incidentRows is the list's body alone, polled by htmx every second:
// 204 (nothing to swap) while the list is as the browser has it.
func (c *Console) incidentRows(w http.ResponseWriter, r *http.Request, v *viewer) {
	if got := r.URL.Query().Get("v"); got != "" && got == c.rowsVersion() {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	c.render(w, r, http.StatusOK, "incidents", "rows", pageData{V: v, Data: c.listIncidents(r)})
}

func (c *Console) rowsVersion() string {
	return strconv.FormatUint(c.node.FSM().AppliedIndex(), 10) + "-" + strconv.FormatInt(c.now().Unix()/60, 10)
}

// listIncidents reads the filters (unknown values fall back to the
// defaults) and lists: open ones first (triggered, then acknowledged),
// newest first within each.
func (c *Console) listIncidents(r *http.Request) incidentsData {
	q := r.URL.Query()
	d := incidentsData{Status: q.Get("status"), Service: q.Get("service"), Severity: q.Get("severity"),
		Statuses: []string{"open", "triggered", "acknowledged", "resolved", "all"}}
	if _, ok := listStatuses[d.Status]; !ok {
		d.Status = "open"
	}
	cfg := c.config()
	for _, s := range cfg.Services {
		d.Services = append(d.Services, s.ID)
	}
	d.Severities = []string{"sev1", "sev2", "sev3"}
	f := incident.Filter{Service: d.Service, Severity: d.Severity}
	if st := listStatuses[d.Status]; len(st) > 0 {
		f.Statuses = map[incident.Status]bool{}
		for _, s := range st {
			f.Statuses[s] = true
		}
	}
	d.Version = c.rowsVersion()
	var next uint64
	c.node.FSM().ReadIncidents(func(st *incident.State) { d.Rows, next = st.List(f, 0, listLimit) })
	d.More = next != 0
	sort.SliceStable(d.Rows, func(i, j int) bool { return rank(d.Rows[i].Status) < rank(d.Rows[j].Status) })
	qs := url.Values{"status": {d.Status}}
	if d.Service != "" {
		qs.Set("service", d.Service)
	}
	if d.Severity != "" {
		qs.Set("severity", d.Severity)
	}
	d.Query = qs.Encode()
	return d
}

func rank(s incident.Status) int {
	switch s {
	case incident.Triggered:
		return 0
	case incident.Acknowledged:
		return 1
	}
	return 2
}

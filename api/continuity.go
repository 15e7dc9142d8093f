package api

import (
	"crypto/subtle"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reports"
)

// Service continuity routes (spec §5.3): the service catalogue, heartbeat
// pings and states, drill runs.
func (s *Server) registerContinuity(m *http.ServeMux, lead func(http.Handler) http.Handler) {
	m.Handle("GET /v1/services", s.auth(http.HandlerFunc(s.listServices)))
	m.Handle("GET /v1/services/{id}", s.auth(http.HandlerFunc(s.getService)))
	m.Handle("POST /v1/services/{id}/reviews", s.auth(lead(http.HandlerFunc(s.postReview))))
	m.Handle("GET /v1/services/{id}/reviews", s.auth(http.HandlerFunc(s.listReviews)))
	m.Handle("GET /v1/heartbeats", s.auth(http.HandlerFunc(s.listHeartbeats)))
	// Pings authenticate with the heartbeat's own key, like ingest, not
	// with API tokens: a backup job should hold no operator credential.
	m.Handle("POST /v1/heartbeats/{id}", lead(http.HandlerFunc(s.pingHeartbeat)))
	m.Handle("POST /v1/heartbeats/{id}/fail", lead(http.HandlerFunc(s.pingHeartbeat)))
	m.Handle("POST /v1/heartbeats/{id}/{key}", lead(http.HandlerFunc(s.pingHeartbeat)))
	m.Handle("GET /v1/drills", s.auth(http.HandlerFunc(s.listDrills)))
	m.Handle("POST /v1/drills/{id}/run", s.auth(lead(http.HandlerFunc(s.runDrill))))
	m.Handle("GET /v1/drills/{id}/runs", s.auth(http.HandlerFunc(s.drillRuns)))
}

// ServiceView is a service's config fields and its runtime continuity state.
type ServiceView struct {
	ID                string                `json:"id"`
	Name              string                `json:"name"`
	Policy            string                `json:"policy"`
	Criticality       string                `json:"criticality"`
	RTO               string                `json:"rto"`
	RPO               string                `json:"rpo"`
	Runbook           string                `json:"runbook"`
	ContinuityPlan    string                `json:"continuity_plan"`
	Owner             string                `json:"owner"`
	ContinuityManager string                `json:"continuity_manager"`
	ReviewEvery       string                `json:"review_every"`
	DependsOn         []string              `json:"depends_on"`
	BridgeURL         string                `json:"bridge_url,omitempty"`
	Continuity        ServiceContinuityView `json:"continuity"`
}

// ServiceContinuityView is the runtime side: the plan review state
// (reviews.go in cluster), heartbeats, drills.
type ServiceContinuityView struct {
	LastReview         *time.Time `json:"last_review"`
	ReviewDueAt        *time.Time `json:"review_due_at"`
	ReviewOverdue      bool       `json:"review_overdue"`
	ChangedSinceReview bool       `json:"changed_since_review"`
	// Review is the last review in full (who, note, config version).
	Review     *cluster.Review   `json:"review"`
	LastDrill  *cluster.DrillRun `json:"last_drill"`
	Heartbeats []HeartbeatView   `json:"heartbeats"`
	Drills     []DrillView       `json:"drills"`
	RTOMet90d  *float64          `json:"rto_met_90d"`
}

// HeartbeatView is GET /v1/heartbeats' item.
type HeartbeatView struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	State      string     `json:"state"` // up | late | down
	LastPingAt *time.Time `json:"last_ping_at"`
	DueAt      *time.Time `json:"due_at"`
	Incident   string     `json:"incident,omitempty"`
	Every      string     `json:"every"`
	Grace      string     `json:"grace"`
	Watchdog   bool       `json:"alertmanager"`
}

// DrillView is a configured drill with its next run.
type DrillView struct {
	ID       string            `json:"id"`
	Service  string            `json:"service"`
	Cron     string            `json:"cron"`
	Timezone string            `json:"timezone"`
	NextRun  *time.Time        `json:"next_run"`
	LastRun  *cluster.DrillRun `json:"last_run"`
}

func durText(d config.Duration) string {
	if d == 0 {
		return ""
	}
	return d.Short()
}

func (s *Server) serviceView(cfg *config.Config, svc config.Service, hbs []HeartbeatView, runs []cluster.DrillRun, now time.Time) ServiceView {
	v := ServiceView{ID: svc.ID, Name: svc.Name, Policy: svc.Policy, Criticality: svc.Criticality,
		RTO: durText(svc.RTO), RPO: durText(svc.RPO), Runbook: svc.Runbook, ContinuityPlan: svc.ContinuityPlan,
		Owner: svc.Owner, ContinuityManager: svc.ContinuityManager, ReviewEvery: durText(svc.ReviewEvery),
		DependsOn: append([]string{}, svc.DependsOn...), BridgeURL: svc.BridgeURL}
	for _, st := range s.node.FSM().ReviewStatuses(now) {
		if st.Service == svc.ID {
			v.Continuity.ReviewDueAt, v.Continuity.ReviewOverdue = st.DueAt, st.Overdue
			v.Continuity.ChangedSinceReview, v.Continuity.Review = st.ChangedSinceReview, st.LastReview
			if st.LastReview != nil {
				at := st.LastReview.At
				v.Continuity.LastReview = &at
			}
		}
	}
	v.Continuity.Heartbeats = []HeartbeatView{}
	for _, h := range hbs {
		if h.Service == svc.ID {
			v.Continuity.Heartbeats = append(v.Continuity.Heartbeats, h)
		}
	}
	v.Continuity.Drills = []DrillView{}
	for _, d := range cfg.Drills {
		if d.Service == svc.ID {
			v.Continuity.Drills = append(v.Continuity.Drills, drillView(d, runs, now))
		}
	}
	for i := range runs {
		if runs[i].Service == svc.ID && runs[i].Status != cluster.DrillRunning {
			r := runs[i]
			v.Continuity.LastDrill = &r
		}
	}
	return v
}

func drillView(d config.Drill, runs []cluster.DrillRun, now time.Time) DrillView {
	v := DrillView{ID: d.ID, Service: d.Service, Cron: d.Cron, Timezone: d.Timezone}
	if t := d.Next(now); !t.IsZero() {
		v.NextRun = &t
	}
	for i := range runs {
		if runs[i].Drill == d.ID {
			r := runs[i]
			v.LastRun = &r
		}
	}
	return v
}

func (s *Server) heartbeatViews(cfg *config.Config, now time.Time) []HeartbeatView {
	states := s.node.FSM().HeartbeatStates()
	out := []HeartbeatView{}
	for _, h := range cfg.Heartbeats {
		st := states[h.ID]
		v := HeartbeatView{ID: h.ID, Service: h.Service, LastPingAt: st.LastPingAt, State: "up",
			Every: h.Every.Short(), Grace: durText(h.Grace), Watchdog: h.Alertmanager != nil}
		if st.LastPingAt != nil {
			due := st.LastPingAt.Add(h.Deadline())
			v.DueAt = &due
			if now.After(st.LastPingAt.Add(h.Every.D())) {
				v.State = "late"
			}
		}
		if st.Incident != 0 {
			var open bool
			s.node.FSM().ReadIncidents(func(is *incident.State) {
				inc, ok := is.Get(st.Incident)
				open = ok && inc.Status != incident.Resolved
			})
			if open {
				v.State, v.Incident = "down", incident.KeyFor(st.Incident)
			}
		}
		out = append(out, v)
	}
	return out
}

func (s *Server) config(w http.ResponseWriter) (*config.Config, bool) {
	ac := s.node.FSM().Config()
	if ac == nil || ac.Config == nil {
		cluster.WriteUnavailable(w, "no config committed yet; retry", time.Second)
		return nil, false
	}
	return ac.Config, true
}

// configuredDrill is the {id} of the path when the config has that drill;
// otherwise it has answered (503 without a config, 404 for an unknown id).
func (s *Server) configuredDrill(w http.ResponseWriter, r *http.Request) (string, bool) {
	return s.configuredID(w, r, "drill", func(c *config.Config, id string) bool { _, ok := c.Drill(id); return ok })
}

// configuredService is configuredDrill for a service of the catalogue.
func (s *Server) configuredService(w http.ResponseWriter, r *http.Request) (string, bool) {
	return s.configuredID(w, r, "service", func(c *config.Config, id string) bool { _, ok := c.Service(id); return ok })
}

func (s *Server) configuredID(w http.ResponseWriter, r *http.Request, kind string, has func(*config.Config, string) bool) (string, bool) {
	cfg, ok := s.config(w)
	if !ok {
		return "", false
	}
	id := r.PathValue("id")
	if !has(cfg, id) {
		writeError(w, http.StatusNotFound, "no "+kind+" "+strconv.Quote(id))
		return "", false
	}
	return id, true
}

// decodeOptionalBody decodes the request's strict JSON body into v when it
// has one (an empty body keeps v's zero value); false once it has answered
// a bad body.
func decodeOptionalBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength == 0 {
		return true
	}
	if err := decodeStrict(r, w, v, maxBody); err != nil {
		writeBodyError(w, err)
		return false
	}
	return true
}

func (s *Server) listServices(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	now := s.now()
	hbs, runs := s.heartbeatViews(cfg, now), s.node.FSM().DrillRuns("")
	out := []ServiceView{}
	for _, svc := range cfg.Services {
		out = append(out, s.serviceView(cfg, svc, hbs, runs, now))
	}
	s.fillRTOMet90d(cfg, out, now)
	writeJSON(w, http.StatusOK, map[string]any{"services": out})
}

func (s *Server) getService(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	svc, found := cfg.Service(r.PathValue("id"))
	if !found {
		writeError(w, http.StatusNotFound, "no service "+strconv.Quote(r.PathValue("id")))
		return
	}
	now := s.now()
	views := []ServiceView{s.serviceView(cfg, svc, s.heartbeatViews(cfg, now), s.node.FSM().DrillRuns(""), now)}
	s.fillRTOMet90d(cfg, views, now)
	writeJSON(w, http.StatusOK, views[0])
}

func (s *Server) listHeartbeats(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"heartbeats": s.heartbeatViews(cfg, s.now())})
}

// pingHeartbeat: 404 for an unknown heartbeat, 401 for a missing or wrong
// key (nothing recorded), 202 once the ping is committed, 503 while there
// is no leader or quorum.
func (s *Server) pingHeartbeat(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	hb, found := cfg.Heartbeat(id)
	if !found {
		writeError(w, http.StatusNotFound, "no heartbeat "+strconv.Quote(id))
		return
	}
	key := r.PathValue("key")
	if key == "" {
		key = bearer(r)
	}
	switch {
	case hb.Key == "":
		unauthorized(w, "heartbeat "+strconv.Quote(id)+" has no key: it is pinged by Alertmanager webhooks of integration "+strconv.Quote(hb.Alertmanager.Integration))
		return
	case key == "":
		unauthorized(w, "missing heartbeat key (send Authorization: Bearer KEY or POST to /v1/heartbeats/"+id+"/KEY)")
		return
	case subtle.ConstantTimeCompare([]byte(key), []byte(hb.Key)) != 1:
		unauthorized(w, "wrong key for heartbeat "+strconv.Quote(id))
		return
	}
	op := cluster.HeartbeatPing
	if r.Pattern == "POST /v1/heartbeats/{id}/fail" {
		op = cluster.HeartbeatFail
	}
	st, inc, err := s.node.SubmitHeartbeat(r.Context(), cluster.HeartbeatCommand{ID: id, Op: op, Source: "api"})
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	body := map[string]any{"status": "accepted", "heartbeat": id, "last_ping_at": st.LastPingAt}
	if inc != 0 {
		body["incident"] = incident.KeyFor(inc)
	}
	writeJSON(w, http.StatusAccepted, body)
}

func (s *Server) listDrills(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	runs, now := s.node.FSM().DrillRuns(""), s.now()
	out := []DrillView{}
	for _, d := range cfg.Drills {
		out = append(out, drillView(d, runs, now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"drills": out})
}

type drillRunBody struct {
	By string `json:"by"`
}

func (s *Server) runDrill(w http.ResponseWriter, r *http.Request) {
	id, ok := s.configuredDrill(w, r)
	if !ok {
		return
	}
	var body drillRunBody
	if !decodeOptionalBody(w, r, &body) {
		return
	}
	if body.By == "" {
		body.By = tokenName(r.Context())
	}
	run, err := s.node.SubmitDrillRun(r.Context(), cluster.DrillRunCommand{Drill: id, ScheduledAt: s.node.Now(), Manual: true, By: body.By})
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, run)
}

func (s *Server) drillRuns(w http.ResponseWriter, r *http.Request) {
	id, ok := s.configuredDrill(w, r)
	if !ok {
		return
	}
	runs := s.node.FSM().DrillRuns(id)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt.After(runs[j].StartedAt) })
	writeJSON(w, http.StatusOK, map[string]any{"drill": id, "runs": runs})
}

// fillRTOMet90d sets each view's rto_met_90d: of the real incidents of the
// last 90 days judged against the RTO (the continuity report's rto_met and
// rto_breached), the fraction met; null without an RTO or any judged.
func (s *Server) fillRTOMet90d(cfg *config.Config, views []ServiceView, now time.Time) {
	q := reports.Query{From: now.Add(-90 * 24 * time.Hour), To: now, By: reports.ByService}
	rows := map[string]reports.ContinuityRow{}
	for _, r := range BuildContinuityReport(s.node.FSM(), cfg, q, now).Services {
		rows[r.Service] = r
	}
	for i := range views {
		r := rows[views[i].ID]
		if judged := r.RTOMet + r.RTOBreached; judged > 0 {
			v := float64(r.RTOMet) / float64(judged)
			views[i].Continuity.RTOMet90d = &v
		}
	}
}

// Package api serves pagerd's HTTP API (spec §2) for one node: incidents,
// config, cluster membership, snapshots, health and metrics. Ingest endpoints
// are the router's; this package mounts them behind leader forwarding.
//
// Reads are answered from the local node's applied state; writes go through
// cluster.Node.LeaderOnly, so any node accepts them.
package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Options configure the API server.
type Options struct {
	Node     *cluster.Node
	Ingest   http.Handler // the router: /v1/ingest/alertmanager[/{key}], /v2/enqueue
	Gatherer prometheus.Gatherer
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Now is the clock for read-only queries that default to "now" (on-call,
	// shifts, calendar); time.Now when nil.
	Now func() time.Time
	// Dev is serve --dev: only then is a config with `auth: none` accepted
	// and served without tokens.
	Dev bool
}

// Server is the HTTP API of one node.
type Server struct {
	node    *cluster.Node
	log     *slog.Logger
	mux     *http.ServeMux
	now     func() time.Time
	dev     bool
	digests digestCache
}

// New builds the API.
func New(o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Server{node: o.Node, log: o.Logger, mux: http.NewServeMux(), now: o.Now, dev: o.Dev}
	m, lead := s.mux, o.Node.LeaderOnly
	if o.Ingest != nil {
		for _, p := range []string{"POST /v1/ingest/alertmanager", "POST /v1/ingest/alertmanager/{key}", "POST /v2/enqueue"} {
			m.Handle(p, o.Node.IngestAnywhere(o.Ingest))
		}
		// Followers' ingest payloads; node credentials only (no s.auth).
		m.Handle("POST "+cluster.IngestForwardPath, o.Node.IngestForwardHandler())
	}
	m.Handle("GET /v1/incidents", s.auth(http.HandlerFunc(s.listIncidents)))
	m.Handle("GET /v1/incidents/{id}", s.auth(http.HandlerFunc(s.getIncident)))
	m.Handle("GET /v1/incidents/export", s.auth(http.HandlerFunc(s.exportIncidents)))
	m.Handle("POST /v1/incidents/{id}/{action}", s.auth(lead(http.HandlerFunc(s.actOnIncident))))
	m.Handle("POST /v1/incidents/{id}/severity", s.auth(lead(http.HandlerFunc(s.setSeverity))))
	m.Handle("POST /v1/incidents/{id}/updates", s.auth(lead(http.HandlerFunc(s.postUpdate))))
	m.Handle("GET /v1/maintenance", s.auth(http.HandlerFunc(s.listMaintenance)))
	m.Handle("POST /v1/maintenance", s.auth(lead(http.HandlerFunc(s.startMaintenance))))
	m.Handle("DELETE /v1/maintenance/{id}", s.auth(lead(http.HandlerFunc(s.endMaintenance))))
	m.Handle("PUT /v1/incidents/{id}/roles/{role}", s.auth(lead(http.HandlerFunc(s.putRole))))
	m.Handle("DELETE /v1/incidents/{id}/roles/{role}", s.auth(lead(http.HandlerFunc(s.deleteRole))))
	m.Handle("POST /v1/incidents/{id}/impact", s.auth(lead(http.HandlerFunc(s.setImpact))))
	m.Handle("GET /v1/incidents/{id}/summary", s.auth(http.HandlerFunc(s.getSummary)))
	m.Handle("GET /v1/incidents/{id}/postmortem", s.auth(http.HandlerFunc(s.getPostmortem)))
	m.Handle("PUT /v1/incidents/{id}/postmortem", s.auth(lead(http.HandlerFunc(s.putPostmortem))))
	m.Handle("POST /v1/incidents/{id}/followups", s.auth(lead(http.HandlerFunc(s.addFollowup))))
	m.Handle("GET /v1/followups", s.auth(http.HandlerFunc(s.listFollowups)))
	m.Handle("GET /v1/followups/{id}", s.auth(http.HandlerFunc(s.getFollowup)))
	m.Handle("PATCH /v1/followups/{id}", s.auth(lead(http.HandlerFunc(s.patchFollowup))))
	m.Handle("GET /v1/config", s.auth(http.HandlerFunc(s.getConfig)))
	m.Handle("PUT /v1/config", s.auth(lead(http.HandlerFunc(s.putConfig))))
	m.Handle("GET /v1/cluster", s.auth(http.HandlerFunc(s.clusterStatus)))
	m.Handle("POST /v1/cluster/join", s.auth(lead(http.HandlerFunc(s.join))))
	m.Handle("DELETE /v1/cluster/nodes/{id}", s.auth(lead(http.HandlerFunc(s.removeNode))))
	m.Handle("GET /v1/snapshot", s.auth(lead(http.HandlerFunc(s.saveSnapshot))))
	m.Handle("PUT /v1/snapshot", s.auth(lead(http.HandlerFunc(s.restoreSnapshot))))
	m.Handle("POST /v1/reply-keys/rotate", s.auth(lead(http.HandlerFunc(s.rotateReplyKey))))
	m.Handle("GET /v1/oncall", s.auth(http.HandlerFunc(s.allOnCall)))
	m.Handle("GET /v1/schedules/{id}/oncall", s.auth(http.HandlerFunc(s.scheduleOnCall)))
	m.Handle("GET /v1/schedules/{id}/shifts", s.auth(http.HandlerFunc(s.scheduleShifts)))
	m.Handle("GET /v1/schedules/{id}/calendar.ics", s.auth(http.HandlerFunc(s.scheduleCalendar)))
	m.Handle("GET /v1/schedules/{id}/overrides", s.auth(http.HandlerFunc(s.listOverrides)))
	m.Handle("POST /v1/schedules/{id}/overrides", s.auth(lead(http.HandlerFunc(s.addOverride))))
	m.Handle("DELETE /v1/schedules/{id}/overrides/{oid}", s.auth(lead(http.HandlerFunc(s.deleteOverride))))
	m.Handle("GET /v1/reports/response", s.auth(http.HandlerFunc(s.responseReport)))
	m.Handle("GET /v1/reports/continuity", s.auth(http.HandlerFunc(s.continuityReport)))
	s.registerContinuity(m, lead)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	m.HandleFunc("GET /readyz", s.readyz)
	if o.Gatherer != nil {
		m.Handle("GET /metrics", promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{}))
	}
	if o.Registry != nil {
		o.Registry.MustRegister(&incidentCollector{fsm: o.Node.FSM()})
	}
	m.HandleFunc("/", s.noRoute)
	return s
}

// routeMethods are the methods the API's routes use; noRoute asks the mux
// about each to tell a wrong method (405) from an unknown path (404).
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete}

// noRoute answers what no route took: 405 with Allow when the path has a
// route under another method (the mux's own 405 never fires, because this
// catch-all matches every method), else 404.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+"; allowed: "+strings.Join(allow, ", "))
		return
	}
	writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
}

func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range routeMethods {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: http.Header{}}
		if _, pattern := s.mux.Handler(probe); pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	// node and raft_state are in both answers: GET /v1/cluster on another
	// member reads them to report this member's state.
	if why := s.node.NotReady(); why != "" {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": why, "node": s.node.ID(), "raft_state": s.node.RaftState()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "leader": s.node.Leader(), "node": s.node.ID(),
		"raft_state": s.node.RaftState(), "config_version": s.node.FSM().Config().Version, "applied_index": s.node.AppliedIndex()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeCommitError maps a commit's error to its HTTP answer.
func (s *Server) writeCommitError(w http.ResponseWriter, err error) {
	var ra interface{ RetryAfter() time.Duration }
	var cfgErrs config.Errors
	switch {
	case errors.As(err, &ra):
		cluster.WriteUnavailable(w, err.Error(), ra.RetryAfter())
	case errors.Is(err, incident.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, incident.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, incident.ErrInvalid), errors.As(err, &cfgErrs):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		s.log.Error("commit failed", "err", err)
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// decodeStrict reads a JSON body into v, rejecting unknown fields and
// trailing data, with messages that name the field.
func decodeStrict(r *http.Request, w http.ResponseWriter, v any, limit int64) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err)
	}
	// Token, not More: More reports false for a stray '}' or ']' as for the
	// end of the input, and for a read error (a body over the limit).
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return err
		}
		return errors.New("body: unexpected data after the JSON object")
	}
	return nil
}

package api

import (
	"bytes"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/reports"
)

// responseReport answers GET /v1/reports/response?from=&to=&group_by=&format=
// from this node's applied state: the fields a report needs are copied
// under the read lock, the report is computed outside it.
func (s *Server) responseReport(w http.ResponseWriter, r *http.Request) {
	q, format, err := reports.ParseQuery(r.URL.Query(), s.now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep := reports.Build(q, reports.Collect(s.node.FSM().ReadIncidents, q))
	if format == "csv" {
		var buf bytes.Buffer
		if err := reports.WriteCSV(&buf, rep); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// continuityReport answers GET /v1/reports/continuity?from=&to=&format=
// (spec §5.3): per configured service, incidents against its RTO, drills
// and the plan review (reports.BuildContinuity).
func (s *Server) continuityReport(w http.ResponseWriter, r *http.Request) {
	cfg, ok := s.config(w)
	if !ok {
		return
	}
	now := s.now()
	q, format, err := reports.ParseQuery(r.URL.Query(), now)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep := s.buildContinuity(cfg, q, now)
	if format == "csv" {
		var buf bytes.Buffer
		if err := reports.WriteContinuityCSV(&buf, rep); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(buf.Bytes())
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) buildContinuity(cfg *config.Config, q reports.Query, now time.Time) reports.Continuity {
	return BuildContinuityReport(s.node.FSM(), cfg, q, now)
}

// BuildContinuityReport copies the report's inputs from the FSM and the
// config and builds it (also used for the Prometheus gauges).
func BuildContinuityReport(f *cluster.FSM, cfg *config.Config, q reports.Query, now time.Time) reports.Continuity {
	services := make([]reports.ServiceInfo, 0, len(cfg.Services))
	for _, svc := range cfg.Services {
		services = append(services, reports.ServiceInfo{ID: svc.ID, Name: svc.Name, Criticality: svc.Criticality,
			RTO: svc.RTO.D(), RTOText: durText(svc.RTO)})
	}
	var drills []reports.DrillRecord
	for _, run := range f.DrillRuns("") {
		drills = append(drills, reports.DrillRecord{ID: run.ID, Drill: run.Drill, Service: run.Service,
			Status: run.Status, StartedAt: run.StartedAt})
	}
	var reviews []reports.ReviewRecord
	for _, st := range f.ReviewStatuses(now) {
		reviews = append(reviews, reports.ReviewRecord{Service: st.Service, DueAt: st.DueAt, Overdue: st.Overdue})
	}
	return reports.BuildContinuity(q, now, services, reports.Collect(f.ReadIncidents, q), drills, reviews)
}

package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/pagerd/pagerd/config"
)

// maintenanceBody is the body of POST /v1/maintenance (spec §5.3).
type maintenanceBody struct {
	Services []string `json:"services"`
	For      string   `json:"for"`
	Reason   string   `json:"reason"`
	By       string   `json:"by"`
	Allow    []string `json:"allow"`
}

// maxMaintenance bounds an ad hoc window: a longer one belongs in config.
const maxMaintenance = 7 * 24 * 60 * 60 // seconds

// listMaintenance lists the windows on now or starting within 7 days, from
// config and ad hoc; ?service= filters.
func (s *Server) listMaintenance(w http.ResponseWriter, r *http.Request) {
	ws := s.node.FSM().MaintenanceWindows(s.now(), 7*24*time.Hour)
	if svc := r.URL.Query().Get("service"); svc != "" {
		ws = slicesFilter(ws, svc)
	}
	if ws == nil {
		ws = []config.MaintenanceWindow{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"maintenance": ws})
}

func slicesFilter(ws []config.MaintenanceWindow, service string) []config.MaintenanceWindow {
	return slices.DeleteFunc(ws, func(w config.MaintenanceWindow) bool { return !slices.Contains(w.Services, service) })
}

// startMaintenance starts an ad hoc window now, for `for`.
func (s *Server) startMaintenance(w http.ResponseWriter, r *http.Request) {
	var body maintenanceBody
	if err := decodeStrict(r, w, &body, maxBody); err != nil {
		writeBodyError(w, err)
		return
	}
	cfg := s.node.FSM().Config().Config
	d, err := checkMaintenanceBody(cfg, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg, ok := checkActor(r.Context(), body.By); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	by := body.By
	if by == "" {
		by = tokenName(r.Context())
	}
	win, err := s.node.StartMaintenance(r.Context(), body.Services, d, body.Reason, by, body.Allow)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, win)
}

func checkMaintenanceBody(cfg *config.Config, b maintenanceBody) (time.Duration, error) {
	if len(b.Services) == 0 {
		return 0, errors.New("services: at least one service is required")
	}
	for i, svc := range b.Services {
		if _, ok := cfg.Service(svc); !ok {
			return 0, fmt.Errorf("services[%d]: unknown service %q", i, svc)
		}
	}
	for i, sev := range b.Allow {
		if !config.ValidSeverity(sev) {
			return 0, fmt.Errorf("allow[%d]: unknown severity %q (use sev1, sev2 or sev3)", i, sev)
		}
	}
	if b.For == "" {
		return 0, errors.New("for: required (e.g. 1h)")
	}
	d, err := config.ParseDuration(b.For)
	switch {
	case err != nil:
		return 0, fmt.Errorf("for: invalid duration %q (e.g. 1h)", b.For)
	case d <= 0:
		return 0, fmt.Errorf("for: %q is not after from: the window must last a positive time", b.For)
	case d.D().Seconds() > maxMaintenance:
		return 0, fmt.Errorf("for: %s is longer than 7 days; put a long window in the config's maintenance", b.For)
	}
	return d.D(), nil
}

// endMaintenance ends an ad hoc window now; incidents waiting for its end
// start paging.
func (s *Server) endMaintenance(w http.ResponseWriter, r *http.Request) {
	win, err := s.node.EndMaintenance(r.Context(), r.PathValue("id"), tokenName(r.Context()))
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, win)
}

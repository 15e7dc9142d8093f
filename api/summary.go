package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

// impactBody is POST /v1/incidents/{id}/impact (spec §5.3).
type impactBody struct {
	StartedAt string `json:"started_at"`
	By        string `json:"by"`
	Note      string `json:"note"`
}

// setImpact records when customer impact began. The time is a person's,
// never guessed; one in the future is refused here (400 naming the field)
// and again, against the leader's stamped clock, when the command applies.
// Either way nothing changes.
func (s *Server) setImpact(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	var body impactBody
	if err := decodeOptional(w, r, &body); err != nil {
		writeBodyError(w, err)
		return
	}
	at, err := parseImpactTime(body.StartedAt, s.node.Clock())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	by := body.By
	if by == "" {
		by = tokenName(r.Context())
	}
	inc, err := s.node.SubmitAction(r.Context(), &incident.Action{Incident: id, Kind: incident.Impact, By: by,
		Channel: "api", Note: body.Note, StartedAt: &at})
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, fullIncident(inc))
}

func parseImpactTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("started_at: required, an RFC 3339 time (e.g. 2026-11-29T14:05:00Z)")
	}
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errors.New("started_at: want an RFC 3339 time (e.g. 2026-11-29T14:05:00Z), got " + quoteInput(s))
	}
	if !jsonenc.StorableTime(at) { // json.Marshal would refuse the command: a 500
		return time.Time{}, errors.New("started_at: " + quoteInput(s) + " " + jsonenc.OutsideStorableYears)
	}
	if at.After(now) {
		return time.Time{}, errors.New("started_at: " + at.UTC().Format(time.RFC3339) +
			" is in the future (now " + now.UTC().Format(time.RFC3339) + "); impact cannot start later than now")
	}
	return at.UTC(), nil
}

func quoteInput(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// getSummary serves the resolution summary (spec §5.3): JSON, or with
// ?format=text the plain text mailed on resolve. An open incident's
// duration runs to now (marked ongoing).
func (s *Server) getSummary(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "text" {
		writeError(w, http.StatusBadRequest, "format: want json or text, got "+quoteInput(format))
		return
	}
	var sum *incident.Summary
	cfg, _ := s.node.ActiveConfig()
	s.node.FSM().ReadIncidents(func(st *incident.State) {
		if inc, ok := st.Get(id); ok {
			sum = incident.BuildSummary(inc, s.node.Clock(), cfg.IncidentURL(inc.Key))
			if cfg == nil {
				return
			}
			if svc, ok := cfg.Service(inc.Service); ok {
				sum.BridgeURL = svc.BridgeURL
			}
		}
	})
	if sum == nil {
		writeError(w, http.StatusNotFound, "incident not found: "+incident.KeyFor(id))
		return
	}
	if format == "text" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(sum.Text()))
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

package api

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// exportPage is how many incidents one read-locked pass copies: the lock is
// held for a page, never for the whole export, and the writing to a slow
// client happens outside it.
const exportPage = 200

// exportIncidents answers GET /v1/incidents/export?from=T&to=T (spec §2):
// JSON lines, one whole incident (alerts, timeline, notifications) per
// line, for every incident created in [from, to) that the state still
// holds, oldest first. It is for archiving before retention removes
// resolved incidents, so it reads this node's state (any node serves it)
// and streams: memory stays at one page whatever the window.
func (s *Server) exportIncidents(w http.ResponseWriter, r *http.Request) {
	from, to, err := exportWindow(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	var next uint64
	for {
		page := make([]*incident.Incident, 0, exportPage)
		s.node.FSM().ReadIncidents(func(st *incident.State) {
			next = st.CreatedBetween(from, to, next, exportPage, func(inc *incident.Incident) { page = append(page, inc) })
		})
		for _, inc := range page {
			if err := enc.Encode(fullIncident(inc)); err != nil {
				return // the client went away; the status is sent
			}
		}
		if next == 0 || r.Context().Err() != nil {
			break
		}
	}
	_ = bw.Flush()
}

// exportWindow reads from and to: RFC 3339 times, from required, to
// defaulting to no upper bound, from before to.
func exportWindow(r *http.Request) (from, to time.Time, err error) {
	q := r.URL.Query()
	for _, k := range []string{"from", "to"} {
		if len(q[k]) > 1 {
			return from, to, fmt.Errorf("%s: given %d times; give it once", k, len(q[k]))
		}
	}
	if q.Get("from") == "" {
		return from, to, fmt.Errorf("from: required (RFC 3339 time, e.g. 2026-01-01T00:00:00Z)")
	}
	if from, err = time.Parse(time.RFC3339, q.Get("from")); err != nil {
		return from, to, fmt.Errorf("from: %q is not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)", q.Get("from"))
	}
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.RFC3339, v); err != nil {
			return from, to, fmt.Errorf("to: %q is not an RFC 3339 time (e.g. 2026-02-01T00:00:00Z)", v)
		}
		if !to.After(from) {
			return from, to, fmt.Errorf("to: %s is not after from (%s)", v, q.Get("from"))
		}
	}
	return from, to, nil
}

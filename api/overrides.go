package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/schedule"
)

// Runtime schedule overrides (spec §5.3): POST, GET and DELETE under
// /v1/schedules/{id}/overrides. Reads come from this node's state; writes go
// to the leader and answer after commit.

// overrideBody is the POST body. from and to are RFC 3339 instants or
// wall-clock times in the schedule's zone, as the other schedule endpoints
// and the config's own overrides take them.
type overrideBody struct {
	From     string `json:"from"`
	To       string `json:"to"`
	User     string `json:"user"`
	Replaces string `json:"replaces"`
	By       string `json:"by"`
}

func (s *Server) listOverrides(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	set, ok := s.scheduleSet(w)
	if !ok {
		return
	}
	if !set.IsSchedule(id) {
		writeError(w, http.StatusNotFound, "no schedule \""+id+"\" (runtime overrides apply to schedules, not rotations)")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule": id, "timezone": zoneOf(set, id), "overrides": s.node.FSM().Overrides(id)})
}

func (s *Server) addOverride(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	set, ok := s.scheduleSet(w)
	if !ok {
		return
	}
	var body overrideBody
	if err := decodeStrict(r, w, &body, maxBody); err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("body: want a JSON object with from, to and user")
		}
		writeBodyError(w, err)
		return
	}
	if msg, ok := checkActor(r.Context(), body.By); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	o, err := overrideFromBody(&body, set, id, s.defaultZone())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if o.By == "" {
		o.By = tokenName(r.Context())
	}
	got, err := s.node.AddOverride(r.Context(), o)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, got)
}

// overrideFromBody reads the times in the schedule's zone; the rest of the
// validation (known schedule and users, from before to) is the cluster's,
// which apply repeats against the replicated config.
func overrideFromBody(b *overrideBody, set *schedule.Set, id, defZone string) (cluster.RuntimeOverride, error) {
	o := cluster.RuntimeOverride{Schedule: id, User: strings.TrimSpace(b.User), Replaces: strings.TrimSpace(b.Replaces), By: b.By}
	var err error
	if o.From, err = overrideTime("from", b.From, set, id, defZone); err != nil {
		return o, err
	}
	o.To, err = overrideTime("to", b.To, set, id, defZone)
	return o, err
}

func overrideTime(name, v string, set *schedule.Set, id, defZone string) (time.Time, error) {
	if v = strings.TrimSpace(v); v == "" {
		return time.Time{}, errors.New(name + ": required")
	}
	t, err := wallTime(name, v, set, id, defZone)
	return t.UTC(), err
}

func (s *Server) deleteOverride(w http.ResponseWriter, r *http.Request) {
	got, err := s.node.DeleteOverride(r.Context(), r.PathValue("id"), r.PathValue("oid"))
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, got)
}

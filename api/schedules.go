package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/schedule"
)

// Query windows for shifts: a default when the caller gives none, and a cap
// that keeps one request's work bounded.
const (
	defaultShiftWindow = 14 * 24 * time.Hour
	maxShiftWindow     = 366 * 24 * time.Hour
	calendarPast       = 30 * 24 * time.Hour
	calendarFuture     = 90 * 24 * time.Hour
)

// scheduleSet is the active config's compiled schedules with the runtime
// overrides on top (compiled once per change by the FSM, not per request).
func (s *Server) scheduleSet(w http.ResponseWriter) (*schedule.Set, bool) {
	set, _, err := s.node.FSM().Schedules()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "compile schedules: "+err.Error())
		return nil, false
	}
	return set, true
}

// OnCallEntry is one schedule or rotation in GET /v1/oncall.
type OnCallEntry struct {
	Schedule string    `json:"schedule"`
	Kind     string    `json:"kind"` // schedule | rotation
	At       time.Time `json:"at"`
	Timezone string    `json:"timezone"` // the zone its times are shown in (an addition)
	Users    []string  `json:"users"`
}

// onCallQuery reads the `at` parameter (default now; a wall-clock time is
// read in the zone of schedule id, or of the config when id is "") and the
// compiled schedules, answering the request itself when either fails.
func (s *Server) onCallQuery(w http.ResponseWriter, r *http.Request, id string) (time.Time, *schedule.Set, bool) {
	set, ok := s.scheduleSet(w)
	if !ok {
		return time.Time{}, nil, false
	}
	at, err := timeInZone(r, "at", s.now(), set, id, s.defaultZone())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return at, nil, false
	}
	return at, set, true
}

// defaultZone is the active config's top-level timezone (UTC when unset).
func (s *Server) defaultZone() string {
	if ac := s.node.FSM().Config(); ac != nil && ac.Config.Timezone != "" {
		return ac.Config.Timezone
	}
	return "UTC"
}

func (s *Server) allOnCall(w http.ResponseWriter, r *http.Request) {
	at, set, ok := s.onCallQuery(w, r, "")
	if !ok {
		return
	}
	out := []OnCallEntry{}
	for _, id := range set.IDs() {
		when := at
		if r.URL.Query().Get("at") != "" {
			// A wall-clock `at` means that time in each schedule's own zone.
			when, _ = timeInZone(r, "at", at, set, id, s.defaultZone())
		}
		users, _ := set.OnCall(id, when)
		kind := "rotation"
		if set.IsSchedule(id) {
			kind = "schedule"
		}
		out = append(out, OnCallEntry{Schedule: id, Kind: kind, At: when.UTC(), Timezone: zoneOf(set, id), Users: nonNilStrings(users)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"at": at.UTC(), "oncall": out})
}

func (s *Server) scheduleOnCall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	at, set, ok := s.onCallQuery(w, r, id)
	if !ok {
		return
	}
	users, err := set.OnCall(id, at)
	if err != nil {
		writeScheduleError(w, id, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedule": id, "at": at.UTC(), "timezone": zoneOf(set, id), "users": nonNilStrings(users)})
}

func (s *Server) scheduleShifts(w http.ResponseWriter, r *http.Request) {
	set, ok := s.scheduleSet(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	from, err := timeInZone(r, "from", s.now(), set, id, s.defaultZone())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	to, err := timeInZone(r, "to", from.Add(defaultShiftWindow), set, id, s.defaultZone())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !to.After(from) || to.Sub(from) > maxShiftWindow {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("to: must be after from and at most %d days later", int(maxShiftWindow.Hours()/24)))
		return
	}
	shifts, err := set.Shifts(id, from, to)
	if err != nil {
		writeScheduleError(w, id, err)
		return
	}
	if shifts == nil {
		shifts = []schedule.Shift{}
	}
	writeJSON(w, http.StatusOK, shifts)
}

func (s *Server) scheduleCalendar(w http.ResponseWriter, r *http.Request) {
	set, ok := s.scheduleSet(w)
	if !ok {
		return
	}
	id := r.PathValue("id")
	now := s.now()
	// Whole shifts: the window moves with now, and a clipped edge event
	// would change its times and UID on every fetch.
	shifts, err := set.WholeShifts(id, now.Add(-calendarPast), now.Add(calendarFuture))
	if err != nil {
		writeScheduleError(w, id, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("inline; filename=%q", id+".ics"))
	w.Write(schedule.ICS(id, shifts, now))
}

func writeScheduleError(w http.ResponseWriter, id string, err error) {
	if errors.Is(err, schedule.ErrUnknown) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no schedule or rotation %q", id))
		return
	}
	if errors.Is(err, schedule.ErrInvalid) {
		// A schedule of a replicated config that does not compile on this
		// release (config.ParseReplicated): the others still answer.
		writeError(w, http.StatusConflict, err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

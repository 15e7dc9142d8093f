package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/internal/jsonenc"
	"github.com/pagerd/pagerd/learning"
)

// Postmortems and follow-ups (spec §5.3). Reads come from this node's
// state; writes go to the leader and answer after commit. The API checks
// what it can name precisely before submitting; apply checks again against
// the replicated config and the batch time, so a refusal changes nothing.

// maxPostmortemRequest leaves room for a body at the cap plus JSON escaping,
// so an over-cap body is answered 400 naming `body`, not a generic 413.
const maxPostmortemRequest = 4 * learning.MaxBody

type postmortemBody struct {
	Status string  `json:"status"`
	Owner  string  `json:"owner"`
	Body   *string `json:"body"`
	By     string  `json:"by"`
}

func (s *Server) getPostmortem(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	var p learning.Postmortem
	var ok bool
	s.node.FSM().ReadLearning(func(st *learning.State) { p, ok = st.Postmortem(id) })
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("INC-%d has no postmortem (PUT one to start it by hand)", id))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) putPostmortem(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	var b postmortemBody
	if err := decodeStrict(r, w, &b, maxPostmortemRequest); err != nil {
		writeBodyError(w, orBodyHint(err, "status, owner and body"))
		return
	}
	if msg, ok := checkActor(r.Context(), b.By); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	c := &learning.PostmortemCommand{Incident: id, Status: b.Status, Owner: strings.TrimSpace(b.Owner), By: s.actor(r, b.By)}
	if b.Body != nil {
		c.Body, c.BodySet = *b.Body, true
	}
	if err := checkPostmortemBody(c); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	p, err := s.node.PutPostmortem(r.Context(), c)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func checkPostmortemBody(c *learning.PostmortemCommand) error {
	switch {
	case c.Status != "" && !slices.Contains([]string{learning.StatusDraft, learning.StatusInReview, learning.StatusPublished}, c.Status):
		return fmt.Errorf("status: unknown status %q (want draft, in_review or published)", c.Status)
	case len(c.Body) > learning.MaxBody:
		return fmt.Errorf("body: %d bytes is over the %d-byte cap", len(c.Body), learning.MaxBody)
	}
	return nil
}

type followupBody struct {
	Title    string `json:"title"`
	Owner    string `json:"owner"`
	Due      string `json:"due"`
	Priority string `json:"priority"`
	Link     string `json:"link"`
	By       string `json:"by"`
}

func (s *Server) addFollowup(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	var b followupBody
	if err := decodeStrict(r, w, &b, maxBody); err != nil {
		writeBodyError(w, orBodyHint(err, "title and owner"))
		return
	}
	if msg, ok := checkActor(r.Context(), b.By); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	now := s.node.Now()
	c := &learning.FollowupAdd{Incident: id, Title: b.Title, Owner: strings.TrimSpace(b.Owner),
		Priority: b.Priority, Link: strings.TrimSpace(b.Link), By: s.actor(r, b.By)}
	if b.Due != "" {
		if c.Due, err = s.parseDue(b.Due, now); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if !c.Due.After(now) {
			writeError(w, http.StatusBadRequest, "due: "+c.Due.Format(time.RFC3339)+" is in the past")
			return
		}
	}
	fu, err := s.node.AddFollowup(r.Context(), c)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, fu)
}

// parseDue reads an RFC 3339 instant, a date (the start of that day in the
// config's timezone) or a duration from now ("14d", "2w").
func (s *Server) parseDue(v string, now time.Time) (time.Time, error) {
	return parseDueIn(v, now, s.defaultZone())
}

func parseDueIn(v string, now time.Time, zone string) (time.Time, error) {
	v = strings.TrimSpace(v)
	t, err := readDue(v, now, zone)
	if err != nil {
		return time.Time{}, err
	}
	if !jsonenc.StorableTime(t) { // json.Marshal would refuse the command: a 500
		return time.Time{}, fmt.Errorf("due: %q %s", v, jsonenc.OutsideStorableYears)
	}
	return t.UTC(), nil
}

func readDue(v string, now time.Time, zone string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if loc, err := time.LoadLocation(zone); err == nil {
		if t, err := time.ParseInLocation("2006-01-02", v, loc); err == nil {
			return t, nil
		}
	}
	if d, err := config.ParseDuration(v); err == nil && d > 0 {
		return now.Add(d.D()), nil
	}
	return time.Time{}, fmt.Errorf("due: %q is not an RFC 3339 time, a date (2006-01-02) or a duration (14d)", v)
}

type followupPatchBody struct {
	Status string  `json:"status"`
	Owner  string  `json:"owner"`
	Due    string  `json:"due"`
	Note   string  `json:"note"`
	Link   *string `json:"link"`
	By     string  `json:"by"`
	// Via is "email" when a follower forwards a reminder reply; only
	// node-to-node requests may set it (apply then checks by = owner).
	Via string `json:"via"`
}

func (s *Server) patchFollowup(w http.ResponseWriter, r *http.Request) {
	var b followupPatchBody
	if err := decodeStrict(r, w, &b, maxBody); err != nil {
		writeBodyError(w, orBodyHint(err, "status, owner, due, note or link"))
		return
	}
	if msg, ok := checkActor(r.Context(), b.By); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	if b.Via != "" && fromNode(r.Context()) == "" {
		writeError(w, http.StatusForbidden, "via: only set by a pagerd node forwarding a reply")
		return
	}
	c := &learning.FollowupPatch{ID: r.PathValue("id"), Status: b.Status, Owner: strings.TrimSpace(b.Owner),
		Note: b.Note, Link: b.Link, By: s.actor(r, b.By), Via: orElse(b.Via, "api")}
	if b.Due != "" {
		now := s.node.Now()
		due, err := s.parseDue(b.Due, now)
		if err == nil && !due.After(now) {
			err = errors.New("due: " + due.Format(time.RFC3339) + " is in the past")
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		c.Due = &due
	}
	fu, err := s.node.PatchFollowup(r.Context(), c)
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, fu)
}

// getFollowup answers one follow-up with the reminders recorded about it
// (queued, sent or failed), so a failed reminder mail is visible.
func (s *Server) getFollowup(w http.ResponseWriter, r *http.Request) {
	var out struct {
		learning.Followup
		Reminders []learning.ReminderRecord `json:"reminders"`
	}
	var ok bool
	s.node.FSM().ReadLearning(func(st *learning.State) {
		if out.Followup, ok = st.Followup(r.PathValue("id")); ok {
			out.Reminders = st.RemindersAbout(out.ID)
		}
	})
	if !ok {
		writeError(w, http.StatusNotFound, "follow-up "+r.PathValue("id")+" not found")
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listFollowups answers GET /v1/followups?status=&owner=&incident=&overdue=.
func (s *Server) listFollowups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := learning.Filter{Status: q.Get("status"), Owner: q.Get("owner"), Now: s.node.Now()}
	if f.Status != "" && !slices.Contains([]string{"open", "done", "wont_do", "all"}, f.Status) {
		writeError(w, http.StatusBadRequest, "status: want open, done, wont_do or all")
		return
	}
	if v := q.Get("overdue"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "overdue: want true or false")
			return
		}
		f.Overdue = b
	}
	if v := q.Get("incident"); v != "" {
		id, err := ParseIncidentID(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "incident: "+err.Error())
			return
		}
		f.Incident = id
	}
	var items []learning.Followup
	s.node.FSM().ReadLearning(func(st *learning.State) { items = st.ListFollowups(f) })
	writeJSON(w, http.StatusOK, map[string]any{"followups": items})
}

// actor is who a write acts as: the body's `by`, else the token's name.
func (s *Server) actor(r *http.Request, by string) string {
	if by = strings.TrimSpace(by); by != "" {
		return by
	}
	return tokenName(r.Context())
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orBodyHint(err error, fields string) error {
	if errors.Is(err, io.EOF) {
		return errors.New("body: want a JSON object with " + fields)
	}
	return err
}

// postmortemRef is an incident's postmortem as the incident shows it
// (spec §5.2): status, due and owner; the body is at .../postmortem.
type postmortemRef struct {
	Status string    `json:"status"`
	DueAt  time.Time `json:"due_at"`
	Owner  string    `json:"owner"`
}

// withLearning adds the incident's postmortem (or null) and follow-ups.
func (s *Server) withLearning(out *incidentJSON) {
	s.node.FSM().ReadLearning(func(st *learning.State) {
		if p, ok := st.Postmortem(out.ID); ok {
			out.Postmortem = &postmortemRef{Status: p.Status, DueAt: p.DueAt, Owner: p.Owner}
		}
		out.Followups = st.ListFollowups(learning.Filter{Status: "all", Incident: out.ID})
	})
}

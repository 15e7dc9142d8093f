package web

import (
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
	"github.com/pagerd/pagerd/learning"
)

// The incident page's practice actions (spec §5.3, §5.6): roles, status
// updates, impact start, the postmortem and follow-ups. Each handler runs
// on the leader behind write (session and CSRF checked), acts as the
// signed-in person, and calls the same Node method the API handler calls;
// the state machine's apply does the checking, so a refused form shows the
// same message the API would.

// practiceDone is the flash after a practice action's redirect.
var practiceDone = map[string]string{
	"severity": "Severity set.", "role": "Role changed.", "update": "Update posted.",
	"impact": "Impact start recorded.", "postmortem": "Postmortem saved.",
	"followup": "Follow-up added.", "followup-closed": "Follow-up closed.",
}

// practiceTarget checks the viewer may act and finds the incident; it has
// answered when ok is false.
func (c *Console) practiceTarget(w http.ResponseWriter, r *http.Request) (*viewer, *incident.Incident, bool) {
	v := viewerOf(r)
	if !v.CanWrite {
		c.showIncident(w, r, v, http.StatusForbidden, "Your API token may only read; sign in with a respond or admin token to act.", true)
		return v, nil, false
	}
	inc, found := c.lookup(r.PathValue("key"))
	if !found {
		c.errorPage(w, r, v, http.StatusNotFound, "No incident "+r.PathValue("key")+".")
		return v, nil, false
	}
	return v, inc, true
}

// committed answers a practice action: back to the incident page after a
// commit (post/redirect/get), or the page again with the refusal.
func (c *Console) committed(w http.ResponseWriter, r *http.Request, v *viewer, inc *incident.Incident, done string, err error) {
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case err == nil:
		http.Redirect(w, r, "/ui/incidents/"+inc.Key+"?done="+done+"&"+atParam(c.node.FSM()), http.StatusSeeOther)
	case errors.Is(err, incident.ErrInvalid):
		c.showIncident(w, r, v, http.StatusBadRequest, err.Error(), true)
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrNotFound):
		c.showIncident(w, r, v, http.StatusConflict, err.Error(), true)
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", "1")
		c.showIncident(w, r, v, http.StatusServiceUnavailable, "The cluster cannot commit right now; retry in a moment.", true)
	default:
		c.log.Error("console "+done, "incident", inc.Key, "err", err)
		c.showIncident(w, r, v, http.StatusInternalServerError, "The action failed: "+err.Error(), true)
	}
}

// incidentRole takes or hands over a role (user set) or releases it.
func (c *Console) incidentRole(w http.ResponseWriter, r *http.Request) {
	v, inc, ok := c.practiceTarget(w, r)
	if !ok {
		return
	}
	user := strings.TrimSpace(r.PostFormValue("user"))
	if r.PostFormValue("take") != "" {
		user = v.Name
	}
	_, err := c.node.SubmitRole(r.Context(), &incident.RoleChange{Incident: inc.ID, Role: r.PostFormValue("role"),
		User: user, By: v.Name, Channel: "console", Note: strings.TrimSpace(r.PostFormValue("note"))})
	c.committed(w, r, v, inc, "role", err)
}

// incidentUpdate posts a status update. Components come as lines of
// "component=status".
func (c *Console) incidentUpdate(w http.ResponseWriter, r *http.Request) {
	v, inc, ok := c.practiceTarget(w, r)
	if !ok {
		return
	}
	msg := strings.TrimSpace(r.PostFormValue("message"))
	comps, err := parseComponents(r.PostFormValue("components"))
	switch {
	case err != nil:
		c.showIncident(w, r, v, http.StatusBadRequest, err.Error(), true)
		return
	case msg == "":
		c.showIncident(w, r, v, http.StatusBadRequest, "message: write the update first.", true)
		return
	case len(msg) > 4000:
		c.showIncident(w, r, v, http.StatusBadRequest, "message: longer than 4000 bytes.", true)
		return
	}
	_, err = c.node.PostUpdate(r.Context(), cluster.UpdateRequest{Incident: inc.ID, Audience: r.PostFormValue("audience"),
		Phase: r.PostFormValue("phase"), Message: msg, Components: comps, By: v.Name, Channel: "console",
		ByToken: v.Kind == "token"})
	c.committed(w, r, v, inc, "update", err)
}

func parseComponents(s string) (map[string]string, error) {
	var out map[string]string
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, val, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(val) == "" {
			return nil, errors.New("components: want one component=status a line, got " + quoteShort(line))
		}
		if out == nil {
			out = map[string]string{}
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	return out, nil
}

func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + s + `"`
}

// incidentImpact records when customer impact began: an RFC 3339 time, or
// a datetime-local value read in UTC. Apply refuses a future time.
func (c *Console) incidentImpact(w http.ResponseWriter, r *http.Request) {
	v, inc, ok := c.practiceTarget(w, r)
	if !ok {
		return
	}
	at, err := parseFormTime(r.PostFormValue("started_at"))
	if err != nil {
		c.showIncident(w, r, v, http.StatusBadRequest, err.Error(), true)
		return
	}
	_, err = c.node.SubmitAction(r.Context(), &incident.Action{Incident: inc.ID, Kind: incident.Impact, By: v.Name,
		Channel: "console", StartedAt: &at})
	c.committed(w, r, v, inc, "impact", err)
}

func parseFormTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			if !jsonenc.StorableTime(t) {
				return time.Time{}, errors.New("started_at: " + quoteShort(s) + " " + jsonenc.OutsideStorableYears)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("started_at: want a UTC time like 2026-11-29T14:05 or RFC 3339, got " + quoteShort(s))
}

// incidentPostmortem writes the postmortem's body, status and owner.
func (c *Console) incidentPostmortem(w http.ResponseWriter, r *http.Request) {
	v, inc, ok := c.practiceTarget(w, r)
	if !ok {
		return
	}
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	if len(body) > learning.MaxBody {
		c.showIncident(w, r, v, http.StatusRequestEntityTooLarge, "body: the postmortem is over the 256 KiB cap; nothing was saved.", true)
		return
	}
	_, err := c.node.PutPostmortem(r.Context(), &learning.PostmortemCommand{Incident: inc.ID, Status: r.PostFormValue("status"),
		Owner: strings.TrimSpace(r.PostFormValue("owner")), Body: body, BodySet: true, By: v.Name})
	c.committed(w, r, v, inc, "postmortem", err)
}

// incidentFollowup adds a follow-up; an empty due date takes the
// severity's default.
func (c *Console) incidentFollowup(w http.ResponseWriter, r *http.Request) {
	v, inc, ok := c.practiceTarget(w, r)
	if !ok {
		return
	}
	fa := &learning.FollowupAdd{Incident: inc.ID, Title: strings.TrimSpace(r.PostFormValue("title")),
		Owner: strings.TrimSpace(r.PostFormValue("owner")), Priority: r.PostFormValue("priority"), By: v.Name}
	if d := strings.TrimSpace(r.PostFormValue("due")); d != "" {
		due, err := parseDueDate(c.config(), d)
		if err != nil {
			c.showIncident(w, r, v, http.StatusBadRequest, err.Error(), true)
			return
		}
		fa.Due = due
	}
	_, err := c.node.AddFollowup(r.Context(), fa)
	c.committed(w, r, v, inc, "followup", err)
}

// parseDueDate reads an <input type=date> value as the end of that day in
// the config's zone.
func parseDueDate(cfg *config.Config, s string) (time.Time, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		loc = time.UTC
	}
	t, err := time.ParseInLocation("2006-01-02", s, loc)
	if err != nil {
		return time.Time{}, errors.New("due: want a date like 2026-12-24, got " + quoteShort(s))
	}
	due := t.Add(24*time.Hour - time.Second)
	if !jsonenc.StorableTime(due) {
		return time.Time{}, errors.New("due: " + quoteShort(s) + " ends outside the years 0000-9999 in UTC")
	}
	return due.UTC(), nil
}

// followupClose closes a follow-up as done or won't do; back is the page
// to return to (the incident, or the follow-ups list).
func (c *Console) followupClose(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if !v.CanWrite {
		c.errorPage(w, r, v, http.StatusForbidden, "Your API token may only read; sign in with a respond or admin token to act.")
		return
	}
	status := r.PostFormValue("status")
	if status != learning.FollowupDone && status != learning.FollowupWontDo {
		c.errorPage(w, r, v, http.StatusBadRequest, "status: want done or wont_do.")
		return
	}
	fu, err := c.node.PatchFollowup(r.Context(), &learning.FollowupPatch{ID: r.PathValue("id"), Status: status,
		Note: strings.TrimSpace(r.PostFormValue("note")), By: v.Name, Via: "console"})
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case err == nil && r.PostFormValue("back") == "incident":
		http.Redirect(w, r, "/ui/incidents/"+fu.Key+"?done=followup-closed&"+atParam(c.node.FSM()), http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, "/ui/followups?"+atParam(c.node.FSM()), http.StatusSeeOther)
	case errors.Is(err, incident.ErrNotFound):
		c.errorPage(w, r, v, http.StatusNotFound, err.Error())
	case errors.Is(err, incident.ErrInvalid), errors.Is(err, incident.ErrConflict):
		c.errorPage(w, r, v, http.StatusConflict, err.Error())
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", "1")
		c.errorPage(w, r, v, http.StatusServiceUnavailable, "The cluster cannot commit right now; retry in a moment.")
	default:
		c.log.Error("console follow-up", "id", r.PathValue("id"), "err", err)
		c.errorPage(w, r, v, http.StatusInternalServerError, "Closing the follow-up failed: "+err.Error())
	}
}

// practiceView is what the incident page shows of the practice state.
type practiceView struct {
	Roles      []roleView
	Users      []string
	Phases     []string
	Postmortem *learning.Postmortem
	Followups  []learning.Followup
	Now        time.Time
}

type roleView struct{ ID, Name, Holder string }

func (c *Console) practiceOf(cfg *config.Config, inc *incident.Incident) practiceView {
	p := practiceView{Phases: incident.Phases, Now: c.now()}
	for _, id := range cfg.RoleIDs() {
		role, _ := cfg.RoleOf(id)
		p.Roles = append(p.Roles, roleView{ID: id, Name: role.Name, Holder: inc.Roles[id]})
	}
	for _, u := range cfg.Users {
		p.Users = append(p.Users, u.ID)
	}
	sort.Strings(p.Users)
	c.node.FSM().ReadLearning(func(st *learning.State) {
		if pm, ok := st.Postmortem(inc.ID); ok {
			p.Postmortem = &pm
		}
		p.Followups = st.ListFollowups(learning.Filter{Status: "all", Incident: inc.ID})
	})
	return p
}

// maxPostmortemForm admits a body at the 256 KiB cap even when the browser
// percent-encodes much of it; the handler then applies the cap itself.
const maxPostmortemForm = 4*learning.MaxBody + maxForm

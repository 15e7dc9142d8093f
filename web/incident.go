package web

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// incidentData is one incident's page.
type incidentData struct {
	Inc    *incident.Incident
	Alerts []alertView
	Next   *nextStep
	Flash  string
	Bad    bool
	P      practiceView
}

// alertView is an alert with its labels sorted and its links picked out.
type alertView struct {
	incident.Alert
	LabelList, AnnotationList []kv
	Runbook                   string
}

type kv struct{ K, V string }

// nextStep is the escalation's next move as people read it.
type nextStep struct {
	Policy string
	Step   int // 1-based for people
	Loop   int
	At     *time.Time
	Who    []string
	Done   bool // exhausted
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, v *viewer) {
	awaitApplied(r.Context(), c.node.FSM(), r.URL.Query().Get("at"))
	done := r.URL.Query().Get("done")
	flash := actionDone[actionKinds[done]]
	if f, ok := practiceDone[done]; ok {
		flash = f
	}
	c.showIncident(w, r, v, http.StatusOK, flash, false)
}

func (c *Console) showIncident(w http.ResponseWriter, r *http.Request, v *viewer, status int, flash string, bad bool) {
	inc, ok := c.lookup(r.PathValue("key"))
	if !ok {
		c.errorPage(w, r, v, http.StatusNotFound, "No incident "+r.PathValue("key")+".")
		return
	}
	cfg := c.config()
	d := incidentData{Inc: inc, Flash: flash, Bad: bad, Next: nextOf(cfg, inc), P: c.practiceOf(cfg, inc)}
	for _, a := range inc.Alerts {
		d.Alerts = append(d.Alerts, viewAlert(a))
	}
	c.render(w, r, status, "incident", "layout", pageData{Title: inc.Key, Nav: "incidents", V: v, Data: d})
}

func (c *Console) lookup(key string) (*incident.Incident, bool) {
	t := key
	if len(t) > 4 && strings.EqualFold(t[:4], "INC-") {
		t = t[4:]
	}
	id, err := strconv.ParseUint(t, 10, 64)
	if err != nil || id == 0 {
		return nil, false
	}
	var inc *incident.Incident
	var ok bool
	c.node.FSM().ReadIncidents(func(st *incident.State) { inc, ok = st.Get(id) })
	return inc, ok
}

func viewAlert(a incident.Alert) alertView {
	av := alertView{Alert: a, LabelList: sorted(a.Labels), AnnotationList: sorted(a.Annotations)}
	for _, k := range []string{"runbook_url", "runbook"} {
		if u := a.Annotations[k]; safeLink(u) {
			av.Runbook = u
			break
		}
	}
	if !safeLink(av.GeneratorURL) {
		av.GeneratorURL = ""
	}
	if !safeLink(av.SilenceURL) {
		av.SilenceURL = ""
	}
	return av
}

// safeLink admits http(s) links only (html/template would defang others
// anyway; this keeps a useless "#ZgotmplZ" link off the page).
func safeLink(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

func sorted(m map[string]string) []kv {
	out := make([]kv, 0, len(m))
	for k, v := range m {
		out = append(out, kv{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

// nextOf says what the escalation does next: the step it is on, when the
// next one starts, and whom that step notifies.
func nextOf(cfg *config.Config, inc *incident.Incident) *nextStep {
	e := inc.Escalation
	if e == nil || inc.Status == incident.Resolved {
		return nil
	}
	n := &nextStep{Policy: e.Policy, Step: e.Step + 1, Loop: e.Loop, At: e.NextAt, Done: e.Exhausted}
	for _, p := range cfg.Policies {
		if p.ID == e.Policy && len(p.Steps) > 0 {
			next := (e.Step + 1) % len(p.Steps)
			if e.StepStartedAt == nil {
				next = e.Step
			}
			n.Who = p.Steps[next].Notify
		}
	}
	return n
}

// actionKinds are the console's incident actions.
var actionKinds = map[string]string{"ack": incident.Ack, "resolve": incident.Resolve,
	"escalate": incident.Escalate, "note": incident.Note}

var actionDone = map[string]string{incident.Ack: "Acknowledged.", incident.Resolve: "Resolved.",
	incident.Escalate: "Escalated to the next step.", incident.Note: "Note added."}

// incidentAction (leader only, session and CSRF checked) acts as the
// signed-in person and shows the incident again.
func (c *Console) incidentAction(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	kind, ok := actionKinds[r.PathValue("action")]
	if !ok {
		c.errorPage(w, r, v, http.StatusNotFound, "No such action.")
		return
	}
	if !v.CanWrite {
		c.showIncident(w, r, v, http.StatusForbidden, "Your API token may only read; sign in with a respond or admin token to act.", true)
		return
	}
	inc, found := c.lookup(r.PathValue("key"))
	if !found {
		c.errorPage(w, r, v, http.StatusNotFound, "No incident "+r.PathValue("key")+".")
		return
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if kind == incident.Note && note == "" {
		c.showIncident(w, r, v, http.StatusBadRequest, "Write a note first.", true)
		return
	}
	_, err := c.node.SubmitAction(r.Context(), &incident.Action{Incident: inc.ID, Kind: kind, By: v.Name, Channel: "console", Note: note})
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case err == nil:
		// Post/redirect/get: a reload does not repeat the action.
		http.Redirect(w, r, "/ui/incidents/"+inc.Key+"?done="+r.PathValue("action")+"&"+atParam(c.node.FSM()), http.StatusSeeOther)
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrInvalid):
		c.showIncident(w, r, v, http.StatusConflict, err.Error(), true)
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", "1")
		c.showIncident(w, r, v, http.StatusServiceUnavailable, "The cluster cannot commit right now; retry in a moment.", true)
	default:
		c.log.Error("console action", "incident", inc.Key, "err", err)
		c.showIncident(w, r, v, http.StatusInternalServerError, "The action failed: "+err.Error(), true)
	}
}

package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// severities a person may choose (spec §5.3).
var severities = map[string]bool{"sev1": true, "sev2": true, "sev3": true}

// incidentSeverity (leader only, session and CSRF checked) sets the
// severity as the signed-in person; the leader re-plans paging at once.
func (c *Console) incidentSeverity(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if !v.CanWrite {
		c.showIncident(w, r, v, http.StatusForbidden, "Your API token may only read; sign in with a respond or admin token to act.", true)
		return
	}
	inc, found := c.lookup(r.PathValue("key"))
	if !found {
		c.errorPage(w, r, v, http.StatusNotFound, "No incident "+r.PathValue("key")+".")
		return
	}
	sev := r.PostFormValue("severity")
	if !severities[sev] {
		c.showIncident(w, r, v, http.StatusBadRequest, "Choose sev1, sev2 or sev3.", true)
		return
	}
	_, err := c.node.SubmitSeverity(r.Context(), &incident.SeverityChange{Incident: inc.ID, Severity: sev, By: v.Name,
		Channel: "console", Note: strings.TrimSpace(r.PostFormValue("note"))})
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case err == nil:
		http.Redirect(w, r, "/ui/incidents/"+inc.Key+"?done=severity&"+atParam(c.node.FSM()), http.StatusSeeOther)
	case errors.Is(err, incident.ErrConflict), errors.Is(err, incident.ErrInvalid):
		c.showIncident(w, r, v, http.StatusConflict, err.Error(), true)
	case errors.As(err, &ra):
		w.Header().Set("Retry-After", "1")
		c.showIncident(w, r, v, http.StatusServiceUnavailable, "The cluster cannot commit right now; retry in a moment.", true)
	default:
		c.log.Error("console severity", "incident", inc.Key, "err", err)
		c.showIncident(w, r, v, http.StatusInternalServerError, "Setting the severity failed: "+err.Error(), true)
	}
}

package api

import (
	"errors"
	"net/http"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
)

// sender is who a command on an incident says it comes from, as its body
// put it: `by`, and the channel and dedup id only a node forwarding a
// reply may set (checkInternalFields).
type sender struct{ by, channel, dedupID string }

// incidentCommand runs the steps every command a person gives on one
// incident shares (action, severity, role, status update), so they answer
// alike: an unknown id is 404; decode fills the body and checks what needs
// no state (its error is 400, or 413 for a body too large); node-only
// fields from an API token are 403. submit then gets the incident id, who
// acts (the token's name without `by`) and the channel ("api" without
// one), and the answer is the committed incident. A retried dedup_id
// changes nothing and answers what its first delivery did, with the
// duplicate header either way: 200 with the incident it acted on, or the
// first delivery's refusal (409) word for word.
func (s *Server) incidentCommand(w http.ResponseWriter, r *http.Request,
	decode func() (sender, error),
	submit func(id uint64, by, channel string) (*incident.Incident, error)) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	from, err := decode()
	if err != nil {
		writeBodyError(w, err)
		return
	}
	if msg, ok := checkInternalFields(r.Context(), from.by, from.channel, from.dedupID); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	by := from.by
	if by == "" {
		by = tokenName(r.Context())
	}
	channel := from.channel
	if channel == "" {
		channel = "api"
	}
	inc, err := submit(id, by, channel)
	if errors.Is(err, incident.ErrReplayed) {
		// The first delivery of this dedup_id was refused the same way.
		w.Header().Set(cluster.DuplicateHeader, "true")
	}
	if errors.Is(err, incident.ErrDuplicate) {
		// A retried reply: its first delivery was already applied (or
		// refused); nothing changes now.
		w.Header().Set(cluster.DuplicateHeader, "true")
		writeJSON(w, http.StatusOK, fullIncident(inc))
		return
	}
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, fullIncident(inc))
}

// decodeBody decodes a required JSON body strictly.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeStrict(r, w, v, maxBody)
}

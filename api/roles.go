package api

import (
	"errors"
	"net/http"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
)

// roleBody is the body of PUT/DELETE /v1/incidents/{id}/roles/{role}
// (spec §5.3): PUT names the new holder (a take or a handover, one
// command); DELETE releases the role and needs no body.
type roleBody struct {
	User string `json:"user"`
	By   string `json:"by"`
	Note string `json:"note"`
	// Channel and DedupID are set when a reply (SMS 3im, email "take im")
	// received on a follower is forwarded to the leader; only node-to-node
	// requests may set them (checkInternalFields).
	Channel string `json:"channel"`
	DedupID string `json:"dedup_id"`
}

// putRole makes body.user the role's holder; an unknown role or user is 400
// and changes nothing (checked by the leader against its config).
func (s *Server) putRole(w http.ResponseWriter, r *http.Request) {
	s.changeRole(w, r, true)
}

// deleteRole releases the role.
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) {
	s.changeRole(w, r, false)
}

func (s *Server) changeRole(w http.ResponseWriter, r *http.Request, put bool) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	var body roleBody
	decode := decodeOptional // DELETE needs no body
	if put {
		decode = func(w http.ResponseWriter, r *http.Request, v any) error { return decodeStrict(r, w, v, maxBody) }
	}
	if err := decode(w, r, &body); err != nil {
		writeBodyError(w, err)
		return
	}
	if err := checkRoleBody(body, put); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg, ok := checkInternalFields(r.Context(), body.By, body.Channel, body.DedupID); !ok {
		writeError(w, http.StatusForbidden, msg)
		return
	}
	by := body.By
	if by == "" {
		by = tokenName(r.Context())
	}
	channel := body.Channel
	if channel == "" {
		channel = "api"
	}
	rc := &incident.RoleChange{Incident: id, Role: r.PathValue("role"), User: body.User, By: by,
		Channel: channel, Note: body.Note, DedupID: body.DedupID}
	if !put {
		rc.User = ""
	}
	inc, err := s.node.SubmitRole(r.Context(), rc)
	if errors.Is(err, incident.ErrDuplicate) {
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

func checkRoleBody(b roleBody, put bool) error {
	switch {
	case put && b.User == "":
		return errors.New("user: required (the new holder's user id; DELETE releases the role)")
	case !put && b.User != "":
		return errors.New("user: not allowed on DELETE (it releases the role; PUT hands it over)")
	case !actionChannels[b.Channel]:
		return errors.New("channel: want api, sms, email or dev")
	}
	return nil
}

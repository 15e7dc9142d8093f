package api

import (
	"errors"
	"net/http"

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
	var body roleBody
	decode := func() (sender, error) {
		read := decodeOptional // DELETE needs no body
		if put {
			read = decodeBody
		}
		if err := read(w, r, &body); err != nil {
			return sender{}, err
		}
		return sender{body.By, body.Channel, body.DedupID}, checkRoleBody(body, put)
	}
	s.incidentCommand(w, r, decode, func(id uint64, by, channel string) (*incident.Incident, error) {
		rc := &incident.RoleChange{Incident: id, Role: r.PathValue("role"), User: body.User, By: by,
			Channel: channel, Note: body.Note, DedupID: body.DedupID}
		if !put {
			rc.User = ""
		}
		return s.node.SubmitRole(r.Context(), rc)
	})
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

package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// updateBody is the body of POST /v1/incidents/{id}/updates (spec §5.3).
type updateBody struct {
	Audience   string            `json:"audience"`
	Phase      string            `json:"phase"`
	Message    string            `json:"message"`
	Template   string            `json:"template"`
	Components map[string]string `json:"components"`
	NextIn     string            `json:"next_update_in"`
	By         string            `json:"by"`
	// Channel and DedupID are set when a reply (SMS 3u/3p, email update:/
	// public:) received on a follower is forwarded to the leader.
	Channel string `json:"channel"`
	DedupID string `json:"dedup_id"`
}

// postUpdate posts a status update. Without `by` the update is the API
// token's, which may post public updates; with `by` naming a person, a
// public update needs that person to hold the incident manager or comms
// manager role (409 otherwise, nothing posted).
func (s *Server) postUpdate(w http.ResponseWriter, r *http.Request) {
	var body updateBody
	var next time.Duration
	decode := func() (sender, error) {
		if err := decodeBody(w, r, &body); err != nil {
			return sender{}, err
		}
		var err error
		next, err = checkUpdateBody(body)
		return sender{body.By, body.Channel, body.DedupID}, err
	}
	s.incidentCommand(w, r, decode, func(id uint64, by, channel string) (*incident.Incident, error) {
		// Without `by` the update is the token's own: a token may post
		// public updates. A node forwarding a reply always names the paged user.
		byToken := body.By == "" && fromNode(r.Context()) == ""
		return s.node.PostUpdate(r.Context(), cluster.UpdateRequest{Incident: id, Audience: body.Audience, Phase: body.Phase,
			Message: body.Message, Template: body.Template, Components: body.Components, NextIn: next,
			By: by, Channel: channel, ByToken: byToken, DedupID: body.DedupID})
	})
}

// checkUpdateBody checks what needs no state: audience, phase, that there
// is a message or a template, and next_update_in.
func checkUpdateBody(b updateBody) (time.Duration, error) {
	switch {
	case b.Audience != "" && b.Audience != incident.AudienceInternal && b.Audience != incident.AudiencePublic:
		return 0, fmt.Errorf("audience: %q is neither internal nor public", b.Audience)
	case b.Phase != "" && !incident.ValidPhase(b.Phase):
		return 0, fmt.Errorf("phase: unknown phase %q (use %s)", b.Phase, strings.Join(incident.Phases, ", "))
	case strings.TrimSpace(b.Message) == "" && b.Template == "":
		return 0, errors.New("message: required (or template: an update_templates id)")
	case len(b.Message) > 4000:
		return 0, errors.New("message: longer than 4000 bytes")
	case !actionChannels[b.Channel]:
		return 0, errors.New("channel: want api, sms, email or dev")
	}
	if b.NextIn == "" {
		return 0, nil
	}
	d, err := config.ParseDuration(b.NextIn)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("next_update_in: invalid duration %q (e.g. 30m)", b.NextIn)
	}
	return d.D(), nil
}

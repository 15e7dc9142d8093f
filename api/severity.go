package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/pagerd/pagerd/incident"
)

// severityBody is the body of POST /v1/incidents/{id}/severity (spec §5.3).
type severityBody struct {
	Severity string `json:"severity"`
	By       string `json:"by"`
	Note     string `json:"note"`
	// Channel and DedupID are set when a reply (SMS 3s1, email sev1)
	// received on a follower is forwarded to the leader; only node-to-node
	// requests may set them (checkInternalFields).
	Channel string `json:"channel"`
	DedupID string `json:"dedup_id"`
}

// setSeverity sets an incident's severity as a person chose it. The leader
// re-plans paging at once (cluster.Node.SubmitSeverity stamps its plan): a
// deferred incident raised to a severity that pages now starts paging.
func (s *Server) setSeverity(w http.ResponseWriter, r *http.Request) {
	var body severityBody
	decode := func() (sender, error) {
		if err := decodeBody(w, r, &body); err != nil {
			return sender{}, err
		}
		return sender{body.By, body.Channel, body.DedupID}, checkSeverity(body)
	}
	s.incidentCommand(w, r, decode, func(id uint64, by, channel string) (*incident.Incident, error) {
		return s.node.SubmitSeverity(r.Context(), &incident.SeverityChange{Incident: id, Severity: body.Severity,
			By: by, Channel: channel, Note: body.Note, DedupID: body.DedupID})
	})
}

func checkSeverity(b severityBody) error {
	switch {
	case b.Severity == "":
		return errors.New("severity: required (sev1, sev2 or sev3)")
	case incident.SeverityRank(b.Severity) >= len(incident.Severities):
		return fmt.Errorf("severity: unknown severity %q (use sev1, sev2 or sev3)", b.Severity)
	case !actionChannels[b.Channel]:
		return errors.New("channel: want api, sms, email or dev")
	}
	return nil
}

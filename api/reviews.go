package api

import (
	"errors"
	"net/http"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
)

// reviewBody is POST /v1/services/{id}/reviews: the service's continuity
// plan was reviewed (spec §5.3). by defaults to the token's name.
type reviewBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
	Via  string `json:"via"`
	// DedupID is set only by a member forwarding an email reply.
	DedupID string `json:"dedup_id"`
}

// postReview answers 201 with the review once it is committed; 404 for an
// unknown service, 400 naming the field for a bad body.
func (s *Server) postReview(w http.ResponseWriter, r *http.Request) {
	id, ok := s.configuredService(w, r)
	if !ok {
		return
	}
	var body reviewBody
	if !decodeOptionalBody(w, r, &body) {
		return
	}
	switch body.Via {
	case "":
		body.Via = "api"
	case "api", "cli", "console":
	case "email": // a follower forwarding a reminder reply (node-to-node only)
		if fromNode(r.Context()) == "" {
			writeError(w, http.StatusBadRequest, "via: email is set only by cluster members forwarding a reply")
			return
		}
	default:
		writeError(w, http.StatusBadRequest, `via: want api, cli or console`)
		return
	}
	if body.DedupID != "" && fromNode(r.Context()) == "" {
		writeError(w, http.StatusBadRequest, "dedup_id: set only by cluster members forwarding a reply")
		return
	}
	if body.By == "" {
		body.By = tokenName(r.Context())
	}
	rv, err := s.node.SubmitReview(r.Context(), cluster.ReviewCommand{Service: id, By: body.By, Note: body.Note,
		Via: body.Via, DedupID: body.DedupID})
	if errors.Is(err, incident.ErrDuplicate) {
		// A retried reply: the review its first delivery recorded, as it
		// was answered then; nothing changes.
		w.Header().Set(cluster.DuplicateHeader, "true")
		writeJSON(w, http.StatusCreated, rv)
		return
	}
	if err != nil {
		s.writeCommitError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, rv)
}

// listReviews is a service's review history, newest first.
func (s *Server) listReviews(w http.ResponseWriter, r *http.Request) {
	id, ok := s.configuredService(w, r)
	if !ok {
		return
	}
	list := s.node.FSM().Reviews(id)
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": id, "reviews": list})
}

package nodebackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

var _ reply.ReviewBackend = (*Backend)(nil)

// ReviewForToken verifies a plan review reminder's Reply-To token.
func (b *Backend) ReviewForToken(token string, now time.Time) (reply.ReviewRef, bool, error) {
	return reminderRef(b, token, reply.ReviewTokenPrefix, now, reply.ReviewOf, b.reviewRef, "service")
}

func (b *Backend) reviewRef(service string) (reply.ReviewRef, bool) {
	ac := b.node.FSM().Config()
	if ac == nil || ac.Config == nil {
		return reply.ReviewRef{}, false
	}
	svc, ok := ac.Config.Service(service)
	if !ok {
		return reply.ReviewRef{}, false
	}
	ref := reply.ReviewRef{Service: svc.ID, Name: svc.Name, Owner: svc.Owner, Manager: svc.ContinuityManager}
	if u, ok := ac.Config.User(svc.Owner); ok {
		ref.OwnerEmail = u.Email
	}
	return ref, true
}

// RecordReview records a review as the user whose configured address sent
// the reply, if that user is the service's owner or continuity manager.
func (b *Backend) RecordReview(ctx context.Context, r reply.ReviewReply) (reply.ReviewRef, error) {
	ref, ok := b.reviewRef(r.Service)
	if !ok {
		return reply.ReviewRef{}, fmt.Errorf("%w: service %s", incident.ErrNotFound, r.Service)
	}
	user, ok := b.senderAmong(r.From, ref.Owner, ref.Manager)
	if !ok {
		return ref, fmt.Errorf("%w: the plan of %s is reviewed by its owner %s or continuity manager %s, not by %s",
			reply.ErrNotOwner, ref.Service, ref.Owner, ref.Manager, reply.OneLine(r.From))
	}
	c := cluster.ReviewCommand{Service: ref.Service, By: user, Note: r.Note, Via: "email", DedupID: r.DedupID}
	if !b.node.IsLeader() {
		return b.forwardReview(ctx, ref, c)
	}
	// ErrDuplicate: a retried reply whose first delivery was recorded.
	if _, err := b.node.SubmitReview(ctx, c); err != nil && !errors.Is(err, incident.ErrDuplicate) {
		return ref, transient(err)
	}
	return b.withDue(ref), nil
}

// withDue fills the next due date from the committed state.
func (b *Backend) withDue(ref reply.ReviewRef) reply.ReviewRef {
	for _, st := range b.node.FSM().ReviewStatuses(b.node.Now()) {
		if st.Service == ref.Service {
			ref.DueAt = st.DueAt
		}
	}
	return ref
}

// forwardReview sends the review to the leader's POST
// /v1/services/{id}/reviews as a node-to-node request.
func (b *Backend) forwardReview(ctx context.Context, ref reply.ReviewRef, c cluster.ReviewCommand) (reply.ReviewRef, error) {
	body, _ := json.Marshal(map[string]string{"by": c.By, "note": c.Note, "via": c.Via, "dedup_id": c.DedupID})
	status, raw, err := b.forwardReminderReply(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(c.Service)+"/reviews", body)
	if err != nil {
		return ref, err
	}
	var ans struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &ans)
	if status == http.StatusCreated {
		return b.withDue(ref), nil
	}
	return ref, leaderRefusal(status, ans.Error)
}

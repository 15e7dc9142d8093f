package nodebackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

var _ reply.ReviewBackend = (*Backend)(nil)

// ReviewForToken verifies a plan review reminder's Reply-To token.
func (b *Backend) ReviewForToken(token string, now time.Time) (reply.ReviewRef, bool, error) {
	if !strings.HasPrefix(token, reply.ReviewTokenPrefix) {
		return reply.ReviewRef{}, false, nil
	}
	tid, err := b.node.FSM().Keyring().Verify(token, now)
	if err != nil {
		return reply.ReviewRef{}, true, err
	}
	svc, ok := reply.ReviewOf(tid)
	if !ok {
		return reply.ReviewRef{}, true, fmt.Errorf("%w: token %s", reply.ErrUnknownPage, tid)
	}
	ref, found := b.reviewRef(svc)
	if !found {
		return reply.ReviewRef{}, true, fmt.Errorf("%w: service %s", reply.ErrUnknownPage, svc)
	}
	return ref, true, nil
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
	user := b.userForEmail(r.From)
	if user == "" || (user != ref.Owner && user != ref.Manager) {
		return ref, fmt.Errorf("%w: the plan of %s is reviewed by its owner %s or continuity manager %s, not by %s",
			reply.ErrNotOwner, ref.Service, ref.Owner, ref.Manager, reply.OneLine(r.From))
	}
	c := cluster.ReviewCommand{Service: ref.Service, By: user, Note: r.Note, Via: "email", DedupID: r.DedupID}
	if !b.node.IsLeader() {
		return b.forwardReview(ctx, ref, c)
	}
	if _, err := b.node.SubmitReview(ctx, c); err != nil {
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
	req, err := b.node.LeaderRequest(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(c.Service)+"/reviews", body)
	if errors.Is(err, cluster.ErrNoLeader) {
		return ref, fmt.Errorf("%w: no cluster leader", reply.ErrTransient)
	}
	if err != nil {
		return ref, fmt.Errorf("%w: sign the forwarded reply: %v", reply.ErrTransient, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return ref, fmt.Errorf("%w: forward to leader: %v", reply.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var ans struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode == http.StatusCreated:
		return b.withDue(ref), nil
	case resp.StatusCode == http.StatusNotFound:
		return ref, fmt.Errorf("%w: %s", incident.ErrNotFound, ans.Error)
	case resp.StatusCode >= 500:
		return ref, fmt.Errorf("%w: leader answered %d: %s", reply.ErrTransient, resp.StatusCode, ans.Error)
	}
	return ref, fmt.Errorf("leader refused the reply: %d %s", resp.StatusCode, ans.Error)
}

package nodebackend

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/reply"
)

var _ reply.FollowupBackend = (*Backend)(nil)

// FollowupForToken verifies a follow-up reminder's Reply-To token.
func (b *Backend) FollowupForToken(token string, now time.Time) (reply.FollowupRef, bool, error) {
	return reminderRef(b, token, reply.FollowupTokenPrefix, now, reply.FollowupOf, b.followupRef, "follow-up")
}

func (b *Backend) followupRef(id string) (reply.FollowupRef, bool) {
	var f learning.Followup
	var ok bool
	b.node.FSM().ReadLearning(func(st *learning.State) { f, ok = st.Followup(id) })
	if !ok {
		return reply.FollowupRef{}, false
	}
	ref := reply.FollowupRef{ID: f.ID, Title: f.Title, Owner: f.Owner, Status: f.Status}
	if ac := b.node.FSM().Config(); ac != nil {
		if u, ok := ac.Config.User(f.Owner); ok {
			ref.OwnerEmail = u.Email
		}
	}
	return ref, true
}

// CloseFollowup closes a follow-up as the user whose configured address
// sent the reply, if that user owns it.
func (b *Backend) CloseFollowup(ctx context.Context, r reply.FollowupReply) (reply.FollowupRef, error) {
	ref, ok := b.followupRef(r.ID)
	if !ok {
		return reply.FollowupRef{}, fmt.Errorf("%w: follow-up %s", incident.ErrNotFound, r.ID)
	}
	user, ok := b.senderAmong(r.From, ref.Owner)
	if !ok {
		return ref, fmt.Errorf("%w: %s is owned by %s; a reply from %s cannot close it", reply.ErrNotOwner, ref.ID, ref.Owner, reply.OneLine(r.From))
	}
	note := r.Note
	if note == "" {
		note = r.Status
	}
	p := &learning.FollowupPatch{ID: ref.ID, Status: r.Status, Note: fmt.Sprintf("%q from %s", note, r.From), By: user, Via: "email"}
	if !b.node.IsLeader() {
		return b.forwardFollowup(ctx, p)
	}
	f, err := b.node.PatchFollowup(ctx, p)
	if err != nil {
		return ref, transient(err)
	}
	ref.Status = f.Status
	return ref, nil
}

// forwardFollowup sends the close to the leader's PATCH /v1/followups/{id}
// as a node-to-node request (only those may set via=email).
func (b *Backend) forwardFollowup(ctx context.Context, p *learning.FollowupPatch) (reply.FollowupRef, error) {
	body, _ := json.Marshal(map[string]string{"status": p.Status, "note": p.Note, "by": p.By, "via": p.Via})
	status, raw, err := b.forwardReminderReply(ctx, http.MethodPatch, "/v1/followups/"+url.PathEscape(p.ID), body)
	if err != nil {
		return reply.FollowupRef{}, err
	}
	var ans struct {
		Error string
		learning.Followup
	}
	_ = json.Unmarshal(raw, &ans)
	switch status {
	case http.StatusOK:
		return reply.FollowupRef{ID: ans.ID, Title: ans.Title, Owner: ans.Owner, Status: ans.Status}, nil
	case http.StatusConflict:
		return reply.FollowupRef{}, fmt.Errorf("%w: %s", incident.ErrConflict, trimSentinel(ans.Error))
	}
	return reply.FollowupRef{}, leaderRefusal(status, ans.Error)
}

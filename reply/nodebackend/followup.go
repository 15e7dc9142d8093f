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
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/reply"
)

var _ reply.FollowupBackend = (*Backend)(nil)

// FollowupForToken verifies a follow-up reminder's Reply-To token.
func (b *Backend) FollowupForToken(token string, now time.Time) (reply.FollowupRef, bool, error) {
	if !strings.HasPrefix(token, reply.FollowupTokenPrefix) {
		return reply.FollowupRef{}, false, nil
	}
	fsm := b.node.FSM()
	tid, err := fsm.Keyring().Verify(token, now)
	if err != nil {
		return reply.FollowupRef{}, true, err
	}
	id, ok := reply.FollowupOf(tid)
	if !ok {
		return reply.FollowupRef{}, true, fmt.Errorf("%w: token %s", reply.ErrUnknownPage, tid)
	}
	ref, found := b.followupRef(id)
	if !found {
		return reply.FollowupRef{}, true, fmt.Errorf("%w: follow-up %s", reply.ErrUnknownPage, id)
	}
	return ref, true, nil
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
	user := b.userForEmail(r.From)
	if user == "" || user != ref.Owner {
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

func (b *Backend) userForEmail(addr string) string {
	ac := b.node.FSM().Config()
	if ac == nil || addr == "" {
		return ""
	}
	for _, u := range ac.Config.Users {
		if u.Email != "" && strings.EqualFold(u.Email, addr) {
			return u.ID
		}
	}
	return ""
}

// forwardFollowup sends the close to the leader's PATCH /v1/followups/{id}
// as a node-to-node request (only those may set via=email).
func (b *Backend) forwardFollowup(ctx context.Context, p *learning.FollowupPatch) (reply.FollowupRef, error) {
	body, _ := json.Marshal(map[string]string{"status": p.Status, "note": p.Note, "by": p.By, "via": p.Via})
	req, err := b.node.LeaderRequest(ctx, http.MethodPatch, "/v1/followups/"+url.PathEscape(p.ID), body)
	if errors.Is(err, cluster.ErrNoLeader) {
		return reply.FollowupRef{}, fmt.Errorf("%w: no cluster leader", reply.ErrTransient)
	}
	if err != nil {
		return reply.FollowupRef{}, fmt.Errorf("%w: sign the forwarded reply: %v", reply.ErrTransient, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return reply.FollowupRef{}, fmt.Errorf("%w: forward to leader: %v", reply.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var ans struct {
		Error string
		learning.Followup
	}
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode == http.StatusOK:
		return reply.FollowupRef{ID: ans.ID, Title: ans.Title, Owner: ans.Owner, Status: ans.Status}, nil
	case resp.StatusCode == http.StatusConflict:
		return reply.FollowupRef{}, fmt.Errorf("%w: %s", incident.ErrConflict, trimSentinel(ans.Error))
	case resp.StatusCode == http.StatusNotFound:
		return reply.FollowupRef{}, fmt.Errorf("%w: %s", incident.ErrNotFound, ans.Error)
	case resp.StatusCode >= 500:
		return reply.FollowupRef{}, fmt.Errorf("%w: leader answered %d: %s", reply.ErrTransient, resp.StatusCode, ans.Error)
	}
	return reply.FollowupRef{}, fmt.Errorf("leader refused the reply: %d %s", resp.StatusCode, ans.Error)
}

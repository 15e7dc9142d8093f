package nodebackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// maxAnswer bounds how much of the leader's answer is read.
const maxAnswer = 4 << 20

// forwardAction posts the action to the leader's public API as a
// node-to-node request (only those may set the reply's channel and dedup
// id), and maps the answer back. A severity change (kind "severity")
// carries the severity it sets.
func (b *Backend) forwardAction(ctx context.Context, a *incident.Action, severity string) (reply.Result, error) {
	fields := map[string]string{"by": a.By, "note": a.Note, "channel": a.Channel, "dedup_id": a.DedupID}
	if a.Kind == reply.ActionSeverity {
		fields["severity"] = severity
	}
	return b.forward(ctx, http.MethodPost, url.PathEscape(a.Kind), fields, a.Incident)
}

// forwardUpdate posts a status update reply to the leader's
// POST /v1/incidents/{id}/updates as the paged user.
func (b *Backend) forwardUpdate(ctx context.Context, r reply.Request) (reply.Result, error) {
	return b.forward(ctx, http.MethodPost, "updates", map[string]string{"audience": r.Audience, "message": r.Text,
		"by": r.User, "channel": r.Channel, "dedup_id": r.DedupID}, r.Incident)
}

// forwardRole puts the reply's role take to the leader's public API
// (PUT /v1/incidents/{id}/roles/{role}), the replying user as the holder.
func (b *Backend) forwardRole(ctx context.Context, a *incident.Action, role string) (reply.Result, error) {
	fields := map[string]string{"user": a.By, "by": a.By, "note": a.Note, "channel": a.Channel, "dedup_id": a.DedupID}
	return b.forward(ctx, http.MethodPut, "roles/"+url.PathEscape(role), fields, a.Incident)
}

// forward sends one incident request (sub: the path after
// /v1/incidents/{id}/) to the leader and maps its answer.
func (b *Backend) forward(ctx context.Context, method, sub string, fields map[string]string, id uint64) (reply.Result, error) {
	body, _ := json.Marshal(fields)
	path := "/v1/incidents/" + strconv.FormatUint(id, 10) + "/" + sub
	// Signed with the node's cluster credentials, not an API token: a token
	// rotation must not stop followers from forwarding replies.
	req, err := b.node.LeaderRequest(ctx, method, path, body)
	if errors.Is(err, cluster.ErrNoLeader) {
		return reply.Result{}, fmt.Errorf("%w: no cluster leader", reply.ErrTransient)
	}
	if err != nil {
		return reply.Result{}, fmt.Errorf("%w: sign the forwarded reply: %v", reply.ErrTransient, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return reply.Result{}, fmt.Errorf("%w: forward to leader: %v", reply.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	var apiErr struct{ Error string }
	_ = json.Unmarshal(raw, &apiErr)
	switch {
	case resp.StatusCode == http.StatusOK:
		var inc incident.Incident
		if err := json.Unmarshal(raw, &inc); err != nil {
			return reply.Result{}, fmt.Errorf("leader's answer: %w", err)
		}
		return reply.Result{Incident: &inc, Duplicate: resp.Header.Get(cluster.DuplicateHeader) == "true"}, nil
	case resp.StatusCode == http.StatusConflict:
		return reply.Result{Incident: b.current(id)}, fmt.Errorf("%w: %s", incident.ErrConflict, trimSentinel(apiErr.Error))
	case resp.StatusCode == http.StatusNotFound:
		return reply.Result{}, fmt.Errorf("%w: %s", incident.ErrNotFound, apiErr.Error)
	case resp.StatusCode >= 500:
		return reply.Result{}, fmt.Errorf("%w: leader answered %d: %s", reply.ErrTransient, resp.StatusCode, apiErr.Error)
	}
	return reply.Result{}, fmt.Errorf("leader refused the reply: %d %s", resp.StatusCode, apiErr.Error)
}

// trimSentinel drops the "transition not allowed: " prefix the leader's
// message already carries, so it is not doubled when rewrapped.
func trimSentinel(msg string) string {
	prefix := incident.ErrConflict.Error() + ": "
	if len(msg) > len(prefix) && strings.HasPrefix(msg, prefix) {
		return msg[len(prefix):]
	}
	return msg
}

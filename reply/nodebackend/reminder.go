package nodebackend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Shared by the replies to reminders (follow-ups, plan reviews): each kind
// verifies its own token prefix, names its own subject and asks the leader
// its own endpoint; the steps in between are the same.

// reminderRef verifies a reminder token of the given prefix, decodes the
// subject (a follow-up id, a service id) it was issued for with of and
// looks that up; what names the subject in the error when it is gone.
// handled is false when the token does not carry the prefix.
func reminderRef[R any](b *Backend, token, prefix string, now time.Time, of func(string) (string, bool),
	lookup func(string) (R, bool), what string) (ref R, handled bool, err error) {
	if !strings.HasPrefix(token, prefix) {
		return ref, false, nil
	}
	tid, err := b.node.FSM().Keyring().Verify(token, now)
	if err != nil {
		return ref, true, err
	}
	subject, ok := of(tid)
	if !ok {
		return ref, true, fmt.Errorf("%w: token %s", reply.ErrUnknownPage, tid)
	}
	found, ok := lookup(subject)
	if !ok {
		return ref, true, fmt.Errorf("%w: %s %s", reply.ErrUnknownPage, what, subject)
	}
	return found, true, nil
}

// senderAmong is the user whose configured address is from, and whether
// that user is one of allowed (the only users the reply may act as).
func (b *Backend) senderAmong(from string, allowed ...string) (string, bool) {
	user := b.userForEmail(from)
	if user == "" {
		return "", false
	}
	for _, a := range allowed {
		if user == a {
			return user, true
		}
	}
	return user, false
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

// forwardReminderReply sends a reminder reply to the leader as a
// node-to-node request and returns the leader's status and body; trouble
// reaching the leader is reply.ErrTransient.
func (b *Backend) forwardReminderReply(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	req, err := b.node.LeaderRequest(ctx, method, path, body)
	if errors.Is(err, cluster.ErrNoLeader) {
		return 0, nil, fmt.Errorf("%w: no cluster leader", reply.ErrTransient)
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%w: sign the forwarded reply: %v", reply.ErrTransient, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%w: forward to leader: %v", reply.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, raw, nil
}

// leaderRefusal is the error for a leader's answer that is not a success
// (and not a kind's own special case): gone, transient or refused.
func leaderRefusal(status int, msg string) error {
	switch {
	case status == http.StatusNotFound:
		return fmt.Errorf("%w: %s", incident.ErrNotFound, msg)
	case status >= 500:
		return fmt.Errorf("%w: leader answered %d: %s", reply.ErrTransient, status, msg)
	}
	return fmt.Errorf("leader refused the reply: %d %s", status, msg)
}

package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// DuplicateHeader marks an action answer as a retried reply that had
// already acted (its DedupID was known).
const DuplicateHeader = "X-Pagerd-Duplicate"

// Replies is the reply transports' view of the cluster (reply.Backend): the
// inbound SMTP server, the Twilio webhook and the dev outbox act through it.
func (n *Node) Replies() reply.Backend { return replyBackend{n} }

type replyBackend struct{ n *Node }

func (b replyBackend) PageForToken(token string, now time.Time) (reply.Page, error) {
	id, err := b.n.fsm.Keyring().Verify(token, now)
	if err != nil {
		return reply.Page{}, err
	}
	var page reply.Page
	found := false
	b.n.fsm.ReadIncidents(func(st *incident.State) {
		inc, nt, ok := st.Notification(id)
		if ok {
			page, found = pageOf(inc, nt), true
		}
	})
	if !found {
		return reply.Page{}, fmt.Errorf("%w: notification %s", reply.ErrUnknownPage, id)
	}
	return page, nil
}

func (b replyBackend) PagesForPhone(phone string) []reply.Page {
	var out []reply.Page
	b.n.fsm.ReadIncidents(func(st *incident.State) {
		for _, p := range st.PhonePages(phone) {
			out = append(out, pageOf(p.Incident, p.Notification))
		}
	})
	return out
}

func pageOf(inc *incident.Incident, nt incident.Notification) reply.Page {
	p := reply.Page{Notification: nt.ID, Incident: inc.ID, Key: inc.Key, Title: inc.Title, Service: inc.Service,
		Severity: inc.Severity, Status: inc.Status, User: nt.User, Channel: nt.Channel, To: nt.To, Code: nt.ReplyCode}
	if nt.SentAt != nil {
		p.SentAt = *nt.SentAt
	}
	return p
}

func (b replyBackend) UserForPhone(phone string) (string, bool) {
	ac := b.n.fsm.Config()
	if ac == nil {
		return "", false
	}
	for _, u := range ac.Config.Users {
		if u.Phone != "" && u.Phone == phone {
			return u.ID, true
		}
	}
	return "", false
}

// Act commits the reply's action on the leader, forwarding it there over
// the HTTP API when this node follows (an SMTP server on every node takes
// replies; only the leader commits).
func (b replyBackend) Act(ctx context.Context, req reply.Request) (reply.Result, error) {
	note := req.Note
	if req.From != "" {
		// The timeline names the sender, not only the user acted as.
		note = fmt.Sprintf("%q from %s", req.Note, req.From)
	}
	a := &incident.Action{Incident: req.Incident, Kind: req.Kind, By: req.User, Channel: req.Channel,
		Note: note, DedupID: req.DedupID}
	if !b.n.IsLeader() {
		return b.forwardAction(ctx, a)
	}
	inc, err := b.n.SubmitAction(ctx, a)
	switch {
	case errors.Is(err, incident.ErrDuplicate):
		return reply.Result{Incident: inc, Duplicate: true}, nil
	case err != nil:
		return reply.Result{Incident: b.current(req.Incident)}, transient(err)
	}
	return reply.Result{Incident: inc}, nil
}

func (b replyBackend) current(id uint64) *incident.Incident {
	var inc *incident.Incident
	b.n.fsm.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(id) })
	return inc
}

// transient marks errors that mean "no leader or quorum now".
func transient(err error) error {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return fmt.Errorf("%w: %v", reply.ErrTransient, err)
	}
	return err
}

func (b replyBackend) forwardAction(ctx context.Context, a *incident.Action) (reply.Result, error) {
	leader := b.n.Leader()
	addr := b.n.fsm.Nodes()[leader].HTTPAddr
	if leader == "" || addr == "" {
		return reply.Result{}, fmt.Errorf("%w: no cluster leader", reply.ErrTransient)
	}
	body, _ := json.Marshal(map[string]string{"by": a.By, "note": a.Note, "channel": a.Channel, "dedup_id": a.DedupID})
	kind := a.Kind
	u := normalizeURL(addr) + "/v1/incidents/" + strconv.FormatUint(a.Incident, 10) + "/" + url.PathEscape(kind)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return reply.Result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.n.opts.JoinToken)
	req.Header.Set(forwardedHeader, b.n.opts.NodeID)
	resp, err := b.n.forwarder.client.Do(req)
	if err != nil {
		return reply.Result{}, fmt.Errorf("%w: forward to leader: %v", reply.ErrTransient, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var apiErr struct{ Error string }
	_ = json.Unmarshal(raw, &apiErr)
	switch {
	case resp.StatusCode == http.StatusOK:
		var inc incident.Incident
		if err := json.Unmarshal(raw, &inc); err != nil {
			return reply.Result{}, fmt.Errorf("leader's answer: %w", err)
		}
		return reply.Result{Incident: &inc, Duplicate: resp.Header.Get(DuplicateHeader) == "true"}, nil
	case resp.StatusCode == http.StatusConflict:
		return reply.Result{Incident: b.current(a.Incident)}, fmt.Errorf("%w: %s", incident.ErrConflict, trimSentinel(apiErr.Error))
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
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

func (b replyBackend) SetSMSOptOut(ctx context.Context, phone string, off bool, dedupID string) error {
	if !b.n.IsLeader() {
		return fmt.Errorf("%w: this node is not the leader", reply.ErrTransient)
	}
	_, err := b.n.SubmitSMSOptOut(ctx, &incident.SMSOptOut{Phone: phone, Off: off, DedupID: dedupID})
	return transient(err)
}

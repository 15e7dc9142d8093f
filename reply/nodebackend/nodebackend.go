// Package nodebackend is the reply transports' view of a cluster node (a
// reply.Backend): the inbound SMTP server, the Twilio webhook and the dev
// outbox find pages in the node's replicated state and act through it. On
// the leader an action is a Raft commit; on a follower it is forwarded to
// the leader's public HTTP API (POST /v1/incidents/{id}/{action}), which is
// why this lives beside the reply transports and not inside the cluster.
package nodebackend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// forwardTimeout bounds a forwarded action when ctx has no deadline.
const forwardTimeout = 15 * time.Second

// Backend implements reply.Backend on a cluster node.
type Backend struct {
	node   *cluster.Node
	client *http.Client
}

var _ reply.Backend = (*Backend)(nil)

// New returns the reply backend of node.
func New(node *cluster.Node) *Backend {
	return &Backend{node: node, client: &http.Client{Timeout: forwardTimeout, Transport: node.NodeTransport()}}
}

// PageForToken verifies an email Reply-To token and finds its page.
func (b *Backend) PageForToken(token string, now time.Time) (reply.Page, error) {
	fsm := b.node.FSM()
	id, err := fsm.Keyring().Verify(token, now)
	if err != nil {
		return reply.Page{}, err
	}
	var page reply.Page
	found := false
	fsm.ReadIncidents(func(st *incident.State) {
		inc, nt, ok := st.Notification(id)
		if ok {
			page, found = pageOf(inc, nt), true
			if nt.Kind == incident.KindRolePage {
				page.Role = nt.Role // the email answers this one page
			}
		}
	})
	if !found {
		return reply.Page{}, fmt.Errorf("%w: notification %s", reply.ErrUnknownPage, id)
	}
	return page, nil
}

// PagesForPhone lists the open SMS pages sent to phone, newest first.
func (b *Backend) PagesForPhone(phone string) []reply.Page {
	var out []reply.Page
	b.node.FSM().ReadIncidents(func(st *incident.State) {
		for _, p := range st.PhonePages(phone) {
			page := pageOf(p.Incident, p.Notification)
			page.Role = p.Role
			out = append(out, page)
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

// UserForPhone finds the configured user with this phone number.
func (b *Backend) UserForPhone(phone string) (string, bool) {
	ac := b.node.FSM().Config()
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
func (b *Backend) Act(ctx context.Context, req reply.Request) (reply.Result, error) {
	note := req.Note
	if req.From != "" {
		// The timeline names the sender, not only the user acted as.
		note = fmt.Sprintf("%q from %s", req.Note, req.From)
	}
	a := &incident.Action{Incident: req.Incident, Kind: req.Kind, By: req.User, Channel: req.Channel,
		Note: note, DedupID: req.DedupID}
	if !b.node.IsLeader() {
		if req.Kind == reply.ActionUpdate {
			return b.forwardUpdate(ctx, req)
		}
		if req.Kind == reply.ActionRole {
			return b.forwardRole(ctx, a, req.Role)
		}
		return b.forwardAction(ctx, a, req.Severity)
	}
	var inc *incident.Incident
	var err error
	switch req.Kind {
	case reply.ActionUpdate:
		inc, err = b.node.PostUpdate(ctx, cluster.UpdateRequest{Incident: req.Incident, Audience: req.Audience,
			Message: req.Text, By: req.User, Channel: req.Channel, DedupID: req.DedupID})
	case reply.ActionRole:
		// The person who replied takes the role (a handover when someone
		// holds it): spec §5.5 "3im", "take im", or an ack of the role page.
		inc, err = b.node.SubmitRole(ctx, &incident.RoleChange{Incident: req.Incident, Role: req.Role,
			User: req.User, By: req.User, Channel: req.Channel, Note: note, DedupID: req.DedupID})
	case reply.ActionSeverity:
		inc, err = b.node.SubmitSeverity(ctx, &incident.SeverityChange{Incident: req.Incident, Severity: req.Severity,
			By: req.User, Channel: req.Channel, Note: note, DedupID: req.DedupID})
	default:
		inc, err = b.node.SubmitAction(ctx, a)
	}
	switch {
	case errors.Is(err, incident.ErrDuplicate):
		return reply.Result{Incident: inc, Duplicate: true}, nil
	case err != nil:
		return reply.Result{Incident: b.current(req.Incident)}, transient(err)
	}
	return reply.Result{Incident: inc}, nil
}

func (b *Backend) current(id uint64) *incident.Incident {
	var inc *incident.Incident
	b.node.FSM().ReadIncidents(func(st *incident.State) { inc, _ = st.Get(id) })
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

// SetSMSOptOut records STOP or START; only the leader commits it (the
// webhook forwards the whole request to the leader before it gets here).
func (b *Backend) SetSMSOptOut(ctx context.Context, phone string, off bool, dedupID string) error {
	if !b.node.IsLeader() {
		return fmt.Errorf("%w: this node is not the leader", reply.ErrTransient)
	}
	_, err := b.node.SubmitSMSOptOut(ctx, &incident.SMSOptOut{Phone: phone, Off: off, DedupID: dedupID})
	return transient(err)
}

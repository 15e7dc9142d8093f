// Package replytest is an in-memory reply.Backend for tests of the reply
// transports (reply/mailserver, reply/smshook) and of anything else that
// needs one.
//
// It keeps users, incidents and pages in maps; Act applies ack, resolve and
// escalate with the incident state machine's rules and error texts (first ack
// wins, later ones are incident.ErrConflict "already acknowledged by ...";
// anything on a resolved incident is "already resolved by X at T"), dedupes
// on Request.DedupID, and can be switched to fail every write with
// reply.ErrTransient. Email Reply-To tokens are minted and verified with a
// real reply.Keyring. Every method is safe for concurrent use.
package replytest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Secret is the reply-token secret of the keyring New installs (key id 1).
var Secret = []byte("replytest-secret-0123456789abcdef")

// OptOutCall is one SetSMSOptOut call that changed (or would have changed)
// state: deduplicated and transient calls are not recorded.
type OptOutCall struct {
	Phone   string
	Off     bool
	DedupID string
}

// Backend is the fake. Configure it with AddUser and AddPage (and Keyring,
// Now before use); inspect it with Incident, Acts, ActCalls, OptedOut and
// OptOutCalls.
type Backend struct {
	// Keyring mints and verifies Reply-To tokens. New sets a one-key ring
	// with Secret.
	Keyring reply.Keyring
	// Now stamps acknowledgements and resolutions (default time.Now).
	Now func() time.Time

	mu        sync.Mutex
	users     map[string]string // phone -> user id
	incidents map[uint64]*incident.Incident
	pages     map[string]reply.Page // by notification id
	order     []string              // notification ids in AddPage order
	dedup     map[string]bool
	refused   map[string]string // dedup id -> the refusal its first delivery got
	acts      []reply.Request
	actCalls  int
	optOut    map[string]bool
	optCalls  []OptOutCall
	transient bool
}

var _ reply.Backend = (*Backend)(nil)

// New returns an empty Backend with a one-key keyring (id 1, Secret).
func New() *Backend {
	return &Backend{
		Keyring:   reply.Keyring{Keys: []reply.Key{{ID: 1, Secret: Secret}}},
		users:     map[string]string{},
		incidents: map[uint64]*incident.Incident{},
		pages:     map[string]reply.Page{},
		dedup:     map[string]bool{},
		refused:   map[string]string{},
		optOut:    map[string]bool{},
	}
}

func (b *Backend) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// AddUser makes phone belong to user (for UserForPhone).
func (b *Backend) AddUser(user, phone string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.users[phone] = user
}

// AddPage records a page. The incident p.Incident is created from the page's
// Key, Title, Service, Severity and Status (triggered when empty) if it does
// not exist yet; an existing one is left as it is. Empty Key and Channel
// default to incident.KeyFor(p.Incident) and "sms"; a zero SentAt to Now.
// It returns the page as stored.
func (b *Backend) AddPage(p reply.Page) reply.Page {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p.Key == "" {
		p.Key = incident.KeyFor(p.Incident)
	}
	if p.Channel == "" {
		p.Channel = "sms"
	}
	if p.Status == "" {
		p.Status = incident.Triggered
	}
	if p.SentAt.IsZero() {
		p.SentAt = b.now()
	}
	if _, ok := b.incidents[p.Incident]; !ok {
		b.incidents[p.Incident] = &incident.Incident{
			ID: p.Incident, Key: p.Key, Title: p.Title, Service: p.Service,
			Severity: p.Severity, Status: p.Status, CreatedAt: p.SentAt,
			Escalation: &incident.Escalation{},
		}
	}
	if _, ok := b.pages[p.Notification]; !ok {
		b.order = append(b.order, p.Notification)
	}
	b.pages[p.Notification] = p
	return b.withStatus(p)
}

// SetIncident replaces (or adds) an incident, e.g. to start from an already
// acknowledged or resolved one.
func (b *Backend) SetIncident(inc incident.Incident) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := inc
	b.incidents[inc.ID] = &c
}

// Token mints the Reply-To token of notification, valid until expires.
func (b *Backend) Token(notification string, expires time.Time) (string, error) {
	return b.Keyring.Mint(notification, expires)
}

// SetTransient makes Act and SetSMSOptOut fail with reply.ErrTransient (and
// change nothing) while on.
func (b *Backend) SetTransient(on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.transient = on
}

// Incident returns a copy of incident id.
func (b *Backend) Incident(id uint64) (incident.Incident, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	inc, ok := b.incidents[id]
	if !ok {
		return incident.Incident{}, false
	}
	return *inc, true
}

// Acts returns the requests Act applied: not duplicates, not refused, not
// transient failures.
func (b *Backend) Acts() []reply.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]reply.Request(nil), b.acts...)
}

// ActCalls counts every call of Act, whatever its outcome.
func (b *Backend) ActCalls() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.actCalls
}

// OptedOut reports whether SMS to phone is off.
func (b *Backend) OptedOut(phone string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.optOut[phone]
}

// OptOutCalls returns the SetSMSOptOut calls that were applied.
func (b *Backend) OptOutCalls() []OptOutCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]OptOutCall(nil), b.optCalls...)
}

// withStatus returns p with the current status of its incident.
func (b *Backend) withStatus(p reply.Page) reply.Page {
	if inc, ok := b.incidents[p.Incident]; ok {
		p.Status = inc.Status
	}
	return p
}

// PageForToken implements reply.Backend.
func (b *Backend) PageForToken(token string, now time.Time) (reply.Page, error) {
	id, err := b.Keyring.Verify(token, now)
	if err != nil {
		return reply.Page{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.pages[id]
	if !ok {
		return reply.Page{}, fmt.Errorf("%w: notification %s", reply.ErrUnknownPage, id)
	}
	return b.withStatus(p), nil
}

// PagesForPhone implements reply.Backend: SMS pages to phone whose incidents
// are open, newest first (ties in AddPage order, later first).
func (b *Backend) PagesForPhone(phone string) []reply.Page {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []reply.Page
	for i := len(b.order) - 1; i >= 0; i-- {
		p := b.withStatus(b.pages[b.order[i]])
		if p.Channel == "sms" && p.To == phone && p.Status.Open() {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].SentAt.After(out[j].SentAt) })
	return out
}

// UserForPhone implements reply.Backend.
func (b *Backend) UserForPhone(phone string) (string, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	u, ok := b.users[phone]
	return u, ok
}

// Act implements reply.Backend with the rules of incident.State.ApplyAction:
// ack only a triggered incident, resolve and escalate anything not resolved.
func (b *Backend) Act(ctx context.Context, req reply.Request) (reply.Result, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.actCalls++
	if err := ctx.Err(); err != nil {
		return reply.Result{}, err
	}
	if b.transient {
		return reply.Result{}, fmt.Errorf("%w: no leader (replytest)", reply.ErrTransient)
	}
	inc, ok := b.incidents[req.Incident]
	if !ok {
		return reply.Result{}, fmt.Errorf("%w: %s", incident.ErrNotFound, incident.KeyFor(req.Incident))
	}
	if msg, ok := b.refused[req.DedupID]; ok && req.DedupID != "" {
		return reply.Result{}, incident.ReplayedRefusal(msg)
	}
	if req.DedupID != "" && b.dedup[req.DedupID] {
		c := *inc
		return reply.Result{Incident: &c, Duplicate: true}, nil
	}
	res, err := b.apply(inc, req)
	if errors.Is(err, incident.ErrConflict) && req.DedupID != "" {
		b.refused[req.DedupID] = err.Error() // as the state remembers refusals
	}
	return res, err
}

func (b *Backend) apply(inc *incident.Incident, req reply.Request) (reply.Result, error) {
	now := b.now().UTC()
	actor := req.User
	if actor == "" {
		actor = "unknown"
	}
	switch req.Kind {
	case incident.Ack:
		if inc.Status != incident.Triggered {
			return reply.Result{}, conflict(inc, "acknowledge")
		}
		inc.Status, inc.AcknowledgedBy, inc.AcknowledgedAt = incident.Acknowledged, actor, &now
		b.entry(inc, now, incident.EntryAcknowledged, actor, "acknowledged via "+req.Channel)
	case incident.Resolve:
		if inc.Status == incident.Resolved {
			return reply.Result{}, conflict(inc, "resolve")
		}
		inc.Status, inc.ResolvedBy, inc.ResolvedAt = incident.Resolved, actor, &now
		b.entry(inc, now, incident.EntryResolved, actor, "resolved via "+req.Channel)
	case incident.Escalate:
		if inc.Status == incident.Resolved {
			return reply.Result{}, conflict(inc, "escalate")
		}
		if inc.Escalation == nil {
			return reply.Result{}, fmt.Errorf("%w: %s has no escalation policy to advance", incident.ErrConflict, inc.Key)
		}
		// As in the real state machine, the escalation engine (not here)
		// moves the step; the entry is the request.
		b.entry(inc, now, incident.EntryEscalated, actor, "escalation requested via "+req.Channel)
	case reply.ActionSeverity:
		if inc.Status == incident.Resolved {
			return reply.Result{}, conflict(inc, "change the severity of")
		}
		from := inc.Severity
		inc.Severity, inc.SeveritySetBy = req.Severity, actor
		inc.Timeline = append(inc.Timeline, incident.Entry{At: now, Type: incident.EntrySeverityChanged, Actor: actor,
			From: from, To: req.Severity, Note: req.Note, Message: "severity " + from + " → " + req.Severity + " via " + req.Channel})
	default:
		return reply.Result{}, fmt.Errorf("%w: unknown action %q", incident.ErrInvalid, req.Kind)
	}
	if req.DedupID != "" {
		b.dedup[req.DedupID] = true
	}
	b.acts = append(b.acts, req)
	c := *inc
	return reply.Result{Incident: &c}, nil
}

func (b *Backend) entry(inc *incident.Incident, at time.Time, typ, actor, msg string) {
	inc.Timeline = append(inc.Timeline, incident.Entry{At: at, Type: typ, Actor: actor, Message: msg})
}

// conflict has the text of the incident state machine's conflicts.
func conflict(inc *incident.Incident, verb string) error {
	switch {
	case inc.Status == incident.Resolved && inc.ResolvedAt != nil:
		return fmt.Errorf("%w: cannot %s %s: already resolved by %s at %s", incident.ErrConflict, verb, inc.Key,
			inc.ResolvedBy, inc.ResolvedAt.UTC().Format(time.RFC3339))
	case inc.Status == incident.Acknowledged && inc.AcknowledgedAt != nil:
		return fmt.Errorf("%w: cannot %s %s: already acknowledged by %s at %s", incident.ErrConflict, verb, inc.Key,
			inc.AcknowledgedBy, inc.AcknowledgedAt.UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: cannot %s %s in status %s", incident.ErrConflict, verb, inc.Key, inc.Status)
}

// SetSMSOptOut implements reply.Backend.
func (b *Backend) SetSMSOptOut(ctx context.Context, phone string, off bool, dedupID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.transient {
		return fmt.Errorf("%w: no leader (replytest)", reply.ErrTransient)
	}
	if dedupID != "" {
		if b.dedup[dedupID] {
			return nil
		}
		b.dedup[dedupID] = true
	}
	b.optOut[phone] = off
	b.optCalls = append(b.optCalls, OptOutCall{Phone: phone, Off: off, DedupID: dedupID})
	return nil
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// One-time console sign-in links (issue 17). The leader draws a random
// secret, mails it to a user, and commits only its SHA-256 (ID) here, so a
// snapshot or log never holds a usable link. Any node accepts the link: it
// forwards the sign-in to the leader, which commits a LoginUse; apply marks
// the link used, so a second use is refused on every node alike.

// LoginLinkTTL is how long a mailed link signs in.
const LoginLinkTTL = 15 * time.Minute

// maxLoginLinks bounds the links held at once (unused and unexpired); the
// oldest go first. Expired and used links are dropped on every apply.
const maxLoginLinks = 1000

// LoginLink is a mailed link waiting to be used.
type LoginLink struct {
	ID        string    `json:"id"` // hex SHA-256 of the secret in the link
	User      string    `json:"user"`
	CreatedAt time.Time `json:"created_at"` // the leader's stamp (batch time)
	ExpiresAt time.Time `json:"expires_at"`
}

// LoginLinkCommand records a new link before it is mailed.
type LoginLinkCommand struct {
	ID   string `json:"id"`
	User string `json:"user"`
}

// LoginUseCommand spends a link.
type LoginUseCommand struct {
	ID string `json:"id"`
}

// Login link refusals (the console says which, so a person knows to ask
// for a new link).
var (
	ErrLoginLinkUnknown = errors.New("this sign-in link is not valid (unknown, or already used)")
	ErrLoginLinkExpired = errors.New("this sign-in link has expired; ask for a new one")
)

func (f *FSM) applyLoginLink(now time.Time, body []byte) Result {
	var c LoginLinkCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode login link: %w", err)}
	}
	if c.ID == "" || c.User == "" {
		return Result{Err: errors.New("login link: id and user are required")}
	}
	f.pruneLoginLinks(now)
	if f.loginLinks == nil {
		f.loginLinks = map[string]LoginLink{}
	}
	l := LoginLink{ID: c.ID, User: c.User, CreatedAt: now, ExpiresAt: now.Add(LoginLinkTTL)}
	f.loginLinks[c.ID] = l
	f.capLoginLinks()
	return Result{Value: l}
}

func (f *FSM) applyLoginUse(now time.Time, body []byte) Result {
	var c LoginUseCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode login use: %w", err)}
	}
	l, ok := f.loginLinks[c.ID]
	if !ok {
		f.pruneLoginLinks(now)
		return Result{Err: ErrLoginLinkUnknown}
	}
	delete(f.loginLinks, c.ID) // single use: spent or expired, it is gone
	f.pruneLoginLinks(now)
	if !now.Before(l.ExpiresAt) {
		return Result{Err: ErrLoginLinkExpired}
	}
	return Result{Value: l}
}

// pruneLoginLinks drops expired links. Deleting from a map in any order
// leaves the same map, so this stays deterministic.
func (f *FSM) pruneLoginLinks(now time.Time) {
	for id, l := range f.loginLinks {
		if !now.Before(l.ExpiresAt) {
			delete(f.loginLinks, id)
		}
	}
}

// capLoginLinks keeps the newest maxLoginLinks, ordered by (created, id) so
// every replica drops the same ones.
func (f *FSM) capLoginLinks() {
	if len(f.loginLinks) <= maxLoginLinks {
		return
	}
	all := f.sortedLoginLinks()
	for _, l := range all[:len(all)-maxLoginLinks] {
		delete(f.loginLinks, l.ID)
	}
}

func (f *FSM) sortedLoginLinks() []LoginLink {
	out := make([]LoginLink, 0, len(f.loginLinks))
	for _, l := range f.loginLinks {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// restoreLoginLinks loads the links of a snapshot.
func (f *FSM) restoreLoginLinks(ls []LoginLink) {
	f.loginLinks = make(map[string]LoginLink, len(ls))
	for _, l := range ls {
		f.loginLinks[l.ID] = l
	}
}

// SubmitLoginLink records a new sign-in link (leader only) before it is
// mailed.
func (n *Node) SubmitLoginLink(ctx context.Context, c LoginLinkCommand) (LoginLink, error) {
	v, err := n.Submit(ctx, TypeLoginLink, c)
	l, _ := v.(LoginLink)
	return l, err
}

// SubmitLoginUse spends a sign-in link (leader only) and returns it: the
// user it signs in. ErrLoginLinkUnknown or ErrLoginLinkExpired refuse it.
func (n *Node) SubmitLoginUse(ctx context.Context, id string) (LoginLink, error) {
	v, err := n.Submit(ctx, TypeLoginUse, LoginUseCommand{ID: id})
	l, _ := v.(LoginLink)
	return l, err
}

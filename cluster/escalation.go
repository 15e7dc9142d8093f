package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// This file is the node's side of the escalation engine's contract: the
// commands the leader's engine commits, and the reply-token keyring the
// leader creates. Package escalation plans; the FSM applies conditionally.

// SubmitStepStart commits a planned escalation step. An error wrapping
// incident.ErrStale means the state moved on and nothing changed.
func (n *Node) SubmitStepStart(ctx context.Context, st *incident.StepStart) error {
	_, err := n.Submit(ctx, TypeStepStart, st)
	return err
}

// SubmitDelivery commits delivery outcomes and returns how many applied.
func (n *Node) SubmitDelivery(ctx context.Context, d *incident.Delivery) (int, error) {
	v, err := n.Submit(ctx, TypeDelivery, d)
	if err != nil {
		return 0, err
	}
	a, _ := v.(deliveryApplied)
	return a.n, nil
}

// SubmitSMSOptOut commits a STOP or START; false means a duplicate.
func (n *Node) SubmitSMSOptOut(ctx context.Context, o *incident.SMSOptOut) (bool, error) {
	v, err := n.Submit(ctx, TypeSMSOptOut, o)
	if err != nil {
		return false, err
	}
	ok, _ := v.(bool)
	return ok, nil
}

// Clock is the node's leader clock, which stamps every command.
func (n *Node) Clock() time.Time { return n.opts.Clock() }

// ensureKeyring creates the reply-token key on the first leader of a
// cluster. The leader draws the secret; replicas only store it.
func (n *Node) ensureKeyring(ctx context.Context) {
	if len(n.fsm.Keyring().Keys) > 0 {
		return
	}
	key, err := newReplyKey(1)
	if err != nil {
		n.log.Error("create reply-token key", "err", err)
		return
	}
	if _, err := n.Submit(ctx, TypeKeyring, KeyringCommand{Keys: []reply.Key{key}}); err != nil {
		n.log.Warn("commit reply-token key", "err", err)
	}
}

// RotateReplyKey adds a new current reply-token key; the old one keeps
// verifying for reply.TokenLifetime. Keys retired before now are dropped.
func (n *Node) RotateReplyKey(ctx context.Context) (reply.Keyring, error) {
	now := n.opts.Clock()
	old := n.fsm.Keyring().Keys
	var keys []reply.Key
	next := uint8(1)
	for _, k := range old {
		if !k.NotAfter.IsZero() && k.NotAfter.Before(now) {
			continue
		}
		if k.NotAfter.IsZero() {
			k.NotAfter = now.Add(reply.TokenLifetime)
		}
		keys = append(keys, k)
		if k.ID >= next {
			next = k.ID + 1
		}
	}
	if next == 0 || len(keys) >= 255 {
		return reply.Keyring{}, fmt.Errorf("rotate reply key: key ids exhausted; wait for retired keys to expire")
	}
	key, err := newReplyKey(next)
	if err != nil {
		return reply.Keyring{}, err
	}
	keys = append(keys, key)
	if _, err := n.Submit(ctx, TypeKeyring, KeyringCommand{Keys: keys}); err != nil {
		return reply.Keyring{}, err
	}
	return n.fsm.Keyring(), nil
}

func newReplyKey(id uint8) (reply.Key, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return reply.Key{}, fmt.Errorf("draw reply-token secret: %w", err)
	}
	return reply.Key{ID: id, Secret: secret}, nil
}

// ActiveConfig is the committed config and its version (nil, "" before one).
func (n *Node) ActiveConfig() (*config.Config, string) {
	ac := n.fsm.Config()
	if ac == nil {
		return nil, ""
	}
	return ac.Config, ac.Version
}

// ReadIncidents runs fn with the incident state under the read lock.
func (n *Node) ReadIncidents(fn func(*incident.State)) { n.fsm.ReadIncidents(fn) }

// WatchIncidents tells fn which incidents each applied log entry touched.
func (n *Node) WatchIncidents(fn func(ids []uint64, all bool)) (cancel func()) {
	return n.fsm.Watch(func(c Change) {
		if len(c.Incidents) > 0 || c.All { // not for subscriber-only entries
			fn(c.Incidents, c.All)
		}
	})
}

// ReplyKeyring is the replicated reply-token keyring.
func (n *Node) ReplyKeyring() reply.Keyring { return n.fsm.Keyring() }

// SubmitStepStarts commits several planned steps together: one caller, one
// log entry per maxBatch of them, a result each as SubmitStepStart's.
func (n *Node) SubmitStepStarts(ctx context.Context, sts []*incident.StepStart) []error {
	errs := make([]error, len(sts))
	cmds := make([]command, 0, len(sts))
	at := make([]int, 0, len(sts))
	for i, st := range sts {
		c, err := n.encodeCommand(TypeStepStart, st)
		if err != nil {
			errs[i] = err
			continue
		}
		cmds = append(cmds, c)
		at = append(at, i)
	}
	for len(cmds) > 0 {
		k := min(len(cmds), maxBatch)
		for j, r := range n.batcher.submitAll(ctx, cmds[:k]) {
			errs[at[j]] = r.Err
		}
		cmds, at = cmds[k:], at[k:]
	}
	return errs
}

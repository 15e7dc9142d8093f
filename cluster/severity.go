package cluster

import (
	"context"

	"github.com/pagerd/pagerd/incident"
)

// SubmitSeverity commits a person's severity change with the leader's
// paging plan, and returns the incident after it (with ErrDuplicate for a
// retried reply, like SubmitAction).
func (n *Node) SubmitSeverity(ctx context.Context, sc *incident.SeverityChange) (*incident.Incident, error) {
	sc.Deferrals = n.pagingPlan()
	v, err := n.Submit(ctx, TypeSeverity, sc)
	inc, _ := v.(*incident.Incident)
	return inc, err
}

// pagingPlan is when paging each severity would wait for business hours,
// by this (the leader's) clock and the active config. The instant is the
// one the batcher will stamp at the earliest: recorded time never goes
// backwards, so a new leader with a slower clock plans from the last
// applied time.
func (n *Node) pagingPlan() []incident.Deferral {
	ac := n.fsm.Config()
	if ac == nil || ac.Config == nil {
		return nil
	}
	now := n.opts.Clock()
	if last := n.fsm.LastNow(); last.After(now) {
		now = last
	}
	return ac.Config.PagingPlan(now.UTC().Round(0))
}

package cluster

import (
	"context"

	"github.com/pagerd/pagerd/incident"
)

// SubmitSeverity commits a person's severity change with the leader's
// paging plan, and returns the incident after it (with ErrDuplicate for a
// retried reply, like SubmitAction).
func (n *Node) SubmitSeverity(ctx context.Context, sc *incident.SeverityChange) (*incident.Incident, error) {
	var service string
	n.fsm.ReadIncidents(func(s *incident.State) {
		if inc, ok := s.Get(sc.Incident); ok {
			service = inc.Service
		}
	})
	sc.Deferrals = n.pagingPlanFor(service) // business hours and maintenance windows
	v, err := n.Submit(ctx, TypeSeverity, sc)
	inc, _ := v.(*incident.Incident)
	return inc, err
}

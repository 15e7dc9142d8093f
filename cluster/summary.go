package cluster

import "github.com/pagerd/pagerd/incident"

// summaryVersion is the action version of a resolve that queues the
// resolution summary mails and of an impact action (incident.SummaryLogVersion).
// Other actions mean the same to an older binary and keep a lower version,
// so a rolling upgrade stops older nodes only where they would diverge.
const summaryVersion = incident.SummaryLogVersion

// actionVersion is the log version an action is stamped with: the lowest
// that carries what it means.
func actionVersion(a *incident.Action) uint8 {
	switch {
	case a.Kind == incident.Resolve || a.Kind == incident.Impact:
		return summaryVersion
	case len(a.AckRoles) > 0:
		return ackRolesVersion
	}
	return ackRolesVersion - 1
}

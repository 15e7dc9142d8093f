package escalation

import "github.com/pagerd/pagerd/incident"

// The resolution summary mail (spec §5.4 Resolve) rides the page delivery
// path: the resolve queues one KindSummary notification per person paged or
// holding a role in the replicated state, and the engine sends it like a
// page (flood control, retries, outcome committed after), rendering the
// summary at send time (message). A resolved incident is otherwise left
// alone, so collect takes it only while such a mail is queued; a new term
// finds those through State.EachPendingSummary.

// hasQueuedSummary reports whether a summary mail of inc still waits.
func hasQueuedSummary(inc *incident.Incident) bool {
	for i := range inc.Notifications {
		if n := &inc.Notifications[i]; n.Kind == incident.KindSummary && n.Status == incident.NotifyQueued {
			return true
		}
	}
	return false
}

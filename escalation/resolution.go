package escalation

import (
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

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

// resolutionSummary computes the mail's summary from the whole incident.
// The engine holds incidents without their timeline (State.EscalationView),
// but the responders, severity history, past role holders and notes are
// read from it: rendered from that copy, every summary mail said
// "Responders: none" and only the severity the incident ended with. One
// full read per summary mail is cheap beside the storm of pages the
// timeless view is for.
func (t *term) resolutionSummary(inc *incident.Incident, cfg *config.Config, now time.Time) *incident.Summary {
	full := inc
	t.e.opts.Store.ReadIncidents(func(st *incident.State) {
		if got, ok := st.Get(inc.ID); ok {
			full = got
		}
	})
	return incident.BuildSummary(full, now, cfg.IncidentURL(full.Key))
}

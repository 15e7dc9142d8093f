// Package reports computes response reports (spec §5.3, issue 15.4) as pure
// functions over a few fields of each incident. Callers copy those fields
// (Of) while they hold the state's read lock, then compute outside it.
package reports

import (
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Record is what a response report needs of one incident.
type Record struct {
	Service  string
	Severity string
	Created  time.Time
	// FirstAck is the first acknowledgement; nil if never acknowledged.
	FirstAck *time.Time
	// Resolved is nil while open.
	Resolved *time.Time
	// ImpactStart is where time to resolve starts (impact start, else
	// detection, else creation).
	ImpactStart time.Time
	// Escalated: the escalation reached a second step (any step after the
	// first, or a repeat of the policy).
	Escalated bool
	// Deferred: paging waited for business hours at some point.
	Deferred bool
	Drill    bool
	// Pages counts the pages recorded sent, by channel.
	Pages map[string]int
}

// Of copies what a report needs from inc.
func Of(inc *incident.Incident) Record {
	r := Record{Service: inc.Service, Severity: inc.Severity, Created: inc.CreatedAt,
		FirstAck: inc.FirstAckAt(), ImpactStart: inc.ImpactStart(), Drill: inc.Drill != nil,
		Deferred: inc.DeferredUntil != nil}
	if inc.ResolvedAt != nil {
		at := *inc.ResolvedAt
		r.Resolved = &at
	}
	if e := inc.Escalation; e != nil && (e.Step > 0 || e.Loop > 0) {
		r.Escalated = true
	}
	for _, n := range inc.Notifications {
		if n.Kind == incident.KindIncident && (n.Step > 0 || n.Loop > 0) {
			r.Escalated = true // an ack timeout starts over at step 0; the pages remember
		}
		if n.Status == incident.NotifySent && (n.Kind == incident.KindIncident || n.Kind == incident.KindRolePage) {
			if r.Pages == nil {
				r.Pages = map[string]int{}
			}
			r.Pages[n.Channel]++
		}
	}
	for _, e := range inc.Timeline {
		if e.Type == incident.EntryDeferred {
			r.Deferred = true // deferred_until is cleared once paging begins
		}
	}
	return r
}

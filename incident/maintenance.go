package incident

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaintenancePrefix starts the Window of a Deferral the leader planned
// because a maintenance window is on the incident's service: paging waits
// for the window's end (spec §5.4 Maintenance), through the same deferral
// as business hours.
const MaintenancePrefix = "maintenance:"

// deferralMessage is the timeline line of a deferral, and its entry type:
// maintenance, or deferred for business hours.
func deferralMessage(inc *Incident, d Deferral) (string, string) {
	until := d.Until.UTC().Format(time.RFC3339)
	if w, ok := strings.CutPrefix(d.Window, MaintenancePrefix); ok {
		return EntryMaintenance, fmt.Sprintf("opened during maintenance (%s) of service %s: %s does not page then; paging deferred until %s",
			w, inc.Service, inc.Severity, until)
	}
	return EntryDeferred, fmt.Sprintf("%s pages only in business hours (%s); paging deferred until %s", inc.Severity, d.Window, until)
}

// EndDeferrals starts paging now for open incidents of services whose
// paging waits until exactly until (an ad hoc maintenance window that ends
// early). why is the timeline line.
func (s *State) EndDeferrals(now time.Time, services []string, until time.Time, why string) {
	for i := range s.incidents {
		inc := s.incidents[i]
		if inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(until) || !waiting(inc) || !slices.Contains(services, inc.Service) {
			continue
		}
		inc = s.own(inc)
		due := now
		inc.DeferredUntil, inc.Escalation.NextAt = nil, &due
		inc.addEntry(now, EntryMaintenance, "pagerd", why+": paging starts now")
	}
}

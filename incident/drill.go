package incident

import "time"

// DrillRef names the drill and the run that opened an incident.
type DrillRef struct {
	ID  string `json:"id"`
	Run string `json:"run"`
}

// MarkDrill records on incident id that a drill run opened it. Apply only.
func (s *State) MarkDrill(now time.Time, id uint64, ref DrillRef) {
	inc := s.own(s.byID(id))
	if inc == nil {
		return
	}
	r := ref
	inc.Drill = &r
	inc.addEntry(now, "drill", "drill:"+ref.ID, "continuity drill run "+ref.Run)
}

// OpenBy returns a copy of the open incident of service with dedupKey.
func (s *State) OpenBy(service, dedupKey string) (*Incident, bool) {
	inc := s.open[openKey{service, dedupKey}]
	if inc == nil {
		return nil, false
	}
	return inc.Clone(), true
}

// OpenRealSev1 returns the lowest id of an unresolved sev1 incident of
// service that no drill opened (0 when there is none). The lowest, so
// every replica answers alike whatever the map order.
func (s *State) OpenRealSev1(service string) uint64 {
	var found uint64
	for k, inc := range s.open {
		if k.service != service || inc.Status == Resolved || inc.Drill != nil || inc.Severity != "sev1" {
			continue
		}
		if found == 0 || inc.ID < found {
			found = inc.ID
		}
	}
	return found
}

package incident

import "time"

// rulesCoalesce is the apply-rules version from which a source's repeated
// entries coalesce (RulesCurrent).
const rulesCoalesce = 3

// coalesceWindow is how many of the latest timeline entries a new source
// entry is compared with. An alert flapping firing/resolved alternates two
// entries, and others (an acknowledgement, a page) may fall between, so the
// window is a few entries rather than only the last one.
const coalesceWindow = 8

// addOrCoalesce records a source's event: if one of the latest entries is
// the same event (type, actor and words), its count goes up and LastAt
// moves to at; otherwise a new entry is added. So a flapping alert costs
// two entries whatever the number of flaps, and the count says how many.
func (inc *Incident) addOrCoalesce(at time.Time, typ, actor, msg string) {
	for i := len(inc.Timeline) - 1; i >= 0 && i >= len(inc.Timeline)-coalesceWindow; i-- {
		e := &inc.Timeline[i]
		if e.Type == typ && e.Actor == actor && e.Message == msg {
			e.Count = max(e.Count, 1) + 1
			last := at
			e.LastAt = &last
			return
		}
	}
	inc.addEntry(at, typ, actor, msg)
}

package incident

import (
	"hash/fnv"
	"slices"
	"strconv"
	"time"
)

// Bounds of one incident (issue 10.8: ten posts of 10,000 new fingerprints
// to one group made one incident of 100,000 alerts, 383 MB resident).
const (
	// MaxAlerts is how many alerts one incident keeps: the first MaxAlerts
	// fingerprints to arrive, in commit order and then payload order, so
	// every replica keeps the same ones. Later new fingerprints are counted
	// in AlertsDropped (and AlertCount) but not kept.
	MaxAlerts = 1000
	// maxDroppedTracked bounds the fingerprints remembered per incident to
	// recognise a repeat of a dropped alert. Past it a repeat of an
	// unremembered one is counted again, so AlertCount becomes an upper
	// bound; that takes more than 100,000 distinct alerts in one incident.
	maxDroppedTracked = 100_000
	// maxAlertEntries is how many alert entries one source payload adds to
	// the timeline; the rest are summed up in one entry.
	maxAlertEntries = 20
)

// EntryAlertsDropped is the timeline entry for new alerts past MaxAlerts:
// how many in this payload, and AlertsDropped so far.
const EntryAlertsDropped = "alerts_dropped"

// alertLog collects the timeline entries of one merge, so that a payload of
// thousands of alerts adds a bounded number of entries.
type alertLog struct {
	inc     *Incident
	now     time.Time
	actor   string
	written int
	more    int // alert entries left out past maxAlertEntries
	dropped int // new fingerprints not kept past MaxAlerts
	// coalesce: a repeat of a recent identical entry raises its count
	// (rules version 2) instead of adding one.
	coalesce bool
}

func (l *alertLog) add(typ, msg string) {
	if l.written >= maxAlertEntries {
		l.more++
		return
	}
	l.written++
	if l.coalesce {
		l.inc.addOrCoalesce(l.now, typ, l.actor, msg)
		return
	}
	l.inc.addEntry(l.now, typ, l.actor, msg)
}

// flush writes the summaries of what was left out.
func (l *alertLog) flush() {
	if l.more > 0 {
		l.inc.addEntry(l.now, EntryAlertUpdated, l.actor,
			strconv.Itoa(l.more)+" more alert changes in this payload, not listed one by one")
	}
	if l.dropped > 0 {
		l.inc.addEntry(l.now, EntryAlertsDropped, l.actor, strconv.Itoa(l.dropped)+
			" new alerts not kept: an incident keeps at most "+strconv.Itoa(MaxAlerts)+
			" (alerts_dropped: "+strconv.Itoa(l.inc.AlertsDropped)+")")
	}
}

// dropAlert counts a new fingerprint that does not fit, once.
func (s *State) dropAlert(inc *Incident, a Alert, l *alertLog) {
	set := s.dropped[inc.ID]
	if set == nil {
		set = map[uint64]struct{}{}
		s.dropped[inc.ID] = set
	}
	h := fingerprintHash(a.Fingerprint)
	if _, seen := set[h]; seen {
		return
	}
	if len(set) < maxDroppedTracked {
		set[h] = struct{}{}
	}
	inc.AlertsDropped++
	l.dropped++
}

func fingerprintHash(fp string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(fp))
	return h.Sum64()
}

// droppedRecords is the snapshot form of the dropped sets, in incident and
// hash order so that equal states write equal snapshots.
func (s *State) droppedRecords() []droppedRecord {
	out := make([]droppedRecord, 0, len(s.dropped))
	for id, set := range s.dropped {
		hs := make([]uint64, 0, len(set))
		for h := range set {
			hs = append(hs, h)
		}
		slices.Sort(hs)
		out = append(out, droppedRecord{Incident: id, Fingerprints: hs})
	}
	slices.SortFunc(out, func(a, b droppedRecord) int {
		switch {
		case a.Incident < b.Incident:
			return -1
		case a.Incident > b.Incident:
			return 1
		}
		return 0
	})
	return out
}

func (s *State) restoreDropped(d droppedRecord) {
	if inc := s.byID(d.Incident); inc == nil || !inc.Status.Open() {
		return
	}
	set := make(map[uint64]struct{}, len(d.Fingerprints))
	for _, h := range d.Fingerprints {
		set[h] = struct{}{}
	}
	s.dropped[d.Incident] = set
}

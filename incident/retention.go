package incident

import (
	"slices"
	"time"
)

// Purge removes resolved incidents whose retention has run out. The leader
// chooses the ids (ExpiredResolved) and stamps the cutoff it chose them by;
// apply removes exactly those ids that are resolved at or before Cutoff, so
// every replica removes the same ones whatever its clock, and an incident
// reopened or resolved later than the leader saw stays.
type Purge struct {
	Cutoff time.Time `json:"cutoff"`
	IDs    []uint64  `json:"ids"`
}

// MaxPurgeBatch bounds the ids of one Purge command: retention removes in
// small batches so that no single log entry or apply pause is large.
const MaxPurgeBatch = 256

// ApplyPurge removes the listed incidents that are resolved at or before
// p.Cutoff and returns how many it removed. Open incidents are never removed.
func (s *State) ApplyPurge(p *Purge) int {
	removed := 0
	for _, id := range p.IDs {
		inc := s.byID(id)
		if inc == nil || inc.Status != Resolved || inc.ResolvedAt == nil || inc.ResolvedAt.After(p.Cutoff) {
			continue
		}
		s.incidents[id-s.base-1] = nil
		delete(s.pendingMail, id) // derived indexes hold no removed id
		removed++
	}
	s.trimFront()
	return removed
}

// trimFront drops the removed incidents at the front of the slice, and
// copies the slice when most of its array is behind it, so memory follows
// what is kept.
func (s *State) trimFront() {
	i := 0
	for i < len(s.incidents) && s.incidents[i] == nil {
		i++
	}
	if i == 0 {
		return
	}
	s.base += uint64(i)
	s.incidents = s.incidents[i:]
	if cap(s.incidents) > 2*len(s.incidents)+1024 {
		s.incidents = slices.Clone(s.incidents)
	}
}

// ExpiredResolved lists, in id order from id after on, up to limit
// incidents resolved at or before cutoff.
func (s *State) ExpiredResolved(cutoff time.Time, after uint64, limit int) []uint64 {
	var ids []uint64
	for _, inc := range s.incidents[max(after, s.base)-s.base:] {
		if len(ids) == limit {
			break
		}
		if inc != nil && inc.Status == Resolved && inc.ResolvedAt != nil && !inc.ResolvedAt.After(cutoff) {
			ids = append(ids, inc.ID)
		}
	}
	return ids
}

// ResolvedAt is when incident id was resolved; ok is false when it is not
// kept or not resolved. It copies nothing (the retention routine asks for
// every incident a change touched).
func (s *State) ResolvedAt(id uint64) (at time.Time, ok bool) {
	if inc := s.byID(id); inc != nil && inc.Status == Resolved && inc.ResolvedAt != nil {
		return *inc.ResolvedAt, true
	}
	return at, false
}

// OldestResolved is the earliest resolution time among the incidents kept;
// ok is false when none is resolved.
func (s *State) OldestResolved() (at time.Time, ok bool) {
	for _, inc := range s.incidents {
		if inc != nil && inc.Status == Resolved && inc.ResolvedAt != nil && (!ok || inc.ResolvedAt.Before(at)) {
			at, ok = *inc.ResolvedAt, true
		}
	}
	return at, ok
}

// Kept is the number of incidents the state holds (Len minus those removed).
func (s *State) Kept() int {
	n := 0
	for _, inc := range s.incidents {
		if inc != nil {
			n++
		}
	}
	return n
}

// CreatedBetween calls fn, in id order, with a copy of every kept incident
// created in [from, to) (a zero bound is open), at most limit of them, from
// id after on. It returns the id to continue after, or 0 when done: an
// export reads the state in pages so that the lock is never held long.
func (s *State) CreatedBetween(from, to time.Time, after uint64, limit int, fn func(*Incident)) (next uint64) {
	start := max(after, s.base) - s.base
	for i := start; i < uint64(len(s.incidents)); i++ {
		inc := s.incidents[i]
		if inc == nil || inc.CreatedAt.Before(from) || !to.IsZero() && !inc.CreatedAt.Before(to) {
			continue
		}
		if limit == 0 {
			return inc.ID - 1
		}
		fn(inc.Clone())
		limit--
	}
	return 0
}

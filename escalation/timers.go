package escalation

import (
	"container/heap"
	"time"
)

// timerHeap holds one wake-up time per incident: a min-heap with lazy
// deletion, so re-arming an incident is O(log n) and a stale entry is
// skipped when popped.
type timerHeap struct {
	at map[uint64]time.Time
	h  timerEntries
}

type timerEntry struct {
	at time.Time
	id uint64
}

type timerEntries []timerEntry

func (h timerEntries) Len() int           { return len(h) }
func (h timerEntries) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerEntries) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerEntries) Push(x any)        { *h = append(*h, x.(timerEntry)) }
func (h *timerEntries) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newTimerHeap() timerHeap { return timerHeap{at: map[uint64]time.Time{}} }

// set arms incident id at t, replacing a later wake-up (an earlier one stays:
// waking early only costs a reconcile, waking late would miss a page).
func (th *timerHeap) set(id uint64, t time.Time) {
	if cur, ok := th.at[id]; ok && !t.Before(cur) {
		return
	}
	th.at[id] = t
	heap.Push(&th.h, timerEntry{at: t, id: id})
}

// popDue removes and returns the incidents due at now.
func (th *timerHeap) popDue(now time.Time) []uint64 {
	var ids []uint64
	for th.h.Len() > 0 && !th.h[0].at.After(now) {
		e := heap.Pop(&th.h).(timerEntry)
		if cur, ok := th.at[e.id]; ok && cur.Equal(e.at) {
			delete(th.at, e.id)
			ids = append(ids, e.id)
		}
	}
	return ids
}

// peek is the earliest live wake-up, or zero.
func (th *timerHeap) peek() time.Time {
	for th.h.Len() > 0 {
		e := th.h[0]
		if cur, ok := th.at[e.id]; ok && cur.Equal(e.at) {
			return e.at
		}
		heap.Pop(&th.h)
	}
	return time.Time{}
}

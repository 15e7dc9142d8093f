// Package memreturn gives the heap a burst of work left behind back to the
// operating system once the node is quiet.
//
// Why a pagerd node needs it: Go's collector lets the heap grow to twice the
// live heap before each collection (GOGC=100), and its background scavenger
// keeps up to that goal (plus 10 %) mapped, so a node's resident memory after
// an alert storm is the high-water mark of its last GC cycle, up to twice its
// state, for as long as it stays quiet, which for a pager is most of the time.
// Which node holds more is then a matter of GC phase: the leader allocates
// about 2.2 times as much per alert as a follower (it decodes the HTTP
// requests, answers them, runs the escalation engine), so its cycles are
// shorter and its last high-water mark lies nearer the final state size
// (docs/PERFORMANCE.md, "Leader memory"). At 100,000 open incidents that was
// 475 MiB against 410–426 MiB with the same ~190 MB of live state on every
// node.
//
// The policy: every Interval the returner reads the runtime's counters. When
// the node allocated less than QuietBytes in that interval (no burst is
// running) and the heap it holds exceeds the live heap (or what was left
// right after the previous return) by more than max(MinExcess, live /
// ExcessDivisor), it calls debug.FreeOSMemory: one full collection and the
// free pages handed back. A quiet node then holds its state plus a small
// margin, the same on every node. Under load nothing changes: the returner
// stays out of the way and the collector paces itself as usual.
//
// Cost: one collection per return (about 0.4 s of CPU at 100,000 incidents
// on the measured machine). An idle leader still allocates about 1 MB/s (Raft
// sends each follower an AppendEntries every CommitTimeout, 5 ms), so it
// returns about every MinExcess / 1 MB/s = 16 s at most, bounded below by
// MinGap; an idle follower allocates about a tenth of that.
package memreturn

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Stats are the runtime counters the policy reads.
type Stats struct {
	Allocated uint64 // bytes allocated since start (/gc/heap/allocs:bytes)
	Live      uint64 // heap marked live by the last collection (/gc/heap/live:bytes)
	Retained  uint64 // heap held from the OS: objects, unused span space, free but not released
}

// Policy says when a return pays.
type Policy struct {
	Interval      time.Duration // between looks
	QuietBytes    uint64        // allocated within an Interval below which the node is quiet
	MinExcess     uint64        // never return less than this
	ExcessDivisor uint64        // nor less than live / ExcessDivisor
	MinGap        time.Duration // between two returns
}

// Default is the policy `pagerd serve` runs.
var Default = Policy{
	Interval:      5 * time.Second,
	QuietBytes:    32 << 20,
	MinExcess:     16 << 20,
	ExcessDivisor: 16,
	MinGap:        15 * time.Second,
}

// Returner applies a Policy to a process's heap.
type Returner struct {
	policy  Policy
	read    func() Stats
	release func()
	now     func() time.Time

	prev       Stats
	floor      uint64 // Retained right after the last return
	lastReturn time.Time
	returns    uint64
}

// New returns a Returner over this process's runtime.
func New(p Policy) *Returner {
	return newReturner(p, ReadStats, debug.FreeOSMemory, time.Now)
}

func newReturner(p Policy, read func() Stats, release func(), now func() time.Time) *Returner {
	return &Returner{policy: p, read: read, release: release, now: now, prev: read()}
}

// Check looks once and returns the heap when the policy says so; it reports
// whether it did.
func (r *Returner) Check() bool {
	cur := r.read()
	allocated := cur.Allocated - r.prev.Allocated
	r.prev = cur
	if allocated >= r.policy.QuietBytes {
		return false // a burst is running: the collector paces itself
	}
	if !r.lastReturn.IsZero() && r.now().Sub(r.lastReturn) < r.policy.MinGap {
		return false
	}
	if r.Excess(cur) <= max(r.policy.MinExcess, cur.Live/max(1, r.policy.ExcessDivisor)) {
		return false
	}
	r.release()
	r.lastReturn = r.now()
	r.returns++
	r.prev = r.read()
	r.floor = r.prev.Retained
	return true
}

// Excess is the retained heap above both the live heap and what the last
// return left (fragmentation a collection cannot give back is no excess).
func (r *Returner) Excess(s Stats) uint64 {
	base := max(s.Live, r.floor)
	if s.Retained <= base {
		return 0
	}
	return s.Retained - base
}

// Returns counts the returns so far.
func (r *Returner) Returns() uint64 { return r.returns }

// Run checks every Interval until ctx ends; onReturn (may be nil) is told of
// each return.
func (r *Returner) Run(ctx context.Context, onReturn func()) {
	t := time.NewTicker(r.policy.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if r.Check() && onReturn != nil {
				onReturn()
			}
		}
	}
}

var statNames = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
}

// ReadStats reads Stats from runtime/metrics (no stop-the-world, unlike
// runtime.ReadMemStats).
func ReadStats() Stats {
	samples := make([]metrics.Sample, len(statNames))
	for i, n := range statNames {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := func(i int) uint64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return samples[i].Value.Uint64()
	}
	return Stats{Allocated: v(0), Live: v(1), Retained: v(2) + v(3) + v(4)}
}

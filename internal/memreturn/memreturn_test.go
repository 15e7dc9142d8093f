package memreturn

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// fakeHeap is a heap the test moves by hand; release behaves like
// debug.FreeOSMemory: garbage collected, free pages given back.
type fakeHeap struct {
	s        Stats
	frag     uint64 // span space a collection cannot give back
	releases int
	t        time.Time
}

func (h *fakeHeap) read() Stats { return h.s }
func (h *fakeHeap) release() {
	h.releases++
	h.s.Retained = h.s.Live + h.frag
}
func (h *fakeHeap) allocate(garbage uint64) {
	h.s.Allocated += garbage
	h.s.Retained += garbage
}

const mib = 1 << 20

func newFake(t *testing.T, live uint64) (*fakeHeap, *Returner) {
	t.Helper()
	h := &fakeHeap{s: Stats{Live: live, Retained: live}, frag: 10 * mib, t: time.Unix(0, 0)}
	h.s.Retained += h.frag
	return h, newReturner(Default, h.read, h.release, func() time.Time { return h.t })
}

func TestBusyNodeIsLeftToTheCollector(t *testing.T) {
	h, r := newFake(t, 200*mib)
	h.allocate(Default.QuietBytes) // a burst: an interval's allocation at the threshold
	if r.Check() {
		t.Fatal("returned during a burst")
	}
	h.t = h.t.Add(Default.Interval)
	if !r.Check() { // the next interval is quiet and the burst's garbage is still held
		t.Fatal("quiet interval after a burst: no return")
	}
	if h.releases != 1 {
		t.Fatalf("releases = %d, want 1", h.releases)
	}
}

func TestReturnNeedsExcessAboveLiveAndFloor(t *testing.T) {
	h, r := newFake(t, 320*mib)
	h.allocate(30 * mib)
	if !r.Check() {
		t.Fatal("30 MiB of garbage at 320 MiB live: no return")
	}
	// From here the 10 MiB of fragmentation the return left is the floor;
	// live/16 = 20 MiB is the threshold, above MinExcess.
	h.t = h.t.Add(time.Minute)
	h.allocate(19 * mib)
	if r.Check() {
		t.Fatal("returned 19 MiB above the floor at 320 MiB live: below live/16")
	}
	h.allocate(2 * mib)
	h.t = h.t.Add(Default.Interval)
	if !r.Check() {
		t.Fatal("21 MiB above the floor at 320 MiB live: no return")
	}
	// Fragmentation alone is no excess: quiet minutes later, with nothing
	// allocated, no further return.
	for i := 0; i < 10; i++ {
		h.t = h.t.Add(time.Minute)
		if r.Check() {
			t.Fatalf("returned again over fragmentation alone (check %d)", i)
		}
	}
	if h.releases != 2 {
		t.Fatalf("releases = %d, want 2", h.releases)
	}
}

func TestMinGapBetweenReturns(t *testing.T) {
	h, r := newFake(t, 100*mib)
	h.allocate(30 * mib)
	if !r.Check() {
		t.Fatal("first return missing")
	}
	h.allocate(30 * mib)
	h.t = h.t.Add(Default.MinGap - time.Second)
	if r.Check() {
		t.Fatal("returned within MinGap of the previous return")
	}
	h.t = h.t.Add(time.Second)
	if !r.Check() {
		t.Fatal("no return once MinGap passed")
	}
}

// TestReturnGivesRealHeapBack runs the returner on this test process's own
// runtime: garbage that no collection has seen yet is held, a quiet Check
// collects it and hands the pages back to the OS.
func TestReturnGivesRealHeapBack(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection may run before Check does
	runtime.GC()
	debug.FreeOSMemory()
	garbage := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		garbage = append(garbage, make([]byte, mib))
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	r := New(Default) // the allocation above is before its first reading: the next interval is quiet
	before := ReadStats()
	if r.Excess(before) < 64*mib {
		t.Fatalf("excess %d MiB before the return, want >= 64 (retained %d, live %d)", r.Excess(before)>>20, before.Retained>>20, before.Live>>20)
	}
	if !r.Check() {
		t.Fatal("64 MiB of garbage on a quiet process: no return")
	}
	after := ReadStats()
	if after.Retained+48*mib > before.Retained {
		t.Fatalf("retained heap %d MiB → %d MiB: the return gave back less than 48 MiB", before.Retained>>20, after.Retained>>20)
	}
	if r.Check() {
		t.Fatal("returned again at once")
	}
	if r.Returns() != 1 {
		t.Fatalf("Returns() = %d, want 1", r.Returns())
	}
}

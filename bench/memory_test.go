package bench

import "testing"

func TestProcStatusKiB(t *testing.T) {
	got := procStatusKiB([]byte("Name:\tpagerd\nVmHWM:\t  540000 kB\nVmRSS:\t  382000 kB\nRssAnon:\t  305000 kB\nRssFile:\t   77000 kB\nThreads:\t12\n"))
	want := map[string]int64{"VmHWM": 540000, "VmRSS": 382000, "RssAnon": 305000, "RssFile": 77000}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

func TestPromValuesReadsOnlyUnlabelledSamples(t *testing.T) {
	got := promValues([]byte("# HELP go_gc_heap_live_bytes x\n# TYPE go_gc_heap_live_bytes gauge\ngo_gc_heap_live_bytes 2.44e+08\n" +
		"go_memstats_heap_inuse_bytes 3.0e+08\npagerd_incidents{service=\"a\",status=\"triggered\"} 7\n\n"))
	if got["go_gc_heap_live_bytes"] != 2.44e8 || got["go_memstats_heap_inuse_bytes"] != 3e8 {
		t.Errorf("values: %v", got)
	}
	if len(got) != 2 {
		t.Errorf("labelled or comment lines read: %v", got)
	}
}

func TestLeaderMemoryRatio(t *testing.T) {
	s := &ScaleResult{Leader: "n1"}
	reading := map[string]NodeMemory{"n1": {AnonMiB: 300}, "n2": {AnonMiB: 270}, "n3": {AnonMiB: 280}}
	l, f, ratio, ok := s.LeaderMemoryRatio(reading)
	if !ok || l != 300 || f != 275 || ratio < 1.0909 || ratio > 1.0910 {
		t.Errorf("got leader %v followers %v ratio %v ok %v; want 300, 275, 1.0909, true", l, f, ratio, ok)
	}
	if _, _, _, ok := s.LeaderMemoryRatio(map[string]NodeMemory{"n2": {AnonMiB: 1}}); ok {
		t.Error("a reading without the leader gave a ratio")
	}
	if _, _, _, ok := s.LeaderMemoryRatio(map[string]NodeMemory{"n1": {AnonMiB: 1}}); ok {
		t.Error("a reading without followers gave a ratio")
	}
}

package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// NodeMemory splits a node's resident memory into what the kernel can drop
// on its own and what the process owns, and adds the Go runtime's view of
// the heap (from the node's /metrics), so a difference between nodes can be
// attributed: anonymous memory is the Go heap, stacks and runtime
// structures; file-backed memory is mostly bbolt's mmap of raft.db, pages
// that are clean page cache and reclaimable.
type NodeMemory struct {
	RSSMiB   int64 `json:"rss_mib"`
	AnonMiB  int64 `json:"rss_anon_mib"`  // RssAnon of /proc/PID/status
	FileMiB  int64 `json:"rss_file_mib"`  // RssFile: mapped files (raft.db, the binary)
	ShmemMiB int64 `json:"rss_shmem_mib"` // RssShmem
	PeakMiB  int64 `json:"peak_rss_mib"`  // VmHWM

	// From go_memstats_* on /metrics (bytes converted to MiB).
	HeapLiveMiB     float64 `json:"heap_alloc_mib"`    // reachable + not yet swept objects
	HeapInuseMiB    float64 `json:"heap_inuse_mib"`    // spans holding objects
	HeapIdleMiB     float64 `json:"heap_idle_mib"`     // spans without objects
	HeapReleasedMiB float64 `json:"heap_released_mib"` // idle spans returned to the OS
	NextGCMiB       float64 `json:"next_gc_mib"`       // heap goal
	StackMiB        float64 `json:"stack_inuse_mib"`
	GoSysMiB        float64 `json:"go_sys_mib"` // everything the runtime obtained from the OS
	GoMemLimitMiB   float64 `json:"gomemlimit_mib,omitempty"`
	AllocTotalMiB   float64 `json:"alloc_total_mib"` // allocated since start, freed or not
	GCCycles        float64 `json:"gc_cycles"`
	MarkedLiveMiB   float64 `json:"marked_live_mib"` // heap marked live by the last GC (the state, in Go's terms)
	CPUSeconds      float64 `json:"cpu_seconds"`     // process CPU since start (user+system)
	GCCPUSeconds    float64 `json:"gc_cpu_seconds"`  // of which the collector's
}

// MemoryDetail reads the node's /proc status and its Go memory metrics.
func (n *Node) MemoryDetail(ctx context.Context) (NodeMemory, error) {
	var m NodeMemory
	pid := n.PID()
	if pid == 0 {
		return m, fmt.Errorf("%s is not running", n.ID)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	kib := procStatusKiB(b)
	m.RSSMiB, m.AnonMiB, m.FileMiB, m.ShmemMiB, m.PeakMiB = kib["VmRSS"]>>10, kib["RssAnon"]>>10, kib["RssFile"]>>10, kib["RssShmem"]>>10, kib["VmHWM"]>>10
	code, body, err := Get(ctx, n.URL()+"/metrics", "")
	if err != nil || code != 200 {
		return m, fmt.Errorf("%s /metrics: %d %v", n.ID, code, err)
	}
	g := promValues(body)
	mib := func(name string) float64 { return round(g[name]/(1<<20), 1) }
	m.HeapLiveMiB, m.HeapInuseMiB, m.HeapIdleMiB = mib("go_memstats_heap_alloc_bytes"), mib("go_memstats_heap_inuse_bytes"), mib("go_memstats_heap_idle_bytes")
	m.HeapReleasedMiB, m.NextGCMiB, m.StackMiB = mib("go_memstats_heap_released_bytes"), mib("go_memstats_next_gc_bytes"), mib("go_memstats_stack_inuse_bytes")
	m.GoSysMiB, m.AllocTotalMiB = mib("go_memstats_sys_bytes"), mib("go_memstats_alloc_bytes_total")
	m.GCCycles = g["go_gc_duration_seconds_count"]
	m.MarkedLiveMiB = mib("go_gc_heap_live_bytes")
	m.CPUSeconds, m.GCCPUSeconds = n.CPUSeconds(), round(g["go_cpu_classes_gc_total_cpu_seconds_total"], 2)
	if l := g["go_gc_gomemlimit_bytes"]; l > 0 && l < 1<<62 {
		m.GoMemLimitMiB = round(l/(1<<20), 1)
	}
	return m, nil
}

// procStatusKiB parses the "Name:   123 kB" lines of /proc/PID/status.
func procStatusKiB(b []byte) map[string]int64 {
	out := map[string]int64{}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		f := strings.Fields(rest)
		if !ok || len(f) != 2 || f[1] != "kB" {
			continue
		}
		if v, err := strconv.ParseInt(f[0], 10, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// promValues reads the unlabelled samples of a Prometheus text exposition.
func promValues(b []byte) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || strings.ContainsRune(line, '{') {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// memoryOfAll reads every running node's memory.
func (c *Cluster) memoryOfAll(ctx context.Context) (map[string]NodeMemory, error) {
	out := map[string]NodeMemory{}
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		m, err := n.MemoryDetail(ctx)
		if err != nil {
			return nil, err
		}
		out[n.ID] = m
	}
	return out, nil
}

// saveHeapProfiles writes scale-<when>-<role>-<id>-heap.pprof for every node (the
// heap profile carries both in-use and allocated samples).
func (c *Cluster) saveHeapProfiles(ctx context.Context, dir, when string, leader *Node, logf func(string, ...any)) {
	os.MkdirAll(dir, 0o755)
	for _, n := range c.Nodes {
		role := "follower"
		if n == leader {
			role = "leader"
		}
		code, body, err := Get(ctx, "http://"+n.PprofAddr()+"/debug/pprof/heap", "")
		if err == nil && code == 200 {
			err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("scale-%s-%s-%s-heap.pprof", when, role, n.ID)), body, 0o644)
		}
		if err != nil && logf != nil {
			logf("scale heap profile %s: %d %v", n.ID, code, err)
		}
	}
}

// writeScaleMemory prints one line per node and moment: the leader first.
func writeScaleMemory(w io.Writer, s *ScaleResult) {
	ids := make([]string, 0, len(s.Memory))
	for id := range s.Memory {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int {
		if (a == s.Leader) != (b == s.Leader) {
			if a == s.Leader {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  node\trole\twhen\tRSS\tanon\tfile\tmarked live\theap alloc\theap inuse\theap idle\treleased\theap goal\tstacks\tgo sys\tallocated (MiB)\tGCs\tCPU s\tGC CPU s\t")
	for _, when := range []string{"loaded", "after snapshot", "settled"} {
		src := map[string]map[string]NodeMemory{"loaded": s.MemoryLoaded, "after snapshot": s.Memory, "settled": s.MemorySettled}[when]
		for _, id := range ids {
			m, ok := src[id]
			if !ok {
				continue
			}
			role := "follower"
			if id == s.Leader {
				role = "leader"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f\t%.2f\t\n", id, role, when, m.RSSMiB, m.AnonMiB, m.FileMiB,
				m.MarkedLiveMiB, m.HeapLiveMiB, m.HeapInuseMiB, m.HeapIdleMiB, m.HeapReleasedMiB, m.NextGCMiB, m.StackMiB, m.GoSysMiB, m.AllocTotalMiB, m.GCCycles, m.CPUSeconds, m.GCCPUSeconds)
		}
	}
	tw.Flush()
}

// saveQuietAllocs starts fetching, from every node, the allocations made
// over the next d (a delta profile: what a quiet node still allocates) and
// returns a function that waits for them.
func (c *Cluster) saveQuietAllocs(ctx context.Context, dir string, leader *Node, d time.Duration, logf func(string, ...any)) func() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		role := "follower"
		if n == leader {
			role = "leader"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := fmt.Sprintf("http://%s/debug/pprof/allocs?seconds=%d", n.PprofAddr(), max(1, int(d.Seconds())-1))
			code, body, err := Get(ctx, url, "")
			if err == nil && code == 200 {
				err = os.WriteFile(filepath.Join(dir, fmt.Sprintf("scale-quiet-%s-%s-allocs.pprof", role, n.ID)), body, 0o644)
			}
			if err != nil && logf != nil {
				logf("scale quiet allocs profile %s: %d %v", n.ID, code, err)
			}
		}()
	}
	return wg.Wait
}

// LeaderMemoryRatio compares the leader's anonymous (process-owned) memory
// with the followers' mean in one of the readings; ok is false when the
// reading lacks the leader or every follower.
func (s *ScaleResult) LeaderMemoryRatio(reading map[string]NodeMemory) (leader, followers, ratio float64, ok bool) {
	l, found := reading[s.Leader]
	if !found {
		return 0, 0, 0, false
	}
	var sum float64
	var n int
	for id, m := range reading {
		if id != s.Leader {
			sum += float64(m.AnonMiB)
			n++
		}
	}
	if n == 0 || sum == 0 {
		return 0, 0, 0, false
	}
	followers = sum / float64(n)
	return float64(l.AnonMiB), followers, float64(l.AnonMiB) / followers, true
}

package bench

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPU         string  `json:"cpu"`
	Cores       int     `json:"cores"`
	MemoryGiB   float64 `json:"memory_gib"`
	Kernel      string  `json:"kernel"`
	GoVersion   string  `json:"go"`
	FsyncP50ms  float64 `json:"fsync_p50_ms"`
	FsyncP99ms  float64 `json:"fsync_p99_ms"`
	FsyncDir    string  `json:"fsync_dir"`
	FsyncWrites int     `json:"fsync_writes"`
	// LoadAvg is /proc/loadavg when the run started: other work on the
	// machine (a test run, another bench) shows up here and in the figures.
	LoadAvg string `json:"loadavg_at_start"`
	// BusyProcesses lists other processes that used CPU just before the run.
	BusyProcesses []string `json:"busy_processes_at_start,omitempty"`
}

// DescribeMachine reads /proc and measures fsync latency of 4 KiB appends
// in dir (the filesystem the data dirs live on).
func DescribeMachine(dir string, fsyncs int) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), FsyncDir: dir, FsyncWrites: fsyncs}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				m.MemoryGiB = round(kb/1024/1024, 1)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.TrimSpace(string(b))
	}
	m.BusyProcesses = busyProcesses(500 * time.Millisecond)
	lat := fsyncLatency(dir, fsyncs)
	if len(lat) > 0 {
		m.FsyncP50ms = ms(Percentile(lat, 50))
		m.FsyncP99ms = ms(Percentile(lat, 99))
	}
	return m
}

func fsyncLatency(dir string, n int) []time.Duration {
	f, err := os.CreateTemp(dir, "fsync-probe-")
	if err != nil {
		return nil
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 4096)
	var lat []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return nil
		}
		if err := f.Sync(); err != nil {
			return nil
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat
}

// busyProcesses samples every process's CPU time over d and names those that
// used more than a tenth of a core (other than this one).
func busyProcesses(d time.Duration) []string {
	sample := func() map[string]float64 {
		out := map[string]float64{}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == strconv.Itoa(os.Getpid()) {
				continue
			}
			out[e.Name()] = procCPU(e.Name())
		}
		return out
	}
	before := sample()
	time.Sleep(d) // the sampling interval
	var busy []string
	for pid, t := range sample() {
		if used := (t - before[pid]) / d.Seconds(); used > 0.1 {
			cmd, _ := os.ReadFile("/proc/" + pid + "/comm")
			busy = append(busy, fmt.Sprintf("%s(%s) %.1f cores", strings.TrimSpace(string(cmd)), pid, used))
		}
	}
	slices.Sort(busy)
	return busy
}

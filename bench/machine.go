package bench

import (
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

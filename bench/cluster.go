package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pprofHook is compiled into the bench's pagerd binary through `go build
// -overlay` when profiling is asked for, so the real binary is profiled
// without a profiling endpoint in the product: the file exists only in the
// bench build.
const pprofHook = `package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("PAGERD_BENCH_PPROF"); addr != "" {
		go http.ListenAndServe(addr, nil)
	}
}
`

// ModuleRoot finds the pagerd module root from the working directory.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the pagerd module: run from the repository")
	}
	return filepath.Dir(mod), nil
}

// BuildPagerd builds ./cmd/pagerd into dir. With pprof the binary also serves
// net/http/pprof on $PAGERD_BENCH_PPROF.
func BuildPagerd(dir string, pprof bool) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pagerd")
	args := []string{"build", "-o", bin}
	if pprof {
		hook := filepath.Join(dir, "zz_bench_pprof.go")
		if err := os.WriteFile(hook, []byte(pprofHook), 0o600); err != nil {
			return "", err
		}
		ov, _ := json.Marshal(map[string]any{"Replace": map[string]string{
			filepath.Join(root, "cmd", "pagerd", "zz_bench_pprof.go"): hook}})
		ovPath := filepath.Join(dir, "overlay.json")
		if err := os.WriteFile(ovPath, ov, 0o600); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ovPath)
	}
	cmd := exec.Command("go", append(args, "./cmd/pagerd")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/pagerd: %v\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address whose port was free when asked.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// ClusterOptions shape a launched cluster.
type ClusterOptions struct {
	Bin       string   // pagerd binary
	Dir       string   // working directory: data dirs, logs, config
	Nodes     int      // how many
	Config    string   // YAML
	Token     string   // admin API token of Config
	ExtraArgs []string // appended to every `pagerd serve`
	Env       []string
	Pprof     bool // give every node a pprof address ($PAGERD_BENCH_PPROF)
}

// Cluster is a set of pagerd processes on loopback.
type Cluster struct {
	opts       ClusterOptions
	configPath string
	Nodes      []*Node
}

// Node is one pagerd process.
type Node struct {
	ID, HTTPAddr, RaftAddr, DataDir, PprofAddr string
	LogPath                                    string
	join                                       []string
	extra                                      []string
	c                                          *Cluster

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
}

// StartCluster launches opts.Nodes nodes (the first bootstraps, the others
// join it) and returns once every one is ready and the leader lists them all.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	c := &Cluster{opts: opts, configPath: filepath.Join(opts.Dir, "config.yaml")}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.configPath, []byte(opts.Config), 0o600); err != nil {
		return nil, err
	}
	for i := 0; i < opts.Nodes; i++ {
		n, err := c.newNode(nil)
		if err != nil {
			c.Close()
			return nil, err
		}
		if err := n.Start(); err != nil {
			c.Close()
			return nil, err
		}
		if i == 0 {
			if err := n.WaitReady(ctx, 30*time.Second); err != nil {
				c.Close()
				return nil, err
			}
		}
	}
	err := WaitFor(ctx, 60*time.Second, func() (bool, string) {
		var st Status
		if _, err := GetJSON(ctx, c.Nodes[0].URL()+"/v1/cluster", opts.Token, &st); err != nil {
			return false, err.Error()
		}
		voters := 0
		for _, m := range st.Nodes {
			if m.Suffrage == "voter" {
				voters++
			}
		}
		return voters == opts.Nodes && st.Leader != "", fmt.Sprintf("%d voters of %d, leader %q", voters, opts.Nodes, st.Leader)
	})
	if err == nil {
		for _, n := range c.Nodes {
			if err = n.WaitReady(ctx, 30*time.Second); err != nil {
				break
			}
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) newNode(extra []string) (*Node, error) {
	id := "n" + strconv.Itoa(len(c.Nodes)+1)
	h, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	r, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	n := &Node{ID: id, HTTPAddr: h, RaftAddr: r, DataDir: filepath.Join(c.opts.Dir, id),
		LogPath: filepath.Join(c.opts.Dir, id+".log"), extra: extra, c: c}
	if c.opts.Pprof {
		if n.PprofAddr, err = FreeAddr(); err != nil {
			return nil, err
		}
	}
	if len(c.Nodes) > 0 {
		n.join = []string{c.Nodes[0].URL()}
		for _, m := range c.Nodes[1:] {
			n.join = append(n.join, m.URL())
		}
	}
	c.Nodes = append(c.Nodes, n)
	return n, nil
}

// AddNode starts a fresh node (empty data dir) that joins the cluster, with
// extra flags of its own. It returns at once; wait with WaitReady.
func (c *Cluster) AddNode(extra ...string) (*Node, error) {
	n, err := c.newNode(extra)
	if err != nil {
		return nil, err
	}
	return n, n.Start()
}

// Token is the admin token the cluster was configured with.
func (c *Cluster) Token() string { return c.opts.Token }

// Close kills every node.
func (c *Cluster) Close() {
	for _, n := range c.Nodes {
		n.Kill()
	}
}

// URL is the node's base URL.
func (n *Node) URL() string { return "http://" + n.HTTPAddr }

// Start launches (or relaunches, on the same data dir) the node.
func (n *Node) Start() error {
	args := []string{"serve", "--config", n.c.configPath, "--data-dir", n.DataDir, "--node-id", n.ID,
		"--http-addr", n.HTTPAddr, "--raft-addr", n.RaftAddr}
	if len(n.join) > 0 {
		args = append(args, "--join", strings.Join(n.join, ","))
	}
	args = append(args, n.c.opts.ExtraArgs...)
	args = append(args, n.extra...)
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.c.opts.Bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), n.c.opts.Env...)
	if n.PprofAddr != "" {
		cmd.Env = append(cmd.Env, "PAGERD_BENCH_PPROF="+n.PprofAddr)
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.ID, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	n.mu.Lock()
	n.cmd, n.exited = cmd, exited
	n.mu.Unlock()
	return nil
}

// Kill sends SIGKILL and waits until the process is gone.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for the exit.
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
}

// Running reports whether the process is up.
func (n *Node) Running() bool { n.mu.Lock(); defer n.mu.Unlock(); return n.cmd != nil }

// PID is the process id, or 0 when not running.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Memory reads the node's resident set size and its peak (VmRSS, VmHWM) in bytes.
func (n *Node) Memory() (rss, peak int64, err error) {
	pid := n.PID()
	if pid == 0 {
		return 0, 0, fmt.Errorf("%s is not running", n.ID)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v * 1024
		case "VmHWM:":
			peak = v * 1024
		}
	}
	return rss, peak, nil
}

// Log is what the node printed so far.
func (n *Node) Log() string { b, _ := os.ReadFile(n.LogPath); return string(b) }

// WaitReady waits until /readyz answers 200.
func (n *Node) WaitReady(ctx context.Context, timeout time.Duration) error {
	return WaitFor(ctx, timeout, func() (bool, string) {
		if !n.Running() {
			return false, n.ID + " is not running"
		}
		code, err := GetJSON(ctx, n.URL()+"/readyz", "", nil)
		if code == 200 {
			return true, ""
		}
		return false, fmt.Sprintf("%s /readyz: %d %v", n.ID, code, err)
	})
}

// Status is GET /v1/cluster.
type Status struct {
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"applied_index"`
	Nodes        []struct {
		ID       string `json:"id"`
		State    string `json:"state"`
		Suffrage string `json:"suffrage"`
		RaftAddr string `json:"raft_addr"`
		HTTPAddr string `json:"http_addr"`
	} `json:"nodes"`
}

// Leader returns the running node that a running node names as leader.
func (c *Cluster) Leader(ctx context.Context, timeout time.Duration) (*Node, error) {
	var leader *Node
	err := WaitFor(ctx, timeout, func() (bool, string) {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			var st Status
			if _, err := GetJSON(ctx, n.URL()+"/v1/cluster", c.opts.Token, &st); err != nil || st.Leader == "" {
				continue
			}
			for _, m := range c.Nodes {
				if m.ID == st.Leader && m.Running() {
					leader = m
					return true, ""
				}
			}
		}
		return false, "no running node names a running leader"
	})
	return leader, err
}

// AppliedIndex is the node's applied index.
func (n *Node) AppliedIndex(ctx context.Context) (uint64, error) {
	var st Status
	_, err := GetJSON(ctx, n.URL()+"/v1/cluster", n.c.opts.Token, &st)
	return st.AppliedIndex, err
}

// WaitFor polls cond every 10ms until it holds; after timeout it returns an
// error with cond's last explanation.
func WaitFor(ctx context.Context, timeout time.Duration, cond func() (bool, string)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %s", timeout, why)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Get issues a GET with the token and returns status and body.
func Get(ctx context.Context, url, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// CPUSeconds is the CPU time (user+system) the node's process has used.
func (n *Node) CPUSeconds() float64 {
	pid := n.PID()
	if pid == 0 {
		return 0
	}
	return procCPU(strconv.Itoa(pid))
}

// SelfCPUSeconds is the CPU time of this (load generator) process.
func SelfCPUSeconds() float64 { return procCPU("self") }

func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the line, in clock ticks (100 per second).
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / 100
}

// CPUMeter measures CPU used by the cluster's processes and the generator
// over an interval.
type CPUMeter struct {
	c     *Cluster
	start map[string]float64
	t0    time.Time
}

// MeterCPU starts measuring (c may be nil: generator only).
func MeterCPU(c *Cluster) *CPUMeter {
	m := &CPUMeter{c: c, start: map[string]float64{"bench": SelfCPUSeconds()}, t0: time.Now()}
	if c != nil {
		for _, n := range c.Nodes {
			m.start[n.ID] = n.CPUSeconds()
		}
	}
	return m
}

// Cores returns, per process, the average number of cores used since
// MeterCPU.
func (m *CPUMeter) Cores() map[string]float64 {
	el := time.Since(m.t0).Seconds()
	out := map[string]float64{"bench": round((SelfCPUSeconds()-m.start["bench"])/el, 2)}
	if m.c != nil {
		for _, n := range m.c.Nodes {
			if s, ok := m.start[n.ID]; ok && n.Running() {
				out[n.ID] = round((n.CPUSeconds()-s)/el, 2)
			}
		}
	}
	return out
}

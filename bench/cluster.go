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
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// pprofHook is compiled into the bench's pagerd binary through `go build
// -overlay` when profiling is asked for, so the real binary is profiled
// without a profiling endpoint in the product: the file exists only in the
// bench build. Each node serves pprof on a free loopback port and writes
// that address to $PAGERD_BENCH_PPROF_DIR/<node id> (the cluster harness
// gives every node the same environment).
const pprofHook = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"path/filepath"
)

func init() {
	dir := os.Getenv("PAGERD_BENCH_PPROF_DIR")
	if dir == "" {
		return
	}
	id := "node"
	for i, a := range os.Args {
		if (a == "--node-id" || a == "-node-id") && i+1 < len(os.Args) {
			id = os.Args[i+1]
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return
	}
	os.WriteFile(filepath.Join(dir, id), []byte(ln.Addr().String()), 0o600)
	go http.Serve(ln, nil)
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
	Config    string   // YAML; its api_tokens must include testcluster.Token (Config does)
	Token     string   // admin API token of Config
	ExtraArgs []string // appended to every `pagerd serve`
	Env       []string
	Pprof     bool // every node serves pprof (see pprofHook; the binary needs it)
}

// Cluster is a set of pagerd processes on loopback, run by the same harness
// as the end-to-end tests (internal/testcluster) with a testcluster.Program
// standing in for the test.
type Cluster struct {
	opts     ClusterOptions
	prog     *testcluster.Program
	tc       *testcluster.Cluster
	pprofDir string
	Nodes    []*Node
}

// Node is one pagerd process of a Cluster.
type Node struct {
	*testcluster.Node
	c *Cluster
}

// StartCluster launches opts.Nodes nodes (the first bootstraps, the others
// join it) and returns once every one is ready and the leader lists them all.
// The nodes run with pagerd's default Raft timing (the tests' harness
// shortens it), as a deployment would.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	if !testcluster.UseBinary(opts.Bin) {
		return nil, fmt.Errorf("cluster harness already runs another pagerd binary than %s", opts.Bin)
	}
	c := &Cluster{opts: opts, prog: testcluster.NewProgram("bench", opts.Dir, os.Stderr)}
	env := append([]string{}, opts.Env...)
	if opts.Pprof {
		c.pprofDir = filepath.Join(opts.Dir, "pprof")
		if err := os.MkdirAll(c.pprofDir, 0o700); err != nil {
			return nil, err
		}
		env = append(env, "PAGERD_BENCH_PPROF_DIR="+c.pprofDir)
	}
	args := append([]string{"--raft-heartbeat-timeout", "0"}, opts.ExtraArgs...)
	err := testcluster.Try(func() {
		c.tc = testcluster.Start(c.prog, opts.Nodes, testcluster.Options{Config: opts.Config, ExtraArgs: args, Env: env})
	})
	if err != nil {
		c.prog.Close()
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	for _, n := range c.tc.Nodes {
		c.Nodes = append(c.Nodes, &Node{Node: n, c: c})
	}
	return c, ctx.Err()
}

// AddNode starts a fresh node (empty data dir) that joins the cluster. It
// returns at once; wait with WaitReady.
func (c *Cluster) AddNode() (*Node, error) {
	var n *Node
	err := testcluster.Try(func() { n = &Node{Node: c.tc.AddNode(), c: c} })
	if err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, n)
	return n, nil
}

// Token is the admin token the cluster was configured with.
func (c *Cluster) Token() string { return c.opts.Token }

// Close kills every node.
func (c *Cluster) Close() {
	if c.tc != nil {
		c.tc.Close()
	}
	c.prog.Close()
}

// Start relaunches the node on its data dir.
func (n *Node) Start() error { return testcluster.Try(n.Node.Start) }

// PprofAddr is where the node serves pprof ("" without ClusterOptions.Pprof
// or before the node wrote it).
func (n *Node) PprofAddr() string {
	if n.c.pprofDir == "" {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(n.c.pprofDir, n.ID))
	return string(b)
}

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
type Status = testcluster.Status

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

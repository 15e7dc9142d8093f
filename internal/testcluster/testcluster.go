// Package testcluster runs real pagerd node processes on loopback for
// end-to-end tests: build the binary once, start a cluster, kill -9, restart,
// and talk to the HTTP API. Nothing here is a mock: every node is the real
// binary with its own data dir, Raft port and HTTP port.
package testcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Token is the admin API token of DefaultConfig.
const Token = "test-admin-token"

// ClusterSecret authenticates node-to-node requests (join, reply
// forwarding) in every cluster Start runs.
const ClusterSecret = "test-cluster-secret-0123456789"

// Integration keys of DefaultConfig.
const (
	PrometheusKey = "test-prometheus-key"
	EventsKey     = "test-events-key"
)

// DefaultConfig is a small valid config: one service, an Alertmanager-style
// integration routed by label and an Events v2 integration.
const DefaultConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, phone: "+31612345001"}
services:
  - {id: checkout, name: Checkout API}
  - {id: payments, name: Payments}
integrations:
  - name: prometheus
    key: "test-prometheus-key"
    routes:
      - {matchers: ['service="payments"'], service: payments}
      - {matchers: [], service: checkout}
  - name: events
    key: "test-events-key"
    service: checkout
severity:
  label: severity
  map: {critical: sev1, error: sev2, warning: sev3}
  default: sev2
`

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds ./cmd/pagerd once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pagerd-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "pagerd")
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/pagerd")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/pagerd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// FreePort returns a loopback address with a port free at the time of
// asking, never one it returned before in this process: a port is only
// bound when its node starts, so the kernel could hand a port picked for
// one node's Raft listener to the next node's HTTP listener, and the
// later of the two then failed with "address already in use".
func FreePort(t testing.TB) string {
	t.Helper()
	for range 100 {
		addr := listenFree(t)
		if handedOut.claim(addr) {
			return addr
		}
	}
	t.Fatal("FreePort: the kernel kept offering ports already handed out")
	return ""
}

func listenFree(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// handedOut is every address FreePort returned in this process.
var handedOut = portSet{seen: map[string]bool{}}

type portSet struct {
	mu   sync.Mutex
	seen map[string]bool
}

// claim records addr and says whether it was new.
func (s *portSet) claim(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[addr] {
		return false
	}
	s.seen[addr] = true
	return true
}

// Options shape a cluster.
type Options struct {
	Config    string   // YAML; DefaultConfig when empty
	ExtraArgs []string // appended to every `pagerd serve`
	Env       []string // added to every node's environment
	// SMTP gives every node an inbound SMTP port (--smtp-addr) for email
	// replies; the config then needs channels.email.reply_domain.
	SMTP bool
	// Binary is the pagerd binary every node runs (Node.UseBinary changes
	// one node's); the current tree's build when empty.
	Binary string
}

// Cluster is a set of node processes.
type Cluster struct {
	t          testing.TB
	bin        string
	dir        string
	configPath string
	opts       Options
	Nodes      []*Node
}

// Node is one pagerd process.
type Node struct {
	ID, HTTPAddr, RaftAddr, DataDir string
	SMTPAddr                        string // with Options.SMTP
	c                               *Cluster
	cmd                             *exec.Cmd
	exited                          chan struct{}
	lastExit                        *os.ProcessState
	logPath                         string
	join                            []string
	bin                             string // Node.UseBinary; the cluster's when empty
}

// Start runs n nodes: the first bootstraps, the others join it. It returns
// once every node is ready and the leader lists all of them.
func Start(t testing.TB, n int, opts Options) *Cluster {
	t.Helper()
	if opts.Config == "" {
		opts.Config = DefaultConfig
	}
	c := &Cluster{t: t, bin: opts.Binary, dir: t.TempDir(), opts: opts}
	if c.bin == "" {
		c.bin = Binary(t)
	}
	c.configPath = filepath.Join(c.dir, "config.yaml")
	if err := os.WriteFile(c.configPath, []byte(opts.Config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopAll)
	for i := 0; i < n; i++ {
		node := &Node{ID: fmt.Sprintf("n%d", i+1), HTTPAddr: FreePort(t), RaftAddr: FreePort(t), c: c}
		node.DataDir = filepath.Join(c.dir, node.ID)
		if opts.SMTP {
			node.SMTPAddr = FreePort(t)
		}
		node.logPath = filepath.Join(c.dir, node.ID+".log")
		if i > 0 {
			node.join = []string{"http://" + c.Nodes[0].HTTPAddr}
		}
		c.Nodes = append(c.Nodes, node)
		node.Start()
		if i == 0 {
			c.WaitReady(node)
		}
	}
	c.WaitFor(30*time.Second, func() (bool, string) {
		var st Status
		if code := c.GetJSON(c.Nodes[0], "/v1/cluster", &st); code != 200 {
			return false, fmt.Sprintf("GET /v1/cluster: %d", code)
		}
		// Every member a voter: a joiner is a non-voter until it has caught
		// up, and a test that kills the leader before then leaves no quorum.
		voters := 0
		for _, m := range st.Nodes {
			if m.Suffrage == "voter" {
				voters++
			}
		}
		return len(st.Nodes) == n && voters == n && st.Leader != "",
			fmt.Sprintf("members %d of %d (%d voters), leader %q", len(st.Nodes), n, voters, st.Leader)
	})
	for _, node := range c.Nodes {
		c.WaitReady(node)
	}
	return c
}

// ConfigPath is the config file every node was started with.
func (c *Cluster) ConfigPath() string { return c.configPath }

// Start launches the node's process (again, after Kill or Stop).
func (n *Node) Start() {
	t := n.c.t
	t.Helper()
	args := []string{"serve", "--config", n.c.configPath, "--data-dir", n.DataDir, "--node-id", n.ID,
		"--http-addr", n.HTTPAddr, "--raft-addr", n.RaftAddr, "--raft-heartbeat-timeout", "500ms"}
	if len(n.join) > 0 {
		args = append(args, "--join", strings.Join(n.join, ","))
	}
	if n.SMTPAddr != "" {
		args = append(args, "--smtp-addr", n.SMTPAddr)
	}
	args = append(args, n.c.opts.ExtraArgs...)
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(n.binary(), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Members prove themselves to each other with a cluster secret (or
	// Raft TLS files among ExtraArgs); Env may override it.
	cmd.Env = append(append(os.Environ(), "PAGERD_CLUSTER_SECRET="+ClusterSecret), n.c.opts.Env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.ID, err)
	}
	n.cmd, n.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); logf.Close(); close(exited) }(n.exited)
}

// Kill sends SIGKILL and waits for the process to be gone.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM and waits for a graceful exit.
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
		n.c.t.Errorf("%s did not exit within 30s of %v", n.ID, sig)
	}
	n.lastExit = n.cmd.ProcessState
	n.cmd = nil
}

// Running reports whether the process is up.
func (n *Node) Running() bool { return n.cmd != nil }

// ExitCode is the exit status of the last Stop or Kill (-1 when killed by a
// signal or never stopped).
func (n *Node) ExitCode() int {
	if n.lastExit == nil {
		return -1
	}
	return n.lastExit.ExitCode()
}

// Log returns what the node printed so far.
func (n *Node) Log() string { b, _ := os.ReadFile(n.logPath); return string(b) }

// URL is the node's base URL.
func (n *Node) URL() string { return "http://" + n.HTTPAddr }

func (c *Cluster) stopAll() {
	for _, n := range c.Nodes {
		if n.cmd != nil {
			n.Kill()
		}
	}
	if c.t.Failed() {
		for _, n := range c.Nodes {
			c.t.Logf("--- log of %s ---\n%s", n.ID, tail(n.Log(), 60))
		}
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// WaitFor polls cond until it holds or the timeout passes, then fails the test
// with cond's last explanation. Awaiting a condition, not sleeping blind.
func (c *Cluster) WaitFor(timeout time.Duration, cond func() (bool, string)) {
	c.t.Helper()
	WaitFor(c.t, timeout, cond)
}

// WaitFor is Cluster.WaitFor for tests without a cluster.
func WaitFor(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitReady waits until the node's /readyz answers 200.
func (c *Cluster) WaitReady(n *Node) {
	c.t.Helper()
	c.WaitFor(30*time.Second, func() (bool, string) {
		code, body := c.Do(n, http.MethodGet, "/readyz", nil, nil)
		return code == 200, fmt.Sprintf("%s /readyz: %d %s", n.ID, code, body)
	})
}

// Status is GET /v1/cluster.
type Status struct {
	Leader       string `json:"leader"`
	Term         uint64 `json:"term"`
	AppliedIndex uint64 `json:"applied_index"`
	Nodes        []struct {
		ID, State, Suffrage string
		RaftAddr            string `json:"raft_addr"`
		HTTPAddr            string `json:"http_addr"`
	} `json:"nodes"`
}

// Leader returns the node that a running node names as leader.
func (c *Cluster) Leader() *Node {
	c.t.Helper()
	var leader *Node
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			var st Status
			if c.GetJSON(n, "/v1/cluster", &st) != 200 || st.Leader == "" {
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
	return leader
}

// Followers returns the running nodes other than the leader.
func (c *Cluster) Followers() []*Node {
	l := c.Leader()
	var out []*Node
	for _, n := range c.Nodes {
		if n != l && n.Running() {
			out = append(out, n)
		}
	}
	return out
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

// Do sends a request with the admin token (unless headers set Authorization)
// and returns the status and body; a transport error is status 0.
func (c *Cluster) Do(n *Node, method, path string, body []byte, headers map[string]string) (int, []byte) {
	req, err := http.NewRequest(method, n.URL()+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+Token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// GetJSON decodes a GET answer into v and returns the status.
func (c *Cluster) GetJSON(n *Node, path string, v any) int {
	code, body := c.Do(n, http.MethodGet, path, nil, nil)
	if code == 200 && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			c.t.Fatalf("decode %s: %v: %s", path, err, body)
		}
	}
	return code
}

// Event posts an Events v2 event and returns status and body.
func (c *Cluster) Event(n *Node, action, dedupKey, summary string) (int, []byte) {
	ev := map[string]any{"routing_key": EventsKey, "event_action": action}
	if dedupKey != "" {
		ev["dedup_key"] = dedupKey
	}
	if action == "trigger" {
		ev["payload"] = map[string]any{"summary": summary, "source": "testcluster", "severity": "critical"}
	}
	b, _ := json.Marshal(ev)
	return c.Do(n, http.MethodPost, "/v2/enqueue", b, map[string]string{"Content-Type": "application/json"})
}

// Run runs the pagerd CLI against node n and returns its exit code and output.
func (c *Cluster) Run(n *Node, args ...string) (int, string) {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "PAGERD_SERVER="+n.URL(), "PAGERD_TOKEN="+Token)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run pagerd %v: %v", args, err)
	}
	return code, string(out)
}

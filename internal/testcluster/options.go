package testcluster

// Running a cluster outside `go test`: the bench (package bench,
// cmd/pagerd-bench) starts, kills and measures the same real node processes
// the end-to-end tests do, through this package, instead of keeping a second
// harness. What it needs beyond the tests is here: a testing.TB for
// programs, a prebuilt binary, nodes added later, and process figures.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// UseBinary makes Start run bin instead of building ./cmd/pagerd. Call it
// before the first Start or Binary; it reports false (and changes nothing)
// when a binary was already chosen.
func UseBinary(bin string) bool {
	buildOnce.Do(func() { buildPath = bin })
	return buildPath == bin
}

// FatalError is what a Program's Fatal stops the program's current step
// with; Try turns it back into an error.
type FatalError struct{ Msg string }

func (e *FatalError) Error() string { return e.Msg }

// Try runs f and returns the FatalError a Program's Fatal raised in it (any
// other panic goes on).
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(*FatalError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()
	f()
	return nil
}

// Program is a testing.TB for a program that is not a test: Fatal panics
// with a *FatalError (catch it with Try, on the goroutine that called
// into this package), TempDir makes directories under a chosen one, and
// Close runs the cleanups (stopping every node). Safe for concurrent use.
type Program struct {
	// testing.TB is nil: it only supplies the interface's unexported method.
	// Every method this package calls is defined below.
	testing.TB

	name string
	dir  string
	log  io.Writer

	mu       sync.Mutex
	dirs     int
	cleanups []func()
	failed   bool
}

// NewProgram returns a Program named name whose temporary directories go
// under dir and whose log lines (node logs of a failed run among them) go to
// log.
func NewProgram(name, dir string, log io.Writer) *Program {
	return &Program{name: name, dir: dir, log: log}
}

// Close runs the registered cleanups, last first.
func (p *Program) Close() {
	p.mu.Lock()
	fns := p.cleanups
	p.cleanups = nil
	p.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

func (p *Program) Name() string                  { return p.name }
func (p *Program) Helper()                       {}
func (p *Program) Context() context.Context      { return context.Background() }
func (p *Program) Log(args ...any)               { p.Logf("%s", fmt.Sprint(args...)) }
func (p *Program) Error(args ...any)             { p.Errorf("%s", fmt.Sprint(args...)) }
func (p *Program) Fatal(args ...any)             { p.Fatalf("%s", fmt.Sprint(args...)) }
func (p *Program) FailNow()                      { p.Fatalf("failed") }
func (p *Program) Skip(args ...any)              { p.Fatal(args...) }
func (p *Program) Skipf(format string, a ...any) { p.Fatalf(format, a...) }
func (p *Program) SkipNow()                      { p.FailNow() }
func (p *Program) Skipped() bool                 { return false }
func (p *Program) Setenv(key, value string)      { os.Setenv(key, value) }

func (p *Program) Logf(format string, args ...any) {
	if p.log != nil {
		fmt.Fprintf(p.log, format+"\n", args...)
	}
}

func (p *Program) Errorf(format string, args ...any) {
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	p.Logf(format, args...)
}

func (p *Program) Fatalf(format string, args ...any) {
	p.mu.Lock()
	p.failed = true
	p.mu.Unlock()
	panic(&FatalError{Msg: fmt.Sprintf(format, args...)})
}

func (p *Program) Fail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failed = true
}

func (p *Program) Failed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

func (p *Program) Cleanup(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cleanups = append(p.cleanups, f)
}

// TempDir makes a new directory under the program's dir.
func (p *Program) TempDir() string {
	p.mu.Lock()
	p.dirs++
	d := filepath.Join(p.dir, fmt.Sprintf("%s-%d", p.name, p.dirs))
	p.mu.Unlock()
	if err := os.MkdirAll(d, 0o700); err != nil {
		p.Fatalf("temp dir: %v", err)
	}
	return d
}

// AddNode starts a fresh node (empty data dir) that joins every member
// started so far, and returns at once; wait for it with WaitReady.
func (c *Cluster) AddNode() *Node {
	c.t.Helper()
	node := &Node{ID: fmt.Sprintf("n%d", len(c.Nodes)+1), HTTPAddr: FreePort(c.t), RaftAddr: FreePort(c.t), c: c}
	node.DataDir = filepath.Join(c.dir, node.ID)
	if c.opts.SMTP {
		node.SMTPAddr = FreePort(c.t)
	}
	node.logPath = filepath.Join(c.dir, node.ID+".log")
	for _, m := range c.Nodes {
		node.join = append(node.join, m.URL())
	}
	c.Nodes = append(c.Nodes, node)
	node.Start()
	return node
}

// Close kills every node now (the test's or program's cleanup would later).
func (c *Cluster) Close() { c.stopAll() }

// PID is the node's process id, or 0 when it is not running.
func (n *Node) PID() int {
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Memory reads the node's resident set size and its peak (VmRSS, VmHWM) in
// bytes from /proc.
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

var _ testing.TB = (*Program)(nil)

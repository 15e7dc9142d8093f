package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// cli runs the pagerd command in-process and returns its exit status and
// what it printed to stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// startNode runs a real single-node cluster with testcluster's default
// config; PAGERD_* from the environment must not leak into the flags.
func startNode(t *testing.T) *nodetest.Node {
	t.Helper()
	t.Setenv("PAGERD_TOKEN", "")
	t.Setenv("PAGERD_SERVER", "")
	return nodetest.Start(t, nodetest.Options{Config: testcluster.DefaultConfig})
}

// trigger opens an incident through the real Events v2 ingest.
func trigger(t *testing.T, n *nodetest.Node, dedup string) {
	t.Helper()
	body := `{"routing_key":"` + testcluster.EventsKey + `","event_action":"trigger","dedup_key":"` + dedup +
		`","payload":{"summary":"Disk full","source":"db-1","severity":"critical"}}`
	resp, err := http.Post(n.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
}

func TestVersionCommandAndFlag(t *testing.T) {
	line := regexp.MustCompile(`^pagerd \S+( \([0-9a-f]+(, modified)?\))?( go\S+)?\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, out, errOut := cli(t, args...)
		if code != exitOK || !line.MatchString(out) || errOut != "" {
			t.Errorf("pagerd %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if code, _, _ := cli(t, "version", "extra"); code != exitUsage {
		t.Errorf("version with an argument: exit %d, want %d", code, exitUsage)
	}
}

func TestNoteAddsToTheTimeline(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	code, out, errOut := cli(t, "note", "INC-1", "rolled", "back", "the", "deploy", "--server", n.URL, "--token", nodetest.Token)
	if code != exitOK || out != "INC-1: note added\n" {
		t.Fatalf("note: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = cli(t, "incident", "INC-1", "--output", "json", "--server", n.URL, "--token", nodetest.Token)
	var inc struct {
		Timeline []struct{ Type, Actor, Message string } `json:"timeline"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &inc) != nil {
		t.Fatalf("incident: exit %d: %s", code, out)
	}
	found := false
	for _, e := range inc.Timeline {
		found = found || (e.Type == "note" && strings.Contains(e.Message, "rolled back the deploy"))
	}
	if !found {
		t.Errorf("timeline has no note: %+v", inc.Timeline)
	}
	if code, _, errOut := cli(t, "note", "INC-1", "--server", n.URL); code != exitUsage || !strings.Contains(errOut, "TEXT") {
		t.Errorf("note without text: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := cli(t, "note", "INC-9", "x", "--server", n.URL, "--token", nodetest.Token); code != exitFailed {
		t.Errorf("note on a missing incident: exit %d, want %d", code, exitFailed)
	}
}

// TestMissingTokenNamesTheFlag: the CLI says how to give a token in CLI
// terms, not the server's "send Authorization: Bearer TOKEN".
func TestMissingTokenNamesTheFlag(t *testing.T) {
	n := startNode(t)
	code, _, errOut := cli(t, "incidents", "--server", n.URL)
	if code != exitFailed || !strings.Contains(errOut, "--token") || !strings.Contains(errOut, "PAGERD_TOKEN") ||
		strings.Contains(errOut, "Authorization") {
		t.Errorf("no token: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = cli(t, "incidents", "--server", n.URL, "--token", "wrong")
	if code != exitFailed || !strings.Contains(errOut, "--token or PAGERD_TOKEN was refused") {
		t.Errorf("wrong token: exit %d, stderr %q", code, errOut)
	}
}

// TestClusterStatusWaitsForAStartingNode: `cluster status` run right after
// starting a node (as the README's 3-node example does) waits for it to
// listen and know a leader instead of failing with "cannot reach" or 503.
func TestClusterStatusWaitsForAStartingNode(t *testing.T) {
	t.Setenv("PAGERD_TOKEN", "")
	addr := testcluster.FreePort(t)
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	errOut := &signalWriter{first: make(chan struct{})}
	go func() {
		var out strings.Builder
		code := run([]string{"cluster", "status", "--server", "http://" + addr, "--token", nodetest.Token, "--wait", "60s"}, &out, errOut)
		done <- result{code, out.String(), errOut.String()}
	}()
	// Start the node once the CLI has found it not answering and said so.
	select {
	case <-errOut.first:
	case r := <-done:
		t.Fatalf("cluster status did not wait: exit %d %s %s", r.code, r.out, r.errOut)
	}
	nodetest.Start(t, nodetest.Options{Config: testcluster.DefaultConfig, HTTPAddr: addr})
	r := <-done
	if r.code != exitOK || !strings.Contains(r.out, "leader: t1") || !strings.Contains(r.errOut, "waiting up to 1m0s") {
		t.Errorf("cluster status: exit %d\nstdout %s\nstderr %s", r.code, r.out, r.errOut)
	}
	// Without waiting, an unreachable node is an error that says what to do.
	code, _, msg := cli(t, "cluster", "status", "--server", "http://"+testcluster.FreePort(t), "--wait", "0")
	if code != exitFailed || !strings.Contains(msg, "--wait") {
		t.Errorf("no wait: exit %d %s", code, msg)
	}
}

// signalWriter collects output and closes first on the first write.
type signalWriter struct {
	mu    sync.Mutex
	b     strings.Builder
	first chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.b.Len() == 0 {
		close(w.first)
	}
	return w.b.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

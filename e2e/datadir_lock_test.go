package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// A second `pagerd serve` on a data dir a running node holds exits soon
// with an error that says so, instead of waiting on the file lock silently.
func TestSecondServeOnHeldDataDirExits(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testcluster.Binary(t), "serve", "--config", c.ConfigPath(), "--data-dir", n.DataDir,
		"--node-id", n.ID, "--http-addr", testcluster.FreePort(t), "--raft-addr", testcluster.FreePort(t))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("second serve on %s still running after %v: %s", n.DataDir, time.Since(start).Round(time.Second), out)
	}
	if err == nil || !strings.Contains(string(out), "is in use") {
		t.Fatalf("second serve: %v, output:\n%s\nwant a failure saying the data dir is in use", err, out)
	}
	t.Logf("second serve exited after %v: %s", time.Since(start).Round(100*time.Millisecond), strings.TrimSpace(string(out)))
	// The running node is unharmed.
	c.WaitReady(n)
}

package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BuildAt builds ./cmd/pagerd as it was at commit (of this repository's
// history) and returns the binary's path. The source is checked out with
// `git worktree add` into a temporary directory that is removed again; the
// binary is cached under the user cache directory keyed by the full commit
// id, so only the first run pays for the build (about a minute).
func BuildAt(t testing.TB, commit string) string {
	t.Helper()
	root := moduleRoot()
	full, err := git(root, "rev-parse", "--verify", commit+"^{commit}")
	if err != nil {
		t.Fatalf("commit %s is not in this repository's history (a shallow clone?): %v", commit, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "pagerd-test", "bin-"+full, "pagerd")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.MkdirTemp("", "pagerd-src-")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(src) // git worktree add wants to create it
	if _, err := git(root, "worktree", "add", "--detach", src, full); err != nil {
		t.Fatalf("git worktree add %s: %v", full, err)
	}
	defer func() {
		if _, err := git(root, "worktree", "remove", "--force", src); err != nil {
			t.Logf("git worktree remove %s: %v", src, err)
		}
	}()
	start := time.Now()
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/pagerd")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pagerd at %s: %v\n%s", full, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil { // atomic: a parallel run sees all or nothing
		t.Fatal(err)
	}
	t.Logf("built pagerd at %.12s in %v (cached at %s)", full, time.Since(start).Round(time.Second), bin)
	return bin
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// UseBinary makes the node run bin from its next Start on (an upgrade or a
// downgrade: stop it, UseBinary, Start).
func (n *Node) UseBinary(bin string) { n.bin = bin }

func (n *Node) binary() string {
	if n.bin != "" {
		return n.bin
	}
	return n.c.bin
}

// WaitExit waits until the node's process ends by itself and returns its
// exit code; ok is false if it was still running after timeout.
func (n *Node) WaitExit(timeout time.Duration) (code int, ok bool) {
	if n.cmd == nil {
		return n.ExitCode(), true
	}
	select {
	case <-n.exited:
	case <-time.After(timeout):
		return 0, false
	}
	n.lastExit = n.cmd.ProcessState
	n.cmd = nil
	return n.ExitCode(), true
}

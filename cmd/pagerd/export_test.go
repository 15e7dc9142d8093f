package main

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// `pagerd incidents export --from` writes one whole incident per line to
// stdout and counts them on stderr; a bad window is a usage error.
func TestIncidentsExportCommand(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	trigger(t, n, "disk-2")
	base := []string{"incidents", "export", "--server", n.URL, "--token", testcluster.Token}
	code, out, errOut := cli(t, append(base, "--from", "2000-01-01")...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != exitOK || len(lines) != 2 || !strings.Contains(lines[0], `"key":"INC-1"`) ||
		!strings.Contains(lines[1], `"timeline":[`) || errOut != "exported 2 incidents\n" {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if code, out, _ := cli(t, append(base, "--from", "2000-01-01", "--to", "2000-01-02")...); code != exitOK || out != "" {
		t.Fatalf("empty window: exit %d, %q", code, out)
	}
	for _, bad := range [][]string{{}, {"--from", "yesterday"}, {"--from", "2001-01-01", "out.jsonl"}} {
		if code, _, errOut := cli(t, append(base, bad...)...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d %q, want usage error", bad, code, errOut)
		}
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// TestImpactAndSummaryCommands: `pagerd impact` records the impact start
// (a future one is refused, exit 1, naming the field), and `pagerd summary`
// prints the summary text, or the API's JSON with --output json.
func TestImpactAndSummaryCommands(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	flags := []string{"--server", n.URL, "--token", nodetest.Token}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, _, errOut := cli(t, append([]string{"impact", "INC-1", "--at", future}, flags...)...)
	if code != exitFailed || !strings.Contains(errOut, "started_at:") {
		t.Fatalf("impact in the future: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := cli(t, append([]string{"impact", "INC-1", "--at", "noon"}, flags...)...); code != exitUsage {
		t.Fatalf("impact --at noon: exit %d, want %d", code, exitUsage)
	}
	past := time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339)
	code, out, errOut := cli(t, append([]string{"impact", "INC-1", "--at", past}, flags...)...)
	if code != exitOK || out != "INC-1: impact started at "+past+"\n" {
		t.Fatalf("impact: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = cli(t, append([]string{"summary", "INC-1"}, flags...)...)
	if code != exitOK || !strings.HasPrefix(out, "INC-1 triggered: Disk full\n") || !strings.Contains(out, "from impact_started_at (ongoing)") {
		t.Fatalf("summary: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = cli(t, append([]string{"summary", "INC-1", "--output", "json"}, flags...)...)
	var s struct {
		Key      string                `json:"key"`
		Duration struct{ From string } `json:"duration"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &s) != nil || s.Key != "INC-1" || s.Duration.From != "impact_started_at" {
		t.Fatalf("summary --output json: exit %d, %q", code, out)
	}
}

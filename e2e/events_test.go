package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/testcluster"
)

type eventIncident struct {
	ID             uint64 `json:"id"`
	Key            string `json:"key"`
	Status         string `json:"status"`
	Severity       string `json:"severity"`
	DedupKey       string `json:"dedup_key"`
	AcknowledgedBy string `json:"acknowledged_by"`
	ResolvedBy     string `json:"resolved_by"`
	AlertCount     int    `json:"alert_count"`
}

func listEventIncidents(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) []eventIncident {
	t.Helper()
	var page struct {
		Incidents []eventIncident `json:"incidents"`
	}
	if code := c.GetJSON(n, "/v1/incidents?status=all&limit=1000", &page); code != 200 {
		t.Fatalf("list incidents: %d", code)
	}
	return page.Incidents
}

// Events API v2 semantics of spec §4 through a real node.
func TestEventsV2Semantics(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	post := func(action, key, summary string) (int, string) {
		code, body := c.Event(n, action, key, summary)
		var ans struct {
			Status   string `json:"status"`
			DedupKey string `json:"dedup_key"`
		}
		json.Unmarshal(body, &ans)
		if code == 202 && (ans.Status != "success" || ans.DedupKey == "") {
			t.Fatalf("%s %s: 202 without success and dedup_key: %s", action, key, body)
		}
		return code, ans.DedupKey
	}

	// Without dedup_key: a generated key is returned, and acting on it works.
	code, gen := post("trigger", "", "no key given")
	if code != 202 || len(gen) < 16 {
		t.Fatalf("trigger without dedup_key: %d key %q", code, gen)
	}
	if code, _ := post("acknowledge", gen, ""); code != 202 {
		t.Fatalf("ack generated key: %d", code)
	}

	// With a key: repeat triggers dedup; ack then resolve act on the open one.
	post("trigger", "db-1", "disk full")
	post("trigger", "db-1", "disk full again")
	before := listEventIncidents(t, c, n)
	if len(before) != 2 {
		t.Fatalf("%d incidents after two triggers of one key plus one generated, want 2", len(before))
	}

	// Acknowledge/resolve of unknown keys: 202 (as PagerDuty) and nothing changes.
	post("acknowledge", "no-such-key", "")
	post("resolve", "no-such-key", "")
	if after := listEventIncidents(t, c, n); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("unknown dedup_key changed state:\n%v\n%v", before, after)
	}

	post("acknowledge", "db-1", "")
	post("resolve", "db-1", "")
	byKey := map[string]eventIncident{}
	for _, inc := range listEventIncidents(t, c, n) {
		byKey[inc.DedupKey] = inc
	}
	if got := byKey["db-1"]; got.Status != "resolved" || got.AcknowledgedBy != "events:events" || got.Severity != "sev1" {
		t.Fatalf("db-1 after ack+resolve: %+v", got)
	}
	if got := byKey[gen]; got.Status != "acknowledged" {
		t.Fatalf("generated-key incident: %+v", got)
	}

	// After resolve, the next trigger opens a new incident.
	post("trigger", "db-1", "disk full once more")
	count := 0
	for _, inc := range listEventIncidents(t, c, n) {
		if inc.DedupKey == "db-1" {
			count++
		}
	}
	if count != 2 {
		t.Fatalf("%d incidents for db-1 after resolve and re-trigger, want 2", count)
	}

	// The operational metrics of issue 2 are exposed and reflect what happened.
	code, metrics := c.Do(n, http.MethodGet, "/metrics", nil, nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`pagerd_ingest_requests_total{integration="events",result="accepted",source="events"}`,
		"pagerd_commit_duration_seconds_count",
		"pagerd_commit_batch_size_count",
		`pagerd_incidents{service="checkout",status="resolved"} 1`,
		`pagerd_incidents{service="checkout",status="acknowledged"} 1`,
		`pagerd_raft_state{state="leader"} 1`,
		"pagerd_raft_term ",
		"pagerd_raft_applied_index ",
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// `pagerd config plan` shows exactly the shifts that reordering rotation
// participants changes, against the running cluster's active config.
func TestConfigPlanShowsReorderedParticipants(t *testing.T) {
	base := testcluster.DefaultConfig + `
rotations:
  - {id: ops, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
`
	base = strings.Replace(base, "users:\n", "users:\n  - {id: bob, name: Bob, email: bob@example.com}\n", 1)
	c := testcluster.Start(t, 1, testcluster.Options{Config: base})
	reordered := strings.Replace(base, "participants: [alice, bob]", "participants: [bob, alice]", 1)
	path := filepath.Join(t.TempDir(), "new.yaml")
	if err := os.WriteFile(path, []byte(reordered), 0o600); err != nil {
		t.Fatal(err)
	}
	// Window: two whole weeks starting at a handoff, Mon 2026-11-02 09:00 UTC.
	code, out := c.Run(c.Nodes[0], "config", "plan", path, "--weeks", "2", "--from", "2026-11-02T09:00:00Z")
	if code != 0 {
		t.Fatalf("config plan exit %d:\n%s", code, out)
	}
	// Week 1 alice → bob, week 2 bob → alice: exactly two changed periods.
	for _, want := range []string{
		"~ rotation ops (changed, participants [alice, bob] → [bob, alice])",
		"2 changed",
		"[2026-11-02T09:00:00Z → 2026-11-09T09:00:00Z]  alice → bob",
		"[2026-11-09T09:00:00Z → 2026-11-16T09:00:00Z]  bob → alice",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	// Applying the same file, then planning again: nothing left to change.
	if code, out := c.Run(c.Nodes[0], "config", "apply", path); code != 0 {
		t.Fatalf("config apply exit %d: %s", code, out)
	}
	code, out = c.Run(c.Nodes[0], "config", "plan", path, "--weeks", "2", "--from", "2026-11-02T09:00:00Z")
	if code != 0 || !strings.Contains(out, "0 changed") || strings.Contains(out, "→ bob") {
		t.Fatalf("plan after apply should show no changes (exit %d):\n%s", code, out)
	}
}

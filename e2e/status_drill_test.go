package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// A drill incident never shows on a status page, even with a public
// update; a real incident's public update next to it does.
func TestStatusPageLeavesOutDrills(t *testing.T) {
	cfg := fmt.Sprintf(statusConfig, `drills:
  - {id: quarterly, service: checkout, cron: "0 10 1 */3 *", timezone: UTC, severity: sev2, pass: {ack_within: 5m, recover_within: 1h}}
`)
	c := testcluster.Start(t, 1, testcluster.Options{Config: cfg})
	n := c.Nodes[0]
	if code, b := c.Do(n, http.MethodPost, "/v1/drills/quarterly/run", []byte(`{"by":"alice"}`), map[string]string{"Content-Type": "application/json"}); code != 202 {
		t.Fatalf("run drill: %d %s", code, b)
	}
	var drill *incident.Incident
	testcluster.WaitFor(t, 20*time.Second, func() (bool, string) {
		for _, inc := range amListIncidents(t, c, n, "all", "") {
			if full := amGetIncident(t, c, n, inc.ID); full.Drill != nil {
				drill = full
				return true, ""
			}
		}
		return false, "no drill incident yet"
	})
	stUpdate(t, c, n, drill.ID, map[string]any{"audience": "public", "phase": "investigating",
		"message": "DRILL-PUBLIC-TEXT", "components": map[string]string{"api": "major_outage"}})
	c.Event(n, "trigger", "real", "real")
	real := pgIncident(t, c, n, "real")
	stUpdate(t, c, n, real.ID, map[string]any{"audience": "public", "phase": "investigating", "message": "REAL-PUBLIC-TEXT"})

	s := waitSummary(t, n, func(s stSummary) (bool, string) {
		return len(s.Incidents) == 1, fmt.Sprintf("%d incidents", len(s.Incidents))
	})
	if s.Incidents[0].Key != real.Key || stComponent(s, "api") != "operational" {
		t.Fatalf("summary shows the drill or its status: %+v", s)
	}
	for _, path := range []string{"/status/public", "/status/public/feed.atom", "/status/public/summary.json"} {
		code, b := stGet(t, n, path, nil)
		if code != 200 || bytes.Contains(b, []byte("DRILL-PUBLIC-TEXT")) || !bytes.Contains(b, []byte("REAL-PUBLIC-TEXT")) ||
			strings.Contains(string(b), drill.Key+"\"") {
			t.Fatalf("%s: %d, drill shown or real incident missing:\n%s", path, code, b)
		}
	}
}

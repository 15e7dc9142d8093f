package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

func mtTrigger(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, key, severity string) *incident.Incident {
	t.Helper()
	body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":"Checkout %s","source":"web-1","severity":%q}}`,
		testcluster.EventsKey, key, key, severity)
	if code, out := c.Do(n, http.MethodPost, "/v2/enqueue", []byte(body), nil); code != http.StatusAccepted {
		t.Fatalf("trigger %s: %d %s", key, code, out)
	}
	return pgIncident(t, c, n, key)
}

func mtHas(inc *incident.Incident, typ, substr string) bool {
	for _, e := range inc.Timeline {
		if e.Type == typ && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

func mtSent(inc *incident.Incident) []incident.Notification {
	var out []incident.Notification
	for _, nt := range inc.Notifications {
		if nt.Status == incident.NotifySent {
			out = append(out, nt)
		}
	}
	return out
}

// TestMaintenanceWindow is the maintenance acceptance (issue 14.6) on a
// real daemon: inside an ad hoc window an alert opens an incident that
// pages nobody (with a maintenance timeline entry); it pages when the
// window ends; a sev1 the window allows pages at once; ending a window
// early pages what waited for it.
func TestMaintenanceWindow(t *testing.T) {
	c, n, _ := suStart(t, "http://127.0.0.1:1")
	code, out := c.Run(n, "maintenance", "start", "checkout", "--for", "12s", "--reason", "db upgrade", "--allow", "sev1", "--output", "json")
	if code != 0 {
		t.Fatalf("maintenance start: %d %s", code, out)
	}
	var w config.MaintenanceWindow
	if err := json.Unmarshal([]byte(out), &w); err != nil || w.ID != "mw1" || w.Source != "adhoc" {
		t.Fatalf("window %s: %v", out, err)
	}
	if code, out := c.Run(n, "maintenance", "list"); code != 0 || !strings.Contains(out, "mw1 adhoc") || !strings.Contains(out, "(db upgrade)") {
		t.Fatalf("maintenance list: %d %s", code, out)
	}

	quiet := mtTrigger(t, c, n, "mt-sev2", "error")
	if quiet.Severity != "sev2" || quiet.DeferredUntil == nil || !quiet.DeferredUntil.Equal(w.To) || !mtHas(quiet, incident.EntryMaintenance, "maintenance (mw1)") {
		t.Fatalf("sev2 inside the window: deferred %v (window ends %s), timeline %+v", quiet.DeferredUntil, w.To, quiet.Timeline)
	}
	loud := mtTrigger(t, c, n, "mt-sev1", "critical")
	c.WaitFor(10*time.Second, func() (bool, string) {
		return len(mtSent(pgIncident(t, c, n, "mt-sev1"))) == 1, "allowed sev1 not paged yet"
	})
	if loud.DeferredUntil != nil {
		t.Fatalf("allowed sev1 deferred until %v", loud.DeferredUntil)
	}
	if got := pgIncident(t, c, n, "mt-sev2"); len(got.Notifications) != 0 && time.Now().Before(w.To) {
		t.Fatalf("sev2 paged inside the window: %+v", got.Notifications)
	}
	c.WaitFor(40*time.Second, func() (bool, string) {
		return len(mtSent(pgIncident(t, c, n, "mt-sev2"))) == 1, "sev2 not paged after the window"
	})
	if sent := mtSent(pgIncident(t, c, n, "mt-sev2")); sent[0].SentAt.Before(w.To) {
		t.Fatalf("sev2 paged at %s, before the window's end %s", sent[0].SentAt, w.To)
	}

	// A window ended early: what waited for it pages now.
	code, out = c.Run(n, "maintenance", "start", "checkout", "--for", "1h")
	if code != 0 || !strings.Contains(out, "mw2") {
		t.Fatalf("second window: %d %s", code, out)
	}
	if waiting := mtTrigger(t, c, n, "mt-early", "error"); waiting.DeferredUntil == nil {
		t.Fatal("sev2 inside mw2 not deferred")
	}
	if code, out := c.Run(n, "maintenance", "end", "mw2"); code != 0 {
		t.Fatalf("maintenance end: %d %s", code, out)
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		return len(mtSent(pgIncident(t, c, n, "mt-early"))) == 1, "not paged after the early end"
	})
	if code, out := c.Run(n, "maintenance", "end", "mw2"); code == 0 || !strings.Contains(out, "already ended") {
		t.Fatalf("ending mw2 twice: %d %s", code, out)
	}
}

// TestMaintenanceBadInput: a window that ends before it starts is refused
// by the API (400 naming the field) and by config check (FILE:LINE:COL),
// and changes nothing.
func TestMaintenanceBadInput(t *testing.T) {
	c, n, box := suStart(t, "http://127.0.0.1:1")
	for body, want := range map[string]string{
		`{"services":["checkout"],"for":"-1h"}`:                 `for: \"-1h\" is not after from`,
		`{"services":["nope"],"for":"1h"}`:                      `services[0]: unknown service \"nope\"`,
		`{"services":["checkout"]}`:                             "for: required",
		`{"services":["checkout"],"for":"1h","allow":["sev7"]}`: "allow[0]: unknown severity",
	} {
		code, out := c.Do(n, http.MethodPost, "/v1/maintenance", []byte(body), nil)
		if code != http.StatusBadRequest || !strings.Contains(string(out), want) {
			t.Fatalf("%s: %d %s, want 400 with %q", body, code, out, want)
		}
	}
	var list struct{ Maintenance []config.MaintenanceWindow }
	if code := c.GetJSON(n, "/v1/maintenance", &list); code != 200 || len(list.Maintenance) != 0 {
		t.Fatalf("refused windows were created: %d %+v", code, list)
	}
	cfg := fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1") + suStatus + `maintenance:
  - id: db-upgrade
    services: [checkout]
    from: "2026-12-05 22:00"
    to: "2026-12-05 21:00"
`
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(cfg[:strings.Index(cfg, `to: "2026-12-05 21:00"`)], "\n") + 1
	want := fmt.Sprintf("%s:%d:9: maintenance[0].to: \"2026-12-05 21:00\" is not after from", path, lines)
	if code, out := c.Run(n, "config", "check", path); code == 0 || !strings.Contains(out, want) {
		t.Fatalf("config check: %d %s\nwant %s", code, out, want)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// oldStyleRotations would be refused by today's admission (a shift that is
// not whole seconds, units out of order) but an earlier release committed
// such configs, so a backup of one must restore.
const oldStyleRotations = `rotations:
  - {id: odd, participants: [alice], shift: 90500ms, start: "2026-11-02 09:00"}
  - {id: daily, participants: [alice], shift: 1d1d, start: "2026-11-02 09:00"}
schedules:
  - {id: broken, layers: [odd]}
  - {id: fine, layers: [daily]}
`

// Issue 12.3: a backup whose config an earlier release accepted restores;
// the schedule that cannot compile answers 409 naming the field, and the
// rest of the on-call API works.
func TestBackupWithOldStyleConfigRestores(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	oldCfg := testcluster.DefaultConfig + oldStyleRotations
	if code, body := c.Do(n, http.MethodPut, "/v1/config", []byte(oldCfg), nil); code != 400 {
		t.Fatalf("admission of the old-style config: %d %s, want 400", code, body)
	}
	code, snap := c.Do(n, http.MethodGet, "/v1/snapshot", nil, nil)
	mustOK(t, "GET /v1/snapshot", code, snap, 200)
	nl := bytes.IndexByte(snap, '\n')
	var h map[string]json.RawMessage
	if nl < 0 || json.Unmarshal(snap[:nl], &h) != nil {
		t.Fatalf("snapshot has no JSON header line: %.200s", snap)
	}
	var ac map[string]json.RawMessage
	if err := json.Unmarshal(h["config"], &ac); err != nil {
		t.Fatal(err)
	}
	ac["sources"], _ = json.Marshal([]config.Source{{Name: "config.yaml", Data: []byte(oldCfg)}})
	h["config"], _ = json.Marshal(ac)
	header, _ := json.Marshal(h)
	file := filepath.Join(t.TempDir(), "old.snap")
	if err := os.WriteFile(file, append(header, snap[nl:]...), 0o600); err != nil {
		t.Fatal(err)
	}
	restoreRetrying(t, c, file)
	c.WaitReady(n)

	code, body := c.Do(n, http.MethodGet, "/v1/oncall", nil, nil)
	mustOK(t, "GET /v1/oncall", code, body, 200)
	if !strings.Contains(string(body), `"fine"`) || strings.Contains(string(body), `"broken"`) {
		t.Fatalf("on call lists %s; want fine and not broken", body)
	}
	code, body = c.Do(n, http.MethodGet, "/v1/schedules/fine/oncall", nil, nil)
	mustOK(t, "GET fine's on call", code, body, 200)
	code, body = c.Do(n, http.MethodGet, "/v1/schedules/broken/oncall", nil, nil)
	if code != http.StatusConflict || !strings.Contains(string(body), "shift") {
		t.Fatalf("GET broken's on call: %d %s, want 409 naming the shift", code, body)
	}
}

package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/nodetest"
)

func createdAt(t *testing.T, n *nodetest.Node, key string) time.Time {
	t.Helper()
	code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/"+key, "", nodetest.Token)
	var inc struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &inc) != nil {
		t.Fatalf("GET %s: %d %s", key, code, body)
	}
	return inc.CreatedAt
}

// exportKeys calls the export and returns the keys of its lines, checking
// each line is a whole incident.
func exportKeys(t *testing.T, n *nodetest.Node, query string) []string {
	t.Helper()
	code, body, h := call(t, n, http.MethodGet, "/v1/incidents/export?"+query, "", nodetest.Token)
	if code != http.StatusOK || h.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("export %s: %d %s %s", query, code, h.Get("Content-Type"), body)
	}
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if line == "" {
			continue
		}
		var inc struct {
			Key           string            `json:"key"`
			Alerts        []json.RawMessage `json:"alerts"`
			Timeline      []json.RawMessage `json:"timeline"`
			Notifications []json.RawMessage `json:"notifications"`
		}
		if err := json.Unmarshal([]byte(line), &inc); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if len(inc.Alerts) == 0 || len(inc.Timeline) == 0 || inc.Notifications == nil {
			t.Fatalf("export line is not a whole incident: %s", line)
		}
		keys = append(keys, inc.Key)
	}
	return keys
}

// Issue 12.4: the export of a window returns exactly the incidents created
// in it, one whole incident per line, oldest first.
func TestExportReturnsExactlyTheWindow(t *testing.T) {
	n := startNode(t)
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		trigger(t, n, "disk-"+k)
	}
	q := func(from, to time.Time) string {
		v := url.Values{"from": {from.Format(time.RFC3339Nano)}}
		if !to.IsZero() {
			v.Set("to", to.Format(time.RFC3339Nano))
		}
		return v.Encode()
	}
	from, to := createdAt(t, n, "INC-2"), createdAt(t, n, "INC-4")
	if !from.Before(to) {
		t.Fatalf("INC-2 created %v, INC-4 %v: the test needs them apart", from, to)
	}
	if got := strings.Join(exportKeys(t, n, q(from, to)), ","); got != "INC-2,INC-3" {
		t.Fatalf("export [INC-2, INC-4) gave %s", got)
	}
	if got := strings.Join(exportKeys(t, n, q(from, time.Time{})), ","); got != "INC-2,INC-3,INC-4,INC-5" {
		t.Fatalf("export from INC-2 on gave %s", got)
	}
	if got := exportKeys(t, n, q(to.Add(time.Hour), time.Time{})); len(got) != 0 {
		t.Fatalf("export of an empty window gave %v", got)
	}

	for query, want := range map[string]string{
		"":               "from: required",
		"from=yesterday": `from: \"yesterday\" is not an RFC 3339 time`,
		"from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z":   "to: 2026-01-01T00:00:00Z is not after from",
		"from=2026-01-01T00:00:00Z&from=2026-01-02T00:00:00Z": "from: given 2 times",
	} {
		code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/export?"+query, "", nodetest.Token)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("export?%s: %d %s, want 400 naming %q", query, code, body, want)
		}
	}
}

// PUT /v1/snapshot restores an upload streamed through a spool file: the
// state returns to the saved one; a damaged upload is 400 and changes nothing.
func TestSnapshotRestoreFromUpload(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-a")
	code, saved, _ := call(t, n, http.MethodGet, "/v1/snapshot", "", nodetest.Token)
	if code != http.StatusOK || !strings.HasPrefix(saved, `{"format":2,`) {
		t.Fatalf("save: %d %.60s", code, saved)
	}
	trigger(t, n, "disk-b")
	if code, body, _ := call(t, n, http.MethodPut, "/v1/snapshot", saved[:len(saved)/2], nodetest.Token); code != http.StatusBadRequest || !strings.Contains(body, "snapshot:") {
		t.Fatalf("half a snapshot: %d %s", code, body)
	}
	if code, _, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-2", "", nodetest.Token); code != http.StatusOK {
		t.Fatalf("a refused restore changed the state: INC-2 %d", code)
	}
	if code, body, _ := call(t, n, http.MethodPut, "/v1/snapshot", saved, nodetest.Token); code != http.StatusOK || !strings.Contains(body, `"status":"restored"`) {
		t.Fatalf("restore: %d %s", code, body)
	}
	if code, _, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-2", "", nodetest.Token); code != http.StatusNotFound {
		t.Fatalf("after restoring the snapshot taken before INC-2, INC-2 answers %d", code)
	}
}

// An incident retention removed answers 404 saying so, and leaves the export.
func TestRemovedIncidentSaysRetention(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-a")
	trigger(t, n, "disk-b")
	if code, body, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-1/resolve", `{"by":"alice"}`, nodetest.Token); code != http.StatusOK {
		t.Fatalf("resolve: %d %s", code, body)
	}
	if _, err := n.Submit(context.Background(), cluster.TypePurge, incident.Purge{Cutoff: time.Now().Add(time.Hour), IDs: []uint64{1, 2}}); err != nil {
		t.Fatal(err)
	}
	if code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1", "", nodetest.Token); code != http.StatusNotFound || !strings.Contains(body, "removed by retention") {
		t.Fatalf("INC-1 after the purge: %d %s", code, body)
	}
	if code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-9", "", nodetest.Token); code != http.StatusNotFound || strings.Contains(body, "retention") {
		t.Fatalf("INC-9 (never existed): %d %s", code, body)
	}
	if got := strings.Join(exportKeys(t, n, "from=2000-01-01T00:00:00Z"), ","); got != "INC-2" {
		t.Fatalf("export after the purge: %s (the open INC-2 stays)", got)
	}
}

package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
)

func startNode(t *testing.T) *nodetest.Node {
	t.Helper()
	return nodetest.Start(t, nodetest.Options{Config: testConfig})
}

// trigger opens INC-<n> through the real Events v2 ingest; the event has no
// timestamp, so its alert has no start time.
func trigger(t *testing.T, n *nodetest.Node, dedup string) {
	t.Helper()
	code, body, _ := call(t, n, http.MethodPost, "/v2/enqueue", `{"routing_key":"test-events-key","event_action":"trigger",`+
		`"dedup_key":"`+dedup+`","payload":{"summary":"Disk full","source":"db-1","severity":"critical"}}`, "-")
	if code != http.StatusAccepted {
		t.Fatalf("enqueue: %d %s", code, body)
	}
}

// TestIncidentJSONShape: absent times are null (an alert without a start, a
// firing alert's end, an unacknowledged incident), never 0001-01-01; the
// single-incident answer always has notifications and timeline arrays.
func TestIncidentJSONShape(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1", "", nodetest.Token)
	if code != http.StatusOK {
		t.Fatalf("GET INC-1: %d %s", code, body)
	}
	for _, want := range []string{`"starts_at":null`, `"ends_at":null`, `"acknowledged_at":null`, `"resolved_at":null`,
		`"notifications":[`, `"timeline":[{`, `"key":"INC-1"`, `"severity":"sev1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident JSON lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "0001-01-01") {
		t.Errorf("incident JSON has a zero time:\n%s", body)
	}
	// List items leave notifications and timeline out.
	code, body, _ = call(t, n, http.MethodGet, "/v1/incidents?status=all", "", nodetest.Token)
	if code != http.StatusOK || strings.Contains(body, `"timeline"`) || !strings.Contains(body, `"next":""`) {
		t.Errorf("list: %d %s", code, body)
	}
}

func TestIncidentActions(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	post := func(path, body string) (int, string) {
		code, b, _ := call(t, n, http.MethodPost, path, body, nodetest.Token)
		return code, b
	}
	if code, body := post("/v1/incidents/1/ack", `{"by":"alice","note":"looking"}`); code != http.StatusOK ||
		!strings.Contains(body, `"status":"acknowledged"`) || !strings.Contains(body, `"acknowledged_by":"alice"`) {
		t.Fatalf("ack: %d %s", code, body)
	}
	cases := []struct {
		path, body string
		code       int
		errHas     string
	}{
		{"/v1/incidents/INC-1/ack", "", http.StatusConflict, "already acknowledged by alice"},
		{"/v1/incidents/INC-9/ack", "", http.StatusNotFound, "INC-9"},
		{"/v1/incidents/INC-1/notes", `{"note":"  "}`, http.StatusBadRequest, "note"},
		{"/v1/incidents/INC-1/notes", `{"note":"x","colour":"red"}`, http.StatusBadRequest, "colour"},
		{"/v1/incidents/INC-1/ack", `{"channel":"pigeon"}`, http.StatusBadRequest, "channel"},
		{"/v1/incidents/INC-1/snooze", "", http.StatusNotFound, "snooze"},
		{"/v1/incidents/not-an-id/ack", "", http.StatusNotFound, "not-an-id"},
	}
	for _, c := range cases {
		code, body := post(c.path, c.body)
		if code != c.code || !strings.Contains(errorOf(body), c.errHas) {
			t.Errorf("POST %s %s: %d %s, want %d with an error naming %q", c.path, c.body, code, body, c.code, c.errHas)
		}
	}
	if code, body := post("/v1/incidents/INC-1/resolve", ""); code != http.StatusOK || !strings.Contains(body, `"resolved_by":"admin"`) {
		t.Errorf("resolve as the token's name: %d %s", code, body)
	}
	var inc struct {
		Timeline []struct{ Type, Actor string } `json:"timeline"`
	}
	get(t, n, "/v1/incidents/1", &inc)
	types := []string{}
	for _, e := range inc.Timeline {
		types = append(types, e.Type)
	}
	// alice, a user, takes the sev1 roles without a from by acknowledging
	// (spec §5.4; the default config gives none a from). Resolving a sev1
	// drafts its postmortem (issue 15).
	if got := strings.Join(types, ","); got != "triggered,alert_added,acknowledged,role_assigned,role_assigned,resolved,postmortem_drafted" {
		t.Errorf("timeline types %s", got)
	}
}

func TestAuth(t *testing.T) {
	n := startNode(t)
	code, body, h := call(t, n, http.MethodGet, "/v1/incidents", "", "-")
	if code != http.StatusUnauthorized || h.Get("WWW-Authenticate") == "" || errorOf(body) == "" {
		t.Errorf("no token: %d %s %v", code, body, h)
	}
	if code, _, _ := call(t, n, http.MethodGet, "/v1/incidents", "", "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	// Health answers need no token.
	if code, _, _ := call(t, n, http.MethodGet, "/readyz", "", "-"); code != http.StatusOK {
		t.Errorf("readyz: %d", code)
	}
}

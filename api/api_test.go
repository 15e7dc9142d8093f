package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// testConfig has one weekly rotation handing over on Mondays at 09:00
// Amsterdam time (08:00Z in winter), so a wall-clock time read in the wrong
// zone picks the wrong person.
const testConfig = `
timezone: Europe/Amsterdam
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com}
  - {id: bob, name: Bob, email: bob@example.com}
rotations:
  - {id: week, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - {id: web, layers: [week]}
policies:
  - id: p
    steps:
      - {notify: [schedule:web], escalate_after: 10m}
services:
  - {id: checkout, name: Checkout, policy: p}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
severity:
  label: severity
  map: {critical: sev1}
  default: sev2
`

// call sends a request with the admin token (unless token is "-") and
// returns the status, the body and the answer's headers.
func call(t *testing.T, n *nodetest.Node, method, path, body, token string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, n.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "-" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	// Answers are indented; compact JSON so tests can look for `"k":v`.
	var compact bytes.Buffer
	if json.Compact(&compact, b) == nil {
		b = compact.Bytes()
	}
	return resp.StatusCode, string(b), resp.Header
}

func get(t *testing.T, n *nodetest.Node, path string, v any) int {
	t.Helper()
	code, body, _ := call(t, n, http.MethodGet, path, "", nodetest.Token)
	if code == http.StatusOK && v != nil {
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("decode %s: %v: %s", path, err, body)
		}
	}
	return code
}

// errorOf is the "error" of a JSON error answer ("" when there is none).
func errorOf(body string) string {
	var e struct{ Error string }
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}

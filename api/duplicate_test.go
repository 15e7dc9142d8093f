package api_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/internal/nodetest"
)

// nodeCall sends a node-to-node request (as a follower forwarding a reply
// does: only such a request may carry dedup_id) and answers the status,
// body and X-Pagerd-Duplicate header.
func nodeCall(t *testing.T, n *nodetest.Node, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := n.Node.NodeRequest(context.Background(), method, n.URL, path, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get(cluster.DuplicateHeader)
}

// Every write that takes a dedup_id answers a retry with its first
// delivery's answer and X-Pagerd-Duplicate: true — for a refusal (409, the
// same message) as for a success — and never on the first delivery:
// actions, severity, roles, status updates and plan reviews alike.
func TestDuplicateHeaderOnEveryReplayedWrite(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Config: testConfig})
	trigger(t, n, "dup-1")
	trigger(t, n, "dup-2")
	if code, body, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-2/resolve", "", nodetest.Token); code != http.StatusOK {
		t.Fatalf("resolve INC-2: %d %s", code, body)
	}
	cases := []struct {
		name, method, path, body string
		want                     int
	}{
		{"action refused", "POST", "/v1/incidents/2/ack", `{"by":"alice","channel":"sms","dedup_id":"sms:SM1"}`, http.StatusConflict},
		{"severity refused", "POST", "/v1/incidents/2/severity", `{"severity":"sev3","by":"alice","channel":"sms","dedup_id":"sms:SM2"}`, http.StatusConflict},
		{"role refused", "PUT", "/v1/incidents/2/roles/incident_manager", `{"user":"alice","by":"alice","channel":"sms","dedup_id":"sms:SM3"}`, http.StatusConflict},
		{"update refused", "POST", "/v1/incidents/2/updates", `{"message":"x","by":"alice","channel":"sms","dedup_id":"sms:SM4"}`, http.StatusConflict},
		{"severity applied", "POST", "/v1/incidents/1/severity", `{"severity":"sev3","by":"alice","channel":"sms","dedup_id":"sms:SM5"}`, http.StatusOK},
		{"update applied", "POST", "/v1/incidents/1/updates", `{"message":"looking","by":"alice","channel":"sms","dedup_id":"sms:SM6"}`, http.StatusOK},
		{"review recorded", "POST", "/v1/services/checkout/reviews", `{"by":"alice","via":"email","dedup_id":"email:m1@x/rv-tok"}`, http.StatusCreated},
	}
	for _, c := range cases {
		code1, body1, dup1 := nodeCall(t, n, c.method, c.path, c.body)
		code2, body2, dup2 := nodeCall(t, n, c.method, c.path, c.body)
		if code1 != c.want || dup1 != "" {
			t.Errorf("%s: first delivery %d (want %d), duplicate header %q: %s", c.name, code1, c.want, dup1, body1)
		}
		if code2 != code1 || dup2 != "true" {
			t.Errorf("%s: retry %d (first %d), duplicate header %q: %s", c.name, code2, code1, dup2, body2)
		}
		if code1 == http.StatusConflict && errorOf(body1) != errorOf(body2) {
			t.Errorf("%s: retry refused with %q, first with %q", c.name, errorOf(body2), errorOf(body1))
		}
	}
	var reviews struct{ Reviews []cluster.Review }
	if get(t, n, "/v1/services/checkout/reviews", &reviews); len(reviews.Reviews) != 1 {
		t.Fatalf("a retried review reply recorded %d reviews", len(reviews.Reviews))
	}
}

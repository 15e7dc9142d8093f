package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// With `update_every: 0` a severity has no update cadence: a status update
// sets no next deadline (next_update_at stays null, so no "update overdue"
// reminder can fall due), while next_update_in still sets one explicitly.
func TestUpdateEveryZeroSetsNoDeadline(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Config: testConfig + "severities:\n  sev1: {update_every: 0}\n"})
	trigger(t, n, "cadence-off")
	code, body, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-1/updates", `{"message":"looking"}`, nodetest.Token)
	if code != http.StatusOK && code != http.StatusCreated {
		t.Fatalf("post update: %d %s", code, body)
	}
	if !strings.Contains(body, `"next_update_at":null`) {
		t.Fatalf("update with the cadence off set a deadline:\n%s", body)
	}
	code, body, _ = call(t, n, http.MethodPost, "/v1/incidents/INC-1/updates", `{"message":"still looking","next_update_in":"10m"}`, nodetest.Token)
	if (code != http.StatusOK && code != http.StatusCreated) || strings.Contains(body, `"next_update_at":null`) {
		t.Fatalf("next_update_in with the cadence off: %d\n%s", code, body)
	}
}

package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
)

// TestImpactRefusesBadTimesAndChangesNothing: started_at in the future,
// missing or malformed is 400 naming the field, and the incident is as
// before; a past time is recorded and drives the summary's duration.
func TestImpactRefusesBadTimesAndChangesNothing(t *testing.T) {
	n := startNode(t)
	trigger(t, n, "disk-1")
	_, before, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1", "", nodetest.Token)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, body := range []string{`{"started_at":"` + future + `"}`, `{}`, `{"started_at":"yesterday"}`, `{"started_at":5}`} {
		code, answer, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-1/impact", body, nodetest.Token)
		if code != http.StatusBadRequest || !strings.Contains(answer, `"error":"started_at:`) {
			t.Errorf("impact %s: %d %s, want 400 naming started_at", body, code, answer)
		}
	}
	if _, after, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1", "", nodetest.Token); after != before {
		t.Fatalf("a refused impact changed the incident:\nbefore %s\nafter  %s", before, after)
	}
	if !strings.Contains(before, `"impact_started_at":null`) || !strings.Contains(before, `"detected_at":"`) {
		t.Fatalf("incident lacks the timestamps: %s", before)
	}

	started := time.Now().Add(-30 * time.Minute).UTC().Truncate(time.Second)
	code, answer, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-1/impact",
		`{"started_at":"`+started.Format(time.RFC3339)+`","by":"alice","note":"checkout errors began"}`, nodetest.Token)
	if code != http.StatusOK || !strings.Contains(answer, `"impact_started_at":"`+started.Format(time.RFC3339)+`"`) ||
		!strings.Contains(answer, `"type":"impact_started","actor":"alice"`) {
		t.Fatalf("impact: %d %s", code, answer)
	}
	if code, answer, _ := call(t, n, http.MethodPost, "/v1/incidents/INC-1/resolve", `{"by":"alice"}`, nodetest.Token); code != http.StatusOK {
		t.Fatalf("resolve: %d %s", code, answer)
	}

	code, answer, _ = call(t, n, http.MethodGet, "/v1/incidents/INC-1/summary", "", nodetest.Token)
	var sum struct {
		Duration struct {
			From    string `json:"from"`
			Seconds int64  `json:"seconds"`
			Ongoing bool   `json:"ongoing"`
		} `json:"duration"`
		Responders []string `json:"responders"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(answer), &sum) != nil {
		t.Fatalf("summary: %d %s", code, answer)
	}
	if sum.Duration.From != "impact_started_at" || sum.Duration.Seconds < 30*60 || sum.Duration.Seconds > 40*60 ||
		sum.Duration.Ongoing || strings.Join(sum.Responders, ",") != "alice" {
		t.Fatalf("summary: %s", answer)
	}
	req, _ := http.NewRequest(http.MethodGet, n.URL+"/v1/incidents/INC-1/summary?format=text", nil)
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var text strings.Builder
	_, _ = io.Copy(&text, resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(text.String(), "from impact_started_at") {
		t.Fatalf("text summary: %s\n%s", resp.Header.Get("Content-Type"), text.String())
	}
	if code, answer, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-9/summary", "", nodetest.Token); code != http.StatusNotFound {
		t.Fatalf("summary of a missing incident: %d %s", code, answer)
	}
	if code, answer, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1/summary?format=pdf", "", nodetest.Token); code != http.StatusBadRequest ||
		!strings.Contains(answer, "format:") {
		t.Fatalf("summary format=pdf: %d %s", code, answer)
	}
}

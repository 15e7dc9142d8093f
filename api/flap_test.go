package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/nodetest"
)

const flapConfig = `
api_tokens:
  - {name: admin, token: "test-admin-token"}
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: am, key: "test-am-key", service: checkout}
`

// flapPayload is an Alertmanager notification for one group: alert "web-1"
// fires throughout (the group stays firing), "web-2" flaps.
func flapPayload(i int) string {
	status, ends := "firing", "0001-01-01T00:00:00Z"
	if i%2 == 1 {
		status, ends = "resolved", time.Date(2026, 11, 21, 12, 0, i, 0, time.UTC).Format(time.RFC3339)
	}
	alert := func(instance, st, end string) string {
		return fmt.Sprintf(`{"status":%q,"labels":{"alertname":"HighErrorRate","instance":%q,"severity":"critical"},`+
			`"annotations":{"summary":"5xx on %s"},"startsAt":"2026-11-21T11:00:00Z","endsAt":%q,"fingerprint":"fp-%s"}`,
			st, instance, instance, end, instance)
	}
	return `{"receiver":"hook","status":"firing","version":"4","groupKey":"{}:{alertname=\"HighErrorRate\"}",` +
		`"groupLabels":{"alertname":"HighErrorRate"},"commonLabels":{},"commonAnnotations":{},"externalURL":"","truncatedAlerts":0,` +
		`"alerts":[` + alert("web-1", "firing", "0001-01-01T00:00:00Z") + `,` + alert("web-2", status, ends) + `]}`
}

// Issue 12.4 acceptance through the real ingest: 10,000 firing/resolved
// payloads of one flapping alert leave one incident with both alerts, a
// short timeline, and counts that add up to the flaps.
func TestFlappingAlertThroughIngest(t *testing.T) {
	n := nodetest.Start(t, nodetest.Options{Config: flapConfig})
	const payloads = 10_000
	for i := range payloads {
		req, _ := http.NewRequest(http.MethodPost, n.URL+"/v1/ingest/alertmanager", strings.NewReader(flapPayload(i)))
		req.Header.Set("Authorization", "Bearer test-am-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("payload %d: %d", i, resp.StatusCode)
		}
	}
	code, body, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-1", "", nodetest.Token)
	var inc struct {
		Status     string            `json:"status"`
		AlertCount int               `json:"alert_count"`
		Alerts     []json.RawMessage `json:"alerts"`
		Timeline   []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
			Count   int    `json:"count"`
		} `json:"timeline"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &inc) != nil {
		t.Fatalf("INC-1: %d %.300s", code, body)
	}
	if code, _, _ := call(t, n, http.MethodGet, "/v1/incidents/INC-2", "", nodetest.Token); code != http.StatusNotFound {
		t.Fatalf("a second incident was opened (%d)", code)
	}
	if inc.Status != "triggered" || inc.AlertCount != 2 || len(inc.Alerts) != 2 || len(inc.Timeline) > 6 {
		t.Fatalf("INC-1 %s, alert_count %d, %d alerts, %d timeline entries: %+v", inc.Status, inc.AlertCount, len(inc.Alerts), len(inc.Timeline), inc.Timeline)
	}
	resolved, refired := 0, 0
	for _, e := range inc.Timeline {
		c := max(e.Count, 1)
		switch {
		case e.Type == "alert_resolved":
			resolved += c
		case e.Type == "alert_added" && strings.HasPrefix(e.Message, "firing again"):
			refired += c
		}
	}
	if resolved != payloads/2 || refired != payloads/2-1 {
		t.Fatalf("timeline counts %d resolutions and %d re-firings, want %d and %d: %+v", resolved, refired, payloads/2, payloads/2-1, inc.Timeline)
	}
}

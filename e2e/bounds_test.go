package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// amPayloadOf is an Alertmanager webhook of n firing alerts of one group,
// numbered from `from`.
func amPayloadOf(from, n int) []byte {
	var b strings.Builder
	b.WriteString(`{"version":"4","status":"firing","receiver":"pagerd","groupKey":"{}:{alertname=\"Flood\"}",` +
		`"groupLabels":{"alertname":"Flood"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am","alerts":[`)
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"status":"firing","labels":{"alertname":"Flood","i":"%d"},"annotations":{},`+
			`"startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"%016x"}`, i, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

// TestOneIncidentStaysBounded is issue 10.8 against a real pagerd: posts of
// thousands of new fingerprints to one group make one incident that keeps
// 1,000 alerts and counts the rest; the list answer carries no alerts and
// the single answer pages them.
func TestOneIncidentStaysBounded(t *testing.T) {
	const posts, perPost = 5, 4000
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	amHeaders := map[string]string{"Authorization": "Bearer " + testcluster.PrometheusKey, "Content-Type": "application/json"}
	for p := 0; p < posts; p++ {
		code, body := c.Do(n, http.MethodPost, "/v1/ingest/alertmanager", amPayloadOf(p*perPost, perPost), amHeaders)
		mustOK(t, fmt.Sprintf("post %d", p+1), code, body, 202)
	}
	code, list := c.Do(n, http.MethodGet, "/v1/incidents?limit=1", nil, nil)
	if code != 200 || len(list) > 4096 || strings.Contains(string(list), `"alerts"`) {
		t.Fatalf("GET /v1/incidents?limit=1: %d, %d bytes, want a small answer without alerts:\n%.500s", code, len(list), list)
	}
	var page struct {
		Incidents []struct {
			ID            uint64 `json:"id"`
			AlertCount    int    `json:"alert_count"`
			AlertsDropped int    `json:"alerts_dropped"`
		} `json:"incidents"`
	}
	if err := json.Unmarshal(list, &page); err != nil || len(page.Incidents) != 1 {
		t.Fatalf("list: %v %s", err, list)
	}
	if got := page.Incidents[0]; got.AlertCount != posts*perPost || got.AlertsDropped != posts*perPost-1000 {
		t.Fatalf("list item: alert_count %d alerts_dropped %d, want %d, %d", got.AlertCount, got.AlertsDropped, posts*perPost, posts*perPost-1000)
	}
	id := page.Incidents[0].ID

	type full struct {
		AlertCount int `json:"alert_count"`
		Alerts     []struct {
			Fingerprint string `json:"fingerprint"`
		} `json:"alerts"`
		AlertsNext string `json:"alerts_next"`
		Timeline   []json.RawMessage
	}
	var inc full
	if code := c.GetJSON(n, fmt.Sprintf("/v1/incidents/%d", id), &inc); code != 200 {
		t.Fatalf("GET incident: %d", code)
	}
	if len(inc.Alerts) != 1000 || inc.AlertsNext != "" || len(inc.Timeline) > 40 {
		t.Fatalf("incident: %d alerts (want 1000), alerts_next %q, %d timeline entries", len(inc.Alerts), inc.AlertsNext, len(inc.Timeline))
	}
	// Paged: 400, 400, 200, each in order, the first to arrive.
	var fps []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 400")
		}
		path := fmt.Sprintf("/v1/incidents/%d?alerts_limit=400", id)
		if cursor != "" {
			path += "&alerts_cursor=" + cursor
		}
		var p full
		if code := c.GetJSON(n, path, &p); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
		for _, a := range p.Alerts {
			fps = append(fps, a.Fingerprint)
		}
		if cursor = p.AlertsNext; cursor == "" {
			break
		}
	}
	if len(fps) != 1000 || fps[0] != fmt.Sprintf("%016x", 0) || fps[999] != fmt.Sprintf("%016x", 999) {
		t.Fatalf("paged alerts: %d, first %q last %q", len(fps), fps[0], fps[len(fps)-1])
	}
	code, body := c.Do(n, http.MethodGet, fmt.Sprintf("/v1/incidents/%d?alerts_limit=0", id), nil, nil)
	if code != 400 || !strings.Contains(string(body), "alerts_limit") {
		t.Fatalf("alerts_limit=0: %d %s", code, body)
	}
}

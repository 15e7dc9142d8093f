package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// amCheckoutGroupKey is the groupKey Alertmanager 0.25 sends for a root route
// grouped by [alertname, service], as captured in the shared fixtures.
const amCheckoutGroupKey = `{}:{alertname="HighErrorRate", service="checkout"}`

// Fingerprints of the two alerts in the captured payloads.
const (
	amFixtureFP1 = "b1c11497b32ce15e" // instance web-1
	amFixtureFP2 = "5308e11450d376b3" // instance web-2
)

// TestAlertmanagerFixturesThroughNode posts the webhook bodies captured from a
// real Alertmanager 0.25 (with max_alerts: 2) to a real node and checks the
// incident after each: dedup by group key, truncated alerts neither added nor
// resolved, resolution by the source, identical repeats that record nothing,
// and a new incident when the group fires after it was resolved.
func TestAlertmanagerFixturesThroughNode(t *testing.T) {
	firingOne := amReadFixture(t, "firing-one-alert.json")
	firingTruncated := amReadFixture(t, "firing-truncated.json")
	resolvedTruncated := amReadFixture(t, "resolved-truncated.json")

	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]

	// 1. The first alert of the group opens one incident.
	amPostAlertmanager(t, c, n, firingOne, "")
	first := amAwaitGroup(t, c, n, amCheckoutGroupKey, "one incident with 1 alert", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 1
	})[0]
	inc := amGetIncident(t, c, n, first.ID)
	if inc.Status != incident.Triggered || inc.Severity != "sev1" || inc.Service != "checkout" ||
		inc.DedupKey != amCheckoutGroupKey || inc.Title != "5xx rate above 5% on web-1" {
		t.Fatalf("after firing-one: %s", amDescribe(inc))
	}
	if fps := amFingerprints(inc); !slices.Equal(fps, []string{amFixtureFP1}) || inc.Alerts[0].Status != "firing" {
		t.Fatalf("after firing-one: alerts %v", inc.Alerts)
	}

	// 2. An identical repeat (here with the key in the path, for senders that
	// cannot set headers) records nothing and opens nothing.
	amPostAlertmanager(t, c, n, firingOne, testcluster.PrometheusKey)
	amAssertUnchanged(t, c, n, inc, "repeat of firing-one")

	// 3. The grown, truncated payload adds the second alert; the third alert
	// Alertmanager left out never appears and nothing is resolved.
	amPostAlertmanager(t, c, n, firingTruncated, "")
	amAwaitGroup(t, c, n, amCheckoutGroupKey, "the incident to hold 2 alerts", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 2
	})
	inc = amGetIncident(t, c, n, first.ID)
	if inc.Status != incident.Triggered || inc.Severity != "sev1" || inc.AlertCount != 2 {
		t.Fatalf("after firing-truncated: %s", amDescribe(inc))
	}
	if fps := amFingerprints(inc); !slices.Equal(fps, []string{amFixtureFP1, amFixtureFP2}) {
		t.Fatalf("after firing-truncated: fingerprints %v", fps)
	}
	for _, a := range inc.Alerts {
		if a.Status != "firing" {
			t.Errorf("after firing-truncated: alert %s is %s", a.Fingerprint, a.Status)
		}
	}
	if amCountEntries(inc, incident.EntryAlertAdded) != 2 {
		t.Errorf("after firing-truncated: timeline %v", inc.Timeline)
	}

	// 4. Repeating the truncated payload changes nothing either.
	amPostAlertmanager(t, c, n, firingTruncated, "")
	amAssertUnchanged(t, c, n, inc, "repeat of firing-truncated")

	// 5. The resolved (still truncated) payload resolves the incident: the
	// group's status is resolved, so the source says every alert ended.
	amPostAlertmanager(t, c, n, resolvedTruncated, "")
	amAwaitGroup(t, c, n, amCheckoutGroupKey, "the incident to be resolved", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].Status == incident.Resolved
	})
	inc = amGetIncident(t, c, n, first.ID)
	if inc.AlertCount != 2 || inc.ResolvedAt == nil || inc.ResolvedBy != "alertmanager:prometheus" {
		t.Fatalf("after resolved-truncated: %s", amDescribe(inc))
	}
	for _, a := range inc.Alerts {
		if a.Status != "resolved" {
			t.Errorf("after resolved-truncated: alert %s is %s", a.Fingerprint, a.Status)
		}
	}
	if amCountEntries(inc, incident.EntryResolved) != 1 || amCountEntries(inc, incident.EntryAlertResolved) != 2 {
		t.Errorf("after resolved-truncated: timeline %v", inc.Timeline)
	}

	// 6. The group fires again: a new incident; the resolved one stays resolved.
	amPostAlertmanager(t, c, n, firingOne, "")
	incs := amAwaitGroup(t, c, n, amCheckoutGroupKey, "a second incident", func(incs []*incident.Incident) bool {
		return len(incs) == 2
	})
	second := incs[0] // newest first
	if second.ID == first.ID || second.Status != incident.Triggered || second.AlertCount != 1 || second.Severity != "sev1" {
		t.Fatalf("new incident: %s", amDescribe(second))
	}
	if old := amGetIncident(t, c, n, first.ID); old.Status != incident.Resolved || len(old.Timeline) != len(inc.Timeline) {
		t.Fatalf("the resolved incident changed: %s", amDescribe(old))
	}
	if open := amListIncidents(t, c, n, "open", amCheckoutGroupKey); len(open) != 1 || open[0].ID != second.ID {
		t.Fatalf("open incidents for the group: %d", len(open))
	}

	// 7. And a repeat of that payload dedups into the new incident.
	second = amGetIncident(t, c, n, second.ID)
	amPostAlertmanager(t, c, n, firingOne, "")
	amAssertUnchanged(t, c, n, second, "repeat of firing-one after the new incident")
}

// amFixturesDir finds shared/fixtures/alertmanager by walking up from the test's
// directory, so the test works from the repository wherever it is checked out
// next to the shared fixtures. PAGERD_FIXTURES overrides it.
func amFixturesDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PAGERD_FIXTURES"); d != "" {
		return filepath.Join(d, "alertmanager")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, "shared", "fixtures", "alertmanager")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	t.Fatalf("shared/fixtures/alertmanager not found in %s or any parent directory; "+
		"check out the shared fixtures next to the repository (e.g. /work/shared/fixtures) or set PAGERD_FIXTURES", wd)
	return ""
}

func amReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(amFixturesDir(t), name))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

// amPostAlertmanager posts a webhook body with the integration key in the
// Authorization header, or in the path when pathKey is set, and requires 202.
func amPostAlertmanager(t testing.TB, c *testcluster.Cluster, n *testcluster.Node, body []byte, pathKey string) {
	t.Helper()
	path, headers := "/v1/ingest/alertmanager", map[string]string{
		"Content-Type": "application/json", "Authorization": "Bearer " + testcluster.PrometheusKey}
	if pathKey != "" {
		path += "/" + pathKey
		headers["Authorization"] = ""
	}
	if code, resp := c.Do(n, http.MethodPost, path, body, headers); code != http.StatusAccepted {
		t.Fatalf("POST %s: %d %s", path, code, resp)
	}
}

type amIncidentList struct {
	Incidents []*incident.Incident `json:"incidents"`
	Next      string               `json:"next"`
}

// amListIncidents lists the incidents of a dedup key with a status filter, newest first.
func amListIncidents(t testing.TB, c *testcluster.Cluster, n *testcluster.Node, status, dedupKey string) []*incident.Incident {
	t.Helper()
	q := url.Values{"status": {status}, "dedup_key": {dedupKey}, "limit": {"1000"}}
	var l amIncidentList
	if code := c.GetJSON(n, "/v1/incidents?"+q.Encode(), &l); code != http.StatusOK {
		t.Fatalf("GET /v1/incidents?%s: %d", q.Encode(), code)
	}
	if l.Next != "" {
		t.Fatalf("more than 1000 incidents for %s", dedupKey)
	}
	return l.Incidents
}

func amGetIncident(t testing.TB, c *testcluster.Cluster, n *testcluster.Node, id uint64) *incident.Incident {
	t.Helper()
	var inc incident.Incident
	if code := c.GetJSON(n, fmt.Sprintf("/v1/incidents/%d", id), &inc); code != http.StatusOK {
		t.Fatalf("GET /v1/incidents/%d: %d", id, code)
	}
	return &inc
}

// amAwaitGroup waits until the incidents (any status) of a dedup key satisfy ok
// and returns them.
func amAwaitGroup(t testing.TB, c *testcluster.Cluster, n *testcluster.Node, dedupKey, what string,
	ok func([]*incident.Incident) bool) []*incident.Incident {
	t.Helper()
	var incs []*incident.Incident
	c.WaitFor(30*time.Second, func() (bool, string) {
		incs = amListIncidents(t, c, n, "all", dedupKey)
		return ok(incs), fmt.Sprintf("waiting for %s for %s; have %s", what, dedupKey, amDescribeAll(incs))
	})
	return incs
}

var amBarrierSeq atomic.Int64

// amBarrier commits an Events v2 trigger with a fresh dedup key and waits until
// the node shows it. Commands apply in log order, so afterwards every command
// committed before it is visible too: a check that something did NOT change
// is then a real check and not a race.
func amBarrier(t testing.TB, c *testcluster.Cluster, n *testcluster.Node) {
	t.Helper()
	key := fmt.Sprintf("e2e-barrier-%d-%d", time.Now().UnixNano(), amBarrierSeq.Add(1))
	if code, body := c.Event(n, "trigger", key, "barrier"); code != http.StatusAccepted {
		t.Fatalf("barrier event: %d %s", code, body)
	}
	amAwaitGroup(t, c, n, key, "the barrier event", func(incs []*incident.Incident) bool { return len(incs) == 1 })
}

// amAssertUnchanged requires that, once everything sent so far is applied, the
// incident is exactly as before and still the only one of its dedup key.
func amAssertUnchanged(t testing.TB, c *testcluster.Cluster, n *testcluster.Node, before *incident.Incident, what string) {
	t.Helper()
	amBarrier(t, c, n)
	after := amGetIncident(t, c, n, before.ID)
	if !slices.Equal(after.Timeline, before.Timeline) {
		t.Errorf("%s added timeline entries:\nbefore %v\nafter  %v", what, before.Timeline, after.Timeline)
	}
	if after.AlertCount != before.AlertCount || after.Status != before.Status || after.Severity != before.Severity {
		t.Errorf("%s changed the incident:\nbefore %s\nafter  %s", what, amDescribe(before), amDescribe(after))
	}
	if open := amListIncidents(t, c, n, "open", before.DedupKey); len(open) != 1 || open[0].ID != before.ID {
		t.Errorf("%s: open incidents for the group: %s", what, amDescribeAll(open))
	}
}

func amFingerprints(inc *incident.Incident) []string {
	var fps []string
	for _, a := range inc.Alerts {
		fps = append(fps, a.Fingerprint)
	}
	return fps
}

func amCountEntries(inc *incident.Incident, typ string) int {
	n := 0
	for _, e := range inc.Timeline {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func amDescribe(inc *incident.Incident) string {
	alerts := ""
	for _, a := range inc.Alerts {
		alerts += fmt.Sprintf(" %s(%s,%s)", a.Fingerprint, a.Labels["instance"], a.Status)
	}
	return fmt.Sprintf("%s %s service=%s severity=%s dedup=%s alert_count=%d alerts:[%s ] timeline=%d resolved_by=%q",
		inc.Key, inc.Status, inc.Service, inc.Severity, inc.DedupKey, inc.AlertCount, alerts, len(inc.Timeline), inc.ResolvedBy)
}

func amDescribeAll(incs []*incident.Incident) string {
	if len(incs) == 0 {
		return "no incidents"
	}
	s := ""
	for _, inc := range incs {
		s += "\n  " + amDescribe(inc)
	}
	return s
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// closedWindowConfig has a business_hours window closed today and tomorrow
// (UTC) and open otherwise, and sev3 pages only in it: whenever the test
// runs, a sev3 opened now waits until the day after tomorrow.
func closedWindowConfig(now time.Time) (string, time.Time) {
	d := now.UTC()
	today, tomorrow := d.Format("2006-01-02"), d.AddDate(0, 0, 1).Format("2006-01-02")
	opens := time.Date(d.Year(), d.Month(), d.Day()+2, 0, 0, 0, 0, time.UTC)
	return fmt.Sprintf(`
timezone: UTC
api_tokens:
  - {name: admin, token: %q}
users:
  - {id: alice, email: alice@example.com}
policies:
  - {id: p, steps: [{notify: [user:alice], escalate_after: 10m}]}
services:
  - {id: checkout, policy: p}
integrations:
  - {name: events, key: %q, service: checkout}
business_hours:
  - {id: later, times: [{}], except_dates: [%q, %q]}
severities:
  sev3: {page: later}
`, nodetest.Token, testcluster.EventsKey, today, tomorrow), opens
}

func getIncident(t *testing.T, n *nodetest.Node, id int) *incident.Incident {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1/incidents/%d", n.URL, id), nil)
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var inc incident.Incident
	if err := json.NewDecoder(resp.Body).Decode(&inc); err != nil {
		t.Fatal(err)
	}
	return &inc
}

func TestSeverityCommandStartsDeferredPaging(t *testing.T) {
	t.Setenv("PAGERD_TOKEN", "")
	t.Setenv("PAGERD_SERVER", "")
	cfg, opens := closedWindowConfig(time.Now())
	n := nodetest.Start(t, nodetest.Options{Config: cfg})
	body := `{"routing_key":"` + testcluster.EventsKey + `","event_action":"trigger","dedup_key":"disk",` +
		`"payload":{"summary":"Disk 85%","source":"db-1","severity":"warning"}}`
	resp, err := http.Post(n.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %v %v", err, resp)
	}
	resp.Body.Close()
	inc := getIncident(t, n, 1)
	if inc.Severity != "sev3" || inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(opens) || !inc.Escalation.NextAt.Equal(opens) {
		t.Fatalf("sev3 opened outside the window: severity %s deferred_until %v", inc.Severity, inc.DeferredUntil)
	}

	// Bad input: 400 naming the field, nothing changes.
	entries := len(inc.Timeline)
	req, _ := http.NewRequest(http.MethodPost, n.URL+"/v1/incidents/1/severity", strings.NewReader(`{"severity":"sev4"}`))
	req.Header.Set("Authorization", "Bearer "+nodetest.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), `severity: unknown severity \"sev4\"`) {
		t.Fatalf("sev4: %d %s", resp.StatusCode, msg)
	}
	if code, _, errOut := cli(t, "severity", "INC-1", "critical", "--server", n.URL, "--token", nodetest.Token); code != exitUsage || !strings.Contains(errOut, "severity") {
		t.Fatalf("cli with a bad severity: exit %d %s", code, errOut)
	}
	if after := getIncident(t, n, 1); len(after.Timeline) != entries || after.Severity != "sev3" || after.DeferredUntil == nil {
		t.Fatalf("a refused change changed the incident: %+v", after)
	}

	before := time.Now()
	code, out, errOut := cli(t, "severity", "INC-1", "sev1", "--as", "bob", "--note", "checkout down", "--server", n.URL, "--token", nodetest.Token)
	if code != exitOK || !strings.HasPrefix(out, "INC-1 sev1 triggered") {
		t.Fatalf("severity: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	inc = getIncident(t, n, 1)
	if inc.DeferredUntil != nil || inc.SeveritySetBy != "bob" || inc.Escalation.NextAt.Before(before.Add(-time.Second)) || inc.Escalation.NextAt.After(time.Now()) {
		t.Fatalf("after sev1: deferred_until %v, set by %q, next_at %v", inc.DeferredUntil, inc.SeveritySetBy, inc.Escalation.NextAt)
	}
	last := inc.Timeline[len(inc.Timeline)-1]
	if last.Type != incident.EntrySeverityChanged || last.Actor != "bob" || last.From != "sev3" || last.To != "sev1" || last.Note != "checkout down" {
		t.Fatalf("timeline entry %+v", last)
	}
}

// config check points at a severity page that names no window and at a
// malformed time_intervals entry, FILE:LINE:COL.
func TestConfigCheckBusinessHours(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/bad.yaml"
	yaml := "timezone: UTC\nbusiness_hours:\n  - id: office\n    times:\n      - {weekdays: [\"monday:fryday\"]}\nseverities:\n  sev3: {page: ofice}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "config", "check", path)
	all := out + errOut
	for _, want := range []string{
		path + `:5:21: business_hours[0].times[0].weekdays[0]: fryday is not a valid weekday`,
		path + `:7:16: severities.sev3.page: "ofice" is neither "always" nor the id of a business_hours window (known: office)`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("config check lacks %q:\n%s", want, all)
		}
	}
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}

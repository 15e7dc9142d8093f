package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestAlertmanagerRealDaemon drives a real Prometheus Alertmanager (the Debian
// package, 0.25) whose webhook receiver is a real pagerd node: alerts added
// with amtool become one incident per group, end as a resolved incident when
// Alertmanager sends the resolution, and open a new incident when the group
// fires again; a payments alert routes to the payments service.
func TestAlertmanagerRealDaemon(t *testing.T) {
	amBin := amRequirePeerBinary(t, "prometheus-alertmanager")
	amtoolBin := amRequirePeerBinary(t, "amtool")

	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	am := amStartAlertmanager(t, amBin, n.URL()+"/v1/ingest/alertmanager")
	amtool := func(args ...string) {
		t.Helper()
		args = append([]string{"--alertmanager.url=" + am.url, "--no-version-check", "alert", "add"}, args...)
		out, err := exec.Command(amtoolBin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("amtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	checkout := func(instance string) []string {
		return []string{"alertname=HighErrorRate", "service=checkout", "instance=" + instance, "severity=critical",
			"--annotation=summary=5xx rate above 5% on " + instance}
	}

	// Two alerts of one group, and one alert of a payments group.
	amtool(checkout("web-1")...)
	amtool(checkout("web-2")...)
	amtool("alertname=QueueBacklog", "service=payments", "instance=mq-1", "severity=warning",
		"--annotation=summary=payment queue backlog")

	began := time.Now()
	stage := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }
	fps := am.fingerprintsOf(t, "HighErrorRate", 2)
	wantFPs := []string{fps["web-1"], fps["web-2"]}
	slices.Sort(wantFPs)

	// Exactly one open incident holding both alerts, sev1 from the label.
	incs := amAwaitGroup(t, c, n, amCheckoutGroupKey, "one incident with both alerts", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 2
	})
	first := amGetIncident(t, c, n, incs[0].ID)
	got := amFingerprints(first)
	slices.Sort(got)
	if !slices.Equal(got, wantFPs) {
		t.Fatalf("incident fingerprints %v, Alertmanager's %v", got, wantFPs)
	}
	if first.Status != incident.Triggered || first.Severity != "sev1" || first.Service != "checkout" {
		t.Fatalf("first incident: %s", amDescribe(first))
	}
	for _, a := range first.Alerts {
		if a.Status != "firing" || a.Labels["service"] != "checkout" || a.Annotations["summary"] == "" {
			t.Errorf("alert %s: %s labels %v annotations %v", a.Fingerprint, a.Status, a.Labels, a.Annotations)
		}
	}
	stage("one incident with both alerts")
	if open := amListIncidents(t, c, n, "open", amCheckoutGroupKey); len(open) != 1 {
		t.Fatalf("%d open incidents for the group", len(open))
	}

	// The payments alert: its own group, service payments, sev3.
	const paymentsGroupKey = `{}:{alertname="QueueBacklog", service="payments"}`
	pay := amAwaitGroup(t, c, n, paymentsGroupKey, "the payments incident", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 1
	})[0]
	if pay.Service != "payments" || pay.Severity != "sev3" || pay.Status != incident.Triggered || pay.ID == first.ID {
		t.Fatalf("payments incident: %s", amDescribe(pay))
	}

	// A group of three alerts with max_alerts: 2: Alertmanager sends two and
	// truncatedAlerts: 1. The incident holds the two it was told about, the
	// third never appears, and ending all three resolves it.
	disk := func(instance string) []string {
		return []string{"alertname=DiskFull", "service=checkout", "instance=" + instance, "severity=warning"}
	}
	const diskGroupKey = `{}:{alertname="DiskFull", service="checkout"}`
	for _, inst := range []string{"db-1", "db-2", "db-3"} {
		amtool(disk(inst)...)
	}
	am.fingerprintsOf(t, "DiskFull", 3)
	amAwaitGroup(t, c, n, diskGroupKey, "the disk incident with 2 alerts", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 2
	})
	amBarrier(t, c, n)
	diskInc := amListIncidents(t, c, n, "all", diskGroupKey)
	if len(diskInc) != 1 || diskInc[0].AlertCount != 2 || diskInc[0].Severity != "sev3" || diskInc[0].Status != incident.Triggered {
		t.Fatalf("truncated group: %s", amDescribeAll(diskInc))
	}
	stage("truncated group holds 2 alerts")

	// End both checkout alerts: Alertmanager sends the group as resolved.
	ended := "--end=" + time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	amtool(append(checkout("web-1"), ended)...)
	amtool(append(checkout("web-2"), ended)...)
	for _, inst := range []string{"db-1", "db-2", "db-3"} {
		amtool(append(disk(inst), ended)...)
	}
	amAwaitGroup(t, c, n, amCheckoutGroupKey, "the incident resolved by Alertmanager", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].Status == incident.Resolved
	})
	stage("resolved by Alertmanager")
	resolved := amGetIncident(t, c, n, first.ID)
	if resolved.ResolvedBy != "alertmanager:prometheus" || amCountEntries(resolved, incident.EntryResolved) != 1 {
		t.Fatalf("not resolved by the source: %s timeline %v", amDescribe(resolved), resolved.Timeline)
	}
	for _, a := range resolved.Alerts {
		if a.Status != "resolved" {
			t.Errorf("alert %s still %s after the group resolved", a.Fingerprint, a.Status)
		}
	}

	diskInc = amAwaitGroup(t, c, n, diskGroupKey, "the disk incident resolved", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].Status == incident.Resolved
	})
	if diskInc[0].AlertCount != 2 {
		t.Fatalf("truncated group after resolution: %s", amDescribe(diskInc[0]))
	}

	// The group fires again: a new incident for the same group key.
	start := "--start=" + time.Now().UTC().Format(time.RFC3339)
	amtool(append(checkout("web-1"), start)...)
	amtool(append(checkout("web-2"), start)...)
	incs = amAwaitGroup(t, c, n, amCheckoutGroupKey, "a new incident with both alerts", func(incs []*incident.Incident) bool {
		return len(incs) == 2 && incs[0].Status == incident.Triggered && incs[0].AlertCount == 2
	})
	stage("new incident after firing again")
	second := amGetIncident(t, c, n, incs[0].ID) // list items carry no alerts
	got = amFingerprints(second)
	slices.Sort(got)
	if second.ID == first.ID || second.DedupKey != amCheckoutGroupKey || second.Severity != "sev1" || !slices.Equal(got, wantFPs) {
		t.Fatalf("new incident: %s", amDescribe(second))
	}
	if again := amGetIncident(t, c, n, first.ID); again.Status != incident.Resolved || len(again.Timeline) != len(resolved.Timeline) {
		t.Fatalf("the first incident changed after it was resolved: %s", amDescribe(again))
	}
	// The payments incident was never touched by the checkout group.
	if p := amGetIncident(t, c, n, pay.ID); p.Status != incident.Triggered || p.AlertCount != 1 {
		t.Fatalf("payments incident: %s", amDescribe(p))
	}
}

// amRequirePeerBinary finds a binary the test needs. A missing peer is a failure,
// not a skip: the test would otherwise pass while proving nothing.
func amRequirePeerBinary(t testing.TB, name string) string {
	t.Helper()
	if p := "/usr/bin/" + name; amIsExecutable(p) {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	pkg := "prometheus-alertmanager" // provides /usr/bin/prometheus-alertmanager and /usr/bin/amtool
	if name == "prometheus" {
		pkg = "prometheus"
	}
	t.Fatalf("%s is not installed. This test runs the real peer: run the repository's test "+
		"command (scripts/test), which installs it, or install it yourself with `apt-get install %s`", name, pkg)
	return ""
}

func amIsExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

type amDaemon struct {
	url string
	// kill stops the daemon (SIGKILL) and waits for it to exit.
	kill func()
}

// amStartAlertmanager runs Alertmanager with one webhook receiver and waits
// until it is ready. It is killed when the test ends; its log is printed if the
// test failed.
func amStartAlertmanager(t testing.TB, bin, webhookURL string) *amDaemon {
	t.Helper()
	cfg := fmt.Sprintf(`route:
  receiver: pagerd
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: pagerd
    webhook_configs:
      - url: %q
        send_resolved: true
        max_alerts: 2
        http_config:
          authorization:
            type: Bearer
            credentials: %q
`, webhookURL, testcluster.PrometheusKey)
	return amStartAlertmanagerConfig(t, bin, testcluster.FreePort(t), cfg)
}

// amStartAlertmanagerConfig runs Alertmanager on addr with the config text
// cfg, its external URL set to http://addr, and waits until it is ready.
func amStartAlertmanagerConfig(t testing.TB, bin, addr, cfg string) *amDaemon {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "alertmanager.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfgPath, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--web.external-url=http://"+addr, "--cluster.listen-address=", "--log.level=debug")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start alertmanager: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- alertmanager log ---\n%s\n--- alertmanager config ---\n%s", b, cfg)
		}
	})

	am := &amDaemon{url: "http://" + addr, kill: func() { cmd.Process.Kill(); <-exited }}
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("alertmanager exited during startup:\n%s", b)
		default:
		}
		resp, err := http.Get(am.url + "/-/ready")
		if err != nil {
			return false, "alertmanager /-/ready: " + err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("alertmanager /-/ready: %d", resp.StatusCode)
	})
	return am
}

// fingerprintsOf returns Alertmanager's fingerprint of each alert of that name,
// by instance label, once its API lists `want` of them.
func (am *amDaemon) fingerprintsOf(t testing.TB, alertname string, want int) map[string]string {
	t.Helper()
	fps := map[string]string{}
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		resp, err := http.Get(am.url + "/api/v2/alerts?filter=" + "alertname%3D%22" + alertname + "%22")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var alerts []struct {
			Fingerprint string            `json:"fingerprint"`
			Labels      map[string]string `json:"labels"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
			return false, "decode /api/v2/alerts: " + err.Error()
		}
		for _, a := range alerts {
			fps[a.Labels["instance"]] = a.Fingerprint
		}
		return len(fps) >= want, fmt.Sprintf("alertmanager lists %v", fps)
	})
	return fps
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestPrometheusAlertmanagerEndToEnd runs a real Prometheus (Debian's 2.42)
// evaluating rules every second, a real Alertmanager (0.25) with both receiver
// styles as the README documents them, and a real pagerd node with --dev:
//
//   - CheckoutErrors fires per flag the test serves as a metric, and resolves
//     when the flag drops; Alertmanager sends it through webhook_configs.
//   - PaymentsDown (vector(1)) always fires; Alertmanager sends it through
//     pagerduty_configs with the README's severity and details. Flag p adds
//     a second PaymentsDown alert to the group.
//
// It checks severity, labels, Prometheus' generatorURL in the incident and in
// the emailed page, grouping, resolution by the source, and that the resolved
// alerts Prometheus keeps re-sending do not join the group's next incident.
func TestPrometheusAlertmanagerEndToEnd(t *testing.T) {
	promBin := amRequirePeerBinary(t, "prometheus")
	amBin := amRequirePeerBinary(t, "prometheus-alertmanager")

	c := testcluster.Start(t, 1, testcluster.Options{Config: prConfig, ExtraArgs: []string{"--dev"}})
	n := c.Nodes[0]
	hook := prStartRecordingProxy(t, n.URL())
	flags := prStartFlags(t)
	amAddr := testcluster.FreePort(t)
	amStartAlertmanagerConfig(t, amBin, amAddr, fmt.Sprintf(prAlertmanagerConfig,
		hook.url+"/v1/ingest/alertmanager", testcluster.PrometheusKey, testcluster.EventsKey, n.URL()+"/v2/enqueue"))
	promURL := prStartPrometheus(t, promBin, amAddr, flags.addr)

	began := time.Now()
	stage := func(what string) { t.Logf("%6.1fs %s", time.Since(began).Seconds(), what) }

	// 1. Grouping, severity, labels, links: flags a and b fire one incident.
	flags.set("a", 1)
	flags.set("b", 1)
	first := amAwaitGroup(t, c, n, prCheckoutGroupKey, "one incident with alerts a and b", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].AlertCount == 2
	})[0]
	first = amGetIncident(t, c, n, first.ID)
	stage("a and b grouped into " + first.Key)
	if first.Severity != "sev1" || first.Service != "checkout" || first.Status != incident.Triggered {
		t.Fatalf("first incident: %s", amDescribe(first))
	}
	if got := prFlagsOf(first); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("first incident holds flags %v", got)
	}
	graph := promURL + "/graph?g0.expr=e2e_flag+%3D%3D+1"
	for _, a := range first.Alerts {
		if a.Labels["alertname"] != "CheckoutErrors" || a.Labels["severity"] != "critical" || a.Labels["job"] != "flags" || a.Severity != "sev1" {
			t.Errorf("alert %s: labels %v severity %s", a.Fingerprint, a.Labels, a.Severity)
		}
		if !strings.HasPrefix(a.GeneratorURL, graph) {
			t.Errorf("alert %s: generator_url %q, want Prometheus' %s...", a.Fingerprint, a.GeneratorURL, graph)
		}
		if !strings.HasPrefix(a.SilenceURL, "http://"+amAddr+"/#/silences/new?filter=%7Balertname%3D%22CheckoutErrors%22") {
			t.Errorf("alert %s: silence_url %q", a.Fingerprint, a.SilenceURL)
		}
	}
	page := prAwaitEmail(t, c, n, first.Key)
	if !strings.Contains(page.Body, "  Graph: "+graph) || !strings.Contains(page.Body, "  Silence: http://"+amAddr+"/#/silences/new") ||
		!strings.Contains(page.Body, "Alerts: 2 alerts") {
		t.Errorf("page of %s lacks the graph or silence link or the count:\n%s", first.Key, page.Body)
	}

	// 2. pagerduty_configs: PaymentsDown's severity and labels, not
	// PagerDuty's defaults, and its graph link.
	pay := prAwaitService(t, c, n, "payments")
	stage("PaymentsDown through pagerduty_configs: " + pay.Key)
	pa := pay.Alerts[0]
	if pay.Severity != "sev1" || pay.Source != incident.SourceEvents || pa.Labels["alertname"] != "PaymentsDown" ||
		pa.Labels["service"] != "payments" || pa.Labels["severity"] != "critical" {
		t.Errorf("payments incident: %s labels %v", amDescribe(pay), pa.Labels)
	}
	if !strings.HasPrefix(pa.GeneratorURL, promURL+"/graph?g0.expr=vector%281%29") {
		t.Errorf("payments generator_url %q", pa.GeneratorURL)
	}
	if !strings.HasPrefix(pay.Title, "[FIRING:1] PaymentsDown") {
		t.Errorf("payments title %q", pay.Title)
	}
	if p := prAwaitEmail(t, c, n, pay.Key); !strings.Contains(p.Body, "  Graph: "+promURL+"/graph?g0.expr=vector%281%29") {
		t.Errorf("payments page lacks the graph link:\n%s", p.Body)
	}
	// The group grows (flag p): the same incident, its title now counting two.
	flags.set("p", 1)
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := amGetIncident(t, c, n, pay.ID)
		return strings.HasPrefix(inc.Title, "[FIRING:2] PaymentsDown"), "payments title " + inc.Title
	})
	var l amIncidentList
	if code := c.GetJSON(n, "/v1/incidents?status=all&service=payments", &l); code != http.StatusOK || len(l.Incidents) != 1 {
		t.Errorf("payments incidents after the group grew: %d %s", code, amDescribeAll(l.Incidents))
	}
	stage("payments title follows the grown group")

	// 3. Resolve: both flags drop, Alertmanager sends the group resolved.
	flags.set("a", 0)
	flags.set("b", 0)
	amAwaitGroup(t, c, n, prCheckoutGroupKey, "the incident resolved by Alertmanager", func(incs []*incident.Incident) bool {
		return len(incs) == 1 && incs[0].Status == incident.Resolved
	})
	stage(first.Key + " resolved by the source")
	if r := amGetIncident(t, c, n, first.ID); r.ResolvedBy != "alertmanager:prometheus" {
		t.Fatalf("resolved by %q", r.ResolvedBy)
	}

	// 4. Flag c fires. Prometheus keeps re-sending a and b as resolved, so
	// Alertmanager lists them in the group's next notifications next to c.
	// Wait until pagerd has accepted such a notification; the new incident
	// must hold c alone.
	flags.set("c", 1)
	stale := hook.await(t, "a notification listing c firing with a or b resolved", func(m prWebhook) bool {
		return m.GroupKey == prCheckoutGroupKey && m.has("c", "firing") && (m.has("a", "resolved") || m.has("b", "resolved"))
	})
	stage(fmt.Sprintf("Alertmanager sent c with stale resolved alerts: %s", stale.describe()))
	incs := amAwaitGroup(t, c, n, prCheckoutGroupKey, "a second incident", func(incs []*incident.Incident) bool {
		return len(incs) == 2 && incs[0].Status == incident.Triggered
	})
	second := amGetIncident(t, c, n, incs[0].ID)
	if got := prFlagsOf(second); !slices.Equal(got, []string{"c"}) || second.AlertCount != 1 {
		t.Fatalf("second incident holds flags %v (alert_count %d), want only c: %s", got, second.AlertCount, amDescribe(second))
	}
	if p := prAwaitEmail(t, c, n, second.Key); !strings.Contains(p.Body, "Alerts: 1 alert\n") {
		t.Errorf("page of %s:\n%s", second.Key, p.Body)
	}
	if old := amGetIncident(t, c, n, first.ID); old.Status != incident.Resolved || old.AlertCount != 2 {
		t.Errorf("first incident changed: %s", amDescribe(old))
	}
	stage(second.Key + " holds c alone")
}

// prCheckoutGroupKey is Alertmanager's group key of CheckoutErrors: the
// root route's child for the webhook receiver, grouped by alertname and service.
const prCheckoutGroupKey = `{}/{service="checkout"}:{alertname="CheckoutErrors", service="checkout"}`

const prConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, notify: [{via: email, after: 0m}]}
rotations:
  - {id: primary, participants: [alice], shift: 1w, start: "2026-01-05 09:00"}
schedules:
  - {id: web, layers: [primary]}
policies:
  - id: page-oncall
    steps:
      - {notify: [schedule:web], escalate_after: 1h}
services:
  - {id: checkout, name: Checkout API, policy: page-oncall}
  - {id: payments, name: Payments, policy: page-oncall}
integrations:
  - name: prometheus
    key: "test-prometheus-key"
    routes:
      - {matchers: ['service="checkout"'], service: checkout}
  - name: events
    key: "test-events-key"
    routes:
      - {matchers: ['service="payments"'], service: payments}
severity:
  label: severity
  map: {critical: sev1, error: sev2, warning: sev3}
  default: sev2
channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@pager.example.com"}
  flood_control: {max: 100, per: 1s}
`

// prAlertmanagerConfig: both receivers exactly as the README shows them.
// Arguments: webhook URL, Prometheus integration key, Events key, enqueue URL.
const prAlertmanagerConfig = `route:
  receiver: blackhole
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - matchers: ['service="checkout"']
      receiver: pagerd
    - matchers: ['service="payments"']
      receiver: pagerd-events
receivers:
  - name: blackhole
  - name: pagerd
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %q
  - name: pagerd-events
    pagerduty_configs:
      - routing_key: %q
        url: %q
        severity: '{{ .CommonLabels.severity }}'
        details:
          alertname: '{{ .CommonLabels.alertname }}'
          service: '{{ .CommonLabels.service }}'
          severity: '{{ .CommonLabels.severity }}'
`

// Rules evaluated every second. CheckoutErrors fires for each flag set to 1.
const prRules = `groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: CheckoutErrors
        expr: e2e_flag == 1
        labels: {service: checkout, severity: critical}
        annotations: {summary: 'checkout errors ({{ $labels.flag }})'}
      - alert: PaymentsDown
        expr: vector(1)
        labels: {service: payments, severity: critical}
        annotations: {summary: payments down}
      - alert: PaymentsDown
        expr: e2e_payments_flag == 1
        labels: {service: payments, severity: critical}
        annotations: {summary: payments down}
`

// prStartPrometheus runs Prometheus scraping the flags target and sending to
// Alertmanager, with every interval at one second and resolved alerts re-sent
// on every evaluation (--rules.alert.resend-delay), and returns its URL once
// it is ready and has the flags target up.
func prStartPrometheus(t *testing.T, bin, amAddr, flagsAddr string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs: [{targets: [%q]}]
scrape_configs:
  - job_name: flags
    static_configs: [{targets: [%q]}]
`, amAddr, flagsAddr)
	for name, text := range map[string]string{"prometheus.yml": cfg, "rules.yml": prRules} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	addr := testcluster.FreePort(t)
	promURL := "http://" + addr
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr,
		"--web.external-url="+promURL, "--rules.alert.resend-delay=500ms")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("--- prometheus log ---\n%s", b)
		}
	})
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("prometheus exited during startup:\n%s", b)
		default:
		}
		resp, err := http.Get(promURL + "/-/ready")
		if err != nil {
			return false, "prometheus /-/ready: " + err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("prometheus /-/ready: %d", resp.StatusCode)
	})
	return promURL
}

// prFlags serves the metrics e2e_flag{flag="a|b|c"} that CheckoutErrors is
// evaluated on and e2e_payments_flag (flag "p") for the second PaymentsDown
// alert; set flips a flag.
type prFlags struct {
	addr string
	mu   sync.Mutex
	vals map[string]int
}

func prStartFlags(t *testing.T) *prFlags {
	t.Helper()
	f := &prFlags{vals: map[string]int{"a": 0, "b": 0, "c": 0, "p": 0}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "# TYPE e2e_flag gauge")
		for _, k := range []string{"a", "b", "c"} {
			fmt.Fprintf(w, "e2e_flag{flag=%q} %d\n", k, f.vals[k])
		}
		fmt.Fprintf(w, "# TYPE e2e_payments_flag gauge\ne2e_payments_flag %d\n", f.vals["p"])
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *prFlags) set(flag string, v int) {
	f.mu.Lock()
	f.vals[flag] = v
	f.mu.Unlock()
}

// prWebhook is what the test reads of an Alertmanager webhook body.
type prWebhook struct {
	GroupKey string `json:"groupKey"`
	Status   string `json:"status"`
	Alerts   []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

func (m prWebhook) has(flag, status string) bool {
	for _, a := range m.Alerts {
		if a.Labels["flag"] == flag && a.Status == status {
			return true
		}
	}
	return false
}

func (m prWebhook) describe() string {
	var parts []string
	for _, a := range m.Alerts {
		parts = append(parts, a.Labels["flag"]+"="+a.Status)
	}
	return m.Status + " [" + strings.Join(parts, " ") + "]"
}

// prProxy sits between Alertmanager and pagerd on the webhook path: it
// forwards each request unchanged to the real node and records the bodies
// the node accepted, so the test can wait for a notification Alertmanager
// really sent (and pagerd committed) before it checks the outcome.
type prProxy struct {
	url      string
	mu       sync.Mutex
	accepted []prWebhook
	count    atomic.Int64
}

func prStartRecordingProxy(t *testing.T, target string) *prProxy {
	t.Helper()
	p := &prProxy{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.url = "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusAccepted {
			var m prWebhook
			if json.Unmarshal(body, &m) == nil {
				p.mu.Lock()
				p.accepted = append(p.accepted, m)
				p.mu.Unlock()
			}
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.WriteHeader(resp.StatusCode)
		w.Write(answer)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return p
}

// await waits for an accepted webhook body that satisfies ok.
func (p *prProxy) await(t *testing.T, what string, ok func(prWebhook) bool) prWebhook {
	t.Helper()
	var found prWebhook
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		var seen []string
		for _, m := range p.accepted {
			if ok(m) {
				found = m
				return true, ""
			}
			seen = append(seen, m.describe())
		}
		return false, fmt.Sprintf("waiting for %s; accepted so far: %v", what, seen)
	})
	return found
}

// prFlagsOf lists the flag label of each alert of an incident, sorted.
func prFlagsOf(inc *incident.Incident) []string {
	var flags []string
	for _, a := range inc.Alerts {
		flags = append(flags, a.Labels["flag"])
	}
	slices.Sort(flags)
	return flags
}

// prAwaitService waits for the first incident of a service and returns it
// with its alerts.
func prAwaitService(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, service string) *incident.Incident {
	t.Helper()
	var found *incident.Incident
	c.WaitFor(30*time.Second, func() (bool, string) {
		var l amIncidentList
		q := url.Values{"status": {"all"}, "service": {service}}
		if code := c.GetJSON(n, "/v1/incidents?"+q.Encode(), &l); code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/incidents: %d", code)
		}
		if len(l.Incidents) == 0 {
			return false, "no incident of service " + service
		}
		found = l.Incidents[len(l.Incidents)-1]
		return true, ""
	})
	return amGetIncident(t, c, n, found.ID)
}

type prMessage struct {
	Channel   string   `json:"channel"`
	Body      string   `json:"body"`
	Incidents []string `json:"incidents"`
}

// prAwaitEmail waits for the email page of an incident in the --dev outbox.
func prAwaitEmail(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, key string) prMessage {
	t.Helper()
	var found prMessage
	c.WaitFor(30*time.Second, func() (bool, string) {
		var box struct {
			Messages []prMessage `json:"messages"`
		}
		if code := c.GetJSON(n, "/dev/outbox?format=json&channel=email", &box); code != http.StatusOK {
			return false, fmt.Sprintf("GET /dev/outbox: %d", code)
		}
		for _, m := range box.Messages {
			if m.Channel == "email" && slices.Equal(m.Incidents, []string{key}) {
				found = m
				return true, ""
			}
		}
		return false, fmt.Sprintf("no email page of %s among %d messages", key, len(box.Messages))
	})
	return found
}

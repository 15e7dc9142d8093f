package router

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

// Bodies captured from a real Alertmanager 0.25 (the Debian package)
// pagerduty_configs receiver: "default" is the receiver with only a
// routing_key and url, "recommended" the README's, with severity
// '{{ .CommonLabels.severity }}' and details carrying alertname and service.
// The alerts are labelled severity=critical, service=checkout.
const pdFixtures = "testdata/pagerduty"

// pdFixture reads a captured body and puts routingKey in it.
func pdFixture(t testing.TB, name, routingKey string, edit func(m map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pdFixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["routing_key"] = routingKey
	if edit != nil {
		edit(m)
	}
	out, _ := json.Marshal(m)
	return string(out)
}

// TestAlertmanagerEventTakesItsSeverityAndLabels: Alertmanager's
// pagerduty_configs sends severity "error" unless configured, which made a
// severity=critical alert sev2 with labels only as text in custom_details.
// pagerd now takes the alerts' severity and labels, and routes on them.
func TestAlertmanagerEventTakesItsSeverityAndLabels(t *testing.T) {
	for _, name := range []string{"default-firing-1.json", "recommended-firing-1.json"} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			// The prometheus integration routes on service="checkout".
			w := e.do("POST", PathEvents, pdFixture(t, name, promKey, nil))
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			got := e.sub.events[0]
			a := got.Alert
			if got.RulesVersion != incident.RulesCurrent {
				t.Errorf("rules_version %d", got.RulesVersion)
			}
			if got.Service != "checkout" {
				t.Errorf("routed to %q, want checkout (by the alerts' service label)", got.Service)
			}
			if a.Severity != "sev1" {
				t.Errorf("severity %q, want sev1 from severity=critical", a.Severity)
			}
			for k, v := range map[string]string{"alertname": "HighErrorRate", "service": "checkout", "instance": "web-1", "severity": "critical"} {
				if a.Labels[k] != v {
					t.Errorf("label %s=%q, want %q (labels %v)", k, a.Labels[k], v, a.Labels)
				}
			}
			if a.Annotations["summary"] != "[FIRING:1] HighErrorRate checkout (web-1 critical)" {
				t.Errorf("summary %q", a.Annotations["summary"])
			}
			if a.GeneratorURL != "http://prom:9090/graph?g0.expr=up" {
				t.Errorf("generator_url %q", a.GeneratorURL)
			}
			if !strings.HasPrefix(a.SilenceURL, "http://vm:18762/#/silences/new?filter=%7Balertname%3D%22HighErrorRate%22") {
				t.Errorf("silence_url %q", a.SilenceURL)
			}
		})
	}
}

// TestAlertmanagerEventGrownGroup: with two alerts the labels are those the
// alerts share (instance differs and is left out), the graph link is the
// first alert's, and the summary counts both.
func TestAlertmanagerEventGrownGroup(t *testing.T) {
	table, err := Compile(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	evr, err := DecodeEvent([]byte(pdFixture(t, "default-firing-2.json", promKey, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := evr.Validate(); err != nil {
		t.Fatal(err)
	}
	a := table.BuildEvent(evr, "prometheus", "checkout", evr.DedupKey).Alert
	if _, ok := a.Labels["instance"]; ok || a.Labels["service"] != "checkout" || a.Severity != "sev1" {
		t.Errorf("labels %v severity %s", a.Labels, a.Severity)
	}
	if a.GeneratorURL != "http://prom:9090/graph?g0.expr=up" || !strings.HasPrefix(a.Annotations["summary"], "[FIRING:2]") {
		t.Errorf("generator_url %q summary %q", a.GeneratorURL, a.Annotations["summary"])
	}
}

// TestAlertmanagerEventSeverityFallbacks: without a severity label the
// event's own severity counts; an empty or non-PagerDuty severity (the
// README's template renders empty when a group's severities differ) is
// accepted from Alertmanager only.
func TestAlertmanagerEventSeverityFallbacks(t *testing.T) {
	e := newEnv(t)
	noSeverityLabel := func(sev string) func(m map[string]any) {
		return func(m map[string]any) {
			p := m["payload"].(map[string]any)
			p["severity"] = sev
			cd := p["custom_details"].(map[string]any)
			cd["firing"] = strings.ReplaceAll(cd["firing"].(string), " - severity = critical\n", "")
		}
	}
	cases := []struct {
		sev, want string
	}{{"warning", "sev3"}, {"", "sev2"}, {"page", "sev1"}, {"unmapped", "sev2"}}
	for _, c := range cases {
		w := e.do("POST", PathEvents, pdFixture(t, "default-firing-1.json", directKey, noSeverityLabel(c.sev)))
		if w.Code != http.StatusAccepted {
			t.Fatalf("severity %q: status %d: %s", c.sev, w.Code, w.Body)
		}
		if got := e.sub.events[len(e.sub.events)-1].Alert.Severity; got != c.want {
			t.Errorf("severity %q: got %s, want %s", c.sev, got, c.want)
		}
	}
	// Not from Alertmanager: the severity is still required.
	notAM := pdFixture(t, "default-firing-1.json", directKey, func(m map[string]any) {
		m["client"] = "Grafana"
		m["payload"].(map[string]any)["severity"] = ""
	})
	if w := e.do("POST", PathEvents, notAM); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "payload.severity: required") {
		t.Errorf("non-Alertmanager event without severity: %d %s", w.Code, w.Body)
	}
}

// TestParseAlertList reads Alertmanager 0.25's text alert list, including a
// multi-line annotation and an alert without a source, and newer
// Alertmanagers' JSON array.
func TestParseAlertList(t *testing.T) {
	text := "Labels:\n - alertname = A\n - instance = x = y\nAnnotations:\n - description = line one\nline two\n - summary = s\nSource: http://p/graph\n" +
		"Labels:\n - alertname = B\nAnnotations:\nSource: \n"
	got := parseAlertList(text)
	if len(got) != 2 {
		t.Fatalf("%d alerts: %+v", len(got), got)
	}
	if got[0].Labels["instance"] != "x = y" || got[0].Annotations["description"] != "line one\nline two" ||
		got[0].Annotations["summary"] != "s" || got[0].GeneratorURL != "http://p/graph" {
		t.Errorf("first alert %+v", got[0])
	}
	if got[1].Labels["alertname"] != "B" || got[1].GeneratorURL != "" || len(got[1].Annotations) != 0 {
		t.Errorf("second alert %+v", got[1])
	}
	arr := parseFiring(json.RawMessage(`[{"labels":{"alertname":"A"},"annotations":{},"generatorURL":"http://p/g"}]`))
	if len(arr) != 1 || arr[0].Labels["alertname"] != "A" || arr[0].GeneratorURL != "http://p/g" {
		t.Errorf("JSON list %+v", arr)
	}
}

package router

import (
	"encoding/json"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	// Test-only import: the upstream type the local AlertmanagerMessage copies.
	// A _test.go import is not linked into the pagerd binary.
	"github.com/prometheus/alertmanager/notify/webhook"
	"github.com/prometheus/alertmanager/template"
)

// TestAlertmanagerMessageMatchesUpstream: a body encoded from Alertmanager's
// own webhook.Message decodes into the local type with every field, and the
// local type encodes to the same JSON object (less the fields pagerd does not
// use), so the copy is the same wire format.
func TestAlertmanagerMessageMatchesUpstream(t *testing.T) {
	at := time.Date(2026, 11, 21, 11, 32, 4, 429221975, time.UTC)
	up := webhook.Message{
		Data: &template.Data{
			Receiver: "pagerd", Status: "firing",
			Alerts: template.Alerts{{
				Status: "firing", Labels: template.KV{"alertname": "A", "service": "checkout"},
				Annotations: template.KV{"summary": "s"}, StartsAt: at, EndsAt: at.Add(time.Hour),
				GeneratorURL: "http://prom:9090/graph?g0.expr=up", Fingerprint: "0123456789abcdef",
			}},
			GroupLabels:       template.KV{"alertname": "A"},
			CommonLabels:      template.KV{"alertname": "A", "service": "checkout"},
			CommonAnnotations: template.KV{"summary": "s"},
			ExternalURL:       "http://am:9093",
		},
		Version: "4", GroupKey: `{}:{alertname="A"}`, TruncatedAlerts: 3,
	}
	body, err := json.Marshal(up)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := DecodeAlertmanager(body)
	if err != nil {
		t.Fatal(err)
	}
	if msg.ExternalURL != "http://am:9093" || msg.TruncatedAlerts != 3 || msg.Receiver != "pagerd" ||
		msg.Alerts[0].GeneratorURL != "http://prom:9090/graph?g0.expr=up" || !msg.Alerts[0].EndsAt.Equal(at.Add(time.Hour)) {
		t.Fatalf("decoded %+v", msg)
	}
	var upObj, localObj map[string]any
	local, _ := json.Marshal(msg)
	if err := json.Unmarshal(body, &upObj); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(local, &localObj); err != nil {
		t.Fatal(err)
	}
	// Fields newer Alertmanagers add and pagerd has no use for (unknown keys
	// are ignored when decoding, see DESIGN.md).
	delete(upObj, "notification_reason")
	delete(upObj, "routeLabels")
	if !reflect.DeepEqual(upObj, localObj) {
		t.Fatalf("JSON shapes differ:\nupstream %s\nlocal    %s", body, local)
	}
}

// TestRouterLinksNoAlertmanagerNotifier: the router must not pull
// Alertmanager's notifier packages (and with them OpenTelemetry, gRPC and
// Kafka) into the binary; it did when it decoded into webhook.Message.
func TestRouterLinksNoAlertmanagerNotifier(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "github.com/prometheus/alertmanager/notify") ||
			strings.HasPrefix(pkg, "github.com/prometheus/alertmanager/template") ||
			strings.HasPrefix(pkg, "go.opentelemetry.io/") || strings.HasPrefix(pkg, "google.golang.org/grpc") {
			t.Errorf("router links %s", pkg)
		}
	}
}

package router

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/pagerd/pagerd/incident"
)

func seedFixtures(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(fixtureDir, "*.json"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkInputError: every decode/validate failure is a described InputError,
// never some other error the handler would turn into a 500.
func checkInputError(t *testing.T, err error) {
	var ie *InputError
	if !errors.As(err, &ie) || ie.Error() == "" {
		t.Fatalf("error %v (%T) is not a described *InputError", err, err)
	}
}

func FuzzDecodeAlertmanager(f *testing.F) {
	seedFixtures(f)
	f.Add([]byte(`{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"}}]}`))
	f.Add([]byte(`{"version":"4","status":"resolved","groupKey":"g","alerts":[{"status":"resolved","labels":{"service":"checkout"},"startsAt":"x"}]}`))
	f.Add([]byte(`{"alerts":[1,{"labels":5}]}`))
	f.Add([]byte("{\n\"version\":"))
	table, err := Compile(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		msg, err := DecodeAlertmanager(body)
		if err != nil {
			checkInputError(t, err)
			return
		}
		for _, in := range table.integrations {
			var lset map[string]string
			if in.usesLabels() {
				lset = alertRoutingLabels(msg)
			}
			svc, err := in.route(lset)
			if err != nil {
				checkInputError(t, err)
				continue
			}
			g := table.BuildAlertGroup(msg, in.name, svc)
			checkGroup(t, g)
		}
	})
}

func checkGroup(t *testing.T, g *incident.AlertGroup) {
	if g.GroupKey == "" || (g.Status != "firing" && g.Status != "resolved") || len(g.Alerts) == 0 || g.Truncated < 0 {
		t.Fatalf("invalid group accepted: %+v", g)
	}
	for _, a := range g.Alerts {
		if a.Fingerprint == "" || len(a.Labels) == 0 || a.Severity == "" || a.Annotations == nil {
			t.Fatalf("invalid alert accepted: %+v", a)
		}
	}
	if _, err := json.Marshal(g); err != nil {
		t.Fatalf("group does not marshal: %v", err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"routing_key":"` + promKey + `","event_action":"trigger","payload":` + goodPayload + `}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"s","source":"x","severity":"info","custom_details":{"team":"web"}},"links":[{}],"images":[]}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"acknowledge","payload":null}`))
	f.Add([]byte(`{"routing_key":"k","payload":{"x":1}}`))
	f.Add([]byte("{\n\"payload\": {"))
	// Alertmanager's pagerduty_configs (0.25: details as text; later: JSON).
	for _, name := range []string{"default-firing-2.json", "recommended-firing-1.json"} {
		b, err := os.ReadFile(filepath.Join(pdFixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","client":"Alertmanager","payload":{"summary":"s","source":"x","severity":"",` +
		`"custom_details":{"firing":[{"labels":{"service":"checkout"},"generatorURL":"http://p/g"}],"team":"web"}}}`))
	table, err := Compile(testConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		if err != nil {
			checkInputError(t, err)
			return
		}
		if err := ev.Validate(); err != nil {
			checkInputError(t, err)
			return
		}
		for _, in := range table.integrations {
			var lset map[string]string
			if in.usesLabels() {
				lset = eventRoutingLabels(ev)
			}
			svc, err := in.route(lset)
			if err != nil {
				checkInputError(t, err)
				continue
			}
			key := ev.DedupKey
			if key == "" {
				key = "generated"
			}
			checkEvent(t, ev, table.BuildEvent(ev, in.name, svc, key))
		}
	})
}

func checkEvent(t *testing.T, ev *EventRequest, e *incident.Event) {
	if e.DedupKey == "" || e.Action != ev.EventAction {
		t.Fatalf("bad event %+v", e)
	}
	if e.Action == incident.ActionTrigger {
		a := e.Alert
		if a.Fingerprint != e.DedupKey || a.Severity == "" || a.Annotations["summary"] == "" || a.Labels["source"] == "" {
			t.Fatalf("bad trigger alert %+v", a)
		}
		if utf8.RuneCountInString(a.Annotations["summary"]) > maxSummaryRunes {
			t.Fatalf("summary over limit accepted")
		}
	}
	if _, err := json.Marshal(e); err != nil {
		t.Fatalf("event does not marshal: %v", err)
	}
}

// FuzzParseAlertList fuzzes the reader of Alertmanager's text alert list
// (custom_details.firing of its pagerduty_configs): no panics, and every
// alert it returns has label and annotation maps.
func FuzzParseAlertList(f *testing.F) {
	f.Add("Labels:\n - alertname = A\n - instance = web-1\nAnnotations:\n - summary = s\nmore\nSource: http://p/g\n")
	f.Add("Labels:\nAnnotations:\nSource: \nLabels:\n - a = b = c\n")
	f.Add("garbage\n - x = y\nSource:")
	f.Fuzz(func(t *testing.T, text string) {
		for _, a := range parseAlertList(text) {
			if a.Labels == nil || a.Annotations == nil {
				t.Fatalf("alert without maps: %+v", a)
			}
		}
	})
}

package router

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// ev builds an Events v2 body; extra is spliced into the top-level object.
func ev(key, action, dedup, payload, extra string) string {
	var parts []string
	if key != "" {
		parts = append(parts, `"routing_key":"`+key+`"`)
	}
	if action != "" {
		parts = append(parts, `"event_action":"`+action+`"`)
	}
	if dedup != "" {
		parts = append(parts, `"dedup_key":"`+dedup+`"`)
	}
	if payload != "" {
		parts = append(parts, `"payload":`+payload)
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

const goodPayload = `{"summary":"DB down","source":"db-1","severity":"critical","timestamp":"2026-11-21T12:00:00+01:00",` +
	`"component":"postgres","group":"prod","class":"disk","custom_details":{"free":"0%", "nested":{"a":[1,2]}}}`

func accepted(t *testing.T, body []byte) string {
	t.Helper()
	var b struct {
		Status   string `json:"status"`
		Message  string `json:"message"`
		DedupKey string `json:"dedup_key"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if b.Status != "success" || b.Message != "Event processed" || b.DedupKey == "" {
		t.Fatalf("202 body %s", body)
	}
	return b.DedupKey
}

func TestEventTriggerWithDedupKey(t *testing.T) {
	e := newEnv(t)
	w := e.do("POST", PathEvents, ev(promKey, "trigger", "db-1/disk", goodPayload, `"client":"nagios","client_url":"https://nagios/x","links":[{"href":"https://a"}],"images":[]`))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if k := accepted(t, w.Body.Bytes()); k != "db-1/disk" {
		t.Errorf("dedup_key %q", k)
	}
	got := e.sub.events[0]
	want := incident.Alert{
		Fingerprint: "db-1/disk",
		Status:      "firing",
		Labels:      map[string]string{"source": "db-1", "component": "postgres", "group": "prod", "class": "disk", "severity": "critical"},
		Annotations: map[string]string{
			"summary":        "DB down",
			"custom_details": `{"free":"0%","nested":{"a":[1,2]}}`,
			"client":         "nagios",
			"client_url":     "https://nagios/x",
		},
		StartsAt: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC),
		Severity: "sev1",
	}
	if got.Integration != "prometheus" || got.Service != "checkout" || got.Action != "trigger" || got.DedupKey != "db-1/disk" || !got.AutoResolve {
		t.Errorf("event %+v", got)
	}
	a, _ := json.Marshal(got.Alert)
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("alert\n got %s\nwant %s", a, b)
	}
}

func TestEventTriggerGeneratesDedupKey(t *testing.T) {
	e := newEnv(t)
	w := e.do("POST", PathEvents, ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"info","timestamp":"not a time"}`, ""))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	k := accepted(t, w.Body.Bytes())
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(k) {
		t.Errorf("generated key %q is not 128 bits of hex", k)
	}
	got := e.sub.events[0]
	if got.DedupKey != k || got.Alert.Fingerprint != k || got.Service != "web" || got.AutoResolve {
		t.Errorf("event %+v", got)
	}
	if got.Alert.Severity != "sev3" || !got.Alert.StartsAt.IsZero() {
		t.Errorf("info without map entry → %q; bad timestamp → %v", got.Alert.Severity, got.Alert.StartsAt)
	}
	// A second trigger gets a different key.
	w = e.do("POST", PathEvents, ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"info"}`, ""))
	if k2 := accepted(t, w.Body.Bytes()); k2 == k {
		t.Error("same generated key twice")
	}
}

func TestEventAckResolve(t *testing.T) {
	for _, action := range []string{"acknowledge", "resolve"} {
		t.Run(action, func(t *testing.T) {
			e := newEnv(t)
			w := e.do("POST", PathEvents, ev(directKey, action, "k1", "", ""))
			if w.Code != http.StatusAccepted || accepted(t, w.Body.Bytes()) != "k1" {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			got := e.sub.events[0]
			if got.Action != action || got.DedupKey != "k1" || got.Service != "web" || got.Alert.Fingerprint != "" || got.Alert.Labels != nil {
				t.Errorf("event %+v", got)
			}
			// Without a dedup_key there is nothing to act on.
			w = e.do("POST", PathEvents, ev(directKey, action, "", "", ""))
			if w.Code != 400 || errorOf(t, w) != "dedup_key: required for "+action {
				t.Errorf("no key: %d %s", w.Code, w.Body)
			}
			if len(e.sub.events) != 1 {
				t.Error("submitter called for invalid event")
			}
		})
	}
}

func TestEventRoutesOnDetails(t *testing.T) {
	e := newEnv(t)
	w := e.do("POST", PathEvents, ev(promKey, "trigger", "", `{"summary":"s","source":"lb","severity":"warning","custom_details":{"team":"frontend","n":3}}`, ""))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := e.sub.events[0]; got.Service != "web" || got.Alert.Severity != "sev3" || got.Alert.Labels["details_team"] != "" {
		t.Errorf("event %+v", got)
	}
}

func TestEventSeverityMap(t *testing.T) {
	e := newEnv(t)
	e.cfg.Severity.Map = map[string]string{"critical": "sev2", "error": "sev3"}
	for sev, want := range map[string]string{"critical": "sev2", "error": "sev3", "warning": "sev3", "info": "sev3"} {
		e.sub.events = nil
		w := e.do("POST", PathEvents, ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"`+sev+`"}`, ""))
		if w.Code != 202 || e.sub.events[0].Alert.Severity != want {
			t.Errorf("%s: %d %+v", sev, w.Code, e.sub.events)
		}
	}
	e.cfg = testConfig()
	e.cfg.Severity.Map = nil
	w := e.do("POST", PathEvents, ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"error"}`, ""))
	if w.Code != 202 || e.sub.events[len(e.sub.events)-1].Alert.Severity != "sev2" {
		t.Errorf("fallback error → %+v", e.sub.events)
	}
}

func TestEventBadInput(t *testing.T) {
	long := strings.Repeat("é", 1025)
	cases := []struct {
		name   string
		body   string
		status int
		msg    string
	}{
		{"empty", "", 400, "body: empty"},
		{"truncated", "{\n\"routing_key\": \"" + directKey + "\",\n\"payload\": {", 400, "json: line 3: unexpected end of input"},
		{"syntax", `{"routing_key" "x"}`, 400, `json: line 1: invalid character '"' after object key`},
		{"trailing", ev(directKey, "resolve", "k", "", "") + ` {}`, 400, "json: unexpected data after the JSON object"},
		{"not an object", `"hello"`, 400, "body: must be an object, got string"},
		{"unknown top key", ev(directKey, "trigger", "", goodPayload, `"dedupkey":"x"`), 400, "dedupkey: unknown field"},
		{"unknown payload key", ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"info","severty":"x"}`, ""), 400, "payload.severty: unknown field"},
		{"dedup_key type", ev(directKey, "trigger", "", goodPayload, `"dedup_key":5`), 400, "dedup_key: must be a string, got number"},
		{"summary type", ev(directKey, "trigger", "", `{"summary":1,"source":"x","severity":"info"}`, ""), 400, "payload.summary: must be a string, got number"},
		{"payload type", ev(directKey, "trigger", "", `[1]`, ""), 400, "payload: must be an object, got array"},
		{"links type", ev(directKey, "trigger", "", goodPayload, `"links":{}`), 400, "links: must be an array, got object"},
		{"no action", ev(directKey, "", "", goodPayload, ""), 400, "event_action: required"},
		{"bad action", ev(directKey, "open", "", goodPayload, ""), 400, `event_action: must be one of trigger, acknowledge, resolve, got "open"`},
		{"no payload", ev(directKey, "trigger", "", "", ""), 400, "payload: required for trigger"},
		{"null payload", ev(directKey, "trigger", "", "null", ""), 400, "payload: required for trigger"},
		{"no summary", ev(directKey, "trigger", "", `{"source":"x","severity":"info"}`, ""), 400, "payload.summary: required"},
		{"long summary", ev(directKey, "trigger", "", `{"summary":"`+long+`","source":"x","severity":"info"}`, ""), 400, "payload.summary: longer than 1024 characters"},
		{"no source", ev(directKey, "trigger", "", `{"summary":"s","severity":"info"}`, ""), 400, "payload.source: required"},
		{"no severity", ev(directKey, "trigger", "", `{"summary":"s","source":"x"}`, ""), 400, "payload.severity: required"},
		{"bad severity", ev(directKey, "trigger", "", `{"summary":"s","source":"x","severity":"sev1"}`, ""), 400, "payload.severity: must be one of critical, error, warning, info"},
		{"long dedup", ev(directKey, "resolve", strings.Repeat("k", 256), "", ""), 400, "dedup_key: longer than 255 characters"},
		{"no route", ev(promKey, "trigger", "", `{"summary":"s","source":"db-1","severity":"info"}`, ""), 400, `no route of integration "prometheus" matches labels {severity="info", source="db-1"}`},
		{"missing key", ev("", "trigger", "", goodPayload, ""), 401, "routing_key: required (the integration key)"},
		{"unknown key", ev("nope", "trigger", "", goodPayload, ""), 401, "routing_key: unknown integration key"},
		{"key of integration without key", ev("", "resolve", "k", "", `"routing_key":""`), 401, "routing_key: required (the integration key)"},
		{"too large", `{"routing_key":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body: larger than 65536 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.do("POST", PathEvents, c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if got := errorOf(t, w); got != c.msg {
				t.Errorf("message\n got %q\nwant %q", got, c.msg)
			}
			if e.sub.calls() != 0 {
				t.Error("submitter called on bad input")
			}
			if c.status == 400 {
				var b struct {
					Status string   `json:"status"`
					Errors []string `json:"errors"`
				}
				if json.Unmarshal(w.Body.Bytes(), &b) != nil || b.Status != "invalid event" || len(b.Errors) != 1 || b.Errors[0] != c.msg {
					t.Errorf("PagerDuty-compatible fields missing: %s", w.Body)
				}
			}
		})
	}
	e := newEnv(t)
	e.do("POST", PathEvents, ev("nope", "trigger", "", goodPayload, ""))
	if got := counter(t, e.reg, "events", "unknown", "unauthorized"); got != 1 {
		t.Errorf("unauthorized counter %v", got)
	}
}

func TestEventCustomDetailsFreeForm(t *testing.T) {
	e := newEnv(t)
	for _, cd := range []string{`"just text"`, `{"anything":{"goes":true},"x":null}`, `[1,"a"]`, `null`} {
		e.sub.events = nil
		w := e.do("POST", PathEvents, ev(directKey, "trigger", "k", `{"summary":"s","source":"x","severity":"info","custom_details":`+cd+`}`, ""))
		if w.Code != 202 {
			t.Fatalf("%s: %d %s", cd, w.Code, w.Body)
		}
		ann := e.sub.events[0].Alert.Annotations
		if cd == "null" {
			if _, ok := ann["custom_details"]; ok {
				t.Errorf("null custom_details kept: %v", ann)
			}
		} else if ann["custom_details"] != cd {
			t.Errorf("custom_details %q, want %q", ann["custom_details"], cd)
		}
	}
}

package router

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAlertmanagerFixtures(t *testing.T) {
	cases := []struct {
		file      string
		status    string
		truncated int
		fps       []string
		title     string
	}{
		{"firing-one-alert.json", "firing", 0, []string{"b1c11497b32ce15e"}, "5xx rate above 5% on web-1"},
		{"firing-truncated.json", "firing", 1, []string{"b1c11497b32ce15e", "5308e11450d376b3"}, "5xx rate above 5% on web-1"},
		{"resolved-truncated.json", "resolved", 1, []string{"b1c11497b32ce15e", "5308e11450d376b3"}, "5xx rate above 5% on web-1"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			e := newEnv(t)
			w := e.do("POST", PathAlertmanager, string(readFixture(t, c.file)), append(bearer(promKey), "Content-Type", "application/json")...)
			if w.Code != http.StatusAccepted {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if len(e.sub.groups) != 1 {
				t.Fatalf("submitted %d groups", len(e.sub.groups))
			}
			g := e.sub.groups[0]
			if g.Integration != "prometheus" || g.Service != "checkout" || !g.AutoResolve {
				t.Errorf("routing: %+v", g)
			}
			if g.GroupKey != `{}:{alertname="HighErrorRate", service="checkout"}` {
				t.Errorf("group key %q", g.GroupKey)
			}
			if g.Status != c.status || g.Truncated != c.truncated || g.Title != c.title {
				t.Errorf("status %q truncated %d title %q", g.Status, g.Truncated, g.Title)
			}
			if len(g.Alerts) != len(c.fps) {
				t.Fatalf("alerts %d, want %d", len(g.Alerts), len(c.fps))
			}
			for i, a := range g.Alerts {
				if a.Fingerprint != c.fps[i] || a.Status != c.status || a.Severity != "sev1" {
					t.Errorf("alert %d: %+v", i, a)
				}
				if a.Labels["instance"] == "" || a.Annotations["summary"] == "" {
					t.Errorf("alert %d lost labels/annotations: %+v", i, a)
				}
				if a.StartsAt.Location() != time.UTC || a.StartsAt.IsZero() {
					t.Errorf("alert %d startsAt %v", i, a.StartsAt)
				}
			}
			if c.status == "firing" && !g.Alerts[0].EndsAt.IsZero() {
				t.Errorf("firing alert has endsAt %v", g.Alerts[0].EndsAt)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["status"] != "success" {
				t.Errorf("body %s", w.Body)
			}
			if got := counter(t, e.reg, "alertmanager", "prometheus", "accepted"); got != 1 {
				t.Errorf("accepted counter %v", got)
			}
		})
	}
}

func TestAlertmanagerPathKey(t *testing.T) {
	e := newEnv(t)
	w := e.do("POST", PathAlertmanager+"/"+promKey, string(readFixture(t, "firing-one-alert.json")))
	if w.Code != http.StatusAccepted || len(e.sub.groups) != 1 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	// A single-service integration ignores labels entirely.
	w = e.do("POST", PathAlertmanager, string(readFixture(t, "firing-one-alert.json")), "Authorization", "bearer "+directKey)
	if w.Code != http.StatusAccepted || e.sub.groups[1].Service != "web" || e.sub.groups[1].AutoResolve {
		t.Fatalf("direct: %d %s %+v", w.Code, w.Body, e.sub.groups)
	}
}

func TestAlertmanagerComputesFingerprintAndTolerates(t *testing.T) {
	e := newEnv(t)
	body := mutate(t, "firing-truncated.json", func(m map[string]any) {
		delete(alertAt(m, 0), "fingerprint")
		m["notification_reason"] = "new"
		m["someFutureField"] = map[string]any{"x": 1}
		alertAt(m, 1)["futureAlertField"] = true
	})
	w := e.do("POST", PathAlertmanager, body, bearer(promKey)...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if fp := e.sub.groups[0].Alerts[0].Fingerprint; fp != "b1c11497b32ce15e" {
		t.Errorf("computed fingerprint %q, want Alertmanager's b1c11497b32ce15e", fp)
	}
}

func TestAlertmanagerTitleAndSeverity(t *testing.T) {
	e := newEnv(t)
	body := mutate(t, "firing-truncated.json", func(m map[string]any) {
		delete(alertAt(m, 0)["annotations"].(map[string]any), "summary")
		alertAt(m, 0)["labels"].(map[string]any)["severity"] = "page"
		delete(alertAt(m, 1)["labels"].(map[string]any), "severity")
	})
	w := e.do("POST", PathAlertmanager, body, bearer(promKey)...)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	g := e.sub.groups[0]
	if g.Title != "HighErrorRate (service=checkout)" {
		t.Errorf("title %q", g.Title)
	}
	if g.Alerts[0].Severity != "sev1" || g.Alerts[1].Severity != "sev2" {
		t.Errorf("severities %q %q", g.Alerts[0].Severity, g.Alerts[1].Severity)
	}
}

// TestAlertmanagerTitleSkipsStaleResolved: the first alert of a firing
// notification may be a resolved one left from the group's previous
// incident; the title is the first firing alert's summary.
func TestAlertmanagerTitleSkipsStaleResolved(t *testing.T) {
	e := newEnv(t)
	body := mutate(t, "firing-truncated.json", func(m map[string]any) {
		delete(m["commonAnnotations"].(map[string]any), "summary")
		alertAt(m, 0)["status"] = "resolved"
		alertAt(m, 1)["annotations"].(map[string]any)["summary"] = "5xx rate above 5% on web-2"
	})
	if w := e.do("POST", PathAlertmanager, body, bearer(promKey)...); w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if g := e.sub.groups[0]; g.Title != "5xx rate above 5% on web-2" {
		t.Errorf("title %q, want the firing alert's summary", g.Title)
	}
}

func TestAlertmanagerDeterministic(t *testing.T) {
	e := newEnv(t)
	body := string(readFixture(t, "firing-truncated.json"))
	e.do("POST", PathAlertmanager, body, bearer(promKey)...)
	e.do("POST", PathAlertmanager, body, bearer(promKey)...)
	a, _ := json.Marshal(e.sub.groups[0])
	b, _ := json.Marshal(e.sub.groups[1])
	if string(a) != string(b) || !reflect.DeepEqual(e.sub.groups[0], e.sub.groups[1]) {
		t.Errorf("same input, different groups:\n%s\n%s", a, b)
	}
}

func TestAlertmanagerBadInput(t *testing.T) {
	fx := "firing-truncated.json"
	cases := []struct {
		name   string
		path   string
		hdr    []string
		body   string
		status int
		msg    string
	}{
		{"empty body", "", nil, "", 400, "body: empty"},
		{"truncated json", "", nil, "{\n \"version\": \"4\",\n \"status\": \n", 400, "json: line 3: unexpected end of input"},
		{"syntax", "", nil, `{"version": "4",}`, 400, `json: line 1: invalid character '}' looking for beginning of object key string`},
		{"trailing garbage", "", nil, `{"version": "4"} x`, 400, `json: line 1: invalid character 'x' after top-level value`},
		{"array body", "", nil, `[1]`, 400, "body: must be an object, got array"},
		{"version type", "", nil, `{"version": 4}`, 400, "version: must be a string, got number"},
		{"truncated negative", "", nil, mutate(t, fx, func(m map[string]any) { m["truncatedAlerts"] = -1 }), 400, "truncatedAlerts: must be a non-negative integer, got number -1"},
		{"alerts type", "", nil, mutate(t, fx, func(m map[string]any) { m["alerts"] = "x" }), 400, "alerts: must be an array, got string"},
		{"alert not object", "", nil, mutate(t, fx, func(m map[string]any) { m["alerts"].([]any)[1] = 3 }), 400, "alerts[1]: must be an object, got number"},
		{"labels type", "", nil, mutate(t, fx, func(m map[string]any) { alertAt(m, 1)["labels"] = "x" }), 400, "alerts[1].labels: must be an object, got string"},
		{"label value type", "", nil, mutate(t, fx, func(m map[string]any) { alertAt(m, 0)["labels"].(map[string]any)["a"] = 1 }), 400, "alerts[0].labels: must be a string, got number"},
		{"bad startsAt", "", nil, mutate(t, fx, func(m map[string]any) { alertAt(m, 1)["startsAt"] = "yesterday" }), 400, "alerts[1].startsAt: must be an RFC 3339 time string"},
		{"endsAt number", "", nil, mutate(t, fx, func(m map[string]any) { alertAt(m, 0)["endsAt"] = 5 }), 400, "alerts[0].endsAt: must be an RFC 3339 time string"},
		{"no version", "", nil, mutate(t, fx, func(m map[string]any) { delete(m, "version") }), 400, "version: required"},
		{"version 3", "", nil, mutate(t, fx, func(m map[string]any) { m["version"] = "3" }), 400, `version: must be "4", got "3"`},
		{"no status", "", nil, mutate(t, fx, func(m map[string]any) { delete(m, "status") }), 400, "status: required"},
		{"bad status", "", nil, mutate(t, fx, func(m map[string]any) { m["status"] = "pending" }), 400, `status: must be firing or resolved, got "pending"`},
		{"no groupKey", "", nil, mutate(t, fx, func(m map[string]any) { delete(m, "groupKey") }), 400, "groupKey: required"},
		{"no alerts", "", nil, mutate(t, fx, func(m map[string]any) { m["alerts"] = []any{} }), 400, "alerts: required (at least one alert)"},
		{"alert no labels", "", nil, mutate(t, fx, func(m map[string]any) { delete(alertAt(m, 1), "labels") }), 400, "alerts[1].labels: required"},
		{"alert no status", "", nil, mutate(t, fx, func(m map[string]any) { delete(alertAt(m, 0), "status") }), 400, "alerts[0].status: required"},
		{"alert bad status", "", nil, mutate(t, fx, func(m map[string]any) { alertAt(m, 0)["status"] = "ok" }), 400, `alerts[0].status: must be firing or resolved, got "ok"`},
		{"no route", "", nil, mutate(t, fx, func(m map[string]any) {
			m["groupLabels"] = map[string]any{"service": "billing"}
			alertAt(m, 0)["labels"] = map[string]any{"alertname": "X", "service": "billing"}
		}), 400, `no route of integration "prometheus" matches labels {alertname="X", service="billing"}`},
		{"missing key", "", []string{}, string(readFixture(t, fx)), 401, "missing integration key (send Authorization: Bearer KEY or POST to /v1/ingest/alertmanager/KEY)"},
		{"basic auth is not a key", "", []string{"Authorization", "Basic " + promKey}, string(readFixture(t, fx)), 401, "missing integration key (send Authorization: Bearer KEY or POST to /v1/ingest/alertmanager/KEY)"},
		{"unknown key", "", bearer("nope"), string(readFixture(t, fx)), 401, "unknown integration key"},
		{"unknown path key", PathAlertmanager + "/nope", []string{}, string(readFixture(t, fx)), 401, "unknown integration key"},
		{"key prefix", "", bearer(promKey[:len(promKey)-1]), string(readFixture(t, fx)), 401, "unknown integration key"},
		{"too large", "", nil, `{"version":"4","x":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "body: larger than 65536 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			path := PathAlertmanager
			if c.path != "" {
				path = c.path
			}
			hdr := c.hdr
			if hdr == nil {
				hdr = bearer(promKey)
			}
			w := e.do("POST", path, c.body, hdr...)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			if got := errorOf(t, w); got != c.msg {
				t.Errorf("message\n got %q\nwant %q", got, c.msg)
			}
			if e.sub.calls() != 0 {
				t.Errorf("submitter called on bad input")
			}
			if c.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

func TestAlertmanagerTooLargeChunked(t *testing.T) {
	e := newEnv(t)
	// No Content-Length: the limit must hold while reading.
	mux := http.NewServeMux()
	e.h.Register(mux)
	r := newChunkedRequest(PathAlertmanager, `{"x":"`+strings.Repeat("a", 70<<10)+`"}`)
	r.Header.Set("Authorization", "Bearer "+promKey)
	w := newRecorder()
	mux.ServeHTTP(w, r)
	if w.Code != 413 || e.sub.calls() != 0 {
		t.Fatalf("status %d calls %d", w.Code, e.sub.calls())
	}
	if got := counter(t, e.reg, "alertmanager", "prometheus", "too_large"); got != 1 {
		t.Errorf("too_large counter %v", got)
	}
}

// TestTimesOutsideStorableYears: a time that parses but falls outside the
// years 0000-9999 once in UTC (as it is stored) cannot be marshalled into
// the command. An Alertmanager alert with one is refused naming the field
// (it used to reach the commit and fail there, a 500); an Events v2
// payload.timestamp, informational, is dropped like an unreadable one.
// Found by reading FuzzDecodeAlertmanager's "group marshals" property.
func TestTimesOutsideStorableYears(t *testing.T) {
	for field, alert := range map[string]string{
		"alerts[0].startsAt": `"startsAt":"0000-01-01T00:00:00+01:00"`,
		"alerts[0].endsAt":   `"endsAt":"9999-12-31T23:59:59-01:00"`,
	} {
		body := `{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},` + alert + `}]}`
		_, err := DecodeAlertmanager([]byte(body))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != field {
			t.Errorf("%s: error %v, want an InputError naming %s", alert, err, field)
		}
	}
	edge := `{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing","labels":{"a":"b"},` +
		`"startsAt":"0000-01-01T00:00:00-01:00","endsAt":"9999-12-31T23:59:59+01:00"}]}`
	if _, err := DecodeAlertmanager([]byte(edge)); err != nil {
		t.Errorf("times inside the years in UTC refused: %v", err)
	}
	if ts := parseTimestamp("0000-01-01T00:00:00+01:00"); !ts.IsZero() {
		t.Errorf("payload.timestamp in the year -1 in UTC kept as %v", ts)
	}
	if ts := parseTimestamp("0000-01-01T00:00:00-01:00"); ts.Year() != 0 {
		t.Errorf("payload.timestamp in the year 0 in UTC dropped: %v", ts)
	}
}

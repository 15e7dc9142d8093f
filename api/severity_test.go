package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
)

// FuzzSeverityBody: any body of POST /v1/incidents/{id}/severity is either
// refused with a message naming a field, or holds a known severity and
// channel.
func FuzzSeverityBody(f *testing.F) {
	for _, s := range []string{`{"severity":"sev1","by":"bob","note":"x"}`, `{"severity":"sev4"}`, `{}`, ``,
		`{"severity":1}`, `{"severity":"sev2","channel":"fax"}`, `{"severity":"sev3"} {}`, `{"sevrity":"sev1"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/v1/incidents/1/severity", strings.NewReader(body))
		var b severityBody
		err := decodeStrict(r, w, &b, maxBody)
		if err == nil {
			err = checkSeverity(b)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if incident.SeverityRank(b.Severity) >= len(incident.Severities) || !actionChannels[b.Channel] {
			t.Fatalf("accepted %+v", b)
		}
	})
}

func TestCheckSeverityNamesTheField(t *testing.T) {
	for body, want := range map[string]string{
		`{"severity":"sev4"}`:                 `severity: unknown severity "sev4" (use sev1, sev2 or sev3)`,
		`{}`:                                  `severity: required (sev1, sev2 or sev3)`,
		`{"severity":"sev1","channel":"fax"}`: `channel: want api, sms, email or dev`,
	} {
		r := httptest.NewRequest("POST", "/v1/incidents/1/severity", strings.NewReader(body))
		var b severityBody
		if err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if err := checkSeverity(b); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

// Every API body is one JSON value and nothing after it but whitespace. A
// stray closing bracket after the object (`{...}}`, `{...}]`) was accepted:
// dec.More reports false for one, as for the end of the input.
func TestDecodeStrictRefusesAnyTrailingData(t *testing.T) {
	for _, body := range []string{`{"severity":"sev1"}}`, `{"severity":"sev1"}]`, `{"severity":"sev1"} }`, `{"severity":"sev1"}{}`,
		`{"severity":"sev1"} 1`, `{"severity":"sev1"}x`} {
		r := httptest.NewRequest("POST", "/v1/incidents/1/severity", strings.NewReader(body))
		var b severityBody
		if err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody); err == nil || !strings.HasPrefix(err.Error(), "body: ") {
			t.Errorf("%s: %v, want an error naming the body", body, err)
		}
	}
	for _, body := range []string{`{"severity":"sev1"}`, "{\"severity\":\"sev1\"}\r\n\t ", ` {"severity":"sev1"}`} {
		r := httptest.NewRequest("POST", "/v1/incidents/1/severity", strings.NewReader(body))
		var b severityBody
		if err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody); err != nil || b.Severity != "sev1" {
			t.Errorf("%q: %v %+v", body, err, b)
		}
	}
}

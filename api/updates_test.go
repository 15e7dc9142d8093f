package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// FuzzUpdateBody: any body of POST /v1/incidents/{id}/updates is either
// refused with a message naming a field, or has a known audience and phase
// (or none), a message or template, and a positive next_update_in.
func FuzzUpdateBody(f *testing.F) {
	for _, s := range []string{`{"audience":"public","phase":"identified","message":"x","components":{"api":"partial_outage"}}`,
		`{"template":"investigating"}`, `{"message":"x","next_update_in":"30m"}`, `{"message":"x","next_update_in":"-1h"}`,
		`{"audience":"all","message":"x"}`, `{}`, ``, `{"components":{"api":1}}`, `{"message":"x"} {}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/incidents/1/updates", strings.NewReader(body))
		var b updateBody
		err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody)
		if err == nil {
			_, err = checkUpdateBody(b)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if (b.Audience != "" && b.Audience != incident.AudienceInternal && b.Audience != incident.AudiencePublic) ||
			(b.Phase != "" && !incident.ValidPhase(b.Phase)) || (strings.TrimSpace(b.Message) == "" && b.Template == "") {
			t.Fatalf("accepted %+v", b)
		}
	})
}

// FuzzMaintenanceBody: any body of POST /v1/maintenance is refused with a
// message naming a field, or names known services and a positive duration
// of at most 7 days.
func FuzzMaintenanceBody(f *testing.F) {
	cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(`
api_tokens: [{name: admin, token: t}]
users: [{id: alice, email: alice@example.com}]
policies: [{id: p, steps: [{notify: [user:alice], escalate_after: 10m}]}]
services: [{id: checkout, policy: p}]
`)}}, config.LookupMap(nil))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"services":["checkout"],"for":"1h"}`, `{"services":["checkout"],"for":"-1h"}`,
		`{"services":["nope"],"for":"1h"}`, `{"services":["checkout"],"for":"8d"}`, `{"services":[],"for":"1h"}`,
		`{"services":["checkout"],"for":"1h","allow":["sev1","sev9"]}`, `{}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/v1/maintenance", strings.NewReader(body))
		var b maintenanceBody
		err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody)
		if err != nil {
			return
		}
		d, err := checkMaintenanceBody(cfg, b)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if d <= 0 || d.Hours() > 7*24 || len(b.Services) == 0 {
			t.Fatalf("accepted %+v (%v)", b, d)
		}
		for _, s := range b.Services {
			if _, ok := cfg.Service(s); !ok {
				t.Fatalf("accepted unknown service %q", s)
			}
		}
	})
}

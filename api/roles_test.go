package api

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzRoleBody: any body of PUT /v1/incidents/{id}/roles/{role} is either
// refused with a message naming a field, or names a holder and a known
// channel.
func FuzzRoleBody(f *testing.F) {
	for _, s := range []string{`{"user":"bob","by":"alice","note":"x"}`, `{}`, ``, `{"user":1}`,
		`{"user":"bob","channel":"fax"}`, `{"user":"bob"} {}`, `{"usr":"bob"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("PUT", "/v1/incidents/1/roles/incident_manager", strings.NewReader(body))
		var b roleBody
		err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody)
		if err == nil {
			err = checkRoleBody(b, true)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if b.User == "" || !actionChannels[b.Channel] {
			t.Fatalf("accepted %+v", b)
		}
	})
}

func TestCheckRoleBodyNamesTheField(t *testing.T) {
	for _, c := range []struct {
		body string
		put  bool
		want string
	}{
		{`{}`, true, "user: required (the new holder's user id; DELETE releases the role)"},
		{`{"user":"bob"}`, false, "user: not allowed on DELETE (it releases the role; PUT hands it over)"},
		{`{"user":"bob","channel":"fax"}`, true, "channel: want api, sms, email or dev"},
	} {
		r := httptest.NewRequest("PUT", "/v1/incidents/1/roles/tech_lead", strings.NewReader(c.body))
		var b roleBody
		if err := decodeStrict(r, httptest.NewRecorder(), &b, maxBody); err != nil {
			t.Fatalf("%s: %v", c.body, err)
		}
		if err := checkRoleBody(b, c.put); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.body, err, c.want)
		}
	}
}

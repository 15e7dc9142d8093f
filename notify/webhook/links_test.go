package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// TestDeliveryCarriesAlertLinks: the webhook page carries each alert's
// generator_url (Prometheus' graph link) and silence_url in the incident's
// alerts, as the API shows them.
func TestDeliveryCarriesAlertLinks(t *testing.T) {
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		body = string(b)
	}))
	defer srv.Close()
	s, err := New(config.Webhook{ID: "chatops", URL: srv.URL}, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	m := message()
	m.Incident.Alerts = []incident.Alert{{Fingerprint: "f1", Status: "firing",
		GeneratorURL: "http://prom:9090/graph?g0.expr=up", SilenceURL: "http://am:9093/#/silences/new?filter=%7Ba%3D%22b%22%7D"}}
	if _, err := s.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"generator_url":"http://prom:9090/graph?g0.expr=up"`,
		`"silence_url":"http://am:9093/#/silences/new?filter=%7Ba%3D%22b%22%7D"`} {
		if !strings.Contains(body, want) {
			t.Errorf("delivery lacks %s:\n%s", want, body)
		}
	}
}

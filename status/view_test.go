package status

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func testPage() config.StatusPage {
	return config.StatusPage{ID: "public", Title: "Example", History: config.Duration(14 * 24 * time.Hour),
		Components: []config.Component{{ID: "api", Name: "Checkout API", Services: []string{"checkout"}},
			{ID: "pay", Name: "Payments", Services: []string{"payments"}}}}
}

func upd(id string, at time.Time, audience, msg string, comps map[string]string) incident.Update {
	return incident.Update{ID: id, At: at, Audience: audience, Phase: "investigating", Message: msg, Components: comps}
}

func TestBuildWorstOfLatestPublicStatuses(t *testing.T) {
	a := &incident.Incident{ID: 1, Key: "INC-1", Title: "ALERT <b>title</b>", Service: "checkout", CreatedAt: t0, Updates: []incident.Update{
		upd("INC-1-U1", t0.Add(time.Minute), "public", "first", map[string]string{"api": "major_outage"}),
		upd("INC-1-U2", t0.Add(2*time.Minute), "internal", "secret internal", map[string]string{"api": "major_outage"}),
		upd("INC-1-U3", t0.Add(3*time.Minute), "public", "better now", map[string]string{"api": "degraded_performance"}),
	}}
	b := &incident.Incident{ID: 2, Key: "INC-2", Service: "payments", CreatedAt: t0, Updates: []incident.Update{
		upd("INC-2-U1", t0.Add(time.Minute), "public", "pay slow", map[string]string{"api": "partial_outage"}),
	}}
	internalOnly := &incident.Incident{ID: 3, Key: "INC-3", Service: "checkout", CreatedAt: t0, Updates: []incident.Update{
		upd("INC-3-U1", t0, "internal", "x", map[string]string{"api": "major_outage"})}}
	v := Build(testPage(), []*incident.Incident{a, b, internalOnly}, nil, t0.Add(time.Hour))
	// api: INC-1's latest public status (degraded) vs INC-2's partial: partial.
	if v.Components[0].Status != "partial_outage" || v.Components[1].Status != "operational" || v.Status != "partial_outage" {
		t.Fatalf("statuses: %+v page %s", v.Components, v.Status)
	}
	if len(v.Incidents) != 2 {
		t.Fatalf("incidents: %+v", v.Incidents)
	}
	for _, iv := range v.Incidents {
		if iv.Key == "INC-1" && (len(iv.Updates) != 2 || iv.Updates[0].ID != "INC-1-U3") {
			t.Fatalf("INC-1 updates not public-only newest first: %+v", iv.Updates)
		}
	}
	body, err := renderHTML(v, 14*24*time.Hour, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"secret internal", "ALERT", "INC-3"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Fatalf("page contains %q", leak)
		}
	}
}

func TestBuildMaintenanceHistoryAndDrills(t *testing.T) {
	resolvedAt := t0.Add(-13 * 24 * time.Hour)
	oldAt := t0.Add(-15 * 24 * time.Hour)
	recent := &incident.Incident{ID: 1, Key: "INC-1", Service: "checkout", ResolvedAt: &resolvedAt, Updates: []incident.Update{
		upd("INC-1-U1", resolvedAt, "public", "done", map[string]string{"api": "major_outage"})}}
	old := &incident.Incident{ID: 2, Key: "INC-2", Service: "checkout", ResolvedAt: &oldAt, Updates: []incident.Update{
		upd("INC-2-U1", oldAt, "public", "old", nil)}}
	drill := &incident.Incident{ID: 3, Key: "INC-3", Service: "checkout", Title: "[DRILL] x", Drill: &incident.DrillRef{ID: "q", Run: "r1"},
		Updates: []incident.Update{upd("INC-3-U1", t0, "public", "drill", map[string]string{"api": "major_outage"})}}
	windows := []config.MaintenanceWindow{
		{ID: "now", Services: []string{"payments"}, From: t0.Add(-time.Hour), To: t0.Add(time.Hour)},
		{ID: "later", Services: []string{"checkout"}, From: t0.Add(48 * time.Hour), To: t0.Add(50 * time.Hour)},
		{ID: "elsewhere", Services: []string{"checkout"}, From: t0.Add(-time.Hour), To: t0.Add(time.Hour), StatusPage: "other"},
	}
	v := Build(testPage(), []*incident.Incident{recent, old, drill}, windows, t0)
	if v.Components[0].Status != "operational" || v.Components[1].Status != "under_maintenance" || v.Status != "under_maintenance" {
		t.Fatalf("statuses: %+v page %s", v.Components, v.Status)
	}
	if len(v.Incidents) != 0 || len(v.History) != 1 || v.History[0].Key != "INC-1" {
		t.Fatalf("incidents %+v history %+v", v.Incidents, v.History)
	}
	if len(v.Maintenance) != 2 || !v.Maintenance[0].Active || v.Maintenance[1].Active {
		t.Fatalf("maintenance: %+v", v.Maintenance)
	}
}

func TestAtomEscapesAndOrders(t *testing.T) {
	inc := &incident.Incident{ID: 1, Key: "INC-1", Service: "checkout", Updates: []incident.Update{
		upd("INC-1-U1", t0, "public", "a < b & <script>", nil), upd("INC-1-U2", t0.Add(time.Second), "public", "second", nil)}}
	b, err := renderAtom(Build(testPage(), []*incident.Incident{inc}, nil, t0), "http://x/status/public")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if strings.Contains(s, "<script>") || !strings.Contains(s, "a &lt; b &amp; &lt;script&gt;") {
		t.Fatalf("not escaped:\n%s", s)
	}
	if strings.Index(s, "INC-1-U2") > strings.Index(s, "INC-1-U1") {
		t.Fatalf("not newest first:\n%s", s)
	}
}

func TestSignedLinks(t *testing.T) {
	kr := testKeyring()
	sig, err := sign(kr, purposeConfirm, "public", "a@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !verify(kr, purposeConfirm, "public", "a@example.com", sig) {
		t.Fatal("own signature refused")
	}
	last := "0"
	if sig[33] == '0' {
		last = "1"
	}
	for _, bad := range [][4]string{{purposeUnsubscribe, "public", "a@example.com", sig}, {purposeConfirm, "other", "a@example.com", sig},
		{purposeConfirm, "public", "b@example.com", sig}, {purposeConfirm, "public", "a@example.com", sig[:33] + last}, {purposeConfirm, "public", "a@example.com", ""}} {
		if verify(kr, bad[0], bad[1], bad[2], bad[3]) {
			t.Fatalf("accepted %v", bad)
		}
	}
}

func TestParseEmail(t *testing.T) {
	for in, want := range map[string]string{"Ann@Example.com": "ann@example.com", " a.b+c@x.example ": "a.b+c@x.example"} {
		if got, err := ParseEmail(in); err != nil || got != want {
			t.Fatalf("%q: %q %v", in, got, err)
		}
	}
	// The last: 253 bytes, 377 once lower-cased (FuzzParseEmail's bound).
	for _, bad := range []string{"", "a", "a@b", "A <a@b.com>", "a@b.com, c@d.com", strings.Repeat("a", 250) + "@b.com", "a@b.com\r\nBcc: x@y.com",
		strings.Repeat("\u023a", 124) + "@b.co"} {
		if _, err := ParseEmail(bad); err == nil || !strings.HasPrefix(err.Error(), "email:") {
			t.Fatalf("%q accepted or error does not name the field: %v", bad, err)
		}
	}
}

func FuzzParseEmail(f *testing.F) {
	for _, s := range []string{"a@b.com", "A <a@b.com>", "\"x y\"@b.com", "a@b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEmail(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(e, "\r\n <>") || len(e) > maxEmailLen {
			t.Fatalf("accepted %q as %q", s, e)
		}
		if again, err := ParseEmail(e); err != nil || again != e {
			t.Fatalf("not idempotent: %q → %q → %q %v", s, e, again, err)
		}
	})
}

func FuzzSubscribeBody(f *testing.F) {
	f.Add("application/json", `{"email":"a@b.com"}`)
	f.Add("application/x-www-form-urlencoded", "email=a%40b.com")
	f.Add("application/json", `{"email":1}`)
	f.Add("", "email=")
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest("POST", "/status/public/subscribe", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		e, err := subscribeEmail(r)
		if err == nil {
			if _, err := ParseEmail(e); err != nil {
				t.Fatalf("accepted %q", e)
			}
		}
	})
}

// A JSON subscribe body is one object and nothing after it but whitespace,
// as every API body (a second value or a stray bracket was ignored).
func TestSubscribeBodyRefusesTrailingData(t *testing.T) {
	for _, body := range []string{`{"email":"a@b.com"}}`, `{"email":"a@b.com"}]`, `{"email":"a@b.com"}{"email":"c@d.com"}`, `{"email":"a@b.com"} x`} {
		r := httptest.NewRequest("POST", "/status/public/subscribe", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if e, err := subscribeEmail(r); err == nil || !strings.HasPrefix(err.Error(), "body: ") {
			t.Errorf("%s: %q %v, want an error naming the body", body, e, err)
		}
	}
	r := httptest.NewRequest("POST", "/status/public/subscribe", strings.NewReader("{\"email\":\"a@b.com\"}\r\n "))
	r.Header.Set("Content-Type", "application/json")
	if e, err := subscribeEmail(r); err != nil || e != "a@b.com" {
		t.Errorf("trailing whitespace: %q %v", e, err)
	}
}

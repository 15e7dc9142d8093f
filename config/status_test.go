package config

import (
	"strings"
	"testing"
	"time"
)

const statusBase = `
users: [{id: alice, email: alice@example.com}]
policies: [{id: p, steps: [{notify: [user:alice], escalate_after: 10m}]}]
services: [{id: checkout, policy: p}, {id: search, policy: p}]
integrations: [{name: am, service: checkout, key: k1}]
api_tokens: [{name: admin, token: t1}]
`

func parseStatus(t *testing.T, extra string) (*Config, error) {
	t.Helper()
	return Parse([]Source{{Name: "c.yaml", Data: []byte(statusBase + extra)}}, LookupMap(nil))
}

func TestStatusConfigParsesAndRenders(t *testing.T) {
	c, err := parseStatus(t, `
status_pages:
  - id: public
    title: Example status
    components: [{id: api, name: Checkout API, services: [checkout]}]
update_templates:
  - id: investigating
    phase: investigating
    public: "We're investigating issues with {{.Components}}; next update {{.NextUpdate}} ({{.Role \"incident_manager\"}})."
maintenance:
  - {id: db, services: [checkout], from: "2026-12-05 22:00", to: "2026-12-06 01:00", allow: [sev1], status_page: public}
  - {id: weekly, services: [search], from: "2026-11-01 02:00", to: "2026-11-01 03:00", repeat: weekly}
`)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := c.StatusPageByID("public"); p.Audience != StatusPublic || p.History != DefaultStatusHistory {
		t.Fatalf("defaults not filled: %+v", p)
	}
	tpl, ok := c.UpdateTemplateByID("investigating")
	if !ok {
		t.Fatal("template missing")
	}
	got, err := tpl.Render("public", UpdateData{Components: c.ComponentNames(nil, "checkout"), NextUpdate: "12:30", Roles: map[string]string{"incident_manager": "bob"}})
	if want := "We're investigating issues with Checkout API; next update 12:30 (bob)."; err != nil || got != want {
		t.Fatalf("render = %q, %v; want %q", got, err, want)
	}
	if _, err := tpl.Render("internal", UpdateData{}); err == nil || !strings.Contains(err.Error(), "no internal text") {
		t.Fatalf("missing audience text: %v", err)
	}
	if err := c.CheckComponents(map[string]string{"api": "partial_outage"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckComponents(map[string]string{"web": "partial_outage"}); err == nil || !strings.Contains(err.Error(), "components.web: unknown component") {
		t.Fatalf("unknown component: %v", err)
	}
	if err := c.CheckComponents(map[string]string{"api": "on_fire"}); err == nil || !strings.Contains(err.Error(), "components.api: unknown status") {
		t.Fatalf("unknown status: %v", err)
	}
	now := time.Date(2026, 12, 5, 23, 0, 0, 0, time.UTC)
	ws := c.MaintenanceOccurrences(now, 7*24*time.Hour)
	if len(ws) != 2 || ws[0].ID != "db" || ws[1].ID != "weekly" || !ws[1].From.Equal(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)) {
		t.Fatalf("occurrences = %+v", ws)
	}
	until, id, deferred := MaintenanceDeferral(ws, "checkout", "sev2", now)
	if !deferred || id != "db" || !until.Equal(time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("sev2 deferral = %v %s %v", until, id, deferred)
	}
	if _, _, deferred := MaintenanceDeferral(ws, "checkout", "sev1", now); deferred {
		t.Fatal("sev1 is allowed during db")
	}
	if _, _, deferred := MaintenanceDeferral(ws, "search", "sev2", now); deferred {
		t.Fatal("search is not in maintenance at 23:00")
	}
}

func TestStatusConfigErrorsAtPosition(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"template fails to render", `
update_templates:
  - id: t
    phase: investigating
    public: "{{.Nope}}"
`, "c.yaml:11:13: update_templates[0].public: does not render against a sample incident"},
		{"template does not parse", `
update_templates:
  - {id: t, phase: identified, internal: "{{.Key"}
`, "c.yaml:9:42: update_templates[0].internal:"},
		{"unknown phase", `
update_templates:
  - {id: t, phase: fixing, internal: x}
`, "c.yaml:9:20: update_templates[0].phase: unknown phase"},
		{"to before from", `
maintenance:
  - id: m
    services: [checkout]
    from: "2026-12-05 22:00"
    to: "2026-12-05 21:00"
`, "c.yaml:12:9: maintenance[0].to: \"2026-12-05 21:00\" is not after from"},
		{"unknown component service", `
status_pages:
  - {id: p, components: [{id: api, services: [nope]}]}
`, "status_pages[0].components[0].services[0]: unknown service \"nope\""},
		{"unknown allow severity", `
maintenance:
  - {id: m, services: [checkout], from: "2026-12-05 22:00", to: "2026-12-05 23:00", allow: [sev9]}
`, "maintenance[0].allow[0]: unknown severity"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseStatus(t, tc.yaml)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

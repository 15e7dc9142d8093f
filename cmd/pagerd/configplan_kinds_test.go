package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/configs"
)

// planKindsBase has one object of every kind config plan learned last:
// roles, status pages, update templates, maintenance, heartbeats, drills
// and the top-level settings.
const planKindsBase = `
timezone: UTC
public_url: https://pagerd.example.com
users: [{id: alice, email: a@example.com}, {id: bob, email: b@example.com}]
rotations: [{id: ops, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}]
policies: [{id: p, steps: [{notify: ["rotation:ops"], escalate_after: 10m}]}]
services: [{id: checkout, policy: p, rto: 1h}, {id: batch, policy: p}]
roles:
  - {id: scribe, name: Scribe, instructions: "Keep the timeline."}
status_pages:
  - id: public
    title: Example status
    components: [{id: api, name: Checkout API, services: [checkout]}]
update_templates:
  - {id: investigating, phase: investigating, public: "Looking into {{.Components}}."}
maintenance:
  - {id: db-upgrade, services: [checkout], from: "2026-12-05 22:00", to: "2026-12-06 01:00", allow: [sev1]}
heartbeats:
  - {id: backup, service: batch, key: "hb-key-one", every: 1h, grace: 10m}
drills:
  - {id: monthly, service: checkout, cron: "0 10 1 * *"}
`

// replace edits planKindsBase: old becomes new.
func replace(old, new string) func(string) string {
	return func(s string) string { return strings.Replace(s, old, new, 1) }
}

// add appends lines to the list that starts with key ("roles:"), or at the
// end for a new top-level key.
func add(key, lines string) func(string) string {
	return func(s string) string {
		if key == "" {
			return s + lines + "\n"
		}
		return strings.Replace(s, key+"\n", key+"\n"+lines+"\n", 1)
	}
}

// TestPlanListsEveryKind: each kind plans as added, removed and changed
// (naming the fields, old → new), and an unchanged config (or one that only
// writes out a default) plans nothing. Each case checks the whole list of
// objects, so a change cannot show up twice or drag other objects along.
func TestPlanListsEveryKind(t *testing.T) {
	cases := []struct {
		name string
		edit func(string) string
		want []string
	}{
		{"unchanged", replace("", ""), nil},
		{"defaults written out", func(s string) string {
			s = replace(`cron: "0 10 1 * *"}`, `cron: "0 10 1 * *", severity: sev2, pass: {ack_within: 5m}}`)(s)
			s = add("roles:", `  - {id: tech_lead, name: Tech Lead}`)(s)
			s = replace("every: 1h, grace: 10m}", `every: 1h, grace: 10m, severity: sev2, title: "Heartbeat backup missed"}`)(s)
			s = replace(`allow: [sev1]}`, `allow: [sev1], timezone: UTC}`)(s)
			return add("", "retention: {resolved: 180d}\nchannels: {flood_control: {max: 3, per: 1m}}")(s)
		}, nil},

		{"role added", add("roles:", "  - {id: liaison, name: Customer liaison}"), []string{"+ role liaison (added)"}},
		{"role removed", replace(`  - {id: scribe, name: Scribe, instructions: "Keep the timeline."}`+"\n", ""), []string{"- role scribe (removed)"}},
		{"role changed", replace("name: Scribe,", "name: Note taker,"), []string{"~ role scribe (changed, name Scribe → Note taker)"}},
		{"built-in role set", add("roles:", `  - {id: incident_manager, from: "rotation:ops"}`),
			[]string{"~ role incident_manager (changed, from (unset) → rotation:ops)"}},

		{"status page added", add("status_pages:", "  - {id: staff, audience: internal}"), []string{"+ status_page staff (added)"}},
		{"status page removed", replace("  - id: public\n    title: Example status\n    components: [{id: api, name: Checkout API, services: [checkout]}]\n", "  - {id: other}\n"),
			[]string{"+ status_page other (added)", "- status_page public (removed)"}},
		{"status page changed", replace("services: [checkout]}]", "services: [checkout, batch]}, {id: jobs, services: [batch]}]\n    history: 30d"),
			[]string{"~ status_page public (changed, components[api].services [checkout] → [checkout, batch], components[jobs] added, history 2w → 30d)"}},

		{"update template added", add("update_templates:", `  - {id: fixed, phase: resolved, internal: "Fixed."}`), []string{"+ update_template fixed (added)"}},
		{"update template removed", replace("update_templates:\n  - {id: investigating, phase: investigating, public: \"Looking into {{.Components}}.\"}\n", ""),
			[]string{"- update_template investigating (removed)"}},
		{"update template changed", replace("phase: investigating, public: \"Looking", "phase: identified, public: \"Still looking"),
			[]string{"~ update_template investigating (changed, phase investigating → identified, public Looking into {{.Components}}. → Still looking into {{.Components}}.)"}},

		{"update template long text", replace(`public: "Looking into {{.Components}}."`, `public: "We are looking into problems with {{.Components}} and will post again within the hour."`),
			[]string{"~ update_template investigating (changed, public changed)"}},
		{"long list in full", replace("participants: [alice, bob]", "participants: [bob, alice, bob, alice, bob, alice, bob, alice, bob, alice, bob, alice]"),
			[]string{"~ rotation ops (changed, participants [alice, bob] → [bob, alice, bob, alice, bob, alice, bob, alice, bob, alice, bob, alice])"}},

		{"maintenance added", add("maintenance:", `  - {id: patching, services: [batch], from: "2026-11-29 02:00", to: "2026-11-29 04:00", repeat: weekly}`),
			[]string{"+ maintenance patching (added)"}},
		{"maintenance removed", replace("maintenance:\n  - {id: db-upgrade", "maintenance:\n  - {id: db-upgrade-2"),
			[]string{"- maintenance db-upgrade (removed)", "+ maintenance db-upgrade-2 (added)"}},
		{"maintenance changed", replace(`to: "2026-12-06 01:00", allow: [sev1]`, `to: "2026-12-06 03:00", allow: [sev1, sev2]`),
			[]string{"~ maintenance db-upgrade (changed, allow [sev1] → [sev1, sev2], to 2026-12-06 01:00 → 2026-12-06 03:00)"}},

		{"heartbeat added", add("heartbeats:", `  - {id: etl, service: batch, key: "hb-key-two", every: 1d}`), []string{"+ heartbeat etl (added)"}},
		{"heartbeat removed", replace("heartbeats:\n  - {id: backup, service: batch, key: \"hb-key-one\", every: 1h, grace: 10m}\n", ""),
			[]string{"- heartbeat backup (removed)"}},
		{"heartbeat changed", replace("every: 1h, grace: 10m", "every: 2h, grace: 10m"), []string{"~ heartbeat backup (changed, every 1h → 2h)"}},
		{"heartbeat key rotated", replace(`key: "hb-key-one"`, `key: "hb-key-new"`), []string{"~ heartbeats[backup].key (secret changed)"}},

		{"drill added", add("drills:", `  - {id: weekly, service: batch, cron: "@weekly", pass: {recover_within: 2h}}`), []string{"+ drill weekly (added)"}},
		{"drill removed", replace("drills:\n  - {id: monthly, service: checkout, cron: \"0 10 1 * *\"}\n", ""), []string{"- drill monthly (removed)"}},
		{"drill changed", replace(`cron: "0 10 1 * *"}`, `cron: "0 11 1 * *", pass: {ack_within: 10m}}`),
			[]string{"~ drill monthly (changed, cron 0 10 1 * * → 0 11 1 * *, pass.ack_within 5m → 10m)"}},

		{"public_url changed", replace("https://pagerd.example.com", "https://oncall.example.com"),
			[]string{"~ setting public_url (changed, https://pagerd.example.com → https://oncall.example.com)"}},
		{"public_url removed", replace("public_url: https://pagerd.example.com\n", ""),
			[]string{"~ setting public_url (changed, https://pagerd.example.com → (unset))"}},
		{"retention changed", add("", "retention: {resolved: 30d}"), []string{"~ setting retention.resolved (changed, 180d → 30d)"}},
		{"flood control changed", add("", "channels: {flood_control: {max: 5}}"), []string{"~ setting channels.flood_control (changed, max 3 → 5)"}},
		{"timezone changed", replace("timezone: UTC", "timezone: Europe/Amsterdam"), []string{
			// Objects that take the top-level zone by default move with it.
			"~ setting timezone (changed, UTC → Europe/Amsterdam)",
			"~ rotation ops (changed, timezone UTC → Europe/Amsterdam)",
			"~ maintenance db-upgrade (changed, timezone UTC → Europe/Amsterdam)",
			"~ drill monthly (changed, timezone UTC → Europe/Amsterdam)",
		}},
		{"severity default moves a heartbeat's", add("", "severity: {default: sev3}"), []string{
			"~ setting severity (changed, default sev2 → sev3)",
			"~ heartbeat backup (changed, severity sev2 → sev3)",
		}},
	}
	base := parsePlanKinds(t, planKindsBase)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := planObjectLines(t, base, parsePlanKinds(t, tc.edit(planKindsBase)))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("plan objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, secret := range []string{"hb-key-one", "hb-key-new"} {
				if strings.Contains(strings.Join(got, "\n"), secret) {
					t.Errorf("plan shows secret %q", secret)
				}
			}
		})
	}
}

func parsePlanKinds(t *testing.T, text string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]config.Source{{Name: "c.yaml", Data: []byte(text)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	return cfg
}

// planObjectLines plans against a file baseline (secrets compared by value,
// as --against does).
func planObjectLines(t *testing.T, o, n *config.Config) []string {
	t.Helper()
	secrets := config.Secrets(o)
	base := baseline{cfg: o, secretSame: func(name, v string) (bool, bool) {
		old, ok := secrets[name]
		return ok, old == v
	}}
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	p, err := makePlan(base, n, from, from.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, c := range p.Objects {
		lines = append(lines, c.String())
	}
	return lines
}

// TestPlanAgainstServerViewListsEveryKind plans against what a node's GET
// /v1/config returns (redacted YAML, secrets as digests): the running
// config plans "no changes" across every kind, a rotated heartbeat key plans
// as "secret changed" without showing it, and a changed role shows.
func TestPlanAgainstServerViewListsEveryKind(t *testing.T) {
	src := []config.Source{{Name: "c.yaml", Data: []byte(planKindsBase)}}
	running := parsePlanKinds(t, planKindsBase)
	view := api.ConfigView{YAML: config.Redacted(src), Secrets: map[string]string{}}
	for name, v := range config.Secrets(running) {
		view.Secrets[name] = config.DigestSecret([]byte("0123456789abcdef"), v)
	}
	if strings.Contains(view.YAML, "hb-key-one") {
		t.Fatalf("the redacted config shows the heartbeat key:\n%s", view.YAML)
	}
	base, err := viewBaseline(view)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	plan := func(text string) []PlanChange {
		p, err := makePlan(base, parsePlanKinds(t, text), from, from.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		return p.Objects
	}
	if got := plan(planKindsBase); len(got) != 0 {
		t.Errorf("the running config plans changes: %+v", got)
	}
	got := plan(strings.NewReplacer(`key: "hb-key-one"`, `key: "hb-key-new"`, "name: Scribe,", "name: Note taker,").Replace(planKindsBase))
	want := []PlanChange{
		{Kind: "role", ID: "scribe", Change: "changed", Detail: "name Scribe → Note taker"},
		{Kind: "secret", ID: "heartbeats[backup].key", Change: "secret changed"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan objects %+v, want %+v", got, want)
	}
}

// TestPlanFieldsNeverHoldSecrets flattens the whole example config, as a plan
// compares it: no secret value may be among the texts a plan can print.
func TestPlanFieldsNeverHoldSecrets(t *testing.T) {
	cfg := parsePlanKinds(t, string(configs.Example))
	secrets := config.Secrets(cfg)
	if len(secrets) == 0 {
		t.Fatal("the example config has no secrets to look for")
	}
	for path, v := range flatten(*cfg) {
		for name, secret := range secrets {
			if strings.Contains(v, secret) {
				t.Errorf("field %s holds secret %s", path, name)
			}
		}
	}
}

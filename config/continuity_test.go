package config

import (
	"strings"
	"testing"
	"time"
)

// contBase is basePol with a tier-1 service's full record, a dependency,
// an integration, a heartbeat and a drill; cases replace parts of it.
const contBase = `users:
  - {id: alice, phone: "+31612345001", email: alice@example.com}
  - {id: bob, email: bob@example.com}
rotations:
  - {id: r1, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - {id: s1, layers: [r1]}
policies:
  - id: p1
    steps:
      - {notify: [schedule:s1], escalate_after: 10m}
integrations:
  - {name: prom, key: k-prom, service: db}
`

const contServices = `services:
  - id: checkout
    policy: p1
    criticality: tier1
    rto: 1h
    rpo: 5m
    runbook: https://wiki.example.com/runbooks/checkout
    continuity_plan: https://wiki.example.com/continuity/checkout
    owner: bob
    continuity_manager: alice
    review_every: 90d
    depends_on: [db]
  - {id: db, policy: p1}
`

func TestContinuityConfigValid(t *testing.T) {
	cfg, err := parseOne(t, contBase+contServices+`heartbeats:
  - {id: backup, service: checkout, key: hb-key, every: 24h, grace: 30m, severity: sev2}
  - id: watchdog
    service: checkout
    alertmanager: {integration: prom, matchers: ['alertname="Watchdog"']}
    every: 5m
    grace: 2m
drills:
  - id: q
    service: checkout
    cron: "0 10 * * 2"
    timezone: Europe/Amsterdam
    pass: {ack_within: 5m, recover_within: rto}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := cfg.Drill("q")
	if d.Severity != "sev2" || d.RecoverLimit(cfg) != time.Hour {
		t.Fatalf("drill defaults: %+v limit %v", d, d.RecoverLimit(cfg))
	}
	// Tuesday 2026-12-01 10:00 in Amsterdam is 09:00 UTC.
	from := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	if got, want := d.Next(from), time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next run %v, want %v", got, want)
	}
	hb, _ := cfg.Heartbeat("watchdog")
	if !hb.Alertmanager.Matches(map[string]string{"alertname": "Watchdog"}) || hb.Alertmanager.Matches(map[string]string{"alertname": "Other"}) {
		t.Fatal("watchdog matchers")
	}
	if hb.Deadline() != 7*time.Minute || hb.DedupKey() != "heartbeat:watchdog" {
		t.Fatal("deadline or dedup key")
	}
}

func TestContinuityConfigBad(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"tier1 without rto", strings.Replace(contServices, "    rto: 1h\n", "", 1), []string{
			// The service's own line: the field is missing, so there is no line of its own.
			`t.yaml:15:5: services[0]: rto: required for a tier1 service (tier0 and tier1 need rto, rpo, runbook, continuity_plan, owner and continuity_manager)`,
		}},
		{"tier0 without owner and plan", strings.NewReplacer("tier1", "tier0", "    owner: bob\n", "", "    continuity_plan: https://wiki.example.com/continuity/checkout\n", "").Replace(contServices), []string{
			`t.yaml:15:5: services[0]: continuity_plan: required for a tier0 service (tier0 and tier1 need rto, rpo, runbook, continuity_plan, owner and continuity_manager)`,
			`t.yaml:15:5: services[0]: owner: required for a tier0 service (tier0 and tier1 need rto, rpo, runbook, continuity_plan, owner and continuity_manager)`,
		}},
		{"unknown tier and user", strings.NewReplacer("tier1", "gold", "owner: bob", "owner: zed").Replace(contServices), []string{
			`t.yaml:17:18: services[0].criticality: unknown tier "gold" (use tier0, tier1, tier2 or tier3)`,
			`t.yaml:22:12: services[0].owner: unknown user "zed"`,
		}},
		{"depends_on cycle", strings.Replace(contServices, "  - {id: db, policy: p1}", "  - {id: db, policy: p1, depends_on: [checkout]}", 1), []string{
			`t.yaml:26:39: services[1].depends_on[0]: dependency cycle: checkout -> db -> checkout`,
		}},
		{"depends_on unknown", strings.Replace(contServices, "depends_on: [db]", "depends_on: [dbb]", 1), []string{
			`t.yaml:25:18: services[0].depends_on[0]: unknown service "dbb"`,
		}},
		{"bad cron", contServices + "drills:\n  - {id: q, service: checkout, cron: \"0 10 * *\"}\n", []string{
			`t.yaml:28:38: drills[0].cron: invalid cron expression "0 10 * *" (want 5 fields: minute hour day-of-month month day-of-week): expected exactly 5 fields, found 4: [0 10 * *]`,
		}},
		{"drill rto without rto", contServices + "drills:\n  - {id: q, service: db, cron: \"@daily\"}\n", []string{
			`t.yaml:28:5: drills[0].pass.recover_within: rto means the service's rto, but service "db" has none (set its rto or a duration here)`,
		}},
		{"heartbeat without key or every", contServices + "heartbeats:\n  - {id: h, service: nope}\n", []string{
			`t.yaml:28:5: heartbeats[0].every: required: a positive duration (how often a ping is due)`,
			`t.yaml:28:5: heartbeats[0].key: required (pings authenticate with it), unless alertmanager is set`,
			`t.yaml:28:22: heartbeats[0].service: unknown service "nope"`,
		}},
		{"heartbeat key is an integration key", contServices + "heartbeats:\n  - {id: h, service: db, every: 1m, key: k-prom}\n", []string{
			`t.yaml:28:42: heartbeats[0].key: same value as integrations[0].key; use separate secrets`,
		}},
		{"watchdog of unknown integration", contServices + "heartbeats:\n  - {id: h, service: db, every: 1m, alertmanager: {integration: am, matchers: ['alertname=\"Watchdog\"']}}\n", []string{
			`t.yaml:28:65: heartbeats[0].alertmanager.integration: unknown integration "am"`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOne(t, contBase+c.yaml, nil)
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

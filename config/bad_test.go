package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

type badCase struct {
	name string
	yaml string
	env  map[string]string
	want []string
}

// basePol is base with policies last, so cases can append policies.
const basePol = `users:
  - {id: alice, phone: "+31612345001", email: alice@example.com}
  - {id: bob, email: bob@example.com}
rotations:
  - {id: r1, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - {id: s1, layers: [r1]}
services:
  - {id: svc, policy: p1}
policies:
  - id: p1
    steps:
      - {notify: [schedule:s1], escalate_after: 10m}
`

var badCases = []badCase{
	{"syntax", "users: [\n", nil, []string{
		`t.yaml:1:1: invalid YAML: did not find expected node content`,
	}},
	{"top level list", "- a\n", nil, []string{
		`t.yaml:1:1: the top level of a config file must be a mapping, not a list`,
	}},
	{"unknown top key", "timezon: UTC\n", nil, []string{
		`t.yaml:1:1: config: unknown key "timezon" (allowed: timezone, public_url, auth, api_tokens, users, rotations, schedules, policies, services, integrations, severity, channels, business_hours, severities, status_pages, update_templates, maintenance, roles, retention, heartbeats, drills)`,
	}},
	{"unknown nested key", "users:\n  - {id: a, emial: a@example.com}\n", nil, []string{
		`t.yaml:2:13: users[0]: unknown key "emial" (allowed: id, name, email, phone, notify)`,
	}},
	{"duplicate key", "timezone: UTC\ntimezone: UTC\n", nil, []string{
		`t.yaml:2:1: config: duplicate key "timezone" (first set at t.yaml:1:1)`,
	}},
	{"wrong type", "users: {id: a}\n", nil, []string{
		`t.yaml:1:8: users: expected a list, got a mapping`,
	}},
	{"scalar for struct", "users: [alice]\n", nil, []string{
		`t.yaml:1:9: users[0]: expected a mapping, got a scalar`,
	}},
	{"list for string", "timezone: [UTC]\n", nil, []string{
		`t.yaml:1:11: timezone: expected a string, got a list`,
	}},
	{"unset env", "timezone: ${TZ_NAME}\n", nil, []string{
		`t.yaml:1:11: timezone: environment variable "TZ_NAME" is not set`,
	}},
	{"env inside string", "timezone: \"Europe/${CITY}\"\n", map[string]string{"CITY": "Nowhere"}, []string{
		`t.yaml:1:11: timezone: unknown timezone "Europe/${CITY}" (use an IANA name such as Europe/Amsterdam)`,
	}},
	// Issue 10.10: a value from the environment is never echoed, even in a
	// field that is not secret; the message shows what was written.
	{"env value in a non-secret field", "users:\n  - {id: a, phone: \"${PHONE}\", notify: [{via: sms, after: \"${WAIT}\"}]}\n",
		map[string]string{"PHONE": "hunter2-SECRET", "WAIT": "S3CRET"}, []string{
			`t.yaml:2:20: users[0].phone: invalid phone number "${PHONE}" (want E.164, e.g. +31612345678)`,
			`t.yaml:2:59: users[0].notify[0].after: invalid duration "${WAIT}" (use e.g. 90s, 10m, 1d, 1w)`,
		}},
	{"bad env syntax", "timezone: ${TZ\n", nil, []string{
		`t.yaml:1:11: timezone: unterminated ${ reference (write $$ for a literal $)`,
	}},
	{"bad env name", "timezone: ${1TZ}\n", nil, []string{
		`t.yaml:1:11: timezone: invalid variable name in ${...} reference (want letters, digits and _, not starting with a digit)`,
	}},
	{"merge key", "users:\n  - &a {id: a}\n  - {<<: *a, id: b}\n", nil, []string{
		`t.yaml:3:6: users[1]: merge keys (<<) are not supported`,
	}},
	{"two documents", "timezone: UTC\n---\ntimezone: UTC\n", nil, []string{
		`t.yaml:2:1: a config file holds one YAML document; split further documents into their own files`,
	}},
	{"bad timezone", "timezone: Mars/Olympus\n", nil, []string{
		`t.yaml:1:11: timezone: unknown timezone "Mars/Olympus" (use an IANA name such as Europe/Amsterdam)`,
	}},
	{"local timezone", "timezone: Local\n", nil, []string{
		`t.yaml:1:11: timezone: "Local" depends on each host's settings; name a zone such as UTC or Europe/Amsterdam`,
	}},
	{"bad duration", basePol + "  - {id: p2, steps: [{notify: [user:bob], escalate_after: 1x}]}\n", nil, []string{
		`t.yaml:14:59: policies[1].steps[0].escalate_after: invalid duration "1x" (use e.g. 90s, 10m, 1d, 1w)`,
	}},
	{"bad int", basePol + "  - {id: p2, repeat: many, steps: [{notify: [user:bob], escalate_after: 1m}]}\n", nil, []string{
		`t.yaml:14:22: policies[1].repeat: expected an integer, got "many"`,
	}},
	{"bad bool", base + "  - {id: s2, auto_resolve: maybe}\n", nil, []string{
		`t.yaml:14:28: services[1].auto_resolve: expected true or false, got "maybe"`,
	}},
	{"negative repeat", basePol + "  - {id: p2, repeat: -1, steps: [{notify: [user:bob], escalate_after: 1m}]}\n", nil, []string{
		`t.yaml:14:22: policies[1].repeat: must not be negative`,
	}},
	{"policy without steps", basePol + "  - {id: p2}\n", nil, []string{
		`t.yaml:14:5: policies[1].steps: at least one step is required`,
	}},
	{"step problems", basePol + "  - id: p2\n    steps:\n      - {notify: [], escalate_after: 0s}\n      - {notify: [team:x, user:zed, schedule:nope, rotation:nope, webhook:nope, bob], escalate_after: 1m}\n", nil, []string{
		`t.yaml:16:18: policies[1].steps[0].notify: at least one target is required`,
		`t.yaml:16:38: policies[1].steps[0].escalate_after: required and must be positive (e.g. 10m)`,
		`t.yaml:17:19: policies[1].steps[1].notify[0]: unknown target type "team" in "team:x" (use user:, schedule:, rotation: or webhook:)`,
		`t.yaml:17:27: policies[1].steps[1].notify[1]: unknown user "zed"`,
		`t.yaml:17:37: policies[1].steps[1].notify[2]: unknown schedule "nope"`,
		`t.yaml:17:52: policies[1].steps[1].notify[3]: unknown rotation "nope"`,
		`t.yaml:17:67: policies[1].steps[1].notify[4]: unknown webhook "nope"`,
		`t.yaml:17:81: policies[1].steps[1].notify[5]: invalid target "bob" (want user:ID, schedule:ID, rotation:ID or webhook:ID)`,
	}},
	{"events_to and bridge_url", base + "  - {id: s2, events_to: [webhook:nope, slack:x, webhook:], bridge_url: meet.example.com}\n", nil, []string{
		`t.yaml:14:26: services[1].events_to[0]: unknown webhook "nope"`,
		`t.yaml:14:40: services[1].events_to[1]: invalid target "slack:x" (want webhook:ID)`,
		`t.yaml:14:49: services[1].events_to[2]: invalid target "webhook:" (want webhook:ID)`,
		`t.yaml:14:72: services[1].bridge_url: invalid URL "meet.example.com" (want an absolute http or https URL)`,
	}},
	{"duplicate ids", base + "  - {id: svc}\n", nil, []string{
		`t.yaml:14:10: services[1].id: duplicate "svc" (already used by services[0])`,
	}},
	{"service unknown policy", base + "  - {id: s2, policy: nope, ack_timeout: -1m}\n", nil, []string{
		`t.yaml:14:22: services[1].policy: unknown policy "nope"`,
		`t.yaml:14:41: services[1].ack_timeout: must not be negative`,
	}},
	{"user problems", "users:\n  - {id: a, phone: \"0612345678\", email: not-an-address}\n  - {name: no id}\n  - id: c\n    notify: [{via: sms}, {via: email}, {via: pigeon, after: -1m}, {}]\n", nil, []string{
		`t.yaml:2:20: users[0].phone: invalid phone number "0612345678" (want E.164, e.g. +31612345678)`,
		`t.yaml:2:41: users[0].email: invalid email address "not-an-address"`,
		`t.yaml:3:5: users[1].id: required`,
		`t.yaml:5:20: users[2].notify[0].via: sms needs the user's phone to be set`,
		`t.yaml:5:32: users[2].notify[1].via: email needs the user's email to be set`,
		`t.yaml:5:46: users[2].notify[2].via: unknown channel "pigeon" (use sms or email)`,
		`t.yaml:5:61: users[2].notify[2].after: must not be negative`,
		`t.yaml:5:67: users[2].notify[3].via: required (sms or email)`,
	}},
	{"rotation problems", "users: [{id: a, email: a@example.com}]\nrotations:\n  - {id: r, participants: [], start: \"2026-13-01 09:00\", timezone: Nowhere/City}\n  - {id: r2, participants: [a, zed], shift: -1h}\n", nil, []string{
		`t.yaml:3:5: rotations[0].shift: required and must be positive (e.g. 1w)`,
		`t.yaml:3:27: rotations[0].participants: at least one participant is required`,
		`t.yaml:3:68: rotations[0].timezone: unknown timezone "Nowhere/City" (use an IANA name such as Europe/Amsterdam)`,
		`t.yaml:4:5: rotations[1].start: required (a handoff instant, e.g. "2026-11-02 09:00")`,
		`t.yaml:4:32: rotations[1].participants[1]: unknown user "zed"`,
		`t.yaml:4:45: rotations[1].shift: must be positive`,
	}},
	{"windows", "users: [{id: a, email: a@example.com}]\nrotations:\n  - id: r\n    participants: [a]\n    shift: 1d\n    start: \"2026-11-02 09:00\"\n    active:\n      - {days: [mon, funday], from: \"9:00\", to: \"24:00\"}\n      - {from: \"24:00\", to: \"25:00\"}\n      - {from: \"10:00\", to: \"10:00\"}\n      - {}\n", nil, []string{
		`t.yaml:8:22: rotations[0].active[0].days[1]: unknown day "funday" (use mon, tue, wed, thu, fri, sat, sun)`,
		`t.yaml:8:37: rotations[0].active[0].from: invalid time of day "9:00" (want "HH:MM", 00:00 to 23:59)`,
		`t.yaml:9:16: rotations[0].active[1].from: invalid time of day "24:00" (want "HH:MM", 00:00 to 23:59)`,
		`t.yaml:9:29: rotations[0].active[1].to: invalid time of day "25:00" (want "HH:MM", 00:00 to 23:59, or 24:00)`,
		`t.yaml:10:29: rotations[0].active[2].to: equals from, so the window is empty (to cover whole days use from "00:00", to "24:00")`,
		`t.yaml:11:9: rotations[0].active[3].from: required ("HH:MM")`,
		`t.yaml:11:9: rotations[0].active[3].to: required ("HH:MM")`,
	}},
	{"schedule problems", "users: [{id: a, email: a@example.com}]\nschedules:\n  - id: s\n    layers: [nope]\n    overrides:\n      - {from: \"2026-11-26 09:00\", to: \"2026-11-25 18:00\", user: zed, replaces: zed}\n      - {from: yesterday, user: a}\n  - {id: s2}\n", nil, []string{
		`t.yaml:4:14: schedules[0].layers[0]: unknown rotation "nope"`,
		`t.yaml:6:40: schedules[0].overrides[0].to: must be after from`,
		`t.yaml:6:66: schedules[0].overrides[0].user: unknown user "zed"`,
		`t.yaml:6:81: schedules[0].overrides[0].replaces: unknown user "zed"`,
		`t.yaml:7:9: schedules[0].overrides[1].to: required`,
		`t.yaml:7:16: schedules[0].overrides[1].from: invalid time "yesterday" (want "YYYY-MM-DD HH:MM" or RFC 3339)`,
		`t.yaml:8:5: schedules[1].layers: at least one rotation is required`,
	}},
	{"integration problems", base + "integrations:\n  - {name: a, key: k1}\n  - {name: a, key: k1, service: nope, routes: []}\n  - {name: c, routes: []}\n  - name: d\n    key: k4\n    routes:\n      - {matchers: ['service=\"x'], service: svc}\n      - {matchers: ['not a matcher', ''], service: nope}\n      - {matchers: []}\n", nil, []string{
		`t.yaml:15:5: integrations[0]: needs service (every event to one service) or routes`,
		`t.yaml:16:12: integrations[1].name: duplicate "a" (already used by integrations[0])`,
		`t.yaml:16:20: integrations[1].key: same value as integrations[0].key; every one must be distinct`,
		`t.yaml:16:33: integrations[1].service: unknown service "nope"`,
		`t.yaml:16:47: integrations[1].routes: set either service or routes, not both`,
		`t.yaml:17:5: integrations[2].key: required`,
		`t.yaml:17:23: integrations[2].routes: at least one route is required`,
		`t.yaml:21:21: integrations[3].routes[0].matchers[0]: matcher value contains unescaped double quote: "x`,
		`t.yaml:22:21: integrations[3].routes[1].matchers[0]: bad matcher format: not a matcher`,
		`t.yaml:22:38: integrations[3].routes[1].matchers[1]: empty matcher (omit it, or use an empty list to match everything)`,
		`t.yaml:22:52: integrations[3].routes[1].service: unknown service "nope"`,
		`t.yaml:23:9: integrations[3].routes[2].service: required`,
	}},
	{"api tokens", base + "integrations: [{name: a, key: shared, service: svc}]\napi_tokens:\n  - {name: admin, token: t1}\n  - {name: admin, token: t1}\n  - {name: x, token: shared}\n  - {name: y}\n", nil, []string{
		`t.yaml:17:12: api_tokens[1].name: duplicate "admin" (already used by api_tokens[0])`,
		`t.yaml:17:26: api_tokens[1].token: same value as api_tokens[0].token; every one must be distinct`,
		`t.yaml:18:22: api_tokens[2].token: same value as integrations[0].key; use separate secrets`,
		`t.yaml:19:5: api_tokens[3].token: required`,
	}},
	{"severity", "severity: {map: {critical: sev0, warn: sev3}, default: high}\n", nil, []string{
		`t.yaml:1:28: severity.map.critical: unknown severity "sev0" (use sev1, sev2 or sev3)`,
		`t.yaml:1:56: severity.default: unknown severity "high" (use sev1, sev2 or sev3)`,
	}},
	{"channels", "channels:\n  email: {smtp: localhost, from: \"not an address\", reply_domain: \"bad domain\"}\n  sms: {provider: nexmo, from: \"555\", api_base: \"ftp://x\", public_url: \"/relative\"}\n  webhooks:\n    - {id: w, url: \"chat.example.com\"}\n    - {id: w}\n", nil, []string{
		`t.yaml:2:17: channels.email.smtp: invalid address "localhost" (want host:port)`,
		`t.yaml:2:34: channels.email.from: invalid email address "not an address"`,
		`t.yaml:2:66: channels.email.reply_domain: invalid domain "bad domain"`,
		`t.yaml:3:8: channels.sms.account_sid: required`,
		`t.yaml:3:8: channels.sms.auth_token: required`,
		`t.yaml:3:19: channels.sms.provider: unknown provider "nexmo" (supported: twilio)`,
		`t.yaml:3:32: channels.sms.from: invalid phone number "555" (want E.164, e.g. +15550000000)`,
		`t.yaml:3:49: channels.sms.api_base: invalid URL "ftp://x" (want an absolute http or https URL)`,
		`t.yaml:3:72: channels.sms.public_url: invalid URL "/relative" (want an absolute http or https URL)`,
		`t.yaml:5:20: channels.webhooks[0].url: invalid URL (want an absolute http or https URL; the value is not shown, as webhook URLs often hold a secret)`,
		`t.yaml:6:7: channels.webhooks[1].url: required`,
		`t.yaml:6:12: channels.webhooks[1].id: duplicate "w" (already used by channels.webhooks[0])`,
	}},
	{"email needs smtp", "channels:\n  email: {reply_domain: pager.example.com}\n", nil, []string{
		`t.yaml:2:10: channels.email.from: required`,
		`t.yaml:2:10: channels.email.smtp: required (host:port of the outbound relay)`,
	}},
	{"email auth half set", "channels:\n  email: {smtp: \"relay:587\", from: a@example.com, password: s3cret-value}\n", nil, []string{
		`t.yaml:2:10: channels.email.username: required when channels.email.password is set`,
	}},
	{"email auth no password", "channels:\n  email: {smtp: \"relay:587\", from: a@example.com, username: pagerd}\n", nil, []string{
		`t.yaml:2:10: channels.email.password: required when channels.email.username is set`,
	}},
	{"secret type", "api_tokens: [{name: a, token: [x]}]\nintegrations: [{name: i, key: {a: b}}]\n", nil, []string{
		`t.yaml:1:31: api_tokens[0].token: expected a string, got a list`,
		`t.yaml:2:16: integrations[0]: needs service (every event to one service) or routes`,
		`t.yaml:2:31: integrations[0].key: expected a string, got a mapping`,
	}},
	{"unknown and bad type together", "users:\n  - {id: a, emial: x, phone: [1]}\n", nil, []string{
		`t.yaml:2:13: users[0]: unknown key "emial" (allowed: id, name, email, phone, notify)`,
		`t.yaml:2:30: users[0].phone: expected a string, got a list`,
	}},
	{"retention too short", "retention: {resolved: 10m}\n", nil, []string{
		`t.yaml:1:23: retention.resolved: must be at least 1h0m0s (absent means the default, 180d)`,
	}},
	{"duration overflow", base + "  - {id: s2, ack_timeout: 100000w}\n", nil, []string{
		`t.yaml:14:27: services[1].ack_timeout: invalid duration "100000w": too long`,
	}},
}

func TestBadConfigs(t *testing.T) {
	for _, c := range badCases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseOne(t, c.yaml, c.env)
			got := errLines(t, err)
			if os.Getenv("PRINT_BAD") != "" {
				fmt.Printf("--- %s\n%s\n", c.name, strings.Join(got, "\n"))
				return
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

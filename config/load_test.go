package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func parseOne(t *testing.T, text string, env map[string]string) (*Config, error) {
	t.Helper()
	return Parse([]Source{{Name: "t.yaml", Data: []byte(text)}}, LookupMap(env))
}

// errLines returns the lines of err, failing the test if it is not an Errors.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, want config.Errors: %v", err, err)
	}
	return strings.Split(es.Error(), "\n")
}

func TestExampleLoads(t *testing.T) {
	cfg, err := Load("../configs/example.yaml")
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if len(EnvRefs(mustSources(t, "../configs/example.yaml"))) != 0 {
		t.Errorf("example config must run without environment variables")
	}
	in, ok := cfg.IntegrationByKey("dev-prometheus-key")
	if !ok || in.Name != "prometheus" || len(in.Routes[0].Compiled) != 1 || len(in.Routes[1].Compiled) != 2 {
		t.Errorf("IntegrationByKey(prometheus) = %+v, %v", in, ok)
	}
	if tok, ok := cfg.APITokenFor("dev-admin-token"); !ok || tok.Name != "admin" || tok.Scope != ScopeAdmin {
		t.Errorf("APITokenFor = %+v, %v", tok, ok)
	}
	if _, ok := cfg.APITokenFor("dev-admin-toke"); ok {
		t.Errorf("APITokenFor accepted a wrong token")
	}
	if _, ok := cfg.IntegrationByKey(""); ok {
		t.Errorf("IntegrationByKey accepted an empty key")
	}
	if s, ok := cfg.Service("checkout"); !ok || s.Policy != "web-critical" || s.AckTimeout.D() != 30*time.Minute {
		t.Errorf("Service(checkout) = %+v, %v", s, ok)
	}
	if u, ok := cfg.User("dave"); !ok || !reflect.DeepEqual(u.Notify, []NotifyRule{{Via: "email"}}) {
		t.Errorf("User(dave) = %+v, %v (want default notify email)", u, ok)
	}
	if _, ok := cfg.User("nobody"); ok {
		t.Errorf("User(nobody) found")
	}
	if cfg.Rotations[1].Timezone != "Europe/Amsterdam" || cfg.Rotations[0].Shift.D() != 7*24*time.Hour {
		t.Errorf("rotation defaults: %+v", cfg.Rotations[1])
	}
	if cfg.Services[1].ResolvesAutomatically() || !cfg.Services[0].ResolvesAutomatically() {
		t.Errorf("auto_resolve not decoded")
	}
}

func mustSources(t *testing.T, paths ...string) []Source {
	t.Helper()
	srcs, err := ReadSources(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return srcs
}

func TestDefaults(t *testing.T) {
	cfg, err := parseOne(t, "channels:\n  sms: {account_sid: a, auth_token: b, from: '+15550000000'}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timezone != "UTC" || cfg.Severity.Label != "severity" || cfg.Severity.Default != "sev2" {
		t.Errorf("defaults: tz %q severity %+v", cfg.Timezone, cfg.Severity)
	}
	if cfg.Channels.SMS.Provider != "twilio" || cfg.Channels.SMS.APIBase != "https://api.twilio.com" {
		t.Errorf("sms defaults: %+v", cfg.Channels.SMS)
	}
	empty, err := parseOne(t, "", nil)
	if err != nil || empty.Channels.SMS.Provider != "" {
		t.Errorf("empty config: %+v, %v", empty, err)
	}
}

// base is a small valid config that the bad cases below build on.
const base = `users:
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
services:
  - {id: svc, policy: p1}
`

func TestBaseIsValid(t *testing.T) {
	if _, err := parseOne(t, base, nil); err != nil {
		t.Fatal(err)
	}
}

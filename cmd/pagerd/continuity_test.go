package main

import (
	"os"
	"strings"
	"testing"
)

// config check: a tier1 service without rto is pointed at, a depends_on
// cycle is refused with both names, and a cron that does not parse is
// reported at its position.
func TestConfigCheckContinuity(t *testing.T) {
	path := t.TempDir() + "/bad.yaml"
	yaml := `timezone: UTC
users: [{id: carol, email: carol@example.com}]
services:
  - id: checkout
    criticality: tier1
    rpo: 5m
    runbook: https://wiki.example.com/rb
    continuity_plan: https://wiki.example.com/plan
    owner: carol
    continuity_manager: carol
    depends_on: [db]
  - {id: db, depends_on: [checkout]}
drills:
  - {id: q, service: db, cron: "61 * * * *", pass: {recover_within: 30m}}
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := cli(t, "config", "check", path)
	all := out + errOut
	for _, want := range []string{
		path + `:4:5: services[0]: rto: required for a tier1 service`,
		path + `:12:27: services[1].depends_on[0]: dependency cycle: checkout -> db -> checkout`,
		path + `:14:32: drills[0].cron: invalid cron expression "61 * * * *"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("config check lacks %q:\n%s", want, all)
		}
	}
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
}

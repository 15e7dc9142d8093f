package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestConfigPlanComparesSecretsByDigest is issue 11.1: planning the config a
// node already runs says "no changes" (the server's redacted keys used to
// count as changed integrations), a changed secret plans as "secret
// changed" without the secret leaving the node, a change to who can
// authenticate is named, and --output json prints JSON.
func TestConfigPlanComparesSecretsByDigest(t *testing.T) {
	withHook := testcluster.DefaultConfig + `channels:
  webhooks:
    - {id: chat, url: "https://chat.example.com/hooks/T0/B1/SECRETPATH", secret: "hook-secret"}
`
	c := testcluster.Start(t, 1, testcluster.Options{Config: withHook + "# old: {name: admin, token: COMMENTED-OUT-TOKEN}\n"})
	n := c.Nodes[0]
	// Issue 10.10: GET /v1/config shows no comment and no webhook path.
	var view struct{ YAML string }
	if code := c.GetJSON(n, "/v1/config", &view); code != 200 || strings.Contains(view.YAML, "COMMENTED-OUT-TOKEN") ||
		strings.Contains(view.YAML, "SECRETPATH") || !strings.Contains(view.YAML, "https://chat.example.com/<redacted>") {
		t.Errorf("GET /v1/config (%d) shows a comment or a webhook path:\n%s", code, view.YAML)
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	same := write("same.yaml", withHook)
	code, out := c.Run(n, "config", "plan", same)
	if code != 0 || !strings.Contains(out, "config objects: no changes") || strings.Contains(out, "~ ") {
		t.Fatalf("plan of the running config (exit %d) should show no changes:\n%s", code, out)
	}

	changed := strings.NewReplacer(
		`key: "test-events-key"`, `key: "rotated-events-key"`,
		"hooks/T0/B1/SECRETPATH", "hooks/T0/B1/OTHERPATH",
		`  - {name: admin, token: "test-admin-token"}`, "  - {name: admin, token: \"test-admin-token\"}\n  - {name: ci, token: \"ci-token\", scope: respond}",
	).Replace(withHook)
	code, out = c.Run(n, "config", "plan", write("changed.yaml", changed))
	if code != 0 {
		t.Fatalf("plan exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"config objects: 3 changed",
		"+ api_token ci (added, scope respond)",
		"~ integrations[events].key (secret changed)",
		"~ channels.webhooks[chat].url (secret changed)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"test-events-key", "rotated-events-key", "SECRETPATH", "hook-secret"} {
		if strings.Contains(out, secret) {
			t.Errorf("plan output shows secret %q:\n%s", secret, out)
		}
	}

	code, out = c.Run(n, "config", "plan", "--output", "json", write("changed2.yaml", changed))
	var plan struct {
		Objects []struct{ Kind, ID, Change, Detail string }
		Shifts  []json.RawMessage
		From    time.Time
	}
	if code != 0 {
		t.Fatalf("plan --output json exit %d:\n%s", code, out)
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatalf("plan --output json is not JSON: %v\n%s", err, out)
	}
	if len(plan.Objects) != 3 || plan.Shifts == nil || plan.From.IsZero() {
		t.Errorf("plan JSON: %+v\n%s", plan, out)
	}
}

// TestServeWarnsWhenConfigFileDiffers is issue 11.2: a node restarted with an
// edited --config keeps the replicated config, and now says so at warning
// level with both versions and how to apply the file.
func TestServeWarnsWhenConfigFileDiffers(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	active := configVersion(t, c, n)
	n.Stop()
	edited := strings.Replace(testcluster.DefaultConfig, "name: Alice,", "name: Alice Jansen,", 1)
	if err := os.WriteFile(c.ConfigPath(), []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	n.Start()
	c.WaitReady(n)
	c.WaitFor(30*time.Second, func() (bool, string) {
		log := n.Log()
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, "differs from the cluster's active config") &&
				strings.Contains(line, "pagerd config apply") && strings.Contains(line, "active_version="+active) &&
				strings.Contains(line, "file_version=sha256:") {
				return true, ""
			}
		}
		return false, "no drift warning in the log yet"
	})
	if v := configVersion(t, c, n); v != active {
		t.Errorf("restart changed the active config: %s → %s", active, v)
	}
}

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadSourcesDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"b.yaml":     "services: [{id: b}]\n",
		"a.yaml":     "services: [{id: a}]\n",
		"notes.txt":  "not config",
		"c.yml":      "ignored: true\n",
		"empty.yaml": "",
	})
	srcs, err := ReadSources(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range srcs {
		names = append(names, filepath.Base(s.Name))
	}
	if want := []string{"a.yaml", "b.yaml", "empty.yaml"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names = %v, want %v", names, want)
	}
	cfg, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 2 || cfg.Services[0].ID != "a" || cfg.Services[1].ID != "b" {
		t.Errorf("services = %+v", cfg.Services)
	}
	if _, err := ReadSources(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := ReadSources(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no *.yaml files") {
		t.Errorf("empty dir: %v", err)
	}
	if _, err := ReadSources(); err == nil {
		t.Error("no paths: no error")
	}
}

func TestMergeSources(t *testing.T) {
	srcs := []Source{
		{Name: "users.yaml", Data: []byte("timezone: Europe/Amsterdam\nusers:\n  - {id: alice, email: a@example.com}\n")},
		{Name: "more.yaml", Data: []byte("users:\n  - {id: bob, email: b@example.com}\nrotations:\n  - {id: r, participants: [alice, bob], shift: 1d, start: \"2026-11-02 09:00\"}\n")},
	}
	cfg, err := Parse(srcs, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 2 || cfg.Users[1].ID != "bob" || cfg.Rotations[0].Timezone != "Europe/Amsterdam" {
		t.Errorf("merged config: %+v", cfg)
	}
}

func TestMergeConflicts(t *testing.T) {
	srcs := []Source{
		{Name: "a.yaml", Data: []byte("timezone: UTC\nseverity: {default: sev1}\nusers:\n  - {id: alice, phone: bad}\n")},
		{Name: "b.yaml", Data: []byte("users:\n  - {id: alice}\ntimezone: UTC\nseverity: {default: sev3}\n")},
	}
	_, err := Parse(srcs, noEnv)
	want := strings.Join([]string{
		`a.yaml:4:24: users[0].phone: invalid phone number "bad" (want E.164, e.g. +31612345678)`,
		`b.yaml:2:10: users[1].id: duplicate "alice" (already used by users[0])`,
		`b.yaml:3:1: timezone: already set at a.yaml:1:1 (only lists are combined across files)`,
		`b.yaml:4:1: severity: already set at a.yaml:2:1 (only lists are combined across files)`,
	}, "\n")
	if got := strings.Join(errLines(t, err), "\n"); got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
}

func TestEnvExpansion(t *testing.T) {
	text := `timezone: "${ZONE}"
api_tokens: [{name: admin, token: "tok-${ADMIN}-$$-$x-$"}]
users: [{id: "${USER_ID}", email: "${USER_ID}@example.com"}]
policies:
  - {id: p, repeat: "${REPEAT}", steps: [{notify: ["user:${USER_ID}"], escalate_after: "${WAIT}"}]}
`
	env := map[string]string{"ZONE": "Asia/Tokyo", "ADMIN": "s3cr3t", "USER_ID": "alice", "REPEAT": "3", "WAIT": "2d", "UNUSED": "x"}
	cfg, err := parseOne(t, text, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Timezone != "Asia/Tokyo" || cfg.APITokens[0].Token != "tok-s3cr3t-$-$x-$" || cfg.Users[0].Email != "alice@example.com" {
		t.Errorf("expanded: %+v", cfg)
	}
	if p := cfg.Policies[0]; p.Repeat != 3 || p.Steps[0].EscalateAfter.String() != "2d" {
		t.Errorf("policy: %+v", p)
	}
	src := []Source{{Name: "t.yaml", Data: []byte(text)}}
	if got, want := EnvRefs(src), []string{"ADMIN", "REPEAT", "USER_ID", "WAIT", "ZONE"}; !reflect.DeepEqual(got, want) {
		t.Errorf("EnvRefs = %v, want %v", got, want)
	}
	captured := CaptureEnv(src, LookupMap(env))
	if _, ok := captured["UNUSED"]; ok || len(captured) != 5 {
		t.Errorf("CaptureEnv = %v", captured)
	}
	_, err = parseOne(t, text, map[string]string{"ZONE": "UTC"})
	want := []string{
		`t.yaml:2:35: api_tokens[0].token: environment variable "ADMIN" is not set`,
		`t.yaml:3:14: users[0].id: environment variable "USER_ID" is not set`,
		`t.yaml:3:35: users[0].email: environment variable "USER_ID" is not set`,
		`t.yaml:5:21: policies[0].repeat: environment variable "REPEAT" is not set`,
		`t.yaml:5:52: policies[0].steps[0].notify[0]: environment variable "USER_ID" is not set`,
		`t.yaml:5:88: policies[0].steps[0].escalate_after: environment variable "WAIT" is not set`,
	}
	if got := errLines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// secretsConfig sets every secret field, some literally and some through the
// environment, and breaks validation around each of them.
const secretsConfig = `api_tokens:
  - {name: admin, token: "LITERAL-TOKEN-1"}
  - {name: ops, token: "LITERAL-TOKEN-1"}
  - {name: env, token: "${ENV_TOKEN}"}
  - {name: mixed, token: "pre-${ENV_TOKEN}"}
integrations:
  - {name: a, key: "LITERAL-KEY-1", service: nope}
  - {name: b, key: "LITERAL-KEY-1", routes: [{matchers: ["bad"], service: x}]}
  - {name: c, key: "${ENV_TOKEN}", service: nope}
  - {name: d, key: &k "ANCHORED-KEY", service: nope}
channels:
  sms: {account_sid: "LITERAL-SID", auth_token: "${SMS_TOKEN}", from: "bad", api_base: "ftp://nope"}
  webhooks:
    - {id: w, url: "nope", secret: "LITERAL-WEBHOOK-SECRET"}
    - {id: w2, url: "https://x.example.com", secret: *k}
`

var secretValues = []string{"LITERAL-TOKEN-1", "LITERAL-KEY-1", "LITERAL-SID", "LITERAL-WEBHOOK-SECRET", "ANCHORED-KEY", "ENV-SECRET-VALUE", "SMS-SECRET-VALUE"}

func TestSecretsNeverInErrors(t *testing.T) {
	env := map[string]string{"ENV_TOKEN": "ENV-SECRET-VALUE", "SMS_TOKEN": "SMS-SECRET-VALUE"}
	_, err := parseOne(t, secretsConfig, env)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, s := range secretValues {
		if strings.Contains(msg, s) {
			t.Errorf("error output contains secret %q:\n%s", s, msg)
		}
	}
	for _, want := range []string{
		"api_tokens[1].token: same value as api_tokens[0].token",
		"integrations[1].key: same value as integrations[0].key",
		"api_tokens[2].token: same value as integrations[2].key",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
	// Secrets in wrong shapes or with unset variables are still not printed.
	_, err = parseOne(t, "api_tokens: [{name: a, token: \"LITERAL-TOKEN-1${\"}]\n", nil)
	if err == nil || strings.Contains(err.Error(), "LITERAL-TOKEN-1") {
		t.Errorf("bad reference: %v", err)
	}
}

func TestRedacted(t *testing.T) {
	srcs := []Source{
		{Name: "secrets.yaml", Data: []byte(secretsConfig)},
		{Name: "more.yaml", Data: []byte("# ops team\n# api_tokens: [{name: old, token: COMMENTED-OUT-TOKEN}]\n" +
			"users: [{id: zed, email: zed@example.com}]  # line comment\n" +
			"channels:\n  webhooks:\n    - {id: chat, url: \"https://chat.example.com/hooks/T0/B1/XYZSECRETPATH?k=QUERYSECRET\"}\n")},
	}
	out := Redacted(srcs)
	// Issue 10.10: comments may hold old secrets, and a webhook URL's path
	// is often its credential.
	for _, s := range append(secretValues, "COMMENTED-OUT-TOKEN", "# ops team", "# line comment", "XYZSECRETPATH", "QUERYSECRET") {
		if strings.Contains(out, s) {
			t.Errorf("Redacted output contains secret %q:\n%s", s, out)
		}
	}
	for _, want := range []string{
		"# file: secrets.yaml\n", "# file: more.yaml\n", `url: "https://chat.example.com/<redacted>"`, `url: "<redacted>"`,
		`token: "${ENV_TOKEN}"`, `key: "${ENV_TOKEN}"`, `auth_token: "${SMS_TOKEN}"`,
		`token: "<redacted>"`, `account_sid: "<redacted>"`, `secret: "<redacted>"`, `secret: *k`,
		"email: zed@example.com", `from: "bad"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pre-${ENV_TOKEN}") {
		t.Errorf("a partial reference is not a pure reference and must be redacted:\n%s", out)
	}
	single := Redacted(srcs[1:])
	if strings.Contains(single, "# file:") || !strings.Contains(single, "zed") {
		t.Errorf("single source: %q", single)
	}
	if got := Redacted([]Source{{Name: "x.yaml", Data: []byte("token: [\nLITERAL-TOKEN-1")}}); strings.Contains(got, "LITERAL") {
		t.Errorf("unparseable source leaked: %q", got)
	}
	// The redacted example is still a config of the same shape: the only
	// problems are the secrets, now all equal.
	ex := mustSources(t, "../configs/example.yaml")
	_, err := Parse([]Source{{Name: "r.yaml", Data: []byte(Redacted(ex))}}, noEnv)
	for _, line := range errLines(t, err) {
		if !strings.Contains(line, "same value as") {
			t.Errorf("redacted example: %s", line)
		}
	}
}

func TestVersion(t *testing.T) {
	srcs := []Source{{Name: "a.yaml", Data: []byte("api_tokens: [{name: a, token: \"${T}\"}]\n")}}
	env := map[string]string{"T": "one"}
	v1 := Version(srcs, env)
	if !strings.HasPrefix(v1, "sha256:") || len(v1) != len("sha256:")+64 {
		t.Fatalf("Version = %q", v1)
	}
	if v := Version(srcs, map[string]string{"T": "one", "OTHER": "x"}); v != v1 {
		t.Error("an unreferenced variable changed the version")
	}
	different := map[string]string{
		"env value":   Version(srcs, map[string]string{"T": "two"}),
		"env unset":   Version(srcs, nil),
		"env empty":   Version(srcs, map[string]string{"T": ""}),
		"content":     Version([]Source{{Name: "a.yaml", Data: []byte("api_tokens: [{name: b, token: \"${T}\"}]\n")}}, env),
		"name":        Version([]Source{{Name: "b.yaml", Data: srcs[0].Data}}, env),
		"split files": Version([]Source{{Name: "a.yaml", Data: srcs[0].Data[:10]}, {Name: "", Data: srcs[0].Data[10:]}}, env),
	}
	seen := map[string]string{v1: "original"}
	for name, v := range different {
		if prev, dup := seen[v]; dup {
			t.Errorf("%s: same version as %s", name, prev)
		}
		seen[v] = name
	}
}

func TestSyntaxErrorSkipsCrossChecks(t *testing.T) {
	srcs := []Source{
		{Name: "users.yaml", Data: []byte("users: [{id: alice\n")},
		{Name: "rot.yaml", Data: []byte("rotations:\n  - {id: r, participants: [alice], shift: 1x, start: \"2026-11-02 09:00\"}\n")},
	}
	_, err := Parse(srcs, noEnv)
	want := []string{
		"users.yaml:1:1: invalid YAML: did not find expected ',' or '}'",
		`rot.yaml:2:43: rotations[0].shift: invalid duration "1x" (use e.g. 90s, 10m, 1d, 1w)`,
	}
	if got := errLines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A secret given through an alias is redacted where its anchor is written,
// whatever else the anchor is used for and wherever it stands: FuzzParse's
// property that Redacted never shows a literal token. The walk once marked
// the anchored value seen as an ordinary string (a user's name, visited
// first) and skipped it as the token; and it looked keys up by their text,
// so an alias key (`*k : ...`, resolved to "token" by the decoder) was not
// a field to it.
func TestRedactedBlanksASecretGivenThroughAnAlias(t *testing.T) {
	const secret = "Sup3rSecretTokenValue"
	for name, y := range map[string]string{
		"anchor on a plain field first": "users:\n  - {id: alice, name: &t \"" + secret + "\", email: alice@example.com}\n" +
			"api_tokens:\n  - {name: admin, token: *t}\n",
		"alias as the key": "users:\n  - {id: alice, name: &k token, email: alice@example.com}\n" +
			"api_tokens:\n  - {name: admin, *k : \"" + secret + "\"}\n",
		"webhook url key by alias": "users:\n  - {id: alice, name: &u url, email: alice@example.com}\n" +
			"api_tokens:\n  - {name: admin, token: \"${T}\"}\n" +
			"channels:\n  webhooks:\n    - {id: chat, *u : \"https://chat.example.com/hooks/" + secret + "\"}\n",
	} {
		srcs := []Source{{Name: "f.yaml", Data: []byte(y)}}
		cfg, err := Parse(srcs, LookupMap(map[string]string{"T": "env-token"}))
		if err != nil {
			t.Fatalf("%s: the case must be a valid config: %v", name, err)
		}
		if !strings.Contains(fmt.Sprintf("%+v", cfg), secret) {
			t.Fatalf("%s: the config does not hold the secret; the case tests nothing", name)
		}
		if out := Redacted(srcs); strings.Contains(out, secret) {
			t.Errorf("%s: Redacted shows the secret:\n%s", name, out)
		}
	}
}

package config

import (
	"strings"
	"testing"
)

// TestTokenScopes: scope defaults to admin (configs written before scopes
// keep working), an unknown scope is refused at its position, and scopes
// nest read < respond < admin.
func TestTokenScopes(t *testing.T) {
	cfg, err := parseOne(t, "api_tokens:\n  - {name: old, token: old-token}\n  - {name: ci, token: ci-token, scope: respond}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.APITokens[0].Scope != ScopeAdmin || cfg.APITokens[1].Scope != ScopeRespond || cfg.Auth != AuthTokens {
		t.Errorf("scopes %+v, auth %q", cfg.APITokens, cfg.Auth)
	}
	if tok, ok := cfg.APITokenFor("ci-token"); !ok || tok.Name != "ci" {
		t.Errorf("APITokenFor = %+v %v", tok, ok)
	}
	if _, err := parseOne(t, "api_tokens: [{name: a, token: aaaa, scope: root}]\n", nil); err == nil ||
		err.Error() != `t.yaml:1:44: api_tokens[0].scope: unknown scope "root" (use read, respond or admin)` {
		t.Errorf("unknown scope: %v", err)
	}
	for _, c := range []struct {
		has, needs string
		ok         bool
	}{
		{ScopeRead, ScopeRead, true}, {ScopeRead, ScopeRespond, false}, {ScopeRespond, ScopeRead, true},
		{ScopeRespond, ScopeAdmin, false}, {ScopeAdmin, ScopeRespond, true}, {"", ScopeRead, false}, {ScopeAdmin, "bogus", false},
	} {
		if got := ScopeAllows(c.has, c.needs); got != c.ok {
			t.Errorf("ScopeAllows(%q, %q) = %v", c.has, c.needs, got)
		}
	}
}

// TestCheckAccess is issue 10.4: a config that would leave the API open is
// refused, with its position, unless it says auth: none and the node is a
// --dev node.
func TestCheckAccess(t *testing.T) {
	cases := []struct {
		name, yaml string
		dev        bool
		want       string // "" means accepted
	}{
		{"empty", "{}\n", false, "t.yaml:1:1: api_tokens: no token with scope admin"},
		{"no tokens", "timezone: UTC\n", true, "t.yaml:1:1: api_tokens: no token with scope admin"},
		{"read tokens only", "timezone: UTC\napi_tokens: [{name: r, token: rrrr, scope: read}]\n", false, "t.yaml:2:13: api_tokens: no token with scope admin"},
		{"admin token", "api_tokens: [{name: a, token: aaaa}]\n", false, ""},
		{"auth none", "timezone: UTC\nauth: none\n", false, `t.yaml:2:7: auth: "none" leaves the API open to anyone who can reach it; only a node started with --dev accepts it`},
		{"auth none in dev", "auth: none\n", true, ""},
	}
	for _, c := range cases {
		cfg, err := parseOne(t, c.yaml, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = cfg.CheckAccess(c.dev)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
			t.Errorf("%s: got %v, want %s", c.name, err, c.want)
		}
	}
	if _, err := parseOne(t, "auth: none\napi_tokens: [{name: a, token: aaaa}]\n", nil); err == nil || !strings.Contains(err.Error(), "these tokens would be ignored") {
		t.Errorf("auth: none with tokens: %v", err)
	}
	if _, err := parseOne(t, "auth: off\n", nil); err == nil || !strings.Contains(err.Error(), `t.yaml:1:7: auth: unknown value "off"`) {
		t.Errorf("auth: off: %v", err)
	}
}

// TestFeedTokens: a feed token opens only its own schedule's feed, and must
// differ from every API token, integration key and other feed token.
func TestFeedTokens(t *testing.T) {
	const y = `api_tokens: [{name: a, token: api-token}]
integrations: [{name: i, key: int-key, service: s}]
services: [{id: s}]
users: [{id: u, email: u@example.com}]
rotations: [{id: r, participants: [u], shift: 1d, start: "2026-11-02 09:00"}]
schedules:
  - {id: web, layers: [r], feed_tokens: [{name: phone, token: FEED}]}
  - {id: ops, layers: [r], feed_tokens: [{name: wall, token: ops-feed}]}
`
	cfg, err := parseOne(t, strings.Replace(y, "FEED", "web-feed", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := cfg.FeedTokenName("web", "web-feed"); !ok || name != "phone" {
		t.Errorf("FeedTokenName(web) = %q %v", name, ok)
	}
	if _, ok := cfg.FeedTokenName("ops", "web-feed"); ok {
		t.Error("a feed token of web opened ops")
	}
	for secret, want := range map[string]string{
		"api-token": "t.yaml:7:63: schedules[0].feed_tokens[0].token: same value as api_tokens[0].token",
		"int-key":   "t.yaml:7:63: schedules[0].feed_tokens[0].token: same value as integrations[0].key",
		"ops-feed":  "t.yaml:8:62: schedules[1].feed_tokens[0].token: same value as schedules[0].feed_tokens[0].token",
	} {
		_, err := parseOne(t, strings.Replace(y, "FEED", secret, 1), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("feed token %s: %v\nwant %s", secret, err, want)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("message shows the secret: %v", err)
		}
	}
}

// TestSecretDigests: a digest matches its own value only, is salted (two
// digests of one value differ), and a digest asking for absurd work or
// malformed matches nothing.
func TestSecretDigests(t *testing.T) {
	d1 := DigestSecret([]byte("salt-one-16bytes"), "s3cret")
	d2 := DigestSecret([]byte("salt-two-16bytes"), "s3cret")
	if !DigestMatches(d1, "s3cret") || DigestMatches(d1, "s3cret ") || d1 == d2 || strings.Contains(d1, "s3cret") {
		t.Errorf("digests %s %s", d1, d2)
	}
	for _, bad := range []string{"", "sha256$1$x$y", strings.Replace(d1, "$50000$", "$999999999$", 1), strings.Replace(d1, "pbkdf2", "pbkdf3", 1)} {
		if DigestMatches(bad, "s3cret") {
			t.Errorf("%q matched", bad)
		}
	}
	cfg, err := parseOne(t, `api_tokens: [{name: a, token: tok}]
channels:
  webhooks: [{id: chat, url: "https://chat.example.com/T/SECRET", secret: hs}]
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := Secrets(cfg)
	if len(got) != 3 || got["api_tokens[a].token"] != "tok" || got["channels.webhooks[chat].url"] != "https://chat.example.com/T/SECRET" || got["channels.webhooks[chat].secret"] != "hs" {
		t.Errorf("Secrets = %v", got)
	}
	blank := WithoutSecrets(*cfg)
	if blank.APITokens[0].Token != "" || blank.Channels.Webhooks[0].URL != "" || cfg.APITokens[0].Token != "tok" {
		t.Errorf("WithoutSecrets: %+v, original %+v", blank.APITokens, cfg.APITokens)
	}
}

// FuzzDigestMatches: a digest comes from a server the CLI talks to; no input
// may panic or make the check spin.
func FuzzDigestMatches(f *testing.F) {
	f.Add(DigestSecret([]byte("0123456789abcdef"), "v"), "v")
	f.Add("pbkdf2-sha256$1$$", "")
	f.Fuzz(func(t *testing.T, digest, value string) {
		DigestMatches(digest, value)
	})
}

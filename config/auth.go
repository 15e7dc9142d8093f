package config

// Token scopes, from least to most power. Each includes the ones before it.
const (
	// ScopeRead reads incidents, schedules and who is on call.
	ScopeRead = "read"
	// ScopeRespond is read plus acting on incidents (ack, resolve, escalate,
	// notes, and the practice actions as they land).
	ScopeRespond = "respond"
	// ScopeAdmin is everything: config, snapshot, cluster membership, keys.
	ScopeAdmin = "admin"
)

// Authentication modes (the top-level `auth` key).
const (
	// AuthTokens, the default: every API request needs one of api_tokens.
	AuthTokens = "tokens"
	// AuthNone leaves the API open. Only a node started with --dev accepts a
	// config that says so; it exists so that leaving the API open is a choice
	// written down, never the side effect of a missing api_tokens list.
	AuthNone = "none"
)

var scopeRank = map[string]int{ScopeRead: 1, ScopeRespond: 2, ScopeAdmin: 3}

// ScopeAllows reports whether a token of scope has may do what needs requires.
// Unknown scopes allow nothing and satisfy nothing.
func ScopeAllows(has, needs string) bool {
	h, n := scopeRank[has], scopeRank[needs]
	return h > 0 && n > 0 && h >= n
}

// OpenAPI reports whether the config says the API needs no token.
func (c *Config) OpenAPI() bool { return c.Auth == AuthNone }

// APITokenFor returns the api_tokens entry equal to token, comparing every
// token in constant time.
func (c *Config) APITokenFor(token string) (APIToken, bool) {
	var found APIToken
	ok := false
	if token == "" {
		return found, false
	}
	for _, t := range c.APITokens {
		if secretEqual(token, t.Token) && !ok {
			found, ok = t, true
		}
	}
	return found, ok
}

// FeedTokenName returns the name of the feed token of schedule id equal to
// token. Feed tokens of other schedules never match.
func (c *Config) FeedTokenName(id, token string) (string, bool) {
	name, ok := "", false
	if token == "" {
		return "", false
	}
	for _, s := range c.Schedules {
		if s.ID != id {
			continue
		}
		for _, f := range s.FeedTokens {
			if secretEqual(token, f.Token) && !ok {
				name, ok = f.Name, true
			}
		}
	}
	return name, ok
}

// AdminToken returns the first token with scope admin, the one a node uses to
// join a cluster and to forward replies to the leader.
func (c *Config) AdminToken() (string, bool) {
	for _, t := range c.APITokens {
		if t.Scope == ScopeAdmin {
			return t.Token, true
		}
	}
	return "", false
}

// accessPos remembers where the auth settings were written.
type accessPos struct {
	auth, tokens pos
}

// CheckAccess is the admission rule for a config a node is about to run: it
// must not leave the API open by accident. A config without any admin token
// is refused (nobody could change it again, and before scopes such a config
// silently switched authentication off); `auth: none` is refused unless
// allowOpen (a node started with --dev). Parse does not apply this rule, so
// that a config already in a cluster's log replays the same on every node;
// every path that admits a new config does (config check/apply, PUT
// /v1/config, serve's seed config).
func (c *Config) CheckAccess(allowOpen bool) error {
	switch {
	case c.OpenAPI() && !allowOpen:
		p := c.access.auth
		return Errors{{File: p.file, Line: p.line, Col: p.col,
			Msg: "auth: \"none\" leaves the API open to anyone who can reach it; only a node started with --dev accepts it"}}
	case c.OpenAPI():
		return nil
	}
	if _, ok := c.AdminToken(); !ok {
		p := c.access.tokens
		return Errors{{File: p.file, Line: p.line, Col: p.col,
			Msg: "api_tokens: no token with scope admin, so the API would be open or nobody could change this config; add one (for development only: auth: none with serve --dev)"}}
	}
	return nil
}

// checkAuth validates auth, api token scopes and feed tokens. Every secret
// that opens something must be distinct from every other, so one leaked
// calendar URL never works as an API token or an integration key.
func (v *validator) checkAuth() {
	c := v.cfg
	switch c.Auth {
	case "":
		c.Auth = AuthTokens
	case AuthTokens, AuthNone:
	default:
		v.add("auth", "unknown value %q (use tokens or none)", c.Auth)
	}
	if c.Auth == AuthNone && len(c.APITokens) > 0 {
		v.add("api_tokens", "auth is \"none\", so these tokens would be ignored; remove them or the auth line")
	}
	for i := range c.APITokens {
		t := &c.APITokens[i]
		if t.Scope == "" {
			t.Scope = ScopeAdmin // entries written before scopes existed
		} else if scopeRank[t.Scope] == 0 {
			v.add(idx("api_tokens", i, "scope"), "unknown scope %q (use read, respond or admin)", t.Scope)
		}
	}
	v.checkFeedTokens()
	c.access = accessPos{auth: v.at("auth"), tokens: v.at("api_tokens")}
}

func (v *validator) checkFeedTokens() {
	owner := map[string]string{} // secret -> path of its first use
	for i, t := range v.cfg.APITokens {
		owner[t.Token] = idx("api_tokens", i, "token")
	}
	for i, in := range v.cfg.Integrations {
		owner[in.Key] = idx("integrations", i, "key")
	}
	for i, s := range v.cfg.Schedules {
		p := idx("schedules", i, "feed_tokens")
		ft := s.FeedTokens
		v.ids(len(ft), func(j int) string { return ft[j].Name }, func(j int) string { return idx(p, j, "name") })
		for j, f := range ft {
			tp := idx(p, j, "token")
			if f.Token == "" {
				v.add(tp, "required")
				continue
			}
			if prev, dup := owner[f.Token]; dup {
				v.add(tp, "same value as %s; every token and key must be distinct", prev)
				continue
			}
			owner[f.Token] = tp
		}
	}
}

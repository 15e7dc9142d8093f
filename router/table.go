package router

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/prometheus/alertmanager/pkg/labels"

	"github.com/pagerd/pagerd/config"
)

// Table is the routing table compiled from one config version: integration
// keys (hashed), each integration's routes with parsed matchers, services'
// auto-resolve flags and the severity mapping. It is immutable once built and
// safe for concurrent use; building it is the only place matchers (and their
// regexps) are compiled.
type Table struct {
	integrations []*integration
	autoResolve  map[string]bool
	policy       map[string]string // service → escalation policy id
	sevLabel     string
	sevMap       map[string]string
	sevDefault   string
}

type integration struct {
	name    string
	keyHash [sha256.Size]byte
	hasKey  bool
	service string  // set: every alert goes here
	routes  []route // else: first match wins
}

type route struct {
	matchers []*labels.Matcher
	service  string
}

// Defaults for an unset severity section.
const (
	defaultSeverityLabel = "severity"
	defaultSeverity      = "sev2"
)

// Compile builds the routing table of cfg. It fails only on matchers that do
// not parse, which can happen only for a config built in code (a loaded config
// carries Route.Compiled). Other consistency checks (unknown services,
// duplicate keys) are the config loader's job, and the table is lenient about
// them: a route to an unknown service auto-resolves (the config default) and
// the first of two integrations sharing a key wins.
func Compile(cfg *config.Config) (*Table, error) {
	if cfg == nil {
		return nil, fmt.Errorf("compile routing table: no config")
	}
	t := &Table{
		autoResolve: make(map[string]bool, len(cfg.Services)),
		policy:      make(map[string]string, len(cfg.Services)),
		sevLabel:    cfg.Severity.Label,
		sevMap:      cfg.Severity.Map,
		sevDefault:  cfg.Severity.Default,
	}
	if t.sevLabel == "" {
		t.sevLabel = defaultSeverityLabel
	}
	if t.sevDefault == "" {
		t.sevDefault = defaultSeverity
	}
	for _, s := range cfg.Services {
		t.autoResolve[s.ID] = s.ResolvesAutomatically()
		t.policy[s.ID] = s.Policy
	}
	for i := range cfg.Integrations {
		in, err := compileIntegration(&cfg.Integrations[i])
		if err != nil {
			return nil, err
		}
		t.integrations = append(t.integrations, in)
	}
	return t, nil
}

func compileIntegration(ci *config.Integration) (*integration, error) {
	in := &integration{name: ci.Name, service: ci.Service, hasKey: ci.Key != ""}
	if in.hasKey {
		in.keyHash = sha256.Sum256([]byte(ci.Key))
	}
	for ri, r := range ci.Routes {
		ms, err := routeMatchers(r)
		if err != nil {
			// The matcher text is config, not a secret; the key is never printed.
			return nil, fmt.Errorf("integration %q: routes[%d]: %w", ci.Name, ri, err)
		}
		in.routes = append(in.routes, route{matchers: ms, service: r.Service})
	}
	return in, nil
}

// routeMatchers uses the matchers the config loader compiled (Route.Compiled,
// non-nil for every loaded config) and otherwise parses them the way the loader
// does, for configs built in code: each entry with Alertmanager's
// labels.ParseMatchers, so one entry may hold several comma-separated
// matchers, all of which must match.
func routeMatchers(r config.Route) ([]*labels.Matcher, error) {
	if r.Compiled != nil {
		return r.Compiled, nil
	}
	var out []*labels.Matcher
	for _, s := range r.Matchers {
		ms, err := parseMatchers(s)
		if err != nil {
			return nil, fmt.Errorf("matcher %q: %w", s, err)
		}
		if len(ms) == 0 {
			return nil, fmt.Errorf("matcher %q: empty", s)
		}
		out = append(out, ms...)
	}
	return out, nil
}

// parseMatchers guards the third-party parser: a config must not crash a node.
func parseMatchers(s string) (ms []*labels.Matcher, err error) {
	defer func() {
		if r := recover(); r != nil {
			ms, err = nil, fmt.Errorf("cannot parse matcher: %v", r)
		}
	}()
	return labels.ParseMatchers(s)
}

// authenticate returns the integration whose key is key, or nil. Keys are
// compared as SHA-256 digests with subtle.ConstantTimeCompare against every
// integration without stopping at a match, so neither the response time nor
// its variation tells an attacker how much of a guessed key was right, how long
// the real keys are, or which integration matched.
func (t *Table) authenticate(key string) *integration {
	if key == "" {
		return nil
	}
	h := sha256.Sum256([]byte(key))
	var found *integration
	for _, in := range t.integrations {
		eq := subtle.ConstantTimeCompare(h[:], in.keyHash[:]) == 1
		if eq && in.hasKey && found == nil {
			found = in
		}
	}
	return found
}

// Authenticate returns the name of the integration whose key is key.
func (t *Table) Authenticate(key string) (name string, ok bool) {
	in := t.authenticate(key)
	if in == nil {
		return "", false
	}
	return in.name, true
}

// usesLabels reports whether routing this integration looks at labels at all,
// so callers can skip building routing labels for single-service integrations.
func (in *integration) usesLabels() bool { return in.service == "" }

// route picks the service for an alert with the given labels: the
// integration's fixed service, else the first route whose matchers all match
// (a missing label matches as the empty string, as in Alertmanager).
func (in *integration) route(lset map[string]string) (string, error) {
	if in.service != "" {
		return in.service, nil
	}
	for _, r := range in.routes {
		if matchAll(r.matchers, lset) {
			return r.service, nil
		}
	}
	return "", inputErr("", fmt.Sprintf("no route of integration %q matches labels %s", in.name, formatLabels(lset)))
}

func matchAll(ms []*labels.Matcher, lset map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(lset[m.Name]) {
			return false
		}
	}
	return true
}

// Route returns the service an alert with these labels from the named
// integration goes to, and whether that service auto-resolves.
func (t *Table) Route(integrationName string, lset map[string]string) (service string, autoResolve bool, err error) {
	for _, in := range t.integrations {
		if in.name == integrationName {
			svc, err := in.route(lset)
			if err != nil {
				return "", false, err
			}
			return svc, t.resolvesAutomatically(svc), nil
		}
	}
	return "", false, fmt.Errorf("route: unknown integration %q", integrationName)
}

// resolvesAutomatically defaults to true for a service the config does not
// list, which is the config's own default for auto_resolve.
func (t *Table) resolvesAutomatically(service string) bool {
	ar, ok := t.autoResolve[service]
	return !ok || ar
}

// formatLabels renders labels sorted, Prometheus style, for error messages.
func formatLabels(lset map[string]string) string {
	keys := make([]string, 0, len(lset))
	for k := range lset {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", k, lset[k])
	}
	b.WriteByte('}')
	return b.String()
}

// tableCache holds the table of the most recently seen config. Configs are
// immutable values replaced wholesale on apply, so the pointer identifies a
// version and the table is compiled once per version, not per request.
type tableCache struct {
	cur atomic.Pointer[cachedTable]
}

type cachedTable struct {
	cfg   *config.Config
	table *Table
	err   error
}

func (c *tableCache) get(cfg *config.Config) (*Table, error) {
	if ct := c.cur.Load(); ct != nil && ct.cfg == cfg {
		return ct.table, ct.err
	}
	// Two requests racing on a new config may both compile; the result is the
	// same and the loser's work is merely wasted, which is cheaper than a lock
	// on the hot path.
	t, err := Compile(cfg)
	c.cur.Store(&cachedTable{cfg: cfg, table: t, err: err})
	return t, err
}

// policyOf is the escalation policy of a service, stamped into the command
// so the incident records the policy it was opened under.
func (t *Table) policyOf(service string) string { return t.policy[service] }

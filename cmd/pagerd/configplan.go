package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/schedule"
)

// PlanChange is one config object added, removed or changed.
type PlanChange struct {
	Kind   string `json:"kind"` // user, rotation, ..., webhook, business_hours, severity, role, status_page, update_template, maintenance, heartbeat, drill, setting, secret
	ID     string `json:"id"`
	Change string `json:"change"` // added | removed | changed | secret changed
	Detail string `json:"detail,omitempty"`
}

// String is the plan's text line.
func (c PlanChange) String() string {
	mark := map[string]string{"added": "+", "removed": "-"}[c.Change]
	if mark == "" {
		mark = "~"
	}
	what := c.Change
	if c.Detail != "" {
		what += ", " + c.Detail
	}
	if c.Kind == "secret" {
		return fmt.Sprintf("%s %s (%s)", mark, c.ID, what)
	}
	return fmt.Sprintf("%s %s %s (%s)", mark, c.Kind, c.ID, what)
}

// Plan is `config plan --output json`.
type Plan struct {
	Objects  []PlanChange           `json:"objects"`
	From     time.Time              `json:"from"`
	To       time.Time              `json:"to"`
	Shifts   []schedule.ShiftChange `json:"shifts"`
	Warnings []string               `json:"warnings"`
	// Drills are the next run of each drill and who it would page.
	Drills []PlanDrill `json:"drills"`
}

// baseline is what a plan compares against. Secrets are compared by
// secretSame, because a live node never sends them: only digests.
type baseline struct {
	cfg *config.Config
	// secretSame reports whether the baseline knows secret name and whether
	// its value is v.
	secretSame func(name, v string) (known, same bool)
	// overrides are the server's runtime overrides per schedule (none for
	// --against): both sides of the plan are computed with them on top,
	// as the cluster will page once the new config is applied.
	overrides map[string][]schedule.Override
}

func configPlan(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config plan", flag.ContinueOnError)
	c := clientFlags(fs)
	against := fs.String("against", "", "compare with this config file or directory offline instead of the server's active config")
	weeks := fs.Int("weeks", 4, "how many weeks of shifts to compare")
	at := fs.String("from", "", "start of the compared window (RFC 3339; default now)")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := c.checkOutput(); err != nil {
		return err
	}
	if *weeks < 1 || *weeks > 52 {
		return usagef("--weeks must be from 1 to 52")
	}
	from := time.Now()
	if *at != "" {
		if from, err = time.Parse(time.RFC3339, *at); err != nil {
			return usagef("--from: %v", err)
		}
	}
	_, newCfg, err := loadLocal(paths)
	if err != nil {
		return err
	}
	base, err := planBaseline(c, *against)
	if err != nil {
		return err
	}
	plan, err := makePlan(base, newCfg, from, from.Add(time.Duration(*weeks)*7*24*time.Hour))
	if err != nil {
		return err
	}
	if c.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(plan)
	}
	printPlan(stdout, stderr, plan)
	return nil
}

// planBaseline is the config the plan compares against: a file, or the
// server's active config with its secrets redacted and their digests.
func planBaseline(c *client, against string) (baseline, error) {
	if against != "" {
		_, cfg, err := readLocal([]string{against}, false)
		if err != nil {
			return baseline{}, err
		}
		secrets := config.Secrets(cfg)
		return baseline{cfg: cfg, secretSame: func(name, v string) (bool, bool) {
			old, ok := secrets[name]
			return ok, old == v
		}}, nil
	}
	var view api.ConfigView
	if _, err := c.getJSON("/v1/config", nil, &view); err != nil {
		return baseline{}, err
	}
	base, err := viewBaseline(view)
	if err != nil {
		return baseline{}, err
	}
	if base.overrides, err = runtimeOverrides(c, base.cfg); err != nil {
		return baseline{}, err
	}
	return base, nil
}

// viewBaseline is the baseline a server's GET /v1/config describes: its
// redacted config, and its secrets by digest.
func viewBaseline(view api.ConfigView) (baseline, error) {
	placeholder := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok {
			return v, true
		}
		return "placeholder-" + name, true
	}
	// Secrets come back redacted, all alike; validation wants them distinct.
	// Objects are compared without secrets, and secrets by digest.
	yaml := view.YAML
	for i := 1; strings.Contains(yaml, config.RedactedValue); i++ {
		yaml = strings.Replace(yaml, config.RedactedValue, fmt.Sprintf("redacted-%d", i), 1)
	}
	cfg, err := config.Parse([]config.Source{{Name: "server:" + view.Version, Data: []byte(yaml)}}, placeholder)
	if err != nil {
		return baseline{}, fmt.Errorf("parse the server's active config: %w", err)
	}
	return baseline{cfg: cfg, secretSame: func(name, v string) (bool, bool) {
		d, ok := view.Secrets[name]
		return ok, ok && config.DigestMatches(d, v)
	}}, nil
}

// runtimeOverrides reads the server's runtime overrides of every schedule
// of cfg.
func runtimeOverrides(c *client, cfg *config.Config) (map[string][]schedule.Override, error) {
	out := map[string][]schedule.Override{}
	for _, s := range cfg.Schedules {
		var list struct {
			Overrides []cliOverride `json:"overrides"`
		}
		if _, err := c.getJSON("/v1/schedules/"+url.PathEscape(s.ID)+"/overrides", nil, &list); err != nil {
			return nil, fmt.Errorf("read runtime overrides of %s: %w", s.ID, err)
		}
		for _, o := range list.Overrides {
			out[s.ID] = append(out[s.ID], schedule.Override{From: o.From, To: o.To, User: o.User, Replaces: o.Replaces})
		}
	}
	return out, nil
}

func makePlan(base baseline, newCfg *config.Config, from, to time.Time) (*Plan, error) {
	p := &Plan{From: from.UTC(), To: to.UTC(), Objects: diffObjects(base.cfg, newCfg), Shifts: []schedule.ShiftChange{}}
	p.Objects = append(p.Objects, diffSecrets(base, newCfg)...)
	oldSet, err := schedule.Compile(base.cfg)
	if err != nil {
		return nil, fmt.Errorf("compile current schedules: %w", err)
	}
	newSet, err := schedule.Compile(newCfg)
	if err != nil {
		return nil, fmt.Errorf("compile new schedules: %w", err)
	}
	oldSet, newSet = oldSet.WithOverrides(base.overrides), newSet.WithOverrides(base.overrides)
	changes, err := schedule.Diff(oldSet, newSet, from, to)
	if err != nil {
		return nil, err
	}
	if changes != nil {
		p.Shifts = changes
	}
	p.Drills = planDrills(newCfg, newSet, from)
	p.Warnings = append(accessWarnings(newCfg), gapWarnings(newCfg, from)...)
	if p.Warnings == nil {
		p.Warnings = []string{}
	}
	return p, nil
}

func printPlan(stdout, stderr io.Writer, p *Plan) {
	if len(p.Objects) == 0 {
		fmt.Fprintln(stdout, "config objects: no changes")
	} else {
		fmt.Fprintf(stdout, "config objects: %d changed\n", len(p.Objects))
	}
	for _, o := range p.Objects {
		fmt.Fprintln(stdout, "  "+o.String())
	}
	fmt.Fprintf(stdout, "\non-call shifts %s → %s: %d changed\n", p.From.Format(time.RFC3339), p.To.Format(time.RFC3339), len(p.Shifts))
	for _, ch := range p.Shifts {
		fmt.Fprintln(stdout, "  "+schedule.FormatChange(ch))
	}
	printPlanDrills(stdout, p.Drills)
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning: "+w)
	}
}

// diffSecrets names every secret whose object exists on both sides but whose
// value differs. Added and removed objects already say so themselves.
func diffSecrets(base baseline, newCfg *config.Config) []PlanChange {
	var out []PlanChange
	secrets := config.Secrets(newCfg)
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if known, same := base.secretSame(name, secrets[name]); known && !same {
			out = append(out, PlanChange{Kind: "secret", ID: name, Change: "secret changed"})
		}
	}
	return out
}

// objectKind is one kind of config object, listed by id.
type objectKind struct {
	name     string
	old, new map[string]any
}

// diffObjects lists config objects added, removed and changed, by kind and
// id, with secrets left out of the comparison (diffSecrets compares those).
// Who can authenticate (auth, api tokens and their scopes, feed tokens) is
// listed like any object, so a plan never hides an access change.
func diffObjects(oldCfg, newCfg *config.Config) []PlanChange {
	o, n := config.WithoutSecrets(*oldCfg), config.WithoutSecrets(*newCfg)
	var out []PlanChange
	if oldCfg.Auth != newCfg.Auth {
		detail := oldCfg.Auth + " → " + newCfg.Auth
		if newCfg.OpenAPI() {
			detail += ": the API would be open to anyone who can reach it"
		}
		out = append(out, PlanChange{Kind: "setting", ID: "auth", Change: "changed", Detail: detail})
	}
	for _, k := range objectKinds(&o, &n) {
		out = append(out, diffKind(k)...)
	}
	return out
}

func objectKinds(o, n *config.Config) []objectKind {
	tokens := func(c *config.Config) map[string]any {
		return byID(c.APITokens, func(t config.APIToken) string { return t.Name })
	}
	feeds := func(c *config.Config) map[string]any {
		m := map[string]any{}
		for _, s := range c.Schedules {
			for _, f := range s.FeedTokens {
				m[s.ID+"/"+f.Name] = f
			}
		}
		return m
	}
	// Feed tokens are listed on their own; a schedule changes when who is
	// on call can change.
	schedules := func(c *config.Config) map[string]any {
		return byID(c.Schedules, func(s config.Schedule) string { return s.ID }, func(s config.Schedule) any {
			s.FeedTokens = nil
			return s
		})
	}
	return []objectKind{
		{"setting", settingsByName(o), settingsByName(n)},
		{"api_token", tokens(o), tokens(n)},
		{"feed_token", feeds(o), feeds(n)},
		{"user", byID(o.Users, func(u config.User) string { return u.ID }), byID(n.Users, func(u config.User) string { return u.ID })},
		{"rotation", byID(o.Rotations, func(r config.Rotation) string { return r.ID }), byID(n.Rotations, func(r config.Rotation) string { return r.ID })},
		{"schedule", schedules(o), schedules(n)},
		{"policy", byID(o.Policies, func(p config.Policy) string { return p.ID }), byID(n.Policies, func(p config.Policy) string { return p.ID })},
		{"service", byID(o.Services, func(s config.Service) string { return s.ID }), byID(n.Services, func(s config.Service) string { return s.ID })},
		{"integration", byID(o.Integrations, func(i config.Integration) string { return i.Name }), byID(n.Integrations, func(i config.Integration) string { return i.Name })},
		{"webhook", byID(o.Channels.Webhooks, func(w config.Webhook) string { return w.ID }), byID(n.Channels.Webhooks, func(w config.Webhook) string { return w.ID })},
		{"business_hours", businessHoursByID(o), businessHoursByID(n)},
		{"severity", severitiesByName(o), severitiesByName(n)},
		{"role", rolesByID(o), rolesByID(n)},
		{"status_page", byID(o.StatusPages, func(p config.StatusPage) string { return p.ID }), byID(n.StatusPages, func(p config.StatusPage) string { return p.ID })},
		{"update_template", byID(o.UpdateTemplates, func(t config.UpdateTemplate) string { return t.ID }), byID(n.UpdateTemplates, func(t config.UpdateTemplate) string { return t.ID })},
		{"maintenance", maintenanceByID(o), maintenanceByID(n)},
		{"heartbeat", heartbeatsByID(o), heartbeatsByID(n)},
		{"drill", byID(o.Drills, func(d config.Drill) string { return d.ID }), byID(n.Drills, func(d config.Drill) string { return d.ID })},
	}
}

func diffKind(k objectKind) []PlanChange {
	ids := map[string]bool{}
	for id := range k.old {
		ids[id] = true
	}
	for id := range k.new {
		ids[id] = true
	}
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	var out []PlanChange
	for _, id := range sorted {
		o, inOld := k.old[id]
		n, inNew := k.new[id]
		switch {
		case !inOld:
			out = append(out, PlanChange{Kind: k.name, ID: id, Change: "added", Detail: scopeDetail(n)})
		case !inNew:
			out = append(out, PlanChange{Kind: k.name, ID: id, Change: "removed"})
		default:
			if fields := fieldChanges(flatten(o), flatten(n)); len(fields) > 0 {
				out = append(out, PlanChange{Kind: k.name, ID: id, Change: "changed", Detail: changeDetail(o, n, fields)})
			}
		}
	}
	return out
}

// scopeDetail names a new API token's scope: who can do what is the point.
func scopeDetail(v any) string {
	if t, ok := v.(config.APIToken); ok {
		return "scope " + t.Scope
	}
	return ""
}

// changeDetail names the fields that change, old → new for scalars
// ("scope read → admin", "email a@x → b@x"); a severity policy says it in
// its own words ("update_every 4h → off").
func changeDetail(o, n any, fields []string) string {
	if os, ok := o.(config.SeverityPolicy); ok {
		if ns, ok := n.(config.SeverityPolicy); ok {
			if d := severityChange(os, ns); d != "" {
				return d
			}
		}
	}
	return strings.Join(fields, ", ")
}

// byID maps items by id; view, if given, is what gets compared.
func byID[T any](items []T, id func(T) string, view ...func(T) any) map[string]any {
	m := make(map[string]any, len(items))
	for _, it := range items {
		if len(view) > 0 {
			m[id(it)] = view[0](it)
		} else {
			m[id(it)] = it
		}
	}
	return m
}

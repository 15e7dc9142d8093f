package config

import (
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones must load the same on hosts without system zoneinfo

	"github.com/prometheus/alertmanager/pkg/labels"
)

var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

// validator checks a decoded Config. Every message starts with the path of the
// offending field and is reported at that field's node (or, for a missing
// field, at the nearest enclosing node that exists).
type validator struct {
	cfg      *Config
	where    map[string]pos
	bad      map[string]bool
	errs     *errorList
	fallback pos
	fromEnv  envValues
	top      *time.Location
	// replicated: a committed config (ParseReplicated); admission-only
	// checks are skipped.
	replicated bool

	users, rotations, schedules, webhooks map[string]bool
	roles                                 map[string]bool // config roles (roles.go)
	policies, services                    map[string]bool
	windows                               map[string]bool
	statusPages                           map[string]bool
}

func (v *validator) at(path string) pos {
	for p := path; p != ""; {
		if at, ok := v.where[p]; ok {
			return at
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if at, ok := v.where[""]; ok {
		return at
	}
	return v.fallback
}

func (v *validator) add(path, format string, args ...any) {
	for p := path; ; {
		if v.bad[p] {
			return // the decoder already reported this value (or its parent)
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	v.errs.add(v.at(path), "%s: %s", label(path), v.fromEnv.hide(path, fmt.Sprintf(format, args...)))
}

func (v *validator) run() {
	v.applyDefaults()
	v.top = v.zone("timezone", v.cfg.Timezone)
	v.checkUsers()
	v.checkChannels()
	v.checkRotations()
	v.checkSchedules()
	v.checkPolicies()
	v.checkServices()
	v.checkIntegrations()
	v.checkContinuity()
	v.checkAPITokens()
	v.checkAuth()
	v.checkSeverity()
	v.checkBusinessHours()
	v.checkRoles()
	v.checkSeverities()
	v.checkStatusPages()
	v.checkUpdateTemplates()
	v.checkMaintenance()
	v.checkPublicURL()
	v.checkRetention()
	v.fillZones()
	v.cfg.fillSeverityDefaults(func(sev, field string) bool {
		_, ok := v.where[mapPath("severities", sev)+"."+field]
		return ok
	})
}

func (v *validator) applyDefaults() {
	c := v.cfg
	if c.Severity.Label == "" {
		c.Severity.Label = "severity"
	}
	if c.Severity.Default == "" {
		c.Severity.Default = "sev2"
	}
	if sms := &c.Channels.SMS; *sms != (SMSChannel{}) {
		if sms.Provider == "" {
			sms.Provider = "twilio"
		}
		if sms.APIBase == "" {
			sms.APIBase = "https://api.twilio.com"
		}
	}
	for i := range c.Users {
		u := &c.Users[i]
		if u.Notify != nil {
			continue // an explicit list, even an empty one, is the user's choice
		}
		if u.Phone != "" {
			u.Notify = append(u.Notify, NotifyRule{Via: "sms"})
		}
		if u.Email != "" {
			u.Notify = append(u.Notify, NotifyRule{Via: "email"})
		}
	}
}

// fillZones resolves the zone fallbacks once, so consumers can use
// Rotation.Timezone and Schedule.Timezone directly.
func (v *validator) fillZones() {
	c := v.cfg
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	for i := range c.Rotations {
		if c.Rotations[i].Timezone == "" {
			c.Rotations[i].Timezone = c.Timezone
		}
	}
	for i := range c.Schedules {
		if c.Schedules[i].Timezone == "" {
			c.Schedules[i].Timezone = c.Timezone
		}
	}
}

// zone loads a zone name; "" means the fallback (UTC at the top level).
// "Local" is refused: it would make nodes disagree about wall-clock times.
func (v *validator) zone(path, name string) *time.Location {
	if name == "" {
		if v.top != nil {
			return v.top
		}
		return time.UTC
	}
	if name == "Local" {
		v.add(path, "\"Local\" depends on each host's settings; name a zone such as UTC or Europe/Amsterdam")
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		v.add(path, "unknown timezone %q (use an IANA name such as Europe/Amsterdam)", name)
		return nil
	}
	return loc
}

// ids checks that ids are present and unique and returns the set of them.
func (v *validator) ids(n int, id func(int) string, path func(int) string) map[string]bool {
	set := map[string]bool{}
	first := map[string]int{}
	for i := 0; i < n; i++ {
		s := id(i)
		switch j, dup := first[s]; {
		case s == "":
			v.add(path(i), "required")
		case dup:
			v.add(path(i), "duplicate %q (already used by %s)", s, parentOf(path(j)))
		default:
			first[s] = i
			set[s] = true
		}
	}
	return set
}

func parentOf(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return path
}

func idx(prefix string, i int, field string) string {
	p := prefix + "[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

func (v *validator) checkUsers() {
	us := v.cfg.Users
	v.users = v.ids(len(us), func(i int) string { return us[i].ID }, func(i int) string { return idx("users", i, "id") })
	for i, u := range us {
		p := idx("users", i, "")
		if u.Phone != "" && !e164.MatchString(u.Phone) {
			v.add(p+".phone", "invalid phone number %q (want E.164, e.g. +31612345678)", u.Phone)
		}
		if u.Email != "" && !plainAddress(u.Email) {
			v.add(p+".email", "invalid email address %q", u.Email)
		}
		for j, r := range u.Notify {
			rp := idx(p+".notify", j, "")
			switch r.Via {
			case "sms":
				if u.Phone == "" {
					v.add(rp+".via", "sms needs the user's phone to be set")
				}
			case "email":
				if u.Email == "" {
					v.add(rp+".via", "email needs the user's email to be set")
				}
			case "":
				v.add(rp+".via", "required (sms or email)")
			default:
				v.add(rp+".via", "unknown channel %q (use sms or email)", r.Via)
			}
			if r.After < 0 {
				v.add(rp+".after", "must not be negative")
			}
		}
	}
}

// plainAddress accepts a bare address such as alice@example.com.
func plainAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

func (v *validator) checkRotations() {
	rs := v.cfg.Rotations
	v.rotations = v.ids(len(rs), func(i int) string { return rs[i].ID }, func(i int) string { return idx("rotations", i, "id") })
	for i, r := range rs {
		p := idx("rotations", i, "")
		if len(r.Participants) == 0 {
			v.add(p+".participants", "at least one participant is required")
		}
		for j, u := range r.Participants {
			if !v.users[u] {
				v.add(idx(p+".participants", j, ""), "unknown user %q", u)
			}
		}
		// CheckShift and ParseAnchor are what schedule.Compile runs too.
		if err := CheckShift(r.Shift); err != nil && !v.replicated {
			v.add(p+".shift", "%v", err)
		}
		loc := v.zone(p+".timezone", r.Timezone)
		if r.Start == "" {
			v.add(p+".start", "required (a handoff instant, e.g. \"2026-11-02 09:00\")")
		} else if loc != nil {
			if _, _, _, err := ParseAnchor(r.Start, loc); err != nil {
				v.add(p+".start", "%v", err)
			}
		}
		for j, w := range r.Active {
			v.checkWindow(idx(p+".active", j, ""), w)
		}
	}
}

var weekdays = map[string]bool{"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true}

func (v *validator) checkWindow(p string, w Window) {
	for k, d := range w.Days {
		if !weekdays[d] {
			v.add(idx(p+".days", k, ""), "unknown day %q (use mon, tue, wed, thu, fri, sat, sun)", d)
		}
	}
	from, okFrom := v.clock(p+".from", w.From, false)
	to, okTo := v.clock(p+".to", w.To, true)
	if okFrom && okTo && from == to {
		v.add(p+".to", "equals from, so the window is empty (to cover whole days use from \"00:00\", to \"24:00\")")
	}
}

// clock parses "HH:MM" into minutes after midnight; "24:00" only as an end.
func (v *validator) clock(path, s string, end bool) (int, bool) {
	if s == "" {
		v.add(path, "required (\"HH:MM\")")
		return 0, false
	}
	sec, err := ParseClock(s, end)
	if err != nil {
		v.add(path, "%v", err)
		return 0, false
	}
	return int(sec / 60), true
}

func (v *validator) checkSchedules() {
	ss := v.cfg.Schedules
	v.schedules = v.ids(len(ss), func(i int) string { return ss[i].ID }, func(i int) string { return idx("schedules", i, "id") })
	for i, s := range ss {
		p := idx("schedules", i, "")
		loc := v.zone(p+".timezone", s.Timezone)
		if len(s.Layers) == 0 {
			v.add(p+".layers", "at least one rotation is required")
		}
		for j, l := range s.Layers {
			if !v.rotations[l] {
				v.add(idx(p+".layers", j, ""), "unknown rotation %q", l)
			}
		}
		for j, o := range s.Overrides {
			v.checkOverride(idx(p+".overrides", j, ""), o, loc)
		}
	}
}

func (v *validator) checkOverride(p string, o Override, loc *time.Location) {
	from, okFrom := v.instant(p+".from", o.From, loc)
	to, okTo := v.instant(p+".to", o.To, loc)
	if okFrom && okTo && !to.After(from) {
		v.add(p+".to", "must be after from")
	}
	if o.User == "" {
		v.add(p+".user", "required")
	} else if !v.users[o.User] {
		v.add(p+".user", "unknown user %q", o.User)
	}
	if o.Replaces != "" && !v.users[o.Replaces] {
		v.add(p+".replaces", "unknown user %q", o.Replaces)
	}
}

func (v *validator) instant(path, s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		v.add(path, "required")
		return time.Time{}, false
	}
	if loc == nil {
		return time.Time{}, false // the zone error is already reported
	}
	sec, err := ParseInstant(s, loc)
	if err != nil {
		v.add(path, "%v", err)
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

func (v *validator) checkChannels() {
	ch := &v.cfg.Channels
	ws := ch.Webhooks
	v.webhooks = v.ids(len(ws), func(i int) string { return ws[i].ID }, func(i int) string { return idx("channels.webhooks", i, "id") })
	for i, w := range ws {
		p := idx("channels.webhooks", i, "url")
		if w.URL == "" {
			v.add(p, "required")
		} else if err := checkURL(w.URL); err != nil {
			// Not quoted: a webhook URL's path is often its credential.
			v.add(p, "invalid URL (want an absolute http or https URL; the value is not shown, as webhook URLs often hold a secret)")
		}
	}
	if ch.Email != (EmailChannel{}) {
		v.checkEmail(ch.Email)
	}
	if ch.SMS != (SMSChannel{}) {
		v.checkSMS(ch.SMS)
	}
	if ch.FloodControl.Max < 0 {
		v.add("channels.flood_control.max", "must be at least 1 (0 or absent means the default, %d)", DefaultFloodMax)
	}
	if per := ch.FloodControl.Per; per != 0 && per.D() < time.Second {
		v.add("channels.flood_control.per", "must be at least 1s (absent means the default, %s)", DefaultFloodPer)
	}
}

func (v *validator) checkEmail(e EmailChannel) {
	const p = "channels.email"
	if e.SMTP == "" {
		v.add(p+".smtp", "required (host:port of the outbound relay)")
	} else if err := checkHostPort(e.SMTP); err != nil {
		v.add(p+".smtp", "%v", err)
	}
	if e.From == "" {
		v.add(p+".from", "required")
	} else if a, err := mail.ParseAddress(e.From); err != nil || !strings.Contains(a.Address, "@") {
		v.add(p+".from", "invalid email address %q", e.From)
	}
	if e.ReplyDomain != "" && !plausibleDomain(e.ReplyDomain) {
		v.add(p+".reply_domain", "invalid domain %q", e.ReplyDomain)
	}
	// SMTP AUTH needs both; the password is a secret, so never echo it.
	switch {
	case e.Username != "" && e.Password == "":
		v.add(p+".password", "required when channels.email.username is set")
	case e.Username == "" && e.Password != "":
		v.add(p+".username", "required when channels.email.password is set")
	case strings.ContainsAny(e.Username, "\x00\r\n"):
		v.add(p+".username", "must not contain NUL or line breaks")
	case strings.ContainsAny(e.Password, "\x00\r\n"):
		v.add(p+".password", "must not contain NUL or line breaks")
	}
}

func (v *validator) checkSMS(s SMSChannel) {
	const p = "channels.sms"
	if s.Provider != "twilio" {
		v.add(p+".provider", "unknown provider %q (supported: twilio)", s.Provider)
	}
	// account_sid and auth_token are secrets: say what is wrong, never the value.
	if s.AccountSID == "" {
		v.add(p+".account_sid", "required")
	}
	if s.AuthToken == "" {
		v.add(p+".auth_token", "required")
	}
	if s.From == "" {
		v.add(p+".from", "required (the sending number, E.164)")
	} else if !e164.MatchString(s.From) {
		v.add(p+".from", "invalid phone number %q (want E.164, e.g. +15550000000)", s.From)
	}
	if err := checkURL(s.APIBase); err != nil {
		v.add(p+".api_base", "%v", err)
	}
	if s.PublicURL != "" {
		if err := checkURL(s.PublicURL); err != nil {
			v.add(p+".public_url", "%v", err)
		}
	}
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid URL %q (want an absolute http or https URL)", s)
	}
	return nil
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return fmt.Errorf("invalid address %q (want host:port)", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port in %q", s)
	}
	return nil
}

// domainRE spells both cases out: (?i) would fold Unicode too, letting the
// Kelvin sign and the long s through as k and s (TestPlausibleDomainIsASCII).
var domainRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

func plausibleDomain(s string) bool { return len(s) <= 253 && domainRE.MatchString(s) }

func (v *validator) checkPolicies() {
	ps := v.cfg.Policies
	v.policies = v.ids(len(ps), func(i int) string { return ps[i].ID }, func(i int) string { return idx("policies", i, "id") })
	for i, pol := range ps {
		p := idx("policies", i, "")
		if pol.Repeat < 0 {
			v.add(p+".repeat", "must not be negative")
		}
		if len(pol.Steps) == 0 {
			v.add(p+".steps", "at least one step is required")
		}
		for j, st := range pol.Steps {
			sp := idx(p+".steps", j, "")
			if len(st.Notify) == 0 {
				v.add(sp+".notify", "at least one target is required")
			}
			for k, t := range st.Notify {
				v.checkTarget(idx(sp+".notify", k, ""), t)
			}
			// Every step needs a positive delay, the last one too: it is the
			// wait before the policy repeats, and a zero delay would loop.
			if st.EscalateAfter <= 0 {
				v.add(sp+".escalate_after", "required and must be positive (e.g. 10m)")
			}
		}
	}
}

func (v *validator) checkTarget(path, t string) {
	kind, id, ok := strings.Cut(t, ":")
	if !ok || id == "" {
		v.add(path, "invalid target %q (want user:ID, schedule:ID, rotation:ID or webhook:ID)", t)
		return
	}
	var known map[string]bool
	switch kind {
	case "user":
		known = v.users
	case "schedule":
		known = v.schedules
	case "rotation":
		known = v.rotations
	case "webhook":
		known = v.webhooks
	default:
		v.add(path, "unknown target type %q in %q (use user:, schedule:, rotation: or webhook:)", kind, t)
		return
	}
	if !known[id] {
		v.add(path, "unknown %s %q", kind, id)
	}
}

func (v *validator) checkServices() {
	ss := v.cfg.Services
	v.services = v.ids(len(ss), func(i int) string { return ss[i].ID }, func(i int) string { return idx("services", i, "id") })
	for i, s := range ss {
		p := idx("services", i, "")
		if s.Policy != "" && !v.policies[s.Policy] {
			v.add(p+".policy", "unknown policy %q", s.Policy)
		}
		if s.AckTimeout < 0 {
			v.add(p+".ack_timeout", "must not be negative")
		}
		v.checkEventsTo(p+".events_to", s.EventsTo)
		if s.BridgeURL != "" && checkURL(s.BridgeURL) != nil {
			v.add(p+".bridge_url", "invalid URL %q (want an absolute http or https URL)", s.BridgeURL)
		}
	}
}

// checkEventsTo: each entry is a known webhook, once.
func (v *validator) checkEventsTo(path string, targets []string) {
	seen := map[string]bool{}
	for k, t := range targets {
		p := idx(path, k, "")
		id, ok := strings.CutPrefix(t, "webhook:")
		switch {
		case !ok || id == "":
			v.add(p, "invalid target %q (want webhook:ID)", t)
		case !v.webhooks[id]:
			v.add(p, "unknown webhook %q", id)
		case seen[id]:
			v.add(p, "webhook %q is listed twice", id)
		}
		seen[id] = true
	}
}

func (v *validator) checkIntegrations() {
	in := v.cfg.Integrations
	v.ids(len(in), func(i int) string { return in[i].Name }, func(i int) string { return idx("integrations", i, "name") })
	v.secretsUnique(len(in), func(i int) string { return in[i].Key }, func(i int) string { return idx("integrations", i, "key") })
	for i := range in {
		v.checkIntegration(i, &in[i])
	}
}

func (v *validator) checkIntegration(i int, in *Integration) {
	p := idx("integrations", i, "")
	switch {
	case in.Service != "" && in.Routes != nil:
		v.add(p+".routes", "set either service or routes, not both")
	case in.Service == "" && in.Routes == nil:
		v.add(p, "needs service (every event to one service) or routes")
	case in.Routes != nil && len(in.Routes) == 0:
		v.add(p+".routes", "at least one route is required")
	}
	if in.Service != "" && !v.services[in.Service] {
		v.add(p+".service", "unknown service %q", in.Service)
	}
	for j := range in.Routes {
		r := &in.Routes[j]
		rp := idx(p+".routes", j, "")
		if r.Service == "" {
			v.add(rp+".service", "required")
		} else if !v.services[r.Service] {
			v.add(rp+".service", "unknown service %q", r.Service)
		}
		r.Compiled = v.compileMatchers(rp+".matchers", r.Matchers)
	}
}

// compileMatchers parses each entry with Alertmanager's own parser. Like
// Alertmanager's route `matchers`, one entry may hold several comma-separated
// matchers; all of them must match.
func (v *validator) compileMatchers(path string, ms []string) []*labels.Matcher {
	out := []*labels.Matcher{}
	for k, s := range ms {
		mp := idx(path, k, "")
		parsed, err := parseMatchers(s)
		switch {
		case err != nil:
			v.add(mp, "%v", err)
		case len(parsed) == 0:
			v.add(mp, "empty matcher (omit it, or use an empty list to match everything)")
		default:
			out = append(out, parsed...)
		}
	}
	return out
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

// secretsUnique reports empty and repeated secrets by field path only.
func (v *validator) secretsUnique(n int, val func(int) string, path func(int) string) {
	first := map[string]int{}
	for i := 0; i < n; i++ {
		s := val(i)
		if s == "" {
			v.add(path(i), "required")
			continue
		}
		if j, dup := first[s]; dup {
			v.add(path(i), "same value as %s; every one must be distinct", path(j))
			continue
		}
		first[s] = i
	}
}

func (v *validator) checkAPITokens() {
	ts := v.cfg.APITokens
	v.ids(len(ts), func(i int) string { return ts[i].Name }, func(i int) string { return idx("api_tokens", i, "name") })
	v.secretsUnique(len(ts), func(i int) string { return ts[i].Token }, func(i int) string { return idx("api_tokens", i, "token") })
	// A token that is also an integration key would let an alert source act
	// as an operator; insist on separate secrets.
	for i, t := range ts {
		for j, in := range v.cfg.Integrations {
			if t.Token != "" && t.Token == in.Key {
				v.add(idx("api_tokens", i, "token"), "same value as %s; use separate secrets", idx("integrations", j, "key"))
			}
		}
	}
}

func (v *validator) checkSeverity() {
	s := v.cfg.Severity
	for k, val := range s.Map {
		if SeverityRank(val) == len(Severities) {
			v.add(mapPath("severity.map", k), "unknown severity %q (use sev1, sev2 or sev3)", val)
		}
	}
	if SeverityRank(s.Default) == len(Severities) {
		v.add("severity.default", "unknown severity %q (use sev1, sev2 or sev3)", s.Default)
	}
}

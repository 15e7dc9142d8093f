package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
	"github.com/prometheus/common/model"

	"github.com/pagerd/pagerd/incident"
)

// Config is one validated pagerd configuration (spec §3). It is a plain value:
// loading it reads no clock, so every node that loads the same sources and
// environment values gets the same Config.
type Config struct {
	Timezone string `yaml:"timezone"`
	// PublicURL is where people reach this cluster's console (spec §5.1);
	// links in pages, summaries and mails are built from it (publicurl.go).
	PublicURL string `yaml:"public_url"`
	// Auth is how the API authenticates: "tokens" (the default: api_tokens,
	// at least one with scope admin) or "none" (an open API, which only a
	// node started with --dev accepts).
	Auth         string        `yaml:"auth"`
	APITokens    []APIToken    `yaml:"api_tokens"`
	Users        []User        `yaml:"users"`
	Rotations    []Rotation    `yaml:"rotations"`
	Schedules    []Schedule    `yaml:"schedules"`
	Policies     []Policy      `yaml:"policies"`
	Services     []Service     `yaml:"services"`
	Integrations []Integration `yaml:"integrations"`
	Severity     SeverityMap   `yaml:"severity"`
	Channels     Channels      `yaml:"channels"`
	// BusinessHours are named windows (spec §5.1); Severities say, per
	// severity, whether to page always or only inside one of them. Parse
	// fills every severity's policy with the defaults.
	BusinessHours []BusinessHours           `yaml:"business_hours"`
	Severities    map[string]SeverityPolicy `yaml:"severities"`
	// Status communication (spec §5.1): status pages and their components,
	// canned update texts, and maintenance windows (status.go,
	// maintenance.go).
	StatusPages     []StatusPage     `yaml:"status_pages"`
	UpdateTemplates []UpdateTemplate `yaml:"update_templates"`
	Maintenance     []Maintenance    `yaml:"maintenance"`
	// Roles add incident roles or set the built-in ones' from and
	// instructions (roles.go).
	Roles []Role `yaml:"roles"`
	// Retention bounds how long resolved incidents are kept (retention.go).
	Retention Retention `yaml:"retention"`
	// Heartbeats and Drills are the service continuity checks (continuity.go).
	Heartbeats []Heartbeat `yaml:"heartbeats"`
	Drills     []Drill     `yaml:"drills"`

	// access is where validation found the auth settings, so CheckAccess can
	// point at them.
	access accessPos
}

// APIToken is a bearer token for the non-ingest API and the CLI. Scope says
// what it may do (ScopeRead, ScopeRespond, ScopeAdmin); Parse fills in
// ScopeAdmin when it is absent, so configs written before scopes keep working.
type APIToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token" secret:"true"`
	Scope string `yaml:"scope"`
}

// FeedToken lets a calendar app read one schedule's calendar.ics, and nothing
// else. It may be sent as ?token= because calendar apps subscribe by URL.
type FeedToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token" secret:"true"`
}

// User is a person who can be paged.
type User struct {
	ID     string       `yaml:"id"`
	Name   string       `yaml:"name"`
	Email  string       `yaml:"email"`
	Phone  string       `yaml:"phone"`
	Notify []NotifyRule `yaml:"notify"`
}

// NotifyRule is one personal notification rule: contact the user via a channel
// `After` the escalation step that targets them started.
type NotifyRule struct {
	Via   string   `yaml:"via"` // sms | email
	After Duration `yaml:"after"`
}

// Rotation is an ordered list of participants taking turns of length Shift,
// anchored at the handoff instant Start.
type Rotation struct {
	ID           string   `yaml:"id"`
	Participants []string `yaml:"participants"`
	Shift        Duration `yaml:"shift"`
	Start        string   `yaml:"start"`
	Timezone     string   `yaml:"timezone"`
	Active       []Window `yaml:"active"`
}

// Window restricts a rotation to weekday and time-of-day ranges in its zone.
type Window struct {
	Days []string `yaml:"days"` // mon..sun; empty means every day
	From string   `yaml:"from"` // "HH:MM"
	To   string   `yaml:"to"`   // "HH:MM"; before From means the window crosses midnight
}

// Schedule stacks rotations as layers (a later layer wins where it has someone)
// and applies overrides on top.
type Schedule struct {
	ID        string     `yaml:"id"`
	Timezone  string     `yaml:"timezone"`
	Layers    []string   `yaml:"layers"`
	Overrides []Override `yaml:"overrides"`
	// FeedTokens read this schedule's calendar feed only.
	FeedTokens []FeedToken `yaml:"feed_tokens"`
}

// Override puts User on call in [From, To), replacing only Replaces if set.
type Override struct {
	From     string `yaml:"from"`
	To       string `yaml:"to"`
	User     string `yaml:"user"`
	Replaces string `yaml:"replaces"`
}

// Policy is an escalation policy.
type Policy struct {
	ID     string `yaml:"id"`
	Repeat int    `yaml:"repeat"`
	Steps  []Step `yaml:"steps"`
}

// Step notifies its targets and escalates after EscalateAfter.
type Step struct {
	Notify        []string `yaml:"notify"` // user:ID | schedule:ID | rotation:ID | webhook:ID
	EscalateAfter Duration `yaml:"escalate_after"`
}

// Service is what incidents belong to.
type Service struct {
	ID          string   `yaml:"id"`
	Name        string   `yaml:"name"`
	Policy      string   `yaml:"policy"`
	AutoResolve *bool    `yaml:"auto_resolve"` // nil means true
	AckTimeout  Duration `yaml:"ack_timeout"`
	// EventsTo lists webhook targets ("webhook:ID") that receive every
	// timeline event of the service's incidents, signed and in order.
	EventsTo []string `yaml:"events_to"`
	// BridgeURL is the incident call link shown in pages and events.
	BridgeURL string `yaml:"bridge_url"`
	// The continuity catalogue (spec §5.1; continuity.go): who owns the
	// service and its recovery plan, how critical it is, how fast it must
	// be back (RTO) and how much data it may lose (RPO).
	Owner             string   `yaml:"owner"`
	ContinuityManager string   `yaml:"continuity_manager"`
	Criticality       string   `yaml:"criticality"`
	RTO               Duration `yaml:"rto"`
	RPO               Duration `yaml:"rpo"`
	Runbook           string   `yaml:"runbook"`
	ContinuityPlan    string   `yaml:"continuity_plan"`
	ReviewEvery       Duration `yaml:"review_every"`
	DependsOn         []string `yaml:"depends_on"`
}

// ResolvesAutomatically reports whether a source's "resolved" resolves incidents.
func (s Service) ResolvesAutomatically() bool { return s.AutoResolve == nil || *s.AutoResolve }

// Integration is an authenticated source of alerts.
type Integration struct {
	Name    string  `yaml:"name"`
	Key     string  `yaml:"key" secret:"true"`
	Routes  []Route `yaml:"routes"`
	Service string  `yaml:"service"`
}

// Route sends alerts whose labels match every matcher to Service. Matchers use
// Alertmanager's syntax; an empty list matches everything.
type Route struct {
	Matchers []string `yaml:"matchers"`
	Service  string   `yaml:"service"`
	// Compiled holds Matchers parsed by Parse (an entry may hold several
	// comma-separated matchers, as in Alertmanager). An alert matches the route
	// when every compiled matcher matches its labels.
	Compiled []*labels.Matcher `yaml:"-"`
}

// SeverityMap maps a source severity to an incident severity.
type SeverityMap struct {
	Label   string            `yaml:"label"`
	Map     map[string]string `yaml:"map"`
	Default string            `yaml:"default"`
}

// Channels configures outbound delivery.
type Channels struct {
	Email    EmailChannel `yaml:"email"`
	SMS      SMSChannel   `yaml:"sms"`
	Webhooks []Webhook    `yaml:"webhooks"`
	// FloodControl bounds how many messages one person gets per channel.
	FloodControl FloodControl `yaml:"flood_control"`
}

// FloodControl is the per-person, per-channel message bound of spec §4
// Delivery: at most Max individual messages in any window of length Per; the
// pages due beyond that are bundled into one summary message sent as soon as
// the window allows. Zero values take the defaults.
type FloodControl struct {
	Max int      `yaml:"max"`
	Per Duration `yaml:"per"`
}

// Flood control defaults: three messages a minute wakes anyone; a storm's
// fourth and later pages arrive as one summary.
const (
	DefaultFloodMax = 3
	DefaultFloodPer = Duration(time.Minute)
)

// Limits returns Max and Per with the defaults applied.
func (f FloodControl) Limits() (int, time.Duration) {
	max, per := f.Max, f.Per.D()
	if max <= 0 {
		max = DefaultFloodMax
	}
	if per <= 0 {
		per = DefaultFloodPer.D()
	}
	return max, per
}

// EmailChannel is the outbound SMTP relay and reply addressing.
type EmailChannel struct {
	SMTP        string `yaml:"smtp"`
	From        string `yaml:"from"`
	ReplyDomain string `yaml:"reply_domain"`
	// Username and Password log in to the relay (SMTP AUTH PLAIN or LOGIN),
	// only ever over TLS: STARTTLS, or implicit TLS on port 465.
	Username string `yaml:"username"`
	Password string `yaml:"password" secret:"true"`
}

// SMSChannel is a Twilio-compatible SMS provider.
type SMSChannel struct {
	Provider   string `yaml:"provider"`
	AccountSID string `yaml:"account_sid" secret:"true"`
	AuthToken  string `yaml:"auth_token" secret:"true"`
	From       string `yaml:"from"`
	APIBase    string `yaml:"api_base"`
	PublicURL  string `yaml:"public_url"`
}

// Webhook is an outbound webhook target.
// Its URL is tagged secret:"url": webhook URLs often carry their credential
// in the path (chat and incident tools do), so messages never quote it and
// Redacted shows only its scheme and host.
type Webhook struct {
	ID     string `yaml:"id"`
	URL    string `yaml:"url" secret:"url"`
	Secret string `yaml:"secret" secret:"true"`
}

// Severities are the incident severities, most severe first (the incident
// package's scale).
var Severities = incident.Severities

// SeverityRank orders severities: lower is more severe; unknown ranks last.
func SeverityRank(s string) int { return incident.SeverityRank(s) }

// Duration is a time.Duration that also accepts `d` (24h) and `w` (7d) units.
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration reads a config duration: Prometheus' duration syntax
// (model.ParseDuration: whole numbers of w, d, h, m, s, ms, largest unit
// first, e.g. "1w2d3h"), and otherwise any Go duration ("1.5h", "300us").
// Prometheus' "y" is refused: a year is not a fixed length, and the contract
// promises Go durations plus d and w only.
func ParseDuration(s string) (Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	if strings.Contains(s, "y") {
		return 0, fmt.Errorf("invalid duration %q: years are not a unit here (use d or w)", s)
	}
	if d, err := model.ParseDuration(s); err == nil {
		return Duration(d), nil
	} else if strings.Contains(err.Error(), "out of range") {
		return 0, fmt.Errorf("invalid duration %q: too long", s)
	}
	if d, err := time.ParseDuration(s); err == nil {
		return Duration(d), nil
	}
	return 0, fmt.Errorf("invalid duration %q (use e.g. 90s, 10m, 1d, 1w)", s)
}

// String formats the duration in the largest whole unit that fits.
func (d Duration) String() string {
	td := time.Duration(d)
	switch {
	case td != 0 && td%(7*24*time.Hour) == 0:
		return fmt.Sprintf("%dw", td/(7*24*time.Hour))
	case td != 0 && td%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", td/(24*time.Hour))
	}
	return td.String()
}

// WallTimeLayout is the layout of a wall-clock time without an offset.
const WallTimeLayout = "2006-01-02 15:04"

// wallLayouts are the accepted forms of a wall-clock time without an offset.
var wallLayouts = []string{WallTimeLayout, "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"}

// ParseTime reads a config time: RFC 3339 with an offset is taken as is; a wall
// clock time ("2026-11-25 18:00", optionally with ":05" seconds) is read in loc.
// A wall time inside a spring-forward gap resolves to the first instant after the
// gap; one that occurs twice resolves to the first occurrence.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range wallLayouts {
		if w, err := time.Parse(layout, s); err == nil {
			return WallClock(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q (want \"YYYY-MM-DD HH:MM\" or RFC 3339)", s)
}

// WallClock returns the instant at the given wall-clock reading in loc. In a
// spring-forward gap it returns the first instant after the gap (the instant the
// clocks jump to); when the reading occurs twice it returns the first occurrence.
// time.Date leaves both choices unspecified, so the offsets in force around the
// reading are tried explicitly.
func WallClock(year int, month time.Month, day, hour, min, sec int, loc *time.Location) time.Time {
	naive := time.Date(year, month, day, hour, min, sec, 0, time.UTC)
	var best, after time.Time
	for _, probe := range []time.Duration{-48 * time.Hour, 0, 48 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		u := naive.Add(-time.Duration(off) * time.Second)
		l := u.In(loc)
		if l.Year() == year && l.Month() == month && l.Day() == day && l.Hour() == hour && l.Minute() == min && l.Second() == sec {
			if best.IsZero() || u.Before(best) {
				best = u
			}
		} else if l.After(naive.In(loc)) || after.IsZero() {
			after = u
		}
	}
	if !best.IsZero() {
		return best.In(loc)
	}
	// In a gap: some candidate lies past the transition; the transition is the
	// start of the zone period containing the latest candidate.
	latest := after
	for _, probe := range []time.Duration{-48 * time.Hour, 0, 48 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		if u := naive.Add(-time.Duration(off) * time.Second); u.After(latest) {
			latest = u
		}
	}
	start, _ := latest.In(loc).ZoneBounds()
	return start.In(loc)
}

package config

import (
	"time"

	"github.com/pagerd/pagerd/incident"
)

// SeverityPolicy is what one severity demands (spec §5.1 severities).
type SeverityPolicy struct {
	// Page is PageAlways or the id of a business_hours window: outside it,
	// an incident of this severity is opened but its paging waits for the
	// window's next start.
	Page string `yaml:"page"`
	// Roles are the incident roles the severity needs filled.
	Roles []string `yaml:"roles"`
	// UpdateEvery is how often a status update is due; 0 (written as
	// `update_every: 0`) turns the cadence off: no deadline, no "update
	// overdue" reminders unless an update sets next_update_in.
	UpdateEvery Duration `yaml:"update_every"`
	// Postmortem is PostmortemRequired or PostmortemOptional.
	Postmortem string `yaml:"postmortem"`
	// FollowupsDue is the default due time of a follow-up.
	FollowupsDue Duration `yaml:"followups_due"`
	// PostmortemDue is how long after resolve a postmortem is due (0:
	// learning.DefaultPostmortemDue, 5 days).
	PostmortemDue Duration `yaml:"postmortem_due"`
}

// Values of SeverityPolicy fields.
const (
	PageAlways         = "always"
	PostmortemRequired = "required"
	PostmortemOptional = "optional"
	// DefaultWindow is the business_hours window the default sev3 policy
	// pages in, when the config defines it.
	DefaultWindow = "office"
)

// The incident roles that always exist (spec §5.1 roles).
const (
	RoleIncidentManager = "incident_manager"
	RoleTechLead        = "tech_lead"
	RoleCommsManager    = "comms_manager"
)

// BuiltinRoles are the roles every config has.
var BuiltinRoles = []string{RoleIncidentManager, RoleTechLead, RoleCommsManager}

const week = Duration(7 * 24 * time.Hour)

// defaultSeverities are spec §5.1's defaults. sev3 pages in the "office"
// window only when the config defines one; otherwise it pages always, so a
// config written before business hours keeps paging as it did.
func defaultSeverities(hasOffice bool) map[string]SeverityPolicy {
	sev3Page := PageAlways
	if hasOffice {
		sev3Page = DefaultWindow
	}
	return map[string]SeverityPolicy{
		"sev1": {Page: PageAlways, Roles: []string{RoleIncidentManager, RoleCommsManager},
			UpdateEvery: Duration(30 * time.Minute), Postmortem: PostmortemRequired, FollowupsDue: 4 * week},
		"sev2": {Page: PageAlways, Roles: []string{RoleIncidentManager},
			UpdateEvery: Duration(time.Hour), Postmortem: PostmortemRequired, FollowupsDue: 8 * week},
		"sev3": {Page: sev3Page, Roles: []string{},
			UpdateEvery: Duration(4 * time.Hour), Postmortem: PostmortemOptional, FollowupsDue: 12 * week},
	}
}

// fillSeverityDefaults gives every severity a policy and every unset field
// its default; an explicit empty roles list stays empty, and an explicit
// `update_every: 0` stays 0 (the cadence is off). written says whether a
// severity's field was in the YAML at all.
func (c *Config) fillSeverityDefaults(written func(sev, field string) bool) {
	_, hasOffice := c.BusinessHoursWindow(DefaultWindow)
	defs := defaultSeverities(hasOffice)
	if c.Severities == nil {
		c.Severities = map[string]SeverityPolicy{}
	}
	for _, sev := range Severities {
		p, d := c.Severities[sev], defs[sev]
		if p.Page == "" {
			p.Page = d.Page
		}
		if p.Roles == nil {
			p.Roles = d.Roles
		}
		if p.UpdateEvery == 0 && !written(sev, "update_every") {
			p.UpdateEvery = d.UpdateEvery
		}
		if p.Postmortem == "" {
			p.Postmortem = d.Postmortem
		}
		if p.FollowupsDue == 0 {
			p.FollowupsDue = d.FollowupsDue
		}
		c.Severities[sev] = p
	}
}

// SeverityPolicyOf returns the policy of sev (defaults filled by Parse).
func (c *Config) SeverityPolicyOf(sev string) SeverityPolicy {
	if p, ok := c.Severities[sev]; ok {
		return p
	}
	return defaultSeverities(false)[sev]
}

// PagingDeferral says whether paging an incident of severity sev at now
// waits for business hours: if so, deferred is true, window names the
// business_hours window and until is its next start. A window that does not
// open within two years does not defer (a page is never held forever).
// Only the cluster leader calls this, and stamps the answer into commands.
func (c *Config) PagingDeferral(sev string, now time.Time) (until time.Time, window string, deferred bool) {
	page := c.SeverityPolicyOf(sev).Page
	if page == "" || page == PageAlways {
		return time.Time{}, "", false
	}
	w, ok := c.BusinessHoursWindow(page)
	if !ok {
		return time.Time{}, "", false
	}
	at, ok := w.NextOpen(now)
	if !ok || !at.After(now) {
		return time.Time{}, "", false
	}
	return at, w.ID, true
}

// ValidSeverity reports whether s is one of Severities.
func ValidSeverity(s string) bool { return SeverityRank(s) < len(Severities) }

// PagingPlan is the leader's answer, at now, to "would paging wait for
// business hours" for every severity: one incident.Deferral per severity
// whose paging waits. The leader stamps it into the commands that open
// incidents or set severities, so apply never evaluates clocks or zones.
func (c *Config) PagingPlan(now time.Time) []incident.Deferral {
	var plan []incident.Deferral
	for _, sev := range Severities {
		if until, window, ok := c.PagingDeferral(sev, now); ok {
			plan = append(plan, incident.Deferral{Severity: sev, Window: window, Until: until.UTC()})
		}
	}
	return plan
}

package main

import (
	"sort"
	"strings"

	"github.com/pagerd/pagerd/config"
)

// Practice settings in a plan: business_hours windows by id and severities
// by name (spec §5.1). Both decide when people are woken — a window moved or
// a severity's `page` changed defers or stops paging — so a plan lists them
// like any object, with the severity fields that change.

// businessHoursByID are the windows as written (plans compare config
// fields only, never the compiled zones and caches).
func businessHoursByID(c *config.Config) map[string]any {
	return byID(c.BusinessHours, func(w config.BusinessHours) string { return w.ID })
}

// severitiesByName are the severities' policies, defaults filled (Parse
// does), so a default that changes (sev3's page once an "office" window
// exists) shows too.
func severitiesByName(c *config.Config) map[string]any {
	m := make(map[string]any, len(c.Severities))
	for sev, p := range c.Severities {
		m[sev] = p
	}
	return m
}

// severityChange names the fields of a severity policy that change:
// "page always → office, update_every 30m → off".
func severityChange(o, n config.SeverityPolicy) string {
	var parts []string
	add := func(field, from, to string) {
		if from != to {
			parts = append(parts, field+" "+from+" → "+to)
		}
	}
	add("page", o.Page, n.Page)
	add("roles", rolesText(o.Roles), rolesText(n.Roles))
	add("update_every", cadenceText(o.UpdateEvery), cadenceText(n.UpdateEvery))
	add("postmortem", o.Postmortem, n.Postmortem)
	add("followups_due", shortDuration(o.FollowupsDue), shortDuration(n.FollowupsDue))
	add("postmortem_due", dueText(o.PostmortemDue), dueText(n.PostmortemDue))
	return strings.Join(parts, ", ")
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "[]"
	}
	s := append([]string(nil), roles...)
	sort.Strings(s)
	return "[" + strings.Join(s, ", ") + "]"
}

// cadenceText is an update_every; 0 is "off" (no update cadence).
func cadenceText(d config.Duration) string {
	if d == 0 {
		return "off"
	}
	return shortDuration(d)
}

// shortDuration is d as written in a config: "4h", "30m", "1h30m", "2w".
func shortDuration(d config.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func dueText(d config.Duration) string {
	if d == 0 {
		return "default"
	}
	return shortDuration(d)
}

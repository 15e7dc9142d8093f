package main

import (
	"github.com/pagerd/pagerd/config"
)

// settingsByName are the top-level settings a plan lists as "setting NAME",
// each as it takes effect: a default written out (retention.resolved: 180d,
// flood_control max: 3) plans as no change, and one that moves shows.
// auth is listed on its own (diffObjects), with what opening the API means.
func settingsByName(c *config.Config) map[string]any {
	max, per := c.Channels.FloodControl.Limits()
	return map[string]any{
		"timezone":               c.Timezone,
		"public_url":             c.PublicURL,
		"severity":               c.Severity,
		"retention.resolved":     config.Duration(c.ResolvedRetention()),
		"channels.email":         c.Channels.Email,
		"channels.sms":           c.Channels.SMS,
		"channels.flood_control": config.FloodControl{Max: max, Per: config.Duration(per)},
	}
}

// rolesByID are the incident roles as they take effect: the built-in ones
// always exist (a `roles` entry only sets their from and instructions, so
// adding one plans as that role changing), and a custom role's name defaults
// from its id.
func rolesByID(c *config.Config) map[string]any {
	m := map[string]any{}
	for _, id := range c.RoleIDs() {
		if r, ok := c.RoleOf(id); ok {
			m[id] = r
		}
	}
	return m
}

// maintenanceByID are the windows with their zone as it takes effect: one
// without a timezone moves with the top-level zone, so the plan says so.
func maintenanceByID(c *config.Config) map[string]any {
	return byID(c.Maintenance, func(m config.Maintenance) string { return m.ID }, func(m config.Maintenance) any {
		if m.Timezone == "" {
			m.Timezone = c.Timezone
		}
		return m
	})
}

// heartbeatsByID are the heartbeats with the severity and title a missed one
// opens its incident with (defaults: severity.default, "Heartbeat ID missed").
func heartbeatsByID(c *config.Config) map[string]any {
	return byID(c.Heartbeats, func(h config.Heartbeat) string { return h.ID }, func(h config.Heartbeat) any {
		if h.Severity == "" {
			h.Severity = c.Severity.Default
		}
		h.Title = h.IncidentTitle()
		return h
	})
}

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

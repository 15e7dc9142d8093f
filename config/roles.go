package config

import (
	"strings"
)

// Role is an incident role (spec §5.1 roles). incident_manager, tech_lead
// and comms_manager always exist; config may add roles and give any role a
// From target and Instructions.
type Role struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// From is a policy target (user:, schedule:, rotation:) paged to fill
	// the role when a severity that lists it is set and it is empty. Empty:
	// the first person to acknowledge the incident takes it.
	From string `yaml:"from"`
	// Instructions are sent to each new holder.
	Instructions string `yaml:"instructions"`
}

// builtinRoleNames are the display names of the built-in roles.
var builtinRoleNames = map[string]string{
	RoleIncidentManager: "Incident Manager",
	RoleTechLead:        "Tech Lead",
	RoleCommsManager:    "Communications Manager",
}

// RoleOf returns role id with the built-in defaults filled in (a name for
// the built-in roles, the id otherwise); ok is false for an unknown role.
func (c *Config) RoleOf(id string) (Role, bool) {
	for _, r := range c.Roles {
		if r.ID == id {
			if r.Name == "" {
				r.Name = orRoleName(id)
			}
			return r, true
		}
	}
	if name, ok := builtinRoleNames[id]; ok {
		return Role{ID: id, Name: name}, true
	}
	return Role{}, false
}

func orRoleName(id string) string {
	if name, ok := builtinRoleNames[id]; ok {
		return name
	}
	return strings.ReplaceAll(id, "_", " ")
}

// RoleIDs lists every role: the built-in ones first, then the config's.
func (c *Config) RoleIDs() []string {
	ids := append([]string(nil), BuiltinRoles...)
	for _, r := range c.Roles {
		if _, builtin := builtinRoleNames[r.ID]; !builtin {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// AckRoles maps each severity to the roles it lists that have no From: the
// first person to acknowledge an incident of that severity takes them. The
// leader stamps it into acknowledgements, so apply never reads config.
func (c *Config) AckRoles() map[string][]string {
	out := map[string][]string{}
	for _, sev := range Severities {
		for _, id := range c.SeverityPolicyOf(sev).Roles {
			if r, ok := c.RoleOf(id); ok && r.From == "" {
				out[sev] = append(out[sev], id)
			}
		}
	}
	return out
}

// checkRoles validates roles: unique ids, a From target that is a user,
// schedule or rotation of this config.
func (v *validator) checkRoles() {
	rs := v.cfg.Roles
	v.roles = v.ids(len(rs), func(i int) string { return rs[i].ID }, func(i int) string { return idx("roles", i, "id") })
	for i, r := range rs {
		if r.From == "" {
			continue
		}
		p := idx("roles", i, "from")
		if kind, _, _ := strings.Cut(r.From, ":"); kind == "webhook" {
			v.add(p, "a role is held by a person: use user:, schedule: or rotation:, not %q", r.From)
			continue
		}
		v.checkTarget(p, r.From)
	}
}

// knownRole reports whether r is a built-in role or one of the config's.
func (v *validator) knownRole(r string) bool {
	return isBuiltinRole(r) || v.roles[r]
}

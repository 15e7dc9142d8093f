package incident

import "maps"

// rolesOf is who holds each incident role now (spec §5.2 `roles`), for
// the summary.
func rolesOf(inc *Incident) map[string]string {
	if inc.Roles == nil {
		return map[string]string{}
	}
	return maps.Clone(inc.Roles)
}

// roleHolders are everyone who held a role of inc at some time, in the
// order they took one: each role_assigned entry's new holder, then the
// current holders (by role name) in case a holder was set without one.
func roleHolders(inc *Incident) []string {
	var out []string
	seen := map[string]bool{}
	add := func(u string) {
		if u != "" && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	for _, e := range inc.Timeline {
		if e.Type == EntryRoleAssigned {
			add(e.To)
		}
	}
	roles := rolesOf(inc)
	for _, r := range sortedKeys(roles) {
		add(roles[r])
	}
	return out
}

package incident

import "time"

// holdsAnyRole reports whether user holds one of roles on inc (spec §5.2
// roles).
func holdsAnyRole(inc *Incident, user string, roles []string) bool {
	for _, r := range roles {
		if h := inc.Roles[r]; h != "" && h == user {
			return true
		}
	}
	return false
}

// markMitigated sets mitigated_at on the first update in phase monitoring
// (spec §5.2), whatever its audience.
func (inc *Incident) markMitigated(now time.Time, u Update) { noteMitigated(inc, u.Phase, now) }

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

// markMitigated sets mitigated_at on the first monitoring update, once the
// incident carries the field (issue 13.6 timestamps).
func (inc *Incident) markMitigated(_ time.Time, _ Update) {}

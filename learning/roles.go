package learning

import "github.com/pagerd/pagerd/incident"

// roleHolder is the holder of role on inc ("" when nobody holds it).
func roleHolder(inc *incident.Incident, role string) string {
	return inc.Roles[role]
}

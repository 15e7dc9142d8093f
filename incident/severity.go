package incident

// Severities are the incident severities, most severe first. The scale is
// the incident's own; config validates against it (config.Severities is
// this list), so the state machine depends on no config code.
var Severities = []string{"sev1", "sev2", "sev3"}

// SeverityRank orders severities: lower is more severe; unknown ranks last.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return len(Severities)
}

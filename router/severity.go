package router

import "github.com/pagerd/pagerd/config"

// alertSeverity maps an Alertmanager alert to an incident severity: the value
// of the configured severity label through the map, else the default.
func (t *Table) alertSeverity(lset map[string]string) string {
	if s, ok := t.labelSeverity(lset); ok {
		return s
	}
	return t.sevDefault
}

// labelSeverity is the configured severity label's value through the map,
// and whether the labels had a mapped one.
func (t *Table) labelSeverity(lset map[string]string) (string, bool) {
	if v, ok := lset[t.sevLabel]; ok {
		if s, ok := t.sevMap[v]; ok && s != "" {
			return s, true
		}
	}
	return "", false
}

// severityRank orders incident severities, most severe lowest.
func severityRank(s string) int { return config.SeverityRank(s) }

// eventSeverities are the values PagerDuty accepts for payload.severity, with
// the incident severity used when the config's map does not mention them.
var eventSeverities = map[string]string{
	"critical": "sev1",
	"error":    "sev2",
	"warning":  "sev3",
	"info":     "sev3",
}

// eventSeverity maps a (validated) Events v2 severity through the configured
// map, falling back to a fixed mapping so an event is never left unranked by a
// map written with only Alertmanager's label values in mind.
func (t *Table) eventSeverity(raw string) string {
	if s, ok := t.sevMap[raw]; ok && s != "" {
		return s
	}
	if s, ok := eventSeverities[raw]; ok {
		return s
	}
	return t.sevDefault
}

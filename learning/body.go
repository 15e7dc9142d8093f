package learning

import (
	"fmt"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// IncidentManager is who owns an incident's postmortem: the incident
// manager role holder once roles exist on incidents, else the first
// person who acknowledged it, else whoever resolved it.
func IncidentManager(inc *incident.Incident) string {
	if im := roleHolder(inc, config.RoleIncidentManager); im != "" {
		return im
	}
	for _, e := range inc.Timeline {
		if e.Type == incident.EntryAcknowledged && e.Actor != "" {
			return e.Actor
		}
	}
	if inc.AcknowledgedBy != "" {
		return inc.AcknowledgedBy
	}
	return inc.ResolvedBy
}

// Prefill is a postmortem's first Markdown body, made in apply from the
// incident as it stands: deterministic (times from the incident, the zone
// from the replicated config), so every replica stores the same text.
// Times are shown in the config's timezone (services have none of their
// own), else UTC.
func Prefill(cfg *config.Config, inc *incident.Incident) string {
	loc := zoneOf(cfg)
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem: %s %s\n\n", inc.Key, inc.Title)
	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "- Incident: %s (%s, service %s)\n", inc.Key, inc.Severity, inc.Service)
	fmt.Fprintf(&b, "- Impact: _describe who was affected and how_\n")
	fmt.Fprintf(&b, "- Detected: %s (%s)\n", at(detectedAt(inc)), detectionOf(inc))
	fmt.Fprintf(&b, "- Opened: %s\n", at(inc.CreatedAt))
	if inc.ResolvedAt != nil {
		fmt.Fprintf(&b, "- Resolved: %s by %s\n", at(*inc.ResolvedAt), orElse(inc.ResolvedBy, "pagerd"))
		fmt.Fprintf(&b, "- Duration: %s\n", span(inc.ResolvedAt.Sub(detectedAt(inc))))
	}
	if inc.AcknowledgedAt != nil {
		fmt.Fprintf(&b, "- Time to acknowledge: %s (by %s)\n", span(inc.AcknowledgedAt.Sub(inc.CreatedAt)), inc.AcknowledgedBy)
	} else {
		b.WriteString("- Time to acknowledge: not acknowledged\n")
	}
	b.WriteString("- Time to mitigate: _not recorded; fill in_\n\n")
	fmt.Fprintf(&b, "## Timeline (%s)\n\n", loc.String())
	for _, e := range inc.Timeline {
		fmt.Fprintf(&b, "- %s %s %s: %s\n", at(e.At), e.Type, orElse(e.Actor, "-"), oneLine(e.Message))
	}
	b.WriteString("\n## Who was paged\n\n")
	if len(inc.Notifications) == 0 {
		b.WriteString("- nobody\n")
	}
	for _, n := range inc.Notifications {
		when := "not sent"
		if n.SentAt != nil {
			when = at(*n.SentAt)
		}
		fmt.Fprintf(&b, "- %s by %s (step %d): %s, %s\n", n.User, n.Channel, n.Step+1, n.Status, when)
	}
	for _, h := range []string{"What happened", "Why it happened", "What went well", "What did not go well", "Actions"} {
		fmt.Fprintf(&b, "\n## %s\n\n", h)
	}
	return b.String()
}

func zoneOf(cfg *config.Config) *time.Location {
	if cfg != nil && cfg.Timezone != "" {
		if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// detectedAt is the earliest startsAt of the incident's alerts, else its
// creation (spec §5.2 detected_at).
func detectedAt(inc *incident.Incident) time.Time {
	t := inc.CreatedAt
	for _, a := range inc.Alerts {
		if !a.StartsAt.IsZero() && a.StartsAt.Before(t) {
			t = a.StartsAt
		}
	}
	return t
}

func detectionOf(inc *incident.Incident) string {
	if inc.Source == "" {
		return "opened by hand"
	}
	return "alert from " + inc.Source + " via " + orElse(inc.Integration, "-")
}

func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

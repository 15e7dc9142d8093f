package learning

import (
	"fmt"
	"sort"
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
// incident as it stands (its resolution summary, incident.BuildSummary,
// and its timeline): deterministic (times from the incident, the zone from
// the replicated config, now from the batch), so every replica stores the
// same text. Times are shown in the config's timezone (services have none
// of their own), else UTC.
func Prefill(cfg *config.Config, inc *incident.Incident, now time.Time) string {
	loc := zoneOf(cfg)
	at := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04:05 MST") }
	sum := incident.BuildSummary(inc, now, cfg.IncidentURL(inc.Key))
	var b strings.Builder
	fmt.Fprintf(&b, "# Postmortem: %s %s\n\n", inc.Key, inc.Title)
	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "- Incident: %s (%s, service %s)", inc.Key, inc.Severity, inc.Service)
	if sum.URL != "" {
		fmt.Fprintf(&b, " %s", sum.URL)
	}
	b.WriteString("\n- Impact: _describe who was affected and how_")
	if sum.ImpactStartedAt != nil {
		fmt.Fprintf(&b, " (impact began %s)", at(*sum.ImpactStartedAt))
	}
	fmt.Fprintf(&b, "\n- Detected: %s (%s)\n", at(sum.DetectedAt), detectionOf(inc))
	fmt.Fprintf(&b, "- Opened: %s\n", at(inc.CreatedAt))
	if sum.ResolvedAt != nil {
		fmt.Fprintf(&b, "- Resolved: %s by %s\n", at(*sum.ResolvedAt), orElse(sum.ResolvedBy, "pagerd"))
	}
	fmt.Fprintf(&b, "- Duration: %s (from %s)\n", span(time.Duration(sum.Duration.Seconds)*time.Second), sum.Duration.From)
	if sum.TimeToAck != nil {
		fmt.Fprintf(&b, "- Time to acknowledge: %s (by %s)\n", span(time.Duration(sum.TimeToAck.Seconds)*time.Second), sum.AcknowledgedBy)
	} else {
		b.WriteString("- Time to acknowledge: not acknowledged\n")
	}
	if sum.TimeToMitigate != nil {
		fmt.Fprintf(&b, "- Time to mitigate: %s\n", span(time.Duration(sum.TimeToMitigate.Seconds)*time.Second))
	} else {
		b.WriteString("- Time to mitigate: _not recorded (no monitoring update); fill in_\n")
	}
	for _, r := range sortedRoles(sum.Roles) {
		fmt.Fprintf(&b, "- %s: %s\n", r, sum.Roles[r])
	}
	fmt.Fprintf(&b, "\n## Timeline (%s)\n\n", loc.String())
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

func sortedRoles(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func zoneOf(cfg *config.Config) *time.Location {
	if cfg != nil && cfg.Timezone != "" {
		if loc, err := time.LoadLocation(cfg.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
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

package notify

import (
	"strings"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// ConsoleLink is the incident's page in the console under public_url
// (spec §5.6: public_url + /ui/incidents/{key}), or "" without public_url.
// Every page, summary and mail carries it.
func ConsoleLink(publicURL string, inc *incident.Incident) string {
	if inc == nil {
		return ""
	}
	return OneLine(config.IncidentURL(strings.TrimSpace(publicURL), incidentKey(inc)))
}

// summaryLinks are the console links of a flood-control summary's
// incidents, in the order summaryLines lists them (nil entries skipped).
func summaryLinks(incs []*incident.Incident, publicURL string) []string {
	var out []string
	for _, inc := range incs {
		if inc != nil {
			out = append(out, ConsoleLink(publicURL, inc))
		}
	}
	return out
}

// writeResolution is the resolution summary mail: the summary's text, which
// carries the console link itself.
func writeResolution(b *strings.Builder, s *incident.Summary) {
	b.WriteString("The incident is resolved. Summary for everyone who was paged or held a role:\n\n")
	b.WriteString(s.Text())
}

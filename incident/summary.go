package incident

import (
	"sort"
	"strings"
	"time"
)

// Summary is the resolution summary of an incident (spec §5.3, §5.4):
// impact and duration, time to acknowledge, severity history, pages by
// channel and outcome, who was paged, who responded, roles and notes. It is
// derived from the incident alone (state and timeline), so every node
// computes the same summary and features that add timeline entries
// (severity changes, roles) fill it in without changing this code's inputs.
type Summary struct {
	Incident uint64 `json:"incident"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	Status   Status `json:"status"`
	// URL is the incident in the console (public_url + /ui/incidents/KEY);
	// empty when public_url is not configured.
	URL string `json:"url,omitempty"`
	// BridgeURL is the service's incident call link (services[].bridge_url),
	// set by the caller from the config; empty for none.
	BridgeURL string `json:"bridge_url,omitempty"`

	DetectedAt      time.Time  `json:"detected_at"`
	ImpactStartedAt *time.Time `json:"impact_started_at"`
	AcknowledgedAt  *time.Time `json:"acknowledged_at"` // the first acknowledgement
	AcknowledgedBy  string     `json:"acknowledged_by"`
	MitigatedAt     *time.Time `json:"mitigated_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	ResolvedBy      string     `json:"resolved_by"`

	// Duration runs from impact_started_at (else detected_at) to the
	// resolve, or to the time of asking while the incident is open.
	Duration Span `json:"duration"`
	// TimeToAck runs from created_at (paging began) to the first
	// acknowledgement; nil if nobody acknowledged.
	TimeToAck *Span `json:"time_to_ack"`
	// TimeToMitigate runs from the duration's start to mitigated_at.
	TimeToMitigate *Span `json:"time_to_mitigate"`

	SeverityHistory []SeverityStep           `json:"severity_history"`
	Pages           map[string]ChannelCounts `json:"pages"` // by channel
	Paged           []string                 `json:"paged"`
	Responders      []string                 `json:"responders"`
	Roles           map[string]string        `json:"roles"`
	Notes           []SummaryNote            `json:"notes"`
}

// Span is a length of time with where it was measured from and to.
type Span struct {
	From    string    `json:"from"` // the field it starts at, e.g. "impact_started_at"
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Seconds int64     `json:"seconds"`
	// Ongoing: the incident is open and End is the time of asking.
	Ongoing bool `json:"ongoing,omitempty"`
}

// Text is the span as people read it ("1h5m0s").
func (s Span) Text() string { return time.Duration(s.Seconds * int64(time.Second)).String() }

// SeverityStep is one step of the severity history; the first has no From
// (the severity the incident opened with).
type SeverityStep struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	From string    `json:"from,omitempty"`
	To   string    `json:"to"`
	Note string    `json:"note,omitempty"`
}

// ChannelCounts counts the pages of one channel by status.
type ChannelCounts struct {
	Sent      int `json:"sent"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
	Queued    int `json:"queued"`
}

// SummaryNote is one note of the timeline.
type SummaryNote struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Note string    `json:"note"`
}

// BuildSummary computes the summary of inc. now ends the duration of an
// open incident; link is the console URL of the incident ("" for none).
func BuildSummary(inc *Incident, now time.Time, link string) *Summary {
	s := &Summary{
		Incident: inc.ID, Key: inc.Key, Title: inc.Title, Service: inc.Service, Severity: inc.Severity,
		Status: inc.Status, URL: link, DetectedAt: inc.DetectedTime().UTC(),
		ImpactStartedAt: utcPtr(inc.ImpactStartedAt), MitigatedAt: utcPtr(inc.MitigatedAt),
		ResolvedAt: utcPtr(inc.ResolvedAt), ResolvedBy: inc.ResolvedBy,
		Pages: pagesByChannel(inc), Paged: PagedUsers(inc), Roles: rolesOf(inc),
		SeverityHistory: severityHistory(inc), Responders: responders(inc), Notes: notes(inc),
	}
	s.AcknowledgedAt, s.AcknowledgedBy = firstAck(inc)
	s.Duration = s.span(now)
	if s.AcknowledgedAt != nil {
		s.TimeToAck = &Span{From: "created_at", Start: inc.CreatedAt.UTC(), End: *s.AcknowledgedAt,
			Seconds: seconds(s.AcknowledgedAt.Sub(inc.CreatedAt))}
	}
	if s.MitigatedAt != nil {
		s.TimeToMitigate = &Span{From: s.Duration.From, Start: s.Duration.Start, End: *s.MitigatedAt,
			Seconds: seconds(s.MitigatedAt.Sub(s.Duration.Start))}
	}
	return s
}

// span is the incident's duration: from impact_started_at when a person set
// it, else from detected_at; to resolved_at, else now.
func (s *Summary) span(now time.Time) Span {
	sp := Span{From: "detected_at", Start: s.DetectedAt}
	if s.ImpactStartedAt != nil {
		sp.From, sp.Start = "impact_started_at", *s.ImpactStartedAt
	}
	if s.ResolvedAt != nil {
		sp.End = *s.ResolvedAt
	} else {
		sp.End, sp.Ongoing = now.UTC(), true
	}
	sp.Seconds = seconds(sp.End.Sub(sp.Start))
	return sp
}

// seconds rounds down to whole seconds and never goes below zero (an
// impact said to start after the detection clock's reading, say).
func seconds(d time.Duration) int64 { return max(int64(d/time.Second), 0) }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// firstAck is the first acknowledgement in the timeline: an escalate or an
// ack timeout clears acknowledged_at, but the first response still counts.
func firstAck(inc *Incident) (*time.Time, string) {
	for _, e := range inc.Timeline {
		if e.Type == EntryAcknowledged {
			at := e.At.UTC()
			return &at, e.Actor
		}
	}
	return utcPtr(inc.AcknowledgedAt), inc.AcknowledgedBy
}

// isPage tells pages (about the incident, or asking someone to take a
// role) from the other messages of an incident: a role's instructions to
// its new holder and the summary mails.
func isPage(n *Notification) bool { return n.Kind == "" || n.Kind == KindRolePage }

// pagesByChannel counts pages (not summary mails or role instructions) by
// channel and status.
func pagesByChannel(inc *Incident) map[string]ChannelCounts {
	out := map[string]ChannelCounts{}
	for i := range inc.Notifications {
		n := &inc.Notifications[i]
		if !isPage(n) {
			continue
		}
		c := out[n.Channel]
		switch n.Status {
		case NotifySent:
			c.Sent++
		case NotifyFailed:
			c.Failed++
		case NotifyCancelled:
			c.Cancelled++
		default:
			c.Queued++
		}
		out[n.Channel] = c
	}
	return out
}

// PagedUsers are the people an escalation step paged (webhooks are not
// people), in the order first paged.
func PagedUsers(inc *Incident) []string {
	var out []string
	seen := map[string]bool{}
	for i := range inc.Notifications {
		if n := &inc.Notifications[i]; isPage(n) && n.User != "" && !seen[n.User] {
			seen[n.User] = true
			out = append(out, n.User)
		}
	}
	return nonNil(out)
}

// responders are the people who acted on the incident, in the order of
// their first action. Sources ("alertmanager:prom") and pagerd itself are
// not responders.
func responders(inc *Incident) []string {
	acts := map[string]bool{EntryAcknowledged: true, EntryResolved: true, EntryEscalated: true, EntryNote: true,
		EntryImpactStarted: true, EntrySeverityChanged: true, EntryRoleAssigned: true, EntryUpdatePosted: true}
	var out []string
	seen := map[string]bool{}
	for _, e := range inc.Timeline {
		if !acts[e.Type] || !isPerson(e.Actor) || seen[e.Actor] {
			continue
		}
		seen[e.Actor] = true
		out = append(out, e.Actor)
	}
	return nonNil(out)
}

// isPerson tells people from pagerd and sources, whose actors are
// "source:integration".
func isPerson(actor string) bool {
	return actor != "" && actor != "pagerd" && actor != "unknown" && !strings.Contains(actor, ":")
}

func notes(inc *Incident) []SummaryNote {
	out := []SummaryNote{}
	for _, e := range inc.Timeline {
		if e.Type == EntryNote {
			out = append(out, SummaryNote{At: e.At.UTC(), By: e.Actor, Note: e.Message})
		}
	}
	return out
}

// severityHistory starts with the severity the incident opened with and
// adds each severity_changed entry (a person's or the alerts'), read from
// the entry's structured From, To and Note.
func severityHistory(inc *Incident) []SeverityStep {
	var changes []SeverityStep
	for _, e := range inc.Timeline {
		if e.Type == EntrySeverityChanged && e.To != "" {
			changes = append(changes, SeverityStep{At: e.At.UTC(), By: e.Actor, From: e.From, To: e.To, Note: e.Note})
		}
	}
	first := inc.Severity
	if len(changes) > 0 && changes[0].From != "" {
		first = changes[0].From
	}
	open := SeverityStep{At: inc.CreatedAt.UTC(), By: openedBy(inc), To: first}
	return append([]SeverityStep{open}, changes...)
}

func openedBy(inc *Incident) string {
	if len(inc.Timeline) > 0 && inc.Timeline[0].Type == EntryTriggered {
		return inc.Timeline[0].Actor
	}
	return actorOf(inc.Source, inc.Integration)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// sortedKeys lists a map's keys in order, so texts render the same everywhere.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

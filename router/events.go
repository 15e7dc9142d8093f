package router

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
	"github.com/pagerd/pagerd/internal/strictjson"
)

// Limits of the PagerDuty Events API v2 that we enforce.
const (
	maxSummaryRunes = 1024
	maxDedupKeyLen  = 255
)

// EventRequest is a PagerDuty Events API v2 event as sent to /v2/enqueue.
// Decoding is strict: an unknown key at the top level or in payload is a 400
// naming it, because a misspelt "dedupkey" or "severty" silently ignored
// would page for the wrong incident or the wrong urgency. custom_details is
// free-form by definition and kept as raw JSON.
type EventRequest struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *EventPayload     `json:"-"`
	RawPayload  json.RawMessage   `json:"payload"`
	Client      string            `json:"client"`
	ClientURL   string            `json:"client_url"`
	Links       []json.RawMessage `json:"links"`
	Images      []json.RawMessage `json:"images"`
}

// EventPayload is the payload object of a trigger event.
type EventPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// DecodeEvent decodes an Events v2 body: JSON syntax, types and unknown keys.
// It does not check the routing key or required fields (see Validate), so the
// handler can authenticate before telling a caller what else is wrong.
// RawPayload and Payload.CustomDetails may share body's bytes (capacity
// cut to their length, so an append copies): body must stay unchanged
// while the result is used.
func DecodeEvent(body []byte) (*EventRequest, error) {
	if len(body) == 0 {
		return nil, inputErr("body", "empty")
	}
	if ev, ok := decodeEventFast(body); ok {
		return ev, nil
	}
	return decodeEventStrict(body)
}

// decodeEventStrict is DecodeEvent by encoding/json: every body the fast
// reader does not take, and the one whose errors callers see.
func decodeEventStrict(body []byte) (*EventRequest, error) {
	var ev EventRequest
	if err := decodeStrict(body, &ev); err != nil {
		return nil, jsonError(body, err, "")
	}
	if len(ev.RawPayload) > 0 && string(ev.RawPayload) != "null" {
		// Decoded on its own so an unknown or mistyped key is reported with its
		// "payload." path, which a single-pass decoder does not provide.
		ev.Payload = new(EventPayload)
		if err := decodeStrict(ev.RawPayload, ev.Payload); err != nil {
			return nil, jsonError(ev.RawPayload, err, "payload.")
		}
	}
	return &ev, nil
}

// decodeStrict decodes exactly one JSON value, rejecting unknown fields and
// anything after the value.
func decodeStrict(data []byte, v any) error {
	if strictjson.Decode(data, v) {
		return nil // the same, through a pooled decoder; errors come from below
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &InputError{Field: "json", Msg: "unexpected data after the JSON object"}
	}
	return nil
}

// Validate checks the event's fields as PagerDuty does: event_action, a
// dedup_key for acknowledge/resolve, and for trigger a payload with summary
// (at most 1024 characters), source and a known severity. It does not look at
// the routing key.
func (ev *EventRequest) Validate() error {
	switch ev.EventAction {
	case "":
		return inputErr("event_action", "required")
	case incident.ActionTrigger, incident.ActionAcknowledge, incident.ActionResolve:
	default:
		return inputErr("event_action", "must be one of trigger, acknowledge, resolve, got "+strconv.Quote(ev.EventAction))
	}
	if len(ev.DedupKey) > maxDedupKeyLen {
		return inputErr("dedup_key", "longer than "+strconv.Itoa(maxDedupKeyLen)+" characters")
	}
	if ev.EventAction != incident.ActionTrigger {
		if ev.DedupKey == "" {
			return inputErr("dedup_key", "required for "+ev.EventAction)
		}
		return nil
	}
	_, fromAM := alertmanagerEvent(ev)
	return ev.Payload.validateTrigger(fromAM)
}

// validateTrigger checks a trigger's payload. An event from Alertmanager may
// have an empty or non-PagerDuty severity: the README's receiver sends
// '{{ .CommonLabels.severity }}', which is empty when the group's alerts
// differ, and pagerd ranks such an event by its alerts' labels anyway.
func (p *EventPayload) validateTrigger(fromAlertmanager bool) error {
	switch {
	case p == nil:
		return inputErr("payload", "required for trigger")
	case p.Summary == "":
		return inputErr("payload.summary", "required")
	case utf8.RuneCountInString(p.Summary) > maxSummaryRunes:
		return inputErr("payload.summary", "longer than "+strconv.Itoa(maxSummaryRunes)+" characters")
	case p.Source == "":
		return inputErr("payload.source", "required")
	case fromAlertmanager:
		return nil
	case p.Severity == "":
		return inputErr("payload.severity", "required")
	}
	if _, ok := eventSeverities[p.Severity]; !ok {
		return inputErr("payload.severity", "must be one of critical, error, warning, info")
	}
	return nil
}

// eventLabels are the labels of an event's alert: payload source, component,
// group, class and the raw severity; empty values are left out so that "absent"
// and "empty" are the same to matchers and to the stored alert.
func eventLabels(p *EventPayload) map[string]string {
	lset := make(map[string]string, 5)
	if p == nil {
		return lset
	}
	for _, kv := range [...][2]string{
		{"source", p.Source}, {"component", p.Component}, {"group", p.Group},
		{"class", p.Class}, {"severity", p.Severity},
	} {
		if kv[1] != "" {
			lset[kv[0]] = kv[1]
		}
	}
	return lset
}

// eventRoutingLabels are the event's labels (eventLabels, or for an event from
// Alertmanager the labels it carries) plus each top-level string value of
// custom_details as details_<key>, so routes can select on, say, a team or
// environment that the sender only has room for in custom_details. Nested and
// non-string values are not flattened: keep the rule easy to predict.
func eventRoutingLabels(ev *EventRequest) map[string]string {
	p := ev.Payload
	lset := eventLabels(p)
	if am, ok := alertmanagerEvent(ev); ok {
		lset = am.labels(p)
	}
	if p == nil || len(p.CustomDetails) == 0 || p.CustomDetails[0] != '{' {
		return lset
	}
	var details map[string]json.RawMessage
	if json.Unmarshal(p.CustomDetails, &details) != nil {
		return lset
	}
	for k, raw := range details {
		var s string
		if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			lset["details_"+k] = s
		}
	}
	return lset
}

// BuildEvent turns a validated event into the replicated Event. dedupKey is
// the event's own or a generated one for a trigger without. For a trigger the
// alert carries the payload; for acknowledge and resolve it is empty.
func (t *Table) BuildEvent(ev *EventRequest, integrationName, service, dedupKey string) *incident.Event {
	e := &incident.Event{
		Integration:  integrationName,
		Service:      service,
		Action:       ev.EventAction,
		DedupKey:     dedupKey,
		AutoResolve:  t.resolvesAutomatically(service),
		Policy:       t.policyOf(service),
		RulesVersion: incident.RulesCurrent,
	}
	if ev.EventAction != incident.ActionTrigger || ev.Payload == nil {
		return e
	}
	p := ev.Payload
	e.Alert = incident.Alert{
		Fingerprint: dedupKey,
		Status:      statusFiring,
		Labels:      eventLabels(p),
		Annotations: eventAnnotations(ev),
		StartsAt:    parseTimestamp(p.Timestamp),
		Severity:    t.eventSeverity(p.Severity),
	}
	if am, ok := alertmanagerEvent(ev); ok {
		t.fromAlertmanager(&e.Alert, am, ev)
	}
	return e
}

// fromAlertmanager fills an event's alert with what Alertmanager carried:
// the alerts' labels and severity instead of PagerDuty's "error", the
// annotations common to the firing alerts (runbook_url, description; the
// event's own summary stays the title), the first graph link and a silence
// link for the labels the firing alerts share.
func (t *Table) fromAlertmanager(a *incident.Alert, am *amEvent, ev *EventRequest) {
	a.Labels = am.labels(ev.Payload)
	a.Severity = t.amSeverity(am, ev.Payload)
	for k, v := range commonOf(am.firing, annotationsOf) {
		if _, taken := a.Annotations[k]; !taken && v != "" {
			a.Annotations[k] = v
		}
	}
	a.GeneratorURL = am.generatorURL()
	a.SilenceURL = silenceURL(externalURLOf(ev.ClientURL), commonOf(am.firing, labelsOf))
}

// eventAnnotations holds the human parts of a trigger: summary, custom_details
// as compact JSON (the sender's key order is kept, so identical input gives
// identical bytes), client and client_url. Empty values are left out.
func eventAnnotations(ev *EventRequest) map[string]string {
	ann := map[string]string{"summary": ev.Payload.Summary}
	if cd := ev.Payload.CustomDetails; len(cd) > 0 && string(cd) != "null" {
		if isCompactJSON(cd) {
			ann["custom_details"] = string(cd) // what Compact would write
		} else {
			var buf bytes.Buffer
			if json.Compact(&buf, cd) == nil {
				ann["custom_details"] = buf.String()
			}
		}
	}
	if ev.Client != "" {
		ann["client"] = ev.Client
	}
	if ev.ClientURL != "" {
		ann["client_url"] = ev.ClientURL
	}
	return ann
}

// isCompactJSON: valid JSON v (the decoder checked it) has no space,
// tab or line break outside its strings, so json.Compact would copy it
// unchanged (it only drops such bytes).
func isCompactJSON(v []byte) bool {
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case in && c == '\\':
			i++ // the escaped byte
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}

// parseTimestamp reads payload.timestamp (ISO 8601 / RFC 3339). PagerDuty
// treats it as informational, so an unreadable one is dropped rather than
// refused; the zero time means "not given".
func parseTimestamp(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || !jsonenc.StorableTime(t) {
		// A year outside 0000-9999 in UTC cannot be stored (json.Marshal
		// refuses it): dropped too, never a failed commit.
		return time.Time{}
	}
	return t.UTC()
}

// newDedupKey is 128 random bits in hex. crypto/rand.Read never fails on
// supported platforms (it aborts the program instead), so there is no error.
func newDedupKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

package router

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

// Alertmanager webhook values we accept.
const (
	amVersion     = "4"
	statusFiring  = "firing"
	statusResolve = "resolved"
)

// AlertmanagerMessage is the body of an Alertmanager webhook (v4): the JSON
// shape of Alertmanager's notify/webhook.Message, which is template.Data plus
// version, groupKey and truncatedAlerts. It is a local copy because importing
// Alertmanager's notify/webhook for four fields linked 240 more packages into
// the binary (OpenTelemetry, gRPC, Kafka); TestAlertmanagerMessageMatchesUpstream
// checks that the JSON shapes stay the same.
type AlertmanagerMessage struct {
	Receiver          string              `json:"receiver"`
	Status            string              `json:"status"`
	Alerts            []AlertmanagerAlert `json:"alerts"`
	GroupLabels       map[string]string   `json:"groupLabels"`
	CommonLabels      map[string]string   `json:"commonLabels"`
	CommonAnnotations map[string]string   `json:"commonAnnotations"`
	ExternalURL       string              `json:"externalURL"`
	Version           string              `json:"version"`
	GroupKey          string              `json:"groupKey"`
	TruncatedAlerts   uint64              `json:"truncatedAlerts"`
}

// AlertmanagerAlert is one alert of a webhook body (Alertmanager's
// template.Alert).
type AlertmanagerAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// DecodeAlertmanager decodes and validates an Alertmanager webhook (v4) body
// into an AlertmanagerMessage. Unknown keys are ignored, because newer
// Alertmanager releases add fields (notification_reason, routeLabels) and
// refusing them would break every upgrade of the sender. Required fields are
// checked; an alert without a fingerprint gets the one Alertmanager would
// compute from its labels. Every failure is an *InputError.
func DecodeAlertmanager(body []byte) (*AlertmanagerMessage, error) {
	if len(body) == 0 {
		return nil, inputErr("body", "empty")
	}
	var msg AlertmanagerMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		if ie := alertDecodeError(body); ie != nil {
			return nil, ie
		}
		return nil, jsonError(body, err, "")
	}
	if err := validateMessage(&msg); err != nil {
		return nil, err
	}
	return &msg, nil
}

func validateMessage(m *AlertmanagerMessage) error {
	switch {
	case m.Version == "":
		return inputErr("version", "required")
	case m.Version != amVersion:
		return inputErr("version", `must be "4", got `+strconv.Quote(m.Version))
	case m.Status == "":
		return inputErr("status", "required")
	case m.Status != statusFiring && m.Status != statusResolve:
		return inputErr("status", "must be firing or resolved, got "+strconv.Quote(m.Status))
	case m.GroupKey == "":
		return inputErr("groupKey", "required")
	case len(m.Alerts) == 0:
		return inputErr("alerts", "required (at least one alert)")
	}
	for i := range m.Alerts {
		if err := validateAlert(i, &m.Alerts[i]); err != nil {
			return err
		}
	}
	return nil
}

func validateAlert(i int, a *AlertmanagerAlert) error {
	field := func(name string) string { return "alerts[" + strconv.Itoa(i) + "]." + name }
	switch {
	case a.Status == "":
		return inputErr(field("status"), "required")
	case a.Status != statusFiring && a.Status != statusResolve:
		return inputErr(field("status"), "must be firing or resolved, got "+strconv.Quote(a.Status))
	case len(a.Labels) == 0:
		return inputErr(field("labels"), "required")
	case !jsonenc.StorableTime(a.StartsAt):
		return inputErr(field("startsAt"), jsonenc.OutsideStorableYears)
	case !jsonenc.StorableTime(a.EndsAt):
		return inputErr(field("endsAt"), jsonenc.OutsideStorableYears)
	}
	if a.Fingerprint == "" {
		a.Fingerprint = fingerprint(a.Labels)
	}
	return nil
}

// fingerprint is Alertmanager's alert identity: the hash of its label set,
// printed as 16 hex digits. Senders other than Alertmanager may omit it.
func fingerprint(kv map[string]string) string {
	ls := make(model.LabelSet, len(kv))
	for k, v := range kv {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.Fingerprint().String()
}

// alertDecodeError is the slow path taken only for bodies that failed to
// decode: encoding/json reports neither the array index of a bad alert nor the
// field of a bad timestamp, so each alert is decoded on its own to find which
// one (and which field) is wrong. It returns nil when the problem is not
// inside an alert.
func alertDecodeError(body []byte) *InputError {
	var shadow struct {
		Alerts []json.RawMessage `json:"alerts"`
	}
	if json.Unmarshal(body, &shadow) != nil {
		return nil // syntax error or alerts not an array: the generic message is right
	}
	for i, raw := range shadow.Alerts {
		var a AlertmanagerAlert
		err := json.Unmarshal(raw, &a)
		if err == nil {
			continue
		}
		prefix := "alerts[" + strconv.Itoa(i) + "]."
		if f := badTimeField(raw); f != "" {
			return inputErr(prefix+f, "must be an RFC 3339 time string")
		}
		ie := jsonError(raw, err, prefix)
		if ie.Field == prefix+"body" || ie.Field == "body" {
			ie.Field = strings.TrimSuffix(prefix, ".") // the alert itself is not an object
		}
		return ie
	}
	return nil
}

// badTimeField names the first timestamp of an alert that does not parse.
func badTimeField(raw []byte) string {
	var times struct {
		StartsAt json.RawMessage `json:"startsAt"`
		EndsAt   json.RawMessage `json:"endsAt"`
	}
	if json.Unmarshal(raw, &times) != nil {
		return ""
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"startsAt", times.StartsAt}, {"endsAt", times.EndsAt}} {
		var t time.Time
		if f.raw != nil && t.UnmarshalJSON(f.raw) != nil && string(f.raw) != "null" {
			return f.name
		}
	}
	return ""
}

// alertRoutingLabels are the labels a webhook group is routed on: the first
// alert's labels overlaid with the group labels. Alertmanager already grouped
// the alerts, and a group must land in one service to be one incident; the
// first alert plus the group labels is the richest set that is stable for the
// group (group labels are identical on every alert).
func alertRoutingLabels(m *AlertmanagerMessage) map[string]string {
	first := m.Alerts[0].Labels
	lset := make(map[string]string, len(first)+len(m.GroupLabels))
	for k, v := range first {
		lset[k] = v
	}
	for k, v := range m.GroupLabels {
		lset[k] = v
	}
	return lset
}

// BuildAlertGroup turns a validated webhook message into the replicated
// AlertGroup for a service. Alerts keep the sender's order; times are UTC so
// the command's bytes do not depend on how the sender wrote offsets.
func (t *Table) BuildAlertGroup(m *AlertmanagerMessage, integrationName, service string) *incident.AlertGroup {
	g := &incident.AlertGroup{
		Integration:  integrationName,
		Service:      service,
		GroupKey:     m.GroupKey,
		Status:       m.Status,
		Title:        alertTitle(m),
		AutoResolve:  t.resolvesAutomatically(service),
		Policy:       t.policyOf(service),
		Truncated:    int(min(m.TruncatedAlerts, uint64(1<<31-1))),
		RulesVersion: incident.RulesCurrent,
		Alerts:       make([]incident.Alert, len(m.Alerts)),
	}
	for i := range m.Alerts {
		a := &m.Alerts[i]
		g.Alerts[i] = incident.Alert{
			Fingerprint: a.Fingerprint,
			Status:      a.Status,
			Labels:      nonNil(a.Labels),
			Annotations: nonNil(a.Annotations),
			StartsAt:    a.StartsAt.UTC(),
			EndsAt:      a.EndsAt.UTC(),
			Severity:    t.alertSeverity(a.Labels),
			// Links for the page: the rule's graph and a silence form.
			GeneratorURL: httpLink(a.GeneratorURL),
			SilenceURL:   silenceURL(m.ExternalURL, a.Labels),
		}
	}
	return g
}

func nonNil(kv map[string]string) map[string]string {
	if kv == nil {
		return map[string]string{}
	}
	return kv
}

// alertTitle is commonAnnotations.summary, else the first firing alert's
// summary (a resolved alert listed first may be a stale one from the group's
// previous incident), else the first alert's, else "alertname
// (other=group, labels=sorted)", else the group key.
func alertTitle(m *AlertmanagerMessage) string {
	if s := m.CommonAnnotations["summary"]; s != "" {
		return s
	}
	first := &m.Alerts[0]
	for i := range m.Alerts {
		if m.Alerts[i].Status == statusFiring {
			first = &m.Alerts[i]
			break
		}
	}
	if s := first.Annotations["summary"]; s != "" {
		return s
	}
	name := m.GroupLabels["alertname"]
	if name == "" {
		name = m.Alerts[0].Labels["alertname"]
	}
	others := make([]string, 0, len(m.GroupLabels))
	for k, v := range m.GroupLabels {
		if k != "alertname" {
			others = append(others, k+"="+v)
		}
	}
	sort.Strings(others)
	switch {
	case name == "" && len(others) == 0:
		return m.GroupKey
	case name == "":
		return strings.Join(others, ", ")
	case len(others) == 0:
		return name
	}
	return name + " (" + strings.Join(others, ", ") + ")"
}

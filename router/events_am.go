package router

import (
	"encoding/json"
	"strings"
)

// Alertmanager's pagerduty_configs sends Events v2 with client "Alertmanager"
// and custom_details holding "firing", "resolved", "num_firing" and
// "num_resolved" (its defaults, merged into any configured details). Unless
// configured otherwise it sends severity "error" whatever the alerts say, and
// the alerts' labels survive only inside custom_details.firing: as text in
// Alertmanager 0.25 (template __text_alert_list), as a JSON array of alerts in
// later releases. An event recognised as Alertmanager's is therefore read for
// what it carries (see amEvent) instead of taking PagerDuty's defaults.

const amClient = "Alertmanager"

// amDefaultDetails are the custom_details keys Alertmanager adds itself; every
// other string detail is one the receiver's config chose to carry (the README
// recommends the alerts' labels) and is taken as a label.
var amDefaultDetails = map[string]bool{"firing": true, "resolved": true, "num_firing": true, "num_resolved": true}

// amAlert is one firing alert read back from custom_details.firing.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
}

// amEvent is what an Alertmanager event carries beyond PagerDuty's fields.
type amEvent struct {
	firing  []amAlert         // the firing alerts listed in custom_details.firing
	details map[string]string // the other non-empty string details
}

// alertmanagerEvent recognises an event sent by Alertmanager's
// pagerduty_configs (client "Alertmanager" and a custom_details object with
// "firing") and reads its alerts and details. ok is false for any other event.
func alertmanagerEvent(ev *EventRequest) (am *amEvent, ok bool) {
	if ev == nil || ev.Client != amClient || ev.Payload == nil {
		return nil, false
	}
	cd := ev.Payload.CustomDetails
	if len(cd) == 0 || cd[0] != '{' {
		return nil, false
	}
	var details map[string]json.RawMessage
	if json.Unmarshal(cd, &details) != nil {
		return nil, false
	}
	raw, ok := details["firing"]
	if !ok {
		return nil, false
	}
	am = &amEvent{firing: parseFiring(raw), details: map[string]string{}}
	for k, v := range details {
		var s string
		if !amDefaultDetails[k] && len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil && s != "" {
			am.details[k] = s
		}
	}
	return am, true
}

// parseFiring reads custom_details.firing: a JSON array of alerts (newer
// Alertmanager), or the text of Alertmanager 0.25's __text_alert_list. Anything
// unreadable gives no alerts; the event is still accepted.
func parseFiring(raw json.RawMessage) []amAlert {
	if len(raw) > 0 && raw[0] == '[' {
		var alerts []amAlert
		if json.Unmarshal(raw, &alerts) != nil {
			return nil
		}
		return alerts
	}
	var text string
	if json.Unmarshal(raw, &text) != nil {
		return nil
	}
	return parseAlertList(text)
}

// parseAlertList parses Alertmanager 0.25's text alert list, one block per
// alert:
//
//	Labels:
//	 - alertname = HighErrorRate
//	 - instance = web-1
//	Annotations:
//	 - summary = 5xx rate above 5%
//	Source: http://prometheus:9090/graph?g0.expr=...
//
// A line that is none of these continues the previous annotation's value
// (descriptions are often multi-line).
func parseAlertList(text string) []amAlert {
	var (
		alerts  []amAlert
		cur     *amAlert
		section string // "labels" | "annotations"
		lastKey string
	)
	for _, line := range strings.Split(text, "\n") {
		switch {
		case line == "Labels:":
			alerts = append(alerts, amAlert{Labels: map[string]string{}, Annotations: map[string]string{}})
			cur, section, lastKey = &alerts[len(alerts)-1], "labels", ""
		case cur == nil:
			continue
		case line == "Annotations:":
			section, lastKey = "annotations", ""
		case strings.HasPrefix(line, "Source: ") || line == "Source:":
			cur.GeneratorURL = strings.TrimSpace(strings.TrimPrefix(line, "Source:"))
			section, lastKey = "", ""
		case strings.HasPrefix(line, " - ") && strings.Contains(line, " = "):
			k, v, _ := strings.Cut(line[3:], " = ")
			if section == "labels" {
				cur.Labels[k] = v
			} else if section == "annotations" {
				cur.Annotations[k] = v
			}
			lastKey = k
		case section == "annotations" && lastKey != "":
			cur.Annotations[lastKey] += "\n" + line
		}
	}
	return alerts
}

// commonLabels are the labels with the same value on every alert (what
// Alertmanager calls commonLabels), or nil without alerts.
func commonOf(alerts []amAlert, get func(*amAlert) map[string]string) map[string]string {
	if len(alerts) == 0 {
		return nil
	}
	common := make(map[string]string, len(get(&alerts[0])))
	for k, v := range get(&alerts[0]) {
		common[k] = v
	}
	for i := 1; i < len(alerts); i++ {
		m := get(&alerts[i])
		for k, v := range common {
			if w, ok := m[k]; !ok || w != v {
				delete(common, k)
			}
		}
	}
	return common
}

func labelsOf(a *amAlert) map[string]string      { return a.Labels }
func annotationsOf(a *amAlert) map[string]string { return a.Annotations }

// labels of an Alertmanager event: PagerDuty's (source, component, group,
// class, severity) overlaid with the labels common to its firing alerts and
// then with the configured details, so that routes and the page see the
// alerts' own labels (severity="critical", service="checkout") rather than
// PagerDuty's severity "error".
func (am *amEvent) labels(p *EventPayload) map[string]string {
	lset := eventLabels(p)
	for k, v := range commonOf(am.firing, labelsOf) {
		if v != "" {
			lset[k] = v
		}
	}
	for k, v := range am.details {
		lset[k] = v
	}
	return lset
}

// severity of an Alertmanager event: the most severe mapped severity label of
// its firing alerts (as the webhook path ranks each alert), else the severity
// label among its details, else payload.severity through the map (which may
// hold a label value such as "page" that PagerDuty would not accept) and the
// PagerDuty fallback, else the default.
func (t *Table) amSeverity(am *amEvent, p *EventPayload) string {
	best := ""
	for i := range am.firing {
		if s, ok := t.labelSeverity(am.firing[i].Labels); ok && (best == "" || severityRank(s) < severityRank(best)) {
			best = s
		}
	}
	if best != "" {
		return best
	}
	if s, ok := t.labelSeverity(am.details); ok {
		return s
	}
	return t.eventSeverity(p.Severity)
}

// generatorURL is the graph link of the first firing alert that has one.
func (am *amEvent) generatorURL() string {
	for _, a := range am.firing {
		if link := httpLink(a.GeneratorURL); link != "" {
			return link
		}
	}
	return ""
}

// externalURLOf recovers Alertmanager's external URL from its client_url,
// "{externalURL}/#/alerts?receiver=NAME".
func externalURLOf(clientURL string) string {
	base, _, ok := strings.Cut(clientURL, "/#/")
	if !ok {
		return ""
	}
	return base
}

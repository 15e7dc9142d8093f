package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Client is an HTTP client with enough idle connections per host that 128
// concurrent workers keep their connections alive.
var Client = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2048,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
	},
}

// StatusError is a non-success HTTP answer.
type StatusError struct {
	Code       int
	RetryAfter string
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("HTTP %d (Retry-After %q): %s", e.Code, e.RetryAfter, strings.TrimSpace(e.Body))
}

// Post sends body to url with headers and returns the answer body when the
// status is want; otherwise a *StatusError (or the transport error, status 0).
func Post(ctx context.Context, url string, body []byte, headers map[string]string, want int) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return b, resp.StatusCode, &StatusError{Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After"), Body: string(b)}
	}
	return b, resp.StatusCode, nil
}

// GetJSON decodes GET url (with a bearer token when token is set) into v.
func GetJSON(ctx context.Context, url, token string, v any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return resp.StatusCode, &StatusError{Code: resp.StatusCode, Body: string(b)}
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			return resp.StatusCode, fmt.Errorf("decode %s: %w", url, err)
		}
	}
	return 200, nil
}

// EventTrigger is an Events v2 trigger with a distinct dedup key.
func EventTrigger(routingKey, dedupKey, source string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"routing_key":`)
	writeJSONString(&b, routingKey)
	b.WriteString(`,"event_action":"trigger","dedup_key":`)
	writeJSONString(&b, dedupKey)
	b.WriteString(`,"payload":{"summary":`)
	writeJSONString(&b, "bench alert "+dedupKey)
	b.WriteString(`,"source":`)
	writeJSONString(&b, source)
	b.WriteString(`,"severity":"critical","component":"bench","custom_details":{"run":"bench"}}}`)
	return b.Bytes()
}

// EventAction is an Events v2 acknowledge or resolve.
func EventAction(routingKey, action, dedupKey string) []byte {
	b, _ := json.Marshal(map[string]any{"routing_key": routingKey, "event_action": action, "dedup_key": dedupKey})
	return b
}

// Alert is one distinct alert, sent alike to pagerd (inside a webhook) and to
// Alertmanager (POST /api/v2/alerts).
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
}

// Alerts returns n distinct alerts of group g (labels alertname, service,
// instance, severity; a summary annotation).
func Alerts(run string, g int64, n int, service string, at time.Time) []Alert {
	out := make([]Alert, n)
	for i := range out {
		inst := run + "-" + strconv.FormatInt(g, 10) + "-" + strconv.Itoa(i)
		out[i] = Alert{
			Labels: map[string]string{"alertname": "BenchAlert", "group": run + "-" + strconv.FormatInt(g, 10),
				"service": service, "instance": inst, "severity": "critical"},
			Annotations: map[string]string{"summary": "bench alert on " + inst},
			StartsAt:    at,
		}
	}
	return out
}

// Webhook encodes alerts as one Alertmanager webhook (version 4) notification
// of a group keyed by its "group" label.
func Webhook(alerts []Alert) []byte {
	type amAlert struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
	}
	group := alerts[0].Labels["group"]
	msg := map[string]any{
		"version": "4", "status": "firing", "receiver": "pagerd",
		"groupKey":          `{}:{group="` + group + `"}`,
		"truncatedAlerts":   0,
		"groupLabels":       map[string]string{"group": group},
		"commonLabels":      map[string]string{"group": group, "alertname": "BenchAlert", "service": alerts[0].Labels["service"]},
		"commonAnnotations": map[string]string{},
		"externalURL":       "http://bench",
	}
	list := make([]amAlert, len(alerts))
	for i, a := range alerts {
		list[i] = amAlert{Status: "firing", Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.UTC(),
			GeneratorURL: "http://bench/graph"}
	}
	msg["alerts"] = list
	b, _ := json.Marshal(msg)
	return b
}

// PostableAlerts encodes alerts for Alertmanager's POST /api/v2/alerts.
func PostableAlerts(alerts []Alert) []byte {
	type postable struct {
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		GeneratorURL string            `json:"generatorURL"`
	}
	list := make([]postable, len(alerts))
	for i, a := range alerts {
		list[i] = postable{Labels: a.Labels, Annotations: a.Annotations, StartsAt: a.StartsAt.UTC(), GeneratorURL: "http://bench/graph"}
	}
	b, _ := json.Marshal(list)
	return b
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s)
	b.Write(q)
}

package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
)

// StatusFilters maps the status query values (and CLI --status) to statuses.
var StatusFilters = map[string][]incident.Status{
	"open":         {incident.Triggered, incident.Acknowledged},
	"triggered":    {incident.Triggered},
	"acknowledged": {incident.Acknowledged},
	"resolved":     {incident.Resolved},
	"all":          nil,
}

const (
	defaultLimit = 100
	maxLimit     = 1000
	maxBody      = 64 << 10
)

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, before, limit, err := parseListQuery(q.Get("status"), q.Get("limit"), q.Get("cursor"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	f.Service, f.DedupKey = q.Get("service"), q.Get("dedup_key")
	var items []*incident.Incident
	var next uint64
	s.node.FSM().ReadIncidents(func(st *incident.State) { items, next = st.List(f, before, limit) })
	out := make([]listItemJSON, len(items))
	for i, inc := range items {
		out[i] = listItemJSON{Incident: inc}
	}
	cursor := ""
	if next != 0 {
		cursor = strconv.FormatUint(next, 10)
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out, "next": cursor})
}

// listItemJSON is an incident in a list: without alerts (issue 10.8: one
// list page of incidents with thousands of alerts each was 29.7 MB), which
// the single-incident answer carries; alert_count and alerts_dropped stay.
type listItemJSON struct {
	*incident.Incident
	Alerts *struct{} `json:"alerts,omitempty"` // always nil: hides Incident.Alerts
}

func parseListQuery(status, limitS, cursor string) (f incident.Filter, before uint64, limit int, err error) {
	if status == "" {
		status = "open"
	}
	statuses, ok := StatusFilters[status]
	if !ok {
		return f, 0, 0, fmt.Errorf("status: must be one of open, triggered, acknowledged, resolved, all (got %q)", status)
	}
	if len(statuses) > 0 {
		f.Statuses = map[incident.Status]bool{}
		for _, st := range statuses {
			f.Statuses[st] = true
		}
	}
	limit = defaultLimit
	if limitS != "" {
		limit, err = strconv.Atoi(limitS)
		if err != nil || limit < 1 || limit > maxLimit {
			return f, 0, 0, fmt.Errorf("limit: must be a whole number from 1 to %d (got %q)", maxLimit, limitS)
		}
	}
	if cursor != "" {
		before, err = strconv.ParseUint(cursor, 10, 64)
		if err != nil || before == 0 {
			return f, 0, 0, fmt.Errorf("cursor: invalid (got %q); pass the `next` value of the previous page", cursor)
		}
	}
	return f, before, limit, nil
}

// ParseIncidentID accepts "42" and "INC-42" (any case).
func ParseIncidentID(s string) (uint64, error) {
	t := s
	if len(t) > 4 && strings.EqualFold(t[:4], "INC-") {
		t = t[4:]
	}
	id, err := strconv.ParseUint(t, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("incident id: want a number or INC-<number> (got %q)", s)
	}
	return id, nil
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	id, err := ParseIncidentID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	page, err := parseAlertsPage(r.URL.Query().Get("alerts_limit"), r.URL.Query().Get("alerts_cursor"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var inc *incident.Incident
	var ok, removed bool
	s.node.FSM().ReadIncidents(func(st *incident.State) {
		inc, ok = st.Get(id)
		removed = !ok && id <= uint64(st.Len())
	})
	if removed {
		writeError(w, http.StatusNotFound, "incident not found: "+incident.KeyFor(id)+
			" was removed by retention (resolved longer ago than retention.resolved); see your exports")
		return
	}
	if !ok {
		writeError(w, http.StatusNotFound, "incident not found: "+incident.KeyFor(id))
		return
	}
	out := fullIncident(inc)
	s.withLearning(&out)
	if page.limit > 0 {
		out.Alerts, out.AlertsNext = page.cut(inc.Alerts)
	}
	writeJSON(w, http.StatusOK, out)
}

// alertsPage is ?alerts_limit=N&alerts_cursor=C of GET /v1/incidents/{id}:
// N alerts from position C (the alerts_next of the previous page).
type alertsPage struct{ limit, from int }

func parseAlertsPage(limitS, cursorS string) (alertsPage, error) {
	var p alertsPage
	if limitS == "" {
		if cursorS != "" {
			return p, errors.New("alerts_cursor: needs alerts_limit")
		}
		return p, nil
	}
	n, err := strconv.Atoi(limitS)
	if err != nil || n < 1 || n > incident.MaxAlerts {
		return p, fmt.Errorf("alerts_limit: must be a whole number from 1 to %d (got %q)", incident.MaxAlerts, limitS)
	}
	p.limit = n
	if cursorS != "" {
		c, err := strconv.Atoi(cursorS)
		if err != nil || c < 1 || c >= incident.MaxAlerts {
			return p, fmt.Errorf("alerts_cursor: invalid (got %q); pass the alerts_next value of the previous page", cursorS)
		}
		p.from = c
	}
	return p, nil
}

// cut returns the page's alerts and the cursor of the next page ("" on the
// last one).
func (p alertsPage) cut(alerts []incident.Alert) ([]incident.Alert, string) {
	from := min(p.from, len(alerts))
	to := min(from+p.limit, len(alerts))
	next := ""
	if to < len(alerts) {
		next = strconv.Itoa(to)
	}
	return alerts[from:to], next
}

// incidentJSON is one incident with its notifications and timeline always
// present (as arrays), as spec §2 lists them; only list items leave them out.
type incidentJSON struct {
	*incident.Incident
	// Alerts is Incident.Alerts, or one page of them with ?alerts_limit.
	Alerts        []incident.Alert        `json:"alerts"`
	AlertsNext    string                  `json:"alerts_next,omitempty"`
	Notifications []incident.Notification `json:"notifications"`
	Timeline      []incident.Entry        `json:"timeline"`
	// Roles is {} rather than null when nobody holds a role (spec §5.2).
	Roles map[string]string `json:"roles"`
	// Postmortem and Followups (spec §5.2) are filled by GET
	// /v1/incidents/{id} (api/learning.go withLearning).
	Postmortem *postmortemRef      `json:"postmortem"`
	Followups  []learning.Followup `json:"followups"`
}

func fullIncident(inc *incident.Incident) incidentJSON {
	out := incidentJSON{Incident: inc, Alerts: inc.Alerts, Notifications: inc.Notifications, Timeline: inc.Timeline, Roles: inc.Roles}
	if out.Roles == nil {
		out.Roles = map[string]string{}
	}
	if out.Alerts == nil {
		out.Alerts = []incident.Alert{}
	}
	if out.Notifications == nil {
		out.Notifications = []incident.Notification{}
	}
	if out.Timeline == nil {
		out.Timeline = []incident.Entry{}
	}
	return out
}

// actionBody is the optional body of POST /v1/incidents/{id}/{action}.
type actionBody struct {
	By   string `json:"by"`
	Note string `json:"note"`
	// Channel and DedupID are set when a reply (SMS, email, dev outbox)
	// received on a follower is forwarded to the leader; only node-to-node
	// requests may set them (checkInternalFields).
	Channel string `json:"channel"`
	DedupID string `json:"dedup_id"`
}

// actionChannels are the channels an action may claim.
var actionChannels = map[string]bool{"": true, "api": true, "sms": true, "email": true, "dev": true}

var actionKinds = map[string]string{"ack": incident.Ack, "resolve": incident.Resolve,
	"escalate": incident.Escalate, "notes": incident.Note}

func (s *Server) actOnIncident(w http.ResponseWriter, r *http.Request) {
	kind, ok := actionKinds[r.PathValue("action")]
	if !ok {
		writeError(w, http.StatusNotFound, "no such action: "+r.PathValue("action")+" (want ack, resolve, escalate or notes)")
		return
	}
	var body actionBody
	decode := func() (sender, error) {
		if err := decodeOptional(w, r, &body); err != nil {
			return sender{}, err
		}
		return sender{body.By, body.Channel, body.DedupID}, checkActionBody(body, kind)
	}
	s.incidentCommand(w, r, decode, func(id uint64, by, channel string) (*incident.Incident, error) {
		return s.node.SubmitAction(r.Context(), &incident.Action{Incident: id, Kind: kind, By: by, Channel: channel,
			Note: body.Note, DedupID: body.DedupID})
	})
}

// checkActionBody checks what needs no state: a note has text, and the
// channel is one an action may claim.
func checkActionBody(b actionBody, kind string) error {
	switch {
	case kind == incident.Note && strings.TrimSpace(b.Note) == "":
		return errors.New("note: required")
	case !actionChannels[b.Channel]:
		return errors.New("channel: want api, sms, email or dev")
	}
	return nil
}

// decodeOptional decodes a JSON body if there is one.
func decodeOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	err := decodeStrict(r, w, v, maxBody)
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func writeBodyError(w http.ResponseWriter, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", tooLarge.Limit))
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// describeJSONError names the field a decoding error is about.
func describeJSONError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return err
	case errors.As(err, &typeErr):
		return fmt.Errorf("%s: must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Errorf("body: malformed JSON at byte %d: %v", syntaxErr.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("body: malformed JSON: unexpected end of input")
	case errors.Is(err, io.EOF):
		return err
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	return fmt.Errorf("body: %v", err)
}

func withTokenName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, tokenNameKey{}, name)
}

func tokenName(ctx context.Context) string {
	if n, ok := ctx.Value(tokenNameKey{}).(string); ok && n != "" {
		return n
	}
	return "api"
}

// incidentCollector exports incident counts by service and status.
type incidentCollector struct{ fsm *cluster.FSM }

var descIncidents = prometheus.NewDesc("pagerd_incidents", "Incidents by service and status.", []string{"service", "status"}, nil)

func (c *incidentCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descIncidents }

func (c *incidentCollector) Collect(ch chan<- prometheus.Metric) {
	var ms []prometheus.Metric
	c.fsm.ReadIncidents(func(st *incident.State) {
		st.Count(func(service string, status incident.Status, n int) {
			ms = append(ms, prometheus.MustNewConstMetric(descIncidents, prometheus.GaugeValue, float64(n), service, string(status)))
		})
	})
	// Sent after the read lock is released so a slow scrape never holds up apply.
	for _, m := range ms {
		ch <- m
	}
}

package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
)

type tokenNameKey struct{}

// calendarRoute is the one path where a token may come in the query string:
// calendar apps subscribe by URL and cannot send headers.
const calendarRoute = "/v1/schedules/{id}/calendar.ics"

// requiredScope is the scope a request needs, decided by the route pattern
// that matched (not by the raw path, so "/v1/incidents/1.ics" is an incident
// read, never a calendar). Anything not listed needs admin: a route added
// later is closed until someone decides otherwise.
func requiredScope(r *http.Request) string {
	switch routeOf(r) {
	case "/v1/incidents", "/v1/incidents/{id}", "/v1/incidents/export",
		"/v1/oncall", "/v1/schedules/{id}/oncall", "/v1/schedules/{id}/shifts", calendarRoute,
		"/v1/services", "/v1/services/{id}", "/v1/heartbeats", "/v1/drills", "/v1/drills/{id}/runs",
		"/v1/reports/continuity", "/v1/reports/response":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return config.ScopeRead
		}
		return config.ScopeAdmin
	case "/v1/incidents/{id}/{action}", "/v1/incidents/{id}/severity", "/v1/incidents/{id}/roles/{role}",
		"/v1/incidents/{id}/postmortem", "/v1/incidents/{id}/followups", "/v1/followups", "/v1/followups/{id}",
		"/v1/incidents/{id}/updates", "/v1/maintenance", "/v1/maintenance/{id}",
		"/v1/incidents/{id}/impact", "/v1/incidents/{id}/summary",
		"/v1/schedules/{id}/overrides", "/v1/schedules/{id}/overrides/{oid}",
		"/v1/services/{id}/reviews":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return config.ScopeRead
		}
		return config.ScopeRespond
	}
	return config.ScopeAdmin
}

// routeOf is the path part of the pattern that matched ("GET /v1/incidents"
// → "/v1/incidents"), whether or not the pattern names a method.
func routeOf(r *http.Request) string {
	if _, path, ok := strings.Cut(r.Pattern, " "); ok {
		return path
	}
	return r.Pattern
}

func isCalendar(r *http.Request) bool { return routeOf(r) == calendarRoute }

// auth checks the bearer token against the active config: an api_tokens entry
// whose scope covers the route, or, on the calendar route only, a feed token
// of that schedule (which may also come as ?token=). With no config committed
// yet the answer is 503: that is transient. A config with `auth: none` is
// served open only by a --dev node; any other node refuses every request.
func (s *Server) auth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(cluster.NodeAuthHeader) != "" {
			s.nodeAuth(h, w, r)
			return
		}
		ac := s.node.FSM().Config()
		if ac == nil {
			cluster.WriteUnavailable(w, "no config committed yet; retry", time.Second)
			return
		}
		// A restarting node's config (its tokens) is older than the cluster's
		// until it has caught up: check no token against it.
		if !s.node.CaughtUp() {
			cluster.WriteUnavailable(w, "this node is catching up with the cluster; retry", time.Second)
			return
		}
		cfg := ac.Config
		if cfg.OpenAPI() {
			if s.dev {
				h.ServeHTTP(w, r.WithContext(withTokenScope(r.Context(), config.ScopeAdmin)))
				return
			}
			unauthorized(w, "the active config says auth: none, which only a node started with --dev serves; restart with --dev and apply a config with api_tokens")
			return
		}
		tok, fromQuery := bearer(r), false
		if tok == "" && isCalendar(r) {
			tok, fromQuery = strings.TrimSpace(r.URL.Query().Get("token")), true
		}
		if tok == "" {
			unauthorized(w, "missing API token: send Authorization: Bearer TOKEN (the CLI takes --token or $PAGERD_TOKEN)")
			return
		}
		if isCalendar(r) {
			if name, ok := cfg.FeedTokenName(r.PathValue("id"), tok); ok {
				h.ServeHTTP(w, r.WithContext(withTokenName(r.Context(), "feed:"+name)))
				return
			}
			if fromQuery {
				// An API token in a URL ends up in logs and calendar apps.
				unauthorized(w, fmt.Sprintf("token: not a feed token of schedule %q (?token= takes only that schedule's feed_tokens; API tokens go in the Authorization header)", r.PathValue("id")))
				return
			}
		}
		t, ok := cfg.APITokenFor(tok)
		if !ok {
			unauthorized(w, "unknown API token")
			return
		}
		if need := requiredScope(r); !config.ScopeAllows(t.Scope, need) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("token %q has scope %s; %s %s needs scope %s", t.Name, t.Scope, r.Method, r.URL.Path, need))
			return
		}
		h.ServeHTTP(w, r.WithContext(withTokenScope(withTokenName(r.Context(), t.Name), t.Scope)))
	})
}

// bearer is the token of an "Authorization: Bearer TOKEN" header, or "".
func bearer(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(tok)
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="pagerd"`)
	writeError(w, http.StatusUnauthorized, msg)
}

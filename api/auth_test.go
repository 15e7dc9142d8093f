package api

import (
	"net/http/httptest"
	"testing"
)

// TestRequiredScope pins the scope of every route: read for reading
// incidents and schedules, respond for acting on incidents, admin for the
// rest, including routes nobody classified. The pattern decides, not the raw
// path, and a pattern without a method is read the same way.
func TestRequiredScope(t *testing.T) {
	cases := []struct{ method, pattern, want string }{
		{"GET", "GET /v1/incidents", "read"},
		{"GET", "GET /v1/incidents/{id}", "read"},
		{"HEAD", "GET /v1/incidents/{id}", "read"},
		{"POST", "POST /v1/incidents/{id}/{action}", "respond"},
		{"POST", "POST /v1/incidents/{id}/impact", "respond"},
		{"GET", "GET /v1/incidents/{id}/summary", "read"},
		{"GET", "GET /v1/oncall", "read"},
		{"GET", "GET /v1/schedules/{id}/oncall", "read"},
		{"GET", "GET /v1/schedules/{id}/shifts", "read"},
		{"GET", "GET /v1/schedules/{id}/calendar.ics", "read"},
		{"GET", "/v1/incidents", "read"},
		{"POST", "/v1/incidents", "admin"},
		{"GET", "GET /v1/config", "admin"},
		{"PUT", "PUT /v1/config", "admin"},
		{"GET", "GET /v1/snapshot", "admin"},
		{"PUT", "PUT /v1/snapshot", "admin"},
		{"GET", "GET /v1/cluster", "admin"},
		{"POST", "POST /v1/cluster/join", "admin"},
		{"DELETE", "DELETE /v1/cluster/nodes/{id}", "admin"},
		{"POST", "POST /v1/reply-keys/rotate", "admin"},
		{"GET", "GET /v1/something-new", "admin"},
		{"GET", "", "admin"},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, "/x", nil)
		r.Pattern = c.pattern
		if got := requiredScope(r); got != c.want {
			t.Errorf("%s %q: scope %s, want %s", c.method, c.pattern, got, c.want)
		}
	}
	r := httptest.NewRequest("GET", "/v1/incidents/1.ics", nil)
	r.Pattern = "GET /v1/incidents/{id}"
	if isCalendar(r) {
		t.Error("an incident path ending .ics counted as the calendar route")
	}
}

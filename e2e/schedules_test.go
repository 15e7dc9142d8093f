package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/internal/testcluster"
)

const scheduleConfig = `
timezone: Europe/Amsterdam
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com}
  - {id: bob, name: Bob, email: bob@example.com}
  - {id: dave, name: Dave, email: dave@example.com}
rotations:
  - {id: ops, participants: [alice, bob], shift: 1w, start: "2026-11-02 09:00"}
schedules:
  - id: web
    layers: [ops]
    overrides:
      - {from: "2026-11-25 18:00", to: "2026-11-26 09:00", user: dave, replaces: bob}
    feed_tokens:
      - {name: cal, token: "test-web-feed-token"}
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
`

// The schedule endpoints and CLI commands of spec §1/§2 against a real node.
// Turns: ops starts Mon 2026-11-02 09:00 CET (08:00Z); alice has weeks 0, 2, …,
// bob weeks 1, 3, … So 2026-11-25 (week 3, from 11-23 08:00Z) is bob's, and the
// override gives 2026-11-25 17:00Z–11-26 08:00Z to dave.
func TestScheduleEndpointsAndCLI(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{Config: scheduleConfig})
	n := c.Nodes[0]

	var one struct {
		Schedule string   `json:"schedule"`
		Users    []string `json:"users"`
	}
	for at, want := range map[string]string{
		"2026-11-25T12:00:00Z": "bob",  // week 3 is bob's
		"2026-11-25T20:00:00Z": "dave", // override replaces bob
		"2026-11-17T12:00:00Z": "alice",
	} {
		if code := c.GetJSON(n, "/v1/schedules/web/oncall?at="+at, &one); code != 200 || strings.Join(one.Users, ",") != want {
			t.Errorf("web at %s: %d %v, want %s", at, code, one.Users, want)
		}
	}
	// A rotation id is accepted wherever a schedule id is: no override there.
	if c.GetJSON(n, "/v1/schedules/ops/oncall?at=2026-11-25T20:00:00Z", &one); strings.Join(one.Users, ",") != "bob" {
		t.Errorf("rotation ops at override time: %v, want bob", one.Users)
	}

	var shifts []struct{ User, Start, End string }
	if code := c.GetJSON(n, "/v1/schedules/web/shifts?from=2026-11-23T08:00:00Z&to=2026-11-30T08:00:00Z", &shifts); code != 200 {
		t.Fatalf("shifts: %d", code)
	}
	got, _ := json.Marshal(shifts)
	want := `[{"User":"bob","Start":"2026-11-23T08:00:00Z","End":"2026-11-25T17:00:00Z"},` +
		`{"User":"dave","Start":"2026-11-25T17:00:00Z","End":"2026-11-26T08:00:00Z"},` +
		`{"User":"bob","Start":"2026-11-26T08:00:00Z","End":"2026-11-30T08:00:00Z"}]`
	if string(got) != want {
		t.Errorf("shifts:\n got %s\nwant %s", got, want)
	}

	var all struct {
		OnCall []struct {
			Schedule, Kind string
			Users          []string
		} `json:"oncall"`
	}
	c.GetJSON(n, "/v1/oncall?at=2026-11-25T20:00:00Z", &all)
	if len(all.OnCall) != 2 || all.OnCall[0].Schedule != "web" || all.OnCall[0].Kind != "schedule" || all.OnCall[1].Kind != "rotation" {
		t.Errorf("/v1/oncall: %+v", all.OnCall)
	}

	// Calendar feed: subscribable by URL with a feed token as ?token=, one
	// VEVENT per shift. An API token is never taken from a URL.
	if code, _ := c.Do(n, http.MethodGet, "/v1/schedules/web/calendar.ics?token="+testcluster.Token, nil,
		map[string]string{"Authorization": ""}); code != 401 {
		t.Errorf("calendar.ics with the API token as ?token: %d, want 401", code)
	}
	code, body := c.Do(n, http.MethodGet, "/v1/schedules/web/calendar.ics?token=test-web-feed-token", nil,
		map[string]string{"Authorization": ""})
	if code != 200 || !strings.HasPrefix(string(body), "BEGIN:VCALENDAR\r\n") || !strings.Contains(string(body), "BEGIN:VEVENT") {
		t.Errorf("calendar.ics with ?token: %d %.200s", code, body)
	}
	if code, _ := c.Do(n, http.MethodGet, "/v1/schedules/web/calendar.ics", nil, map[string]string{"Authorization": ""}); code != 401 {
		t.Errorf("calendar.ics without token: %d, want 401", code)
	}

	// Errors name the problem.
	for path, wantCode := range map[string]int{
		"/v1/schedules/nope/oncall":                                                  404,
		"/v1/schedules/web/oncall?at=tomorrow":                                       400,
		"/v1/schedules/web/shifts?from=2026-01-01T00:00:00Z&to=2025-01-01T00:00:00Z": 400,
	} {
		if code, body := c.Do(n, http.MethodGet, path, nil, nil); code != wantCode || !strings.Contains(string(body), `"error"`) {
			t.Errorf("%s: %d %s, want %d", path, code, body, wantCode)
		}
	}

	// CLI.
	if code, out := c.Run(n, "oncall", "web", "--at", "2026-11-25T20:00:00Z"); code != 0 || strings.TrimSpace(out) != "web: dave" {
		t.Errorf("pagerd oncall web: %d %q", code, out)
	}
	code, out := c.Run(n, "shifts", "web", "--from", "2026-11-23T08:00:00Z", "--to", "2026-11-30T08:00:00Z", "--utc")
	if code != 0 || strings.Count(out, "\n") != 4 || !strings.Contains(out, "dave  2026-11-25T17:00:00Z  2026-11-26T08:00:00Z") {
		t.Errorf("pagerd shifts web: %d\n%s", code, out)
	}
	if code, _ := c.Run(n, "oncall", "nope"); code != 1 {
		t.Errorf("pagerd oncall nope: exit %d, want 1", code)
	}
}

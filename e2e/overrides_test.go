package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

const overrideConfig = `
timezone: Europe/Amsterdam
api_tokens:
  - {name: admin, token: "test-admin-token"}
  - {name: bot, token: "test-respond-token", scope: respond}
  - {name: dash, token: "test-read-token", scope: read}
users:
  - {id: alice, email: alice@example.com, notify: [{via: email}]}
  - {id: bob, email: bob@example.com, notify: [{via: email}]}
  - {id: dave, email: dave@example.com, notify: [{via: email}]}
rotations:
  - {id: ops, participants: [alice, bob], shift: 1w, start: "2026-01-01 00:00"}
schedules:
  - {id: web, layers: [ops]}
policies:
  - id: web
    steps:
      - {notify: [schedule:web], escalate_after: 1h}
      - {notify: [schedule:web], escalate_after: 1h}
services: [{id: checkout, policy: web}]
integrations: [{name: events, key: "test-events-key", service: checkout}]
channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@example.com"}
`

// pagedUsers lists whom step `step` of incident id paged.
func pagedUsers(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id uint64, step int) []string {
	t.Helper()
	inc := amGetIncident(t, c, n, id)
	var users []string
	for _, x := range inc.Notifications {
		if x.Step == step && !slices.Contains(users, x.User) {
			users = append(users, x.User)
		}
	}
	return users
}

func awaitPaged(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id uint64, step int, want string) {
	t.Helper()
	c.WaitFor(20*time.Second, func() (bool, string) {
		got := pagedUsers(t, c, n, id, step)
		return strings.Join(got, ",") == want, fmt.Sprintf("INC-%d step %d paged %v, want %s", id, step, got, want)
	})
}

// Spec §5.3/§5.7 runtime overrides against real nodes: an override made by
// the CLI (wall-clock times in the schedule's zone) changes `pagerd oncall
// web` on every node and whom the next escalation step pages; deleting it
// restores both; bad overrides are 400 naming the field and change nothing.
func TestRuntimeOverrideChangesOnCallAndPaging(t *testing.T) {
	c := testcluster.Start(t, 2, testcluster.Options{Config: overrideConfig})
	leader := c.Leader()
	follower := c.Followers()[0]

	var oc struct {
		Users []string `json:"users"`
	}
	if code := c.GetJSON(follower, "/v1/schedules/web/oncall", &oc); code != 200 || len(oc.Users) != 1 {
		t.Fatalf("on call before: %d %v", code, oc.Users)
	}
	base := oc.Users[0] // alice or bob, by the day

	pgTrigger(t, c, leader, "ovr-1", testcluster.EventsKey)
	awaitPaged(t, c, leader, 1, 0, base)

	// The CLI, through the follower (forwarded to the leader), with
	// wall-clock times in Europe/Amsterdam.
	// The override ends by base's handoff, so that base is on call
	// throughout it and every check below has one right answer.
	ams, _ := time.LoadLocation("Europe/Amsterdam")
	now := time.Now().In(ams)
	var cur []struct{ End time.Time }
	if code := c.GetJSON(leader, "/v1/schedules/web/shifts", &cur); code != 200 || len(cur) == 0 {
		t.Fatalf("shifts: %d %v", code, cur)
	}
	end := now.Add(3 * time.Hour)
	if cur[0].End.Before(end) {
		end = cur[0].End.In(ams)
	}
	from, to := now.Add(-time.Hour).Format("2006-01-02 15:04"), end.Format("2006-01-02 15:04")
	code, out := c.Run(follower, "override", "web", "--user", "dave", "--replaces", base, "--from", from, "--to", to)
	if code != 0 || !strings.HasPrefix(out, "O1: dave on call ") {
		t.Fatalf("pagerd override: %d %q", code, out)
	}
	for _, n := range c.Nodes {
		c.WaitFor(10*time.Second, func() (bool, string) {
			code, out := c.Run(n, "oncall", "web")
			return code == 0 && strings.TrimSpace(out) == "web: dave", fmt.Sprintf("%s: pagerd oncall web: %d %q", n.ID, code, out)
		})
	}
	var list struct {
		Overrides []struct {
			ID, User, Replaces, By string
			From                   time.Time
		} `json:"overrides"`
	}
	c.GetJSON(leader, "/v1/schedules/web/overrides", &list)
	wantFrom, _ := time.ParseInLocation("2006-01-02 15:04", from, ams)
	if len(list.Overrides) != 1 || list.Overrides[0].ID != "O1" || list.Overrides[0].Replaces != base ||
		list.Overrides[0].By != "admin" || !list.Overrides[0].From.Equal(wantFrom) {
		t.Fatalf("GET overrides: %+v (want from %s)", list.Overrides, wantFrom)
	}
	// The calendar feed and the shifts show it too.
	if code, ics := c.Do(follower, http.MethodGet, "/v1/schedules/web/calendar.ics", nil, nil); code != 200 || !strings.Contains(string(ics), "SUMMARY:On call: dave (web)") {
		t.Errorf("calendar.ics with the override: %d, no shift of dave:\n%.600s", code, ics)
	}
	var shifts []struct{ User string }
	c.GetJSON(leader, "/v1/schedules/web/shifts", &shifts)
	if len(shifts) == 0 || shifts[0].User != "dave" {
		t.Errorf("shifts from now: %+v, want dave first", shifts)
	}
	if code, out := c.Run(leader, "overrides", "web"); code != 0 || !strings.Contains(out, "O1") || !strings.Contains(out, "dave") {
		t.Errorf("pagerd overrides web: %d %q", code, out)
	}

	// config plan computes both sides with the runtime override on top:
	// swapping the rotation's participants today makes the other person
	// join dave (the override replaces only base), and nobody leaves, as
	// dave already stands in for base.
	swapped := filepath.Join(t.TempDir(), "swapped.yaml")
	if err := os.WriteFile(swapped, []byte(strings.Replace(overrideConfig, "[alice, bob]", "[bob, alice]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out = c.Run(leader, "config", "plan", swapped, "--output", "json", "--weeks", "1")
	var plan struct {
		Shifts []struct {
			Schedule     string
			Start        time.Time
			Lost, Gained []string
		}
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &plan); code != 0 || err != nil {
		t.Fatalf("config plan: %d %v\n%s", code, err, out)
	}
	wantTo, _ := time.ParseInLocation("2006-01-02 15:04", to, ams)
	web := 0
	for _, sc := range plan.Shifts {
		if sc.Schedule == "web" {
			web++
			if sc.Start.Before(wantTo) && (len(sc.Lost) != 0 || len(sc.Gained) != 1 || sc.Gained[0] == base) {
				t.Errorf("plan inside the runtime override (until %s): %+v; want only the other person gained", wantTo, sc)
			}
		}
	}
	if web == 0 {
		t.Errorf("plan shows no change to web at all: %s", out)
	}

	// The next step of the open incident pages the override's user.
	if code, out := c.Run(leader, "escalate", "1"); code != 0 {
		t.Fatalf("escalate: %d %s", code, out)
	}
	awaitPaged(t, c, leader, 1, 1, "dave")

	// Bad input: 400 naming the field; nothing changes.
	for _, tc := range []struct{ body, field string }{
		{`{"from":"` + from + `","to":"` + to + `","user":"mallory"}`, "user"},
		{`{"from":"` + from + `","to":"` + to + `","user":"dave","replaces":"eve"}`, "replaces"},
		{`{"from":"` + to + `","to":"` + from + `","user":"dave"}`, "to"},
		{`{"from":"tonight","to":"` + to + `","user":"dave"}`, "from"},
		{`{"to":"` + to + `","user":"dave"}`, "from"},
		{`{"from":"` + from + `","to":"` + to + `","user":"dave","colour":"red"}`, "colour"},
	} {
		code, body := c.Do(follower, http.MethodPost, "/v1/schedules/web/overrides", []byte(tc.body), nil)
		var e struct{ Error string }
		json.Unmarshal(body, &e)
		if code != 400 || !strings.HasPrefix(e.Error, tc.field) {
			t.Errorf("POST %s: %d %s, want 400 naming %s", tc.body, code, body, tc.field)
		}
	}
	if code, _ := c.Do(leader, http.MethodPost, "/v1/schedules/nope/overrides", []byte(`{"from":"`+from+`","to":"`+to+`","user":"dave"}`), nil); code != 404 {
		t.Errorf("override of unknown schedule: %d, want 404", code)
	}
	if code, out := c.Run(leader, "override", "web", "--user", "mallory", "--from", from, "--to", to); code == 0 || !strings.Contains(out, "unknown user") {
		t.Errorf("pagerd override --user mallory: %d %q", code, out)
	}
	// Scope respond may make overrides; read may only list them.
	if code, _ := c.Do(leader, http.MethodPost, "/v1/schedules/web/overrides", []byte(`{"from":"`+from+`","to":"`+to+`","user":"dave"}`),
		map[string]string{"Authorization": "Bearer test-read-token"}); code != 403 {
		t.Errorf("POST with a read token: %d, want 403", code)
	}
	if code, _ := c.Do(leader, http.MethodGet, "/v1/schedules/web/overrides", nil, map[string]string{"Authorization": "Bearer test-read-token"}); code != 200 {
		t.Errorf("GET with a read token: %d, want 200", code)
	}
	c.GetJSON(leader, "/v1/schedules/web/overrides", &list)
	if len(list.Overrides) != 1 {
		t.Fatalf("refused overrides changed the list: %+v", list.Overrides)
	}

	// Deleting it restores the schedule and the paging.
	if code, out := c.Run(follower, "override", "delete", "web", "O1"); code != 0 {
		t.Fatalf("pagerd override delete: %d %s", code, out)
	}
	if code, _ := c.Do(leader, http.MethodDelete, "/v1/schedules/web/overrides/O1", nil,
		map[string]string{"Authorization": "Bearer test-respond-token"}); code != 404 {
		t.Errorf("second delete: %d, want 404", code)
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		code, out := c.Run(follower, "oncall", "web")
		return code == 0 && strings.TrimSpace(out) == "web: "+base, fmt.Sprintf("pagerd oncall web after delete: %d %q", code, out)
	})
	pgTrigger(t, c, leader, "ovr-2", testcluster.EventsKey)
	awaitPaged(t, c, leader, 2, 0, base)
	if inc := amGetIncident(t, c, leader, 1); inc.Status != incident.Triggered {
		t.Errorf("INC-1: %s", inc.Status)
	}
}

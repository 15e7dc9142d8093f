package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// windowAt is pgConfig with a business_hours window opening at the wall
// clock minute `opens` (UTC) for ten minutes, and sev3 paging only in it.
func windowAt(smtp string, opens time.Time) string {
	end := opens.Add(10 * time.Minute)
	endTime := end.Format("15:04")
	if end.Day() != opens.Day() {
		endTime = "24:00"
	}
	return fmt.Sprintf(pgConfig, "1h", smtp, "http://127.0.0.1:1") + fmt.Sprintf(`
business_hours:
  - id: office
    timezone: UTC
    times:
      - times: [{start_time: %q, end_time: %q}]
severities:
  sev3: {page: office}
`, opens.Format("15:04"), endTime)
}

// TestDeferredPageSurvivesLeaderKill is the business-hours failover
// acceptance (issue 13.1): a sev3 opened outside its window is deferred to
// the window's start, and the leader is killed with SIGKILL 3 s before
// that. The new leader rebuilds the deferral timer from the replicated
// state and pages once, late by at most about one election.
func TestDeferredPageSurvivesLeaderKill(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	// The window opens at a minute boundary at least 15 s away, so the
	// config, the trigger and the kill 3 s before it fit on a loaded host.
	opens := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if time.Until(opens) < 15*time.Second {
		opens = opens.Add(time.Minute)
	}
	leader := c.Leader()
	if code, out := c.Do(leader, http.MethodPut, "/v1/config", []byte(windowAt(box.addr, opens)), nil); code != http.StatusOK {
		t.Fatalf("apply config: %d %s", code, out)
	}
	body := `{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"disk-80","payload":{"summary":"Disk 80%","source":"db-1","severity":"warning"}}`
	if code, out := c.Do(leader, http.MethodPost, "/v2/enqueue", []byte(body), nil); code != http.StatusAccepted {
		t.Fatalf("trigger: %d %s", code, out)
	}
	inc := pgIncident(t, c, leader, "disk-80")
	if inc.Severity != "sev3" || inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(opens) {
		t.Fatalf("sev3 outside the window: severity %s, deferred_until %v, want %s", inc.Severity, inc.DeferredUntil, opens)
	}
	if len(inc.Notifications) != 0 {
		t.Fatalf("paged before the window: %+v", inc.Notifications)
	}
	time.Sleep(time.Until(opens.Add(-3 * time.Second))) // the scenario's clock, not synchronisation
	if n := len(box.messages(t)); n != 0 {
		t.Fatalf("%d pages before the window opened", n)
	}
	leader.Kill()
	var survivor *testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			survivor = n
		}
	}
	page := fmt.Sprintf("n%d-1-0", inc.ID)
	c.WaitFor(30*time.Second, func() (bool, string) {
		return len(box.byNotification(t)[page]) > 0, "deferred page not delivered yet"
	})
	c.WaitFor(20*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, survivor, "disk-80")
		for _, n := range inc.Notifications {
			if n.ID == page && n.Status == incident.NotifySent {
				return inc.DeferredUntil == nil, fmt.Sprintf("deferred_until still %v", inc.DeferredUntil)
			}
		}
		return false, "deferred page not recorded as sent"
	})
	byID := box.byNotification(t)
	if n := len(byID[page]); n != 1 || len(box.messages(t)) != 1 {
		t.Fatalf("page %s delivered %d times (%d messages in all), want once", page, n, len(box.messages(t)))
	}
	late := byID[page][0].receivedAt.Sub(opens)
	t.Logf("leader %s killed 3 s before the window; deferred page delivered %v after it opened", leader.ID, late.Round(time.Millisecond))
	if late < -50*time.Millisecond {
		t.Errorf("paged %v before the window opened", -late)
	}
	// One election with a 500 ms heartbeat takes 0.5-2 s; allow for a slow host.
	if late > 5*time.Second {
		t.Errorf("paged %v after the window opened, want within about one election", late)
	}
}

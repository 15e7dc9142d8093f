package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestFloodWindowSurvivesLeaderKill: alice may get 2 emails a minute. Two
// incidents page her, the leader is killed, and a third incident opens on
// the new leader within the minute. The new leader seeds its window from
// the replicated send times, so the third page is held (and its timeline
// says so) instead of being the third email in the window.
func TestFloodWindowSurvivesLeaderKill(t *testing.T) {
	box := pgStartSMTP(t)
	cfg := fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1") + "  flood_control: {max: 2, per: 1m}\n"
	c := testcluster.Start(t, 3, testcluster.Options{Config: cfg})
	leader := c.Leader()
	for _, key := range []string{"flood-a", "flood-b"} {
		pgTrigger(t, c, leader, key, testcluster.EventsKey)
		c.WaitFor(30*time.Second, func() (bool, string) {
			inc := pgIncident(t, c, leader, key)
			ok := len(inc.Notifications) == 1 && inc.Notifications[0].Status == incident.NotifySent
			return ok, fmt.Sprintf("%s: page not recorded as sent: %+v", key, inc.Notifications)
		})
	}
	leader.Kill()
	next := c.Leader() // a running node other than the one killed
	pgTrigger(t, c, next, "flood-c", testcluster.EventsKey)
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, next, "flood-c")
		for _, e := range inc.Timeline {
			if e.Type == incident.EntryNotifyHeld && strings.Contains(e.Message, "held by flood control") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("no hold in the timeline of flood-c: %+v", inc.Timeline)
	})
	inc := pgIncident(t, c, next, "flood-c")
	if n := inc.Notifications; len(n) != 1 || n[0].Status != incident.NotifyQueued || n[0].HeldAt == nil {
		t.Fatalf("flood-c page %+v: want queued with held_at", n)
	}
	if got := len(box.messages(t)); got != 2 {
		t.Fatalf("relay received %d emails within the minute, want 2", got)
	}
}

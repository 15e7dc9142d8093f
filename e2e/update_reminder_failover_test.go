package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestUpdateReminderSurvivesLeaderKill (issue 14.2): the status update
// deadline is replicated state. A sev1 with update_every 20s and no update;
// the leader is killed with SIGKILL before the deadline; the new leader
// pages the reminder once, not before the deadline, and nothing repeats it
// before the next repeat is due.
func TestUpdateReminderSurvivesLeaderKill(t *testing.T) {
	box := pgStartSMTP(t)
	cfg := fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1") + "severities:\n  sev1: {update_every: 20s}\n"
	c := testcluster.Start(t, 3, testcluster.Options{Config: cfg})
	leader := c.Leader()
	pgTrigger(t, c, leader, "remind-1", testcluster.EventsKey) // critical: sev1
	inc := pgIncident(t, c, leader, "remind-1")
	if code, out := c.Do(leader, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/ack", inc.ID), nil, nil); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, out)
	}
	deadline := inc.CreatedAt.Add(20 * time.Second)
	time.Sleep(time.Until(deadline.Add(-5 * time.Second))) // the kill must come before the deadline: a wall-clock instant, not a condition
	leader.Kill()
	var survivor *testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			survivor = n
		}
	}
	var got *incident.Incident
	c.WaitFor(40*time.Second, func() (bool, string) {
		got = amGetIncident(t, c, survivor, inc.ID)
		return got.UpdateOverdue != nil, "no reminder recorded yet"
	})
	var reminders, entries int
	for _, n := range got.Notifications {
		if n.Kind == incident.KindUpdateOverdue {
			reminders++
			if n.DueAt.Before(deadline) {
				t.Errorf("reminder due at %s, before the deadline %s", n.DueAt, deadline)
			}
		}
	}
	for _, e := range got.Timeline {
		if e.Type == incident.EntryUpdateOverdue {
			entries++
		}
	}
	ov := got.UpdateOverdue
	if !ov.Due.Equal(deadline) || ov.Reminders != 1 || reminders != 1 || entries != 1 || ov.LastAt.Before(deadline) {
		t.Fatalf("overdue %+v, %d reminder notifications, %d update_overdue entries; want one for %s", ov, reminders, entries, deadline)
	}
}

package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/status"
)

// TestStatusFanoutSurvivesLeaderKill: 2,000 confirmed subscribers, a
// public update, kill -9 of the leader in the middle of its fan-out. The
// new leader resumes at the replicated cursor: every subscriber has the
// update, at most the batch in flight at the kill twice.
func TestStatusFanoutSurvivesLeaderKill(t *testing.T) {
	const subscribers = 2000
	box := &stMailbox{pgMailbox: pgStartSMTP(t)}
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(statusConfig, fmt.Sprintf(statusMailChannel, box.addr)),
		ExtraArgs: []string{"--status-mail-rate", "400", "--raft-heartbeat-timeout", "500ms"}})
	leader := c.Leader()
	addr := func(i int) string { return fmt.Sprintf("sub%04d@example.com", i) }

	// Subscribe everyone (through any node), then follow every
	// confirmation link from the mails.
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < subscribers; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if code, body := subscribe(t, c.Nodes[i%3], addr(i)); code != 202 {
				t.Errorf("subscribe %s: %d %s", addr(i), code, body)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	confirms := map[string]string{}
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		for _, m := range box.all(t) {
			if strings.HasPrefix(m.MessageID, "status-confirm-") && confirms[m.To] == "" {
				confirms[m.To] = link(t, m.Body, "confirm")
			}
		}
		return len(confirms) == subscribers, fmt.Sprintf("%d of %d confirmation mails", len(confirms), subscribers)
	})
	for _, l := range confirms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			follow(t, l)
		}()
	}
	wg.Wait()

	if code, b := c.Event(leader, "trigger", "fanout", alertSecret); code != 202 {
		t.Fatalf("trigger: %d %s", code, b)
	}
	inc := pgIncident(t, c, leader, "fanout")
	u := stUpdate(t, c, leader, inc.ID, map[string]any{"audience": "public", "phase": "investigating", "message": "Fan-out across a failover."})
	posted := time.Now()
	prefix := "status-public-" + u.ID + "-"
	count := func() (map[string]int, int) {
		per, total := map[string]int{}, 0
		for _, m := range box.all(t) {
			if strings.HasPrefix(m.MessageID, prefix) {
				per[m.To]++
				total++
			}
		}
		return per, total
	}
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		_, total := count()
		return total >= subscribers/5, fmt.Sprintf("%d update mails before the kill", total)
	})
	leader.Kill()
	_, atKill := count()
	t.Logf("fan-out rate before the kill: %.0f mails/s (--status-mail-rate 400)", float64(atKill)/time.Since(posted).Seconds())
	if atKill >= subscribers {
		t.Fatalf("the fan-out finished before the kill (%d mails): raise subscribers or lower the rate", atKill)
	}
	var per map[string]int
	testcluster.WaitFor(t, 90*time.Second, func() (bool, string) {
		per, _ = count()
		return len(per) == subscribers, fmt.Sprintf("%d of %d subscribers have the update (%d at the kill)", len(per), subscribers, atKill)
	})
	dups := 0
	for i := 0; i < subscribers; i++ {
		switch n := per[addr(i)]; {
		case n == 0:
			t.Errorf("%s never received the update", addr(i))
		case n > 2:
			t.Errorf("%s received the update %d times", addr(i), n)
		case n == 2:
			dups++
		}
	}
	if dups > status.DefaultConcurrency {
		t.Fatalf("%d subscribers received the update twice; at most the %d in flight at the kill may", dups, status.DefaultConcurrency)
	}
	t.Logf("%d mails at the kill; %d repeated after the failover", atKill, dups)
}

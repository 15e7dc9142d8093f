package chaos

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// stormConfig pages one person for every incident, with a short flood
// window so the summaries of the storm go out within the test.
const stormConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, notify: [{via: email, after: 0m}]}
policies:
  - id: storm
    steps:
      - {notify: [user:alice], escalate_after: 1h}
services:
  - {id: checkout, name: Checkout API, policy: storm}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
channels:
  email: {smtp: "127.0.0.1:9", from: "pagerd@example.com"}
  flood_control: {max: 3, per: 5s}
`

// TestStormWithLeaderKill opens 1,000 incidents that each page the same
// person, kills the leader (kill -9) halfway, and then requires every
// incident's page to be recorded as sent, alone or in a flood-control
// summary: none of the storm is left unpaged or unsummarised by the kill.
func TestStormWithLeaderKill(t *testing.T) {
	const incidents, workers = 1000, 16
	c := testcluster.Start(t, 3, testcluster.Options{Config: stormConfig, ExtraArgs: []string{"--dev"}})
	var next, accepted atomic.Int64
	killAt := int64(incidents / 2)
	var killOnce sync.Once
	var killed *testcluster.Node
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > incidents {
					return
				}
				key := "storm-" + strconv.FormatInt(i, 10)
				// Retry the same dedup key until it is accepted: a trigger
				// is idempotent, so a retry never opens a second incident.
				deadline := time.Now().Add(60 * time.Second)
				for attempt := 0; ; attempt++ {
					n := c.Nodes[(int(i)+attempt)%len(c.Nodes)]
					if n.Running() {
						if code, _ := c.Event(n, "trigger", key, "storm "+key); code == 202 {
							break
						}
					}
					if time.Now().After(deadline) {
						t.Errorf("trigger %s not accepted within 60s", key)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				if accepted.Add(1) == killAt {
					killOnce.Do(func() {
						killed = c.Leader()
						t.Logf("killing leader %s after %d accepted triggers", killed.ID, killAt)
						killed.Kill()
					})
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	killed.Start()
	c.WaitReady(killed)
	leader := c.Leader()

	// Every incident exists once, and its page to alice commits as sent
	// (flood control releases the held ones in summaries every 5 s).
	var missing []string
	c.WaitFor(120*time.Second, func() (bool, string) {
		missing = missing[:0]
		for i := 1; i <= incidents; i++ {
			var inc struct {
				Notifications []notification `json:"notifications"`
			}
			// Incident ids are assigned in commit order; all the storm's
			// incidents are 1..incidents since nothing else writes.
			if c.GetJSON(leader, "/v1/incidents/"+strconv.Itoa(i), &inc) != 200 {
				missing = append(missing, fmt.Sprintf("INC-%d (not found)", i))
				continue
			}
			sent := 0
			for _, n := range inc.Notifications {
				if n.User == "alice" && n.Status == "sent" {
					sent++
				}
			}
			if sent != 1 {
				missing = append(missing, fmt.Sprintf("INC-%d (%d sent pages)", i, sent))
			}
		}
		return len(missing) == 0, fmt.Sprintf("%d incidents without exactly one sent page, e.g. %v", len(missing), missing[:min(5, len(missing))])
	})
	var list struct {
		Incidents []struct{} `json:"incidents"`
	}
	if c.GetJSON(leader, "/v1/incidents?status=all&limit=1000", &list) != 200 || len(list.Incidents) != incidents {
		t.Fatalf("%d incidents listed, want %d", len(list.Incidents), incidents)
	}
	if code := c.GetJSON(leader, "/v1/incidents/"+strconv.Itoa(incidents+1), nil); code != 404 {
		t.Fatalf("INC-%d: status %d, want 404 (a retried trigger opened a second incident?)", incidents+1, code)
	}
}

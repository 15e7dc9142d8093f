package e2e

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// waitSMSPageSent waits until an SMS page of the incident with dedupKey is
// recorded as sent. The fake Twilio has the message as soon as the leader
// posted it, but the sent outcome is committed after Twilio answered, and an
// SMS reply acts only on pages already recorded sent (incident.PhonePages):
// replying before then races the commit.
func waitSMSPageSent(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, dedupKey string) {
	t.Helper()
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, nt := range pgIncident(t, c, n, dedupKey).Notifications {
			if nt.Channel == incident.ChannelSMS && nt.Status == incident.NotifySent {
				return true, ""
			}
		}
		return false, "no SMS page of " + dedupKey + " recorded as sent yet"
	})
}

package escalation

import (
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// maxHoldCommitAttempts bounds the commits of one batch of hold records.
// A hold record only explains a wait in the timeline; the page itself
// stays queued and goes out in the summary whether or not it committed.
const maxHoldCommitAttempts = 3

// commitHolds records the pages flood control held during one engine step
// in one command, however many there were: a storm costs one commit per
// step, not one per held page. Unlike commit it releases nothing: the held
// notifications stay in flight until their summary goes out.
func (t *term) commitHolds() {
	t.mu.Lock()
	items := t.holds
	t.holds = nil
	t.mu.Unlock()
	if len(items) == 0 {
		return
	}
	t.async(func() {
		wait := 100 * time.Millisecond
		for attempt := 1; ; attempt++ {
			_, err := t.e.opts.Store.SubmitDelivery(t.ctx, &incident.Delivery{Items: items})
			if err == nil || t.ctx.Err() != nil {
				return
			}
			if attempt >= maxHoldCommitAttempts {
				t.e.log.Warn("commit flood-control holds; the timeline will not show them", "pages", len(items), "err", err)
				return
			}
			if !t.sleep(wait) {
				return
			}
			wait *= 2
		}
	})
}

// sleep waits d on the engine clock; false when the term ended first.
func (t *term) sleep(d time.Duration) bool {
	c, stop := t.e.opts.Clock.After(d)
	defer stop()
	select {
	case <-c:
		return true
	case <-t.ctx.Done():
		return false
	}
}

// seedFlood fills the flood windows, once per term, with the messages the
// replicated state records as sent within the last window: a new leader in
// a storm counts what the old one sent. A summary's notifications share
// one message and count once.
func (t *term) seedFlood(cfg *config.Config, now time.Time) {
	if t.floodSeeded {
		return
	}
	t.floodSeeded = true
	_, per := cfg.Channels.FloodControl.Limits()
	since := now.Add(-per)
	sent := map[floodKey][]time.Time{}
	summaries := map[string]bool{}
	t.e.opts.Store.ReadIncidents(func(st *incident.State) {
		st.EachSentSince(since, func(n *incident.Notification) {
			if n.Channel == incident.ChannelWebhook || n.User == "" {
				return // webhooks are not flood-controlled
			}
			if n.Summary != "" {
				if summaries[n.Summary] {
					return
				}
				summaries[n.Summary] = true
			}
			k := floodKey{n.User, n.Channel}
			sent[k] = append(sent[k], *n.SentAt)
		})
	})
	t.mu.Lock()
	t.flood.seed(sent)
	t.mu.Unlock()
}

package escalation

import (
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/leaderloop"
)

// maxHoldCommitAttempts bounds the commits of one batch of hold records.
const maxHoldCommitAttempts = 3

// commitHolds records the pages flood control held in one command, however
// many there were. At most one such commit is in flight: holds made while
// it is pending wait and go in the next, so a storm adds about one commit
// per commit round trip, not one per held page or per engine pass. It runs
// outside the send semaphore (a hold record must not delay a page) and,
// unlike commit, releases nothing: the held notifications stay in flight
// until their summary goes out.
func (t *term) commitHolds() {
	t.mu.Lock()
	if t.holdsBusy || len(t.holds) == 0 {
		t.mu.Unlock()
		return
	}
	t.holdsBusy = true
	t.mu.Unlock()
	run := func() {
		for {
			t.mu.Lock()
			items := t.holds
			t.holds = nil
			if len(items) > 0 {
				t.lastHolds = len(items)
			}
			if len(items) == 0 || t.ctx.Err() != nil {
				t.holdsBusy = false
				t.mu.Unlock()
				return
			}
			t.mu.Unlock()
			t.submitHolds(items)
		}
	}
	if t.e.opts.synchronous {
		run()
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		run()
	}()
}

// submitHolds commits one batch of hold records, retrying a few times. A
// hold record only explains a wait in the timeline; the page stays queued
// and goes out in the summary whether or not it committed.
func (t *term) submitHolds(items []incident.DeliveryItem) {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := t.e.opts.Store.SubmitDelivery(t.ctx, &incident.Delivery{Items: items})
		if err == nil {
			t.e.metrics.holds.Add(float64(len(items)))
			return
		}
		if t.ctx.Err() != nil {
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
}

// sleep waits d on the engine clock; false when the term ended first.
func (t *term) sleep(d time.Duration) bool {
	return leaderloop.Sleep(t.ctx, t.e.opts.Clock, d)
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

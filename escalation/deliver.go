package escalation

import (
	"context"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
	"github.com/pagerd/pagerd/reply"
)

// job is one message to send: one notification, or a flood-control summary
// standing for several.
type job struct {
	channel, target string
	msg             *notify.Message
	items           []incident.DeliveryItem // one per notification it stands for
	// flood and admitted locate the send in its flood-control window.
	flood    *floodKey
	admitted time.Time
}

// deliver sends a due notification, or holds it for the next summary when
// its recipient has had their share of messages on that channel.
func (t *term) deliver(inc *incident.Incident, n *incident.Notification, cfg *config.Config, version string, now time.Time, optedOut bool) {
	t.mu.Lock()
	if t.inflight[n.ID] {
		t.mu.Unlock()
		return
	}
	t.inflight[n.ID] = true
	t.mu.Unlock()
	item := incident.DeliveryItem{Incident: inc.ID, Notification: n.ID, Attempt: n.Attempts + 1}
	if optedOut {
		// STOP from that phone: record why nothing is sent (spec §4, issue 5).
		item.Outcome, item.Error = incident.OutcomeFailed, "SMS to "+n.To+" is off: the phone sent STOP"
		t.e.metrics.notifications.WithLabelValues(n.Channel, "opted_out").Inc()
		t.queueOutcome(job{channel: n.Channel, items: []incident.DeliveryItem{item}})
		return
	}
	if n.Channel == incident.ChannelWebhook {
		t.send(job{channel: n.Channel, target: n.To, items: []incident.DeliveryItem{item},
			msg: withServiceLinks(cfg, &notify.Message{ID: n.ID, Incident: inc, Step: n.Step, Loop: n.Loop, BridgeURL: bridgeURL(cfg, inc), PublicURL: cfg.PublicURL})}, cfg, version)
		return
	}
	user, ok := cfg.User(n.User)
	if !ok {
		item.Outcome, item.Error = incident.OutcomeFailed, "user "+n.User+" is not in the active config"
		t.queueOutcome(job{channel: n.Channel, items: []incident.DeliveryItem{item}})
		return
	}
	max, per := cfg.Channels.FloodControl.Limits()
	t.mu.Lock()
	admitted, until := t.flood.admit(floodKey{n.User, n.Channel}, now, max, per, heldRef{inc.ID, n.ID, n.Attempts})
	if !admitted && n.HeldAt == nil {
		// Held: it goes out in the summary at the window's end. The hold is
		// recorded in the timeline in a batched commit (commitHolds).
		item.Outcome = incident.OutcomeHeld
		if !until.IsZero() {
			item.HeldUntil = &until
		}
		if t.holds == nil && t.lastHolds > 1 {
			t.holds = make([]incident.DeliveryItem, 0, t.lastHolds)
		}
		t.holds = append(t.holds, item)
	}
	t.mu.Unlock()
	if !admitted {
		return
	}
	t.send(job{channel: n.Channel, items: []incident.DeliveryItem{item}, msg: t.message(inc, n, user, cfg, now),
		flood: &floodKey{n.User, n.Channel}, admitted: now}, cfg, version)
}

// message builds the page of one notification.
func (t *term) message(inc *incident.Incident, n *incident.Notification, user config.User, cfg *config.Config, now time.Time) *notify.Message {
	m := withServiceLinks(cfg, &notify.Message{ID: n.ID, Incident: inc, User: user, Step: n.Step, Loop: n.Loop, BridgeURL: bridgeURL(cfg, inc),
		PublicURL: cfg.PublicURL})
	if n.Kind == incident.KindSummary {
		// The resolution summary (resolution.go): no reply code or Reply-To,
		// there is nothing left to act on by reply.
		m.Resolution = t.resolutionSummary(inc, cfg, now)
		m.Resolution.BridgeURL = m.BridgeURL
		return m
	}
	if n.ReplyCode > 0 {
		m.ReplyCode = strconv.Itoa(n.ReplyCode)
	}
	if n.Channel == incident.ChannelEmail {
		m.ReplyTo = t.replyTo(n.ID, cfg, now)
	}
	if n.Kind != incident.KindIncident {
		r, _ := cfg.RoleOf(n.Role)
		m.Kind, m.Role, m.RoleName, m.Instructions = n.Kind, n.Role, r.Name, r.Instructions
		m.RoleReply = reply.RoleReplyWord(n.Role)
		if m.RoleName == "" {
			m.RoleName = n.Role
		}
	}
	return m
}

// bridgeURL is the incident's service's call link (services[].bridge_url).
// withServiceLinks sets the service's runbook and continuity plan links.
func withServiceLinks(cfg *config.Config, m *notify.Message) *notify.Message {
	if svc, ok := cfg.Service(m.Incident.Service); ok {
		m.Runbook, m.ContinuityPlan = svc.Runbook, svc.ContinuityPlan
	}
	return m
}

func bridgeURL(cfg *config.Config, inc *incident.Incident) string {
	if svc, ok := cfg.Service(inc.Service); ok {
		return svc.BridgeURL
	}
	return ""
}

// replyTo is the Reply-To address carrying a token bound to the
// notification, or "" when replies by email are not configured.
func (t *term) replyTo(id string, cfg *config.Config, now time.Time) string {
	domain := cfg.Channels.Email.ReplyDomain
	if domain == "" {
		return ""
	}
	token, err := t.e.opts.Store.ReplyKeyring().Mint(id, now.Add(reply.TokenLifetime))
	if err != nil {
		t.e.log.Warn("mint reply token; page goes out without Reply-To", "notification", id, "err", err)
		return ""
	}
	return token + "@" + domain
}

// flushFlood sends the summaries whose window has room again.
func (t *term) flushFlood(cfg *config.Config, version string, now time.Time) {
	max, per := cfg.Channels.FloodControl.Limits()
	t.mu.Lock()
	batches := t.flood.due(now, max, per)
	t.mu.Unlock()
	for _, b := range batches {
		live := t.stillQueued(b.held)
		if len(live) == 0 {
			continue
		}
		user, ok := cfg.User(b.key.user)
		if !ok {
			continue
		}
		t.mu.Lock()
		t.flood.record(b.key, now)
		t.mu.Unlock()
		var j job
		if len(live) == 1 {
			h := live[0]
			j = job{channel: b.key.channel, items: []incident.DeliveryItem{itemFor(h)}, msg: t.message(h.inc, &h.n, user, cfg, now)}
		} else {
			j = t.summary(b.key.channel, user, live, cfg.PublicURL)
		}
		j.flood, j.admitted = &b.key, now
		t.send(j, cfg, version)
	}
}

// summary bundles held notifications into one message (spec §4 Delivery:
// "the excess is bundled into one summary message").
func (t *term) summary(channel string, user config.User, held []heldNotification, publicURL string) job {
	id := "s-" + held[0].n.ID
	// Sized for every held page (a storm's summary bundles thousands).
	j := job{channel: channel, items: make([]incident.DeliveryItem, 0, len(held)),
		msg: &notify.Message{ID: id, User: user, Incident: held[len(held)-1].inc, PublicURL: publicURL,
			Bundled: make([]string, 0, len(held)), Summary: make([]*incident.Incident, 0, len(held))}}
	seen := make(map[uint64]bool, len(held))
	for _, h := range held {
		it := itemFor(h)
		it.Summary = id
		j.items = append(j.items, it)
		j.msg.Bundled = append(j.msg.Bundled, h.n.ID)
		if !seen[h.inc.ID] {
			seen[h.inc.ID] = true
			j.msg.Summary = append(j.msg.Summary, h.inc)
		}
	}
	t.e.metrics.summaries.WithLabelValues(channel).Inc()
	return j
}

func itemFor(h heldNotification) incident.DeliveryItem {
	return incident.DeliveryItem{Incident: h.inc.ID, Notification: h.n.ID, Attempt: h.n.Attempts + 1}
}

// stillQueued reads the held notifications again, drops those that an
// acknowledgement or resolve cancelled while they waited, and releases
// them from inflight.
func (t *term) stillQueued(held []heldRef) []heldNotification {
	live := make([]heldNotification, 0, len(held))
	t.e.opts.Store.ReadIncidents(func(st *incident.State) {
		for _, h := range held {
			inc, ok := st.EscalationView(h.incident)
			if !ok {
				continue
			}
			for _, n := range inc.Notifications {
				if n.ID == h.notification && n.Status == incident.NotifyQueued && n.Attempts == h.attempts {
					live = append(live, heldNotification{inc: inc, n: n})
				}
			}
		}
	})
	t.mu.Lock()
	keep := make(map[string]bool, len(live))
	for _, h := range live {
		keep[h.n.ID] = true
	}
	for _, h := range held {
		if !keep[h.notification] {
			delete(t.inflight, h.notification)
		}
	}
	t.mu.Unlock()
	return live
}

// send hands the message to its channel and commits the outcome.
func (t *term) send(j job, cfg *config.Config, version string) {
	t.async(func() {
		if lead := t.e.opts.IsLeader; t.ctx.Err() != nil || (lead != nil && !lead()) {
			if j.flood != nil {
				t.mu.Lock()
				t.flood.cancel(*j.flood, j.admitted) // not sent: free its place
				t.mu.Unlock()
			}
			t.release(j)
			return
		}
		sender, err := t.e.opts.Senders.Sender(cfg, version, j.channel, j.target)
		var receipt notify.Receipt
		start := time.Now()
		if err == nil {
			ctx, cancel := context.WithTimeout(t.ctx, t.e.opts.SendTimeout)
			receipt, err = sender.Send(ctx, j.msg)
			cancel()
			t.e.metrics.sendLatency.WithLabelValues(j.channel).Observe(time.Since(start).Seconds())
		}
		if j.flood != nil {
			done := t.e.opts.Clock.Now()
			t.mu.Lock()
			t.flood.delivered(*j.flood, j.admitted, done)
			t.mu.Unlock()
		}
		if t.ctx.Err() != nil && err != nil {
			// Leadership ended mid-send: the next leader sends it again.
			t.release(j)
			return
		}
		t.outcome(&j, receipt, err)
		t.queueOutcome(j)
	})
}

// outcome fills in the delivery items from the send result.
func (t *term) outcome(j *job, receipt notify.Receipt, err error) {
	now := t.e.opts.Clock.Now()
	for i := range j.items {
		it := &j.items[i]
		switch {
		case err == nil:
			it.Outcome, it.ProviderID = incident.OutcomeSent, receipt.ProviderID
		case notify.IsRetryable(err) && it.Attempt < t.e.opts.MaxAttempts:
			retry := now.Add(t.e.opts.Backoff.Next(it.Attempt-1, err, t.e.opts.Rand))
			it.Outcome, it.Error, it.RetryAt = incident.OutcomeRetry, err.Error(), &retry
		default:
			it.Outcome, it.Error = incident.OutcomeFailed, err.Error()
		}
	}
	outcome := incident.OutcomeSent
	if err != nil {
		outcome = j.items[0].Outcome
		t.e.log.Warn("page not delivered", "channel", j.channel, "id", j.msg.ID, "outcome", outcome, "err", err)
	}
	t.e.metrics.notifications.WithLabelValues(j.channel, outcome).Add(float64(len(j.items)))
}

// release ends the jobs' hold on their notifications and has their
// incidents reconciled again, unless the term is over (the next leader
// takes them).
func (t *term) release(jobs ...job) {
	ended := t.ctx.Err() != nil
	t.mu.Lock()
	for _, j := range jobs {
		for _, it := range j.items {
			delete(t.inflight, it.Notification)
			if !ended {
				t.dirty[it.Incident] = true
			}
		}
	}
	t.mu.Unlock()
	t.signal()
}

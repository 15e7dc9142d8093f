package escalation

import (
	"fmt"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// due says whether an incident has an escalation step to start at now, and
// if not, when it will (zero: never, until the state changes).
func due(inc *incident.Incident, cfg *config.Config, now time.Time) (reason string, wake time.Time) {
	esc := inc.Escalation
	if esc == nil {
		return "", time.Time{}
	}
	switch inc.Status {
	case incident.Triggered:
		if esc.NextAt == nil || esc.Exhausted {
			return "", time.Time{}
		}
		if now.Before(*esc.NextAt) {
			return "", *esc.NextAt
		}
		if !esc.Started() {
			return incident.ReasonTrigger, time.Time{}
		}
		if esc.Escalated {
			return incident.ReasonEscalate, time.Time{}
		}
		return incident.ReasonTimeout, time.Time{}
	case incident.Acknowledged:
		at := ackDeadline(inc, cfg)
		if at == nil {
			return "", time.Time{}
		}
		if now.Before(*at) {
			return "", *at
		}
		return incident.ReasonAckTimeout, time.Time{}
	}
	return "", time.Time{}
}

// ackDeadline is when an acknowledged incident's ack timeout runs out, or
// nil when its service has none.
func ackDeadline(inc *incident.Incident, cfg *config.Config) *time.Time {
	svc, ok := cfg.Service(inc.Service)
	if !ok || svc.AckTimeout <= 0 || inc.AcknowledgedAt == nil {
		return nil
	}
	at := inc.AcknowledgedAt.Add(svc.AckTimeout.D())
	return &at
}

// planStep decides the next step of inc at now: which (step, loop) comes
// next, whom it pages and when. Schedules and rotations are resolved at now,
// the instant the step starts (spec §4 Escalation).
func planStep(inc *incident.Incident, reason string, cfg *config.Config, set *schedule.Set, now time.Time) *incident.StepStart {
	esc := inc.Escalation
	st := &incident.StepStart{Incident: inc.ID, ExpectSeq: esc.Seq, Reason: reason}
	if reason == incident.ReasonAckTimeout {
		st.AckDeadline = ackDeadline(inc, cfg)
	}
	pol, ok := policy(cfg, esc.Policy)
	if !ok {
		st.Exhausted = true
		st.Message = fmt.Sprintf("escalation policy %q is not in the active config; nobody is paged", esc.Policy)
		return st
	}
	step, loop, more := nextStep(esc, pol, reason)
	if !more {
		st.Exhausted = true
		st.Message = fmt.Sprintf("escalation policy %s exhausted after %d loop(s) of %d step(s); nobody acknowledged",
			pol.ID, pol.Repeat+1, len(pol.Steps))
		return st
	}
	st.Step, st.Loop = step, loop
	spec := pol.Steps[step]
	seq := esc.Seq + 1
	var notes []string
	var pages []string
	seen := map[string]bool{}
	addUser := func(u config.User) {
		if seen[u.ID] {
			return
		}
		seen[u.ID] = true
		if len(u.Notify) == 0 {
			notes = append(notes, u.ID+" has no notification rules")
			return
		}
		var how []string
		for _, r := range u.Notify {
			n := userNotification(u, r, cfg, now)
			n.ID = notificationID(inc.ID, seq, len(st.Notifications))
			st.Notifications = append(st.Notifications, n)
			how = append(how, r.Via+" "+offset(r.After.D()))
		}
		pages = append(pages, u.ID+" ("+strings.Join(how, ", ")+")")
	}
	for _, target := range spec.Notify {
		kind, id, _ := strings.Cut(target, ":")
		switch kind {
		case "user":
			if u, ok := cfg.User(id); ok {
				addUser(u)
			} else {
				notes = append(notes, "user "+id+" is not in the active config")
			}
		case "schedule", "rotation":
			users, err := onCall(set, id, now)
			switch {
			case err != nil:
				notes = append(notes, fmt.Sprintf("%s %s: %v", kind, id, err))
			case len(users) == 0:
				notes = append(notes, fmt.Sprintf("%s %s has nobody on call at %s", kind, id, now.UTC().Format(time.RFC3339)))
			}
			for _, uid := range users {
				if u, ok := cfg.User(uid); ok {
					addUser(u)
				}
			}
		case "webhook":
			n := incident.Notification{Channel: incident.ChannelWebhook, To: id, DueAt: now,
				ID: notificationID(inc.ID, seq, len(st.Notifications)), Status: incident.NotifyQueued}
			if !hasWebhook(cfg, id) {
				n.Status, n.Error = incident.NotifyFailed, "webhook "+id+" is not in the active config"
			}
			st.Notifications = append(st.Notifications, n)
			pages = append(pages, "webhook "+id)
		}
	}
	next := now.Add(spec.EscalateAfter.D())
	st.NextAt = &next
	if len(st.Notifications) == 0 {
		// Nobody to page: move straight on to the next step.
		next := now
		st.NextAt = &next
		notes = append(notes, "nobody to page; moving straight on")
	}
	st.Message = stepMessage(pol, step, loop, reason, pages, notes)
	return st
}

// nextStep is the (step, loop) after the current one, or more=false when
// the policy is exhausted. An explicit escalate past the last step of the
// last loop starts the policy over, because a person asked for someone.
func nextStep(esc *incident.Escalation, pol config.Policy, reason string) (step, loop int, more bool) {
	switch {
	case !esc.Started() || reason == incident.ReasonAckTimeout:
		return 0, 0, len(pol.Steps) > 0
	case esc.Step+1 < len(pol.Steps):
		return esc.Step + 1, esc.Loop, true
	case esc.Loop < pol.Repeat:
		return 0, esc.Loop + 1, true
	case reason == incident.ReasonEscalate:
		return 0, 0, len(pol.Steps) > 0
	}
	return 0, 0, false
}

func userNotification(u config.User, r config.NotifyRule, cfg *config.Config, start time.Time) incident.Notification {
	n := incident.Notification{User: u.ID, Channel: r.Via, DueAt: start.Add(r.After.D()), Status: incident.NotifyQueued}
	switch r.Via {
	case incident.ChannelSMS:
		n.To = u.Phone
		switch {
		case u.Phone == "":
			n.Status, n.Error = incident.NotifyFailed, "user "+u.ID+" has no phone number"
		case cfg.Channels.SMS == (config.SMSChannel{}):
			n.Status, n.Error = incident.NotifyFailed, "no sms channel is configured"
		}
	case incident.ChannelEmail:
		n.To = u.Email
		switch {
		case u.Email == "":
			n.Status, n.Error = incident.NotifyFailed, "user "+u.ID+" has no email address"
		case cfg.Channels.Email == (config.EmailChannel{}):
			n.Status, n.Error = incident.NotifyFailed, "no email channel is configured"
		}
	default:
		n.Status, n.Error = incident.NotifyFailed, "unknown channel "+r.Via
	}
	return n
}

// notificationID is incident.NotificationID: apply names the pages of a
// first step planned inside the trigger's command the same way.
func notificationID(incidentID uint64, seq, k int) string {
	return incident.NotificationID(incidentID, seq, k)
}

func onCall(set *schedule.Set, id string, at time.Time) ([]string, error) {
	if set == nil {
		return nil, fmt.Errorf("schedules unavailable")
	}
	return set.OnCall(id, at)
}

func policy(cfg *config.Config, id string) (config.Policy, bool) {
	for _, p := range cfg.Policies {
		if p.ID == id {
			return p, true
		}
	}
	return config.Policy{}, false
}

func hasWebhook(cfg *config.Config, id string) bool {
	for _, w := range cfg.Channels.Webhooks {
		if w.ID == id {
			return true
		}
	}
	return false
}

func offset(d time.Duration) string {
	if d <= 0 {
		return "now"
	}
	return "at +" + config.Duration(d).String()
}

func stepMessage(pol config.Policy, step, loop int, reason string, pages, notes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "step %d of %d (loop %d of %d) of policy %s", step+1, len(pol.Steps), loop+1, pol.Repeat+1, pol.ID)
	switch reason {
	case incident.ReasonEscalate:
		b.WriteString(", escalated by request")
	case incident.ReasonAckTimeout:
		b.WriteString(", after ack timeout")
	}
	if len(pages) > 0 {
		b.WriteString(": paging " + strings.Join(pages, "; "))
	}
	for _, n := range notes {
		b.WriteString("; " + n)
	}
	return b.String()
}

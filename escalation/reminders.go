package escalation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Status update cadence as an escalation (issue 14.2): when an open
// incident's next update is due (incident.UpdateDeadline: the deadline the
// last update set, else created_at + the severity's update_every) the
// leader pages a reminder like a step: it plans the notifications, commits
// them (incident.UpdateReminder, conditional on the deadline and the number
// of reminders already recorded for it), and the delivery loop sends them
// like any page. Because the deadline and the count are replicated, a new
// leader neither loses nor repeats a reminder. An unacknowledged reminder
// is repeated every reminderRepeat; an acknowledgement silences it until
// the deadline after (due + update_every); a posted update answers it.

// reminderStore is implemented by stores that commit reminders
// (*cluster.Node); the engine reminds nobody with a store without it.
type reminderStore interface {
	SubmitUpdateReminder(ctx context.Context, r *incident.UpdateReminder) (*incident.Incident, error)
}

// ReminderRepeat is how often an unacknowledged reminder is paged again:
// every 15 minutes, or every update_every when that is shorter.
const ReminderRepeat = 15 * time.Minute

func reminderRepeat(every time.Duration) time.Duration {
	if every > 0 && every < ReminderRepeat {
		return every
	}
	return ReminderRepeat
}

// nextReminder is when inc's next status update reminder is due, for
// which deadline and how many it has had for it (ok false: none, or this
// store commits no reminders).
func (t *term) nextReminder(inc *incident.Incident, cfg *config.Config) (at, due time.Time, sent int, ok bool) {
	if _, ok := t.e.opts.Store.(reminderStore); !ok || inc.DeferredUntil != nil {
		return time.Time{}, time.Time{}, 0, false // paging itself waits; so do its reminders
	}
	if inc.Escalation == nil && len(inc.Roles) == 0 {
		return time.Time{}, time.Time{}, 0, false // a service without a policy pages nobody, reminders included
	}
	every := cfg.SeverityPolicyOf(inc.Severity).UpdateEvery.D()
	return incident.NextReminder(inc, every, reminderRepeat(every))
}

// commitReminder commits the reminder of inc for deadline due, unless one
// is in flight.
func (t *term) commitReminder(inc *incident.Incident, cfg *config.Config, now, due time.Time, sent int) {
	rs, ok := t.e.opts.Store.(reminderStore)
	if !ok {
		return
	}
	t.mu.Lock()
	busy := t.reminding[inc.ID]
	if !busy {
		t.reminding[inc.ID] = true
	}
	t.mu.Unlock()
	if busy {
		return
	}
	r := planReminder(inc, cfg, now, due, sent)
	t.async(func() {
		_, err := rs.SubmitUpdateReminder(t.ctx, r)
		t.mu.Lock()
		delete(t.reminding, r.Incident)
		if err != nil && !errors.Is(err, incident.ErrStale) {
			t.timers.set(r.Incident, t.e.opts.Clock.Now().Add(stepRetryDelay(1)))
		} else {
			t.dirty[r.Incident] = true
		}
		t.mu.Unlock()
		if err != nil && !errors.Is(err, incident.ErrStale) {
			t.e.log.Warn("commit status update reminder; retrying", "incident", inc.Key, "err", err)
		}
		t.signal()
	})
}

// reminderTargets are whom a reminder pages: the comms manager, else the
// incident manager, else the users the current escalation step paged.
func reminderTargets(inc *incident.Incident) (users []string, why string) {
	if u := roleHolder(inc, config.RoleCommsManager); u != "" {
		return []string{u}, "the comms manager"
	}
	if u := roleHolder(inc, config.RoleIncidentManager); u != "" {
		return []string{u}, "the incident manager"
	}
	seen := map[string]bool{}
	if esc := inc.Escalation; esc != nil && esc.Started() {
		for _, n := range inc.Notifications {
			if n.Kind == "" && n.User != "" && n.Step == esc.Step && n.Loop == esc.Loop && !seen[n.User] {
				seen[n.User] = true
				users = append(users, n.User)
			}
		}
	}
	return users, "the current escalation targets"
}

// roleHolder is who holds role on inc ("" for nobody).
func roleHolder(inc *incident.Incident, role string) string { return inc.Roles[role] }

// planReminder plans the reminder's pages: each target by their
// notification rules, due now plus the rule's delay.
func planReminder(inc *incident.Incident, cfg *config.Config, now, due time.Time, sent int) *incident.UpdateReminder {
	r := &incident.UpdateReminder{Incident: inc.ID, Due: due, ExpectReminders: sent}
	users, why := reminderTargets(inc)
	var pages, notes []string
	for _, uid := range users {
		u, ok := cfg.User(uid)
		if !ok {
			notes = append(notes, "user "+uid+" is not in the active config")
			continue
		}
		for _, rule := range u.Notify {
			n := userNotification(u, rule, cfg, now)
			n.ID = fmt.Sprintf("u%d-%d-%d-%d", inc.ID, due.Unix(), sent+1, len(r.Notifications))
			r.Notifications = append(r.Notifications, n)
		}
		pages = append(pages, u.ID)
	}
	msg := fmt.Sprintf("status update overdue since %s", due.UTC().Format(time.RFC3339))
	if sent > 0 {
		msg += fmt.Sprintf(" (reminder %d)", sent+1)
	}
	if len(pages) > 0 {
		msg += "; reminding " + why + ": " + strings.Join(pages, ", ")
	} else {
		msg += "; nobody to remind (" + why + ": none)"
	}
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	r.Message = msg
	return r
}

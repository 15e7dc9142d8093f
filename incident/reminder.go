package incident

import (
	"fmt"
	"time"
)

// KindUpdateOverdue marks a notification that reminds someone a status
// update is overdue, not a page about the incident itself.
const KindUpdateOverdue = "update_overdue"

// UpdateReminder is the leader's plan for a status update reminder (spec
// §5.4 Updates): the deadline Due passed with no update, so Notifications
// page the comms manager (else the incident manager, else the current
// escalation targets). ExpectReminders is how many reminders the incident
// has recorded for Due; apply refuses the plan (ErrStale) unless the
// incident still stands there, so a new leader neither repeats nor loses a
// reminder: the deadline and the count are replicated state.
type UpdateReminder struct {
	Incident        uint64         `json:"incident"`
	Due             time.Time      `json:"due"`
	ExpectReminders int            `json:"expect_reminders"`
	Notifications   []Notification `json:"notifications"`
	Message         string         `json:"message"`
}

// UpdateDeadline is when the next status update of inc is due, given its
// severity's cadence every (0: no cadence): the deadline the last update
// set, else created_at + every. ok is false when no update is due.
func UpdateDeadline(inc *Incident, every time.Duration) (time.Time, bool) {
	if !inc.Status.Open() {
		return time.Time{}, false
	}
	if inc.NextUpdateAt != nil {
		return *inc.NextUpdateAt, true
	}
	if every <= 0 {
		return time.Time{}, false
	}
	return inc.CreatedAt.Add(every), true
}

// NextReminder is when the leader should page the next reminder of inc,
// for which deadline, and how many reminders it has had for it. An
// unacknowledged reminder is repeated every repeat; an acknowledged one is
// silent until the deadline after it (due + every).
func NextReminder(inc *Incident, every, repeat time.Duration) (at, due time.Time, sent int, ok bool) {
	due, ok = UpdateDeadline(inc, every)
	if !ok {
		return time.Time{}, time.Time{}, 0, false
	}
	ov := inc.UpdateOverdue
	if ov == nil || ov.Due.Before(due) {
		return due, due, 0, true
	}
	if ov.AckedAt != nil {
		if every <= 0 {
			return time.Time{}, time.Time{}, 0, false
		}
		next := ov.Due.Add(every)
		return next, next, 0, true
	}
	return ov.LastAt.Add(repeat), ov.Due, ov.Reminders, true
}

// ApplyUpdateReminder records a reminder the leader planned. ErrStale, with
// no change, unless the incident is open, its deadline Due has passed by
// the stamped time, no update moved it, and the reminder count is the one
// planned against.
func (s *State) ApplyUpdateReminder(now time.Time, r *UpdateReminder) (*Incident, error) {
	inc := s.own(s.byID(r.Incident))
	if inc == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, KeyFor(r.Incident))
	}
	if err := reminderStale(now, inc, r); err != nil {
		return nil, err
	}
	ov := inc.UpdateOverdue
	if ov == nil || !ov.Due.Equal(r.Due) {
		ov = &UpdateOverdue{Due: r.Due}
		inc.UpdateOverdue = ov
	}
	ov.Reminders++
	ov.LastAt = now
	for _, n := range r.Notifications {
		n.Kind = KindUpdateOverdue
		n.Step, n.Loop = -1, 0
		if n.Status != NotifyFailed {
			n.Status = NotifyQueued
		}
		n.SentAt, n.HeldAt = nil, nil
		if n.Channel == ChannelSMS && n.Status == NotifyQueued {
			n.ReplyCode = s.replyCode(n.To, inc.ID)
		}
		inc.Notifications = append(inc.Notifications, n)
	}
	inc.addEntry(now, EntryUpdateOverdue, "pagerd", r.Message)
	return inc.Clone(), nil
}

func reminderStale(now time.Time, inc *Incident, r *UpdateReminder) error {
	ov := inc.UpdateOverdue
	sent := 0
	if ov != nil && ov.Due.Equal(r.Due) {
		sent = ov.Reminders
	}
	switch {
	case !inc.Status.Open():
		return fmt.Errorf("%w: %s is %s", ErrStale, inc.Key, inc.Status)
	case now.Before(r.Due):
		return fmt.Errorf("%w: %s: update not due until %s", ErrStale, inc.Key, r.Due.UTC().Format(time.RFC3339))
	case inc.NextUpdateAt != nil && inc.NextUpdateAt.After(r.Due):
		return fmt.Errorf("%w: %s: an update moved the deadline to %s", ErrStale, inc.Key, inc.NextUpdateAt.UTC().Format(time.RFC3339))
	case ov != nil && ov.Due.After(r.Due):
		return fmt.Errorf("%w: %s: reminders are past %s", ErrStale, inc.Key, r.Due.UTC().Format(time.RFC3339))
	case ov != nil && ov.Due.Equal(r.Due) && ov.AckedAt != nil:
		return fmt.Errorf("%w: %s: the reminder was acknowledged", ErrStale, inc.Key)
	case sent != r.ExpectReminders:
		return fmt.Errorf("%w: %s has %d reminders for %s, plan expected %d", ErrStale, inc.Key, sent, r.Due.UTC().Format(time.RFC3339), r.ExpectReminders)
	}
	return nil
}

// silenceReminder acknowledges an outstanding update reminder: no more
// reminders until the next deadline. It reports whether there was one.
func (inc *Incident) silenceReminder(now time.Time, actor, channel string) bool {
	ov := inc.UpdateOverdue
	if ov == nil || ov.AckedAt != nil || ov.Reminders == 0 {
		return false
	}
	t := now
	ov.AckedAt, ov.AckedBy = &t, actor
	inc.addEntry(now, EntryNote, actor, "status update reminder acknowledged via "+orAPI(channel)+"; silent until the next deadline")
	return true
}

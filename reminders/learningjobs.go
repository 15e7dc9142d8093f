package reminders

import (
	"fmt"
	"time"

	"github.com/pagerd/pagerd/learning"
)

// ReadLearning runs fn with the replicated learning state under its read
// lock (cluster.FSM.ReadLearning).
type ReadLearning func(fn func(*learning.State))

// Reminder kinds of the learning jobs.
const (
	KindFollowup   = "followup"
	KindPostmortem = "postmortem"
)

// FollowupJob reminds follow-up owners 7 days before the due date, on it,
// and weekly while the follow-up stays open. Instants before the follow-up
// was made are skipped (one due in 3 days is first reminded when due).
// When several instants passed unsent (no leader for a while) only the
// latest is sent: one mail says it is overdue, not three.
type FollowupJob struct{ Read ReadLearning }

// Due implements Job.
func (j FollowupJob) Due(now time.Time) (due []Reminder, next time.Time) {
	j.Read(func(st *learning.State) {
		for _, f := range st.Followups {
			if f.Status != learning.FollowupOpen || f.Owner == "" {
				continue
			}
			first := f.Due.Add(-Week)
			for i := 0; i < 3 && !first.After(f.CreatedAt); i++ {
				first = first.Add(Week)
			}
			latest, ok, n := Latest(first, Week, now)
			next = earliest(next, n)
			if !ok {
				continue
			}
			id := ID(KindFollowup, f.ID, latest)
			if _, sent := st.Reminders[id]; sent {
				continue
			}
			due = append(due, Reminder{ID: id, Kind: KindFollowup, Ref: f.ID, To: f.Owner, At: latest,
				Line: followupLine(f, now)})
		}
	})
	return due, next
}

func followupLine(f *learning.Followup, now time.Time) string {
	when := "due " + f.Due.UTC().Format("2006-01-02 15:04 MST")
	if f.Overdue(now) {
		when = fmt.Sprintf("OVERDUE by %d days (was due %s)", int(now.Sub(f.Due)/(24*time.Hour)), f.Due.UTC().Format("2006-01-02"))
	}
	line := fmt.Sprintf("Follow-up %s (%s priority, from %s): %s — %s", f.ID, f.Priority, f.Key, f.Title, when)
	if f.Link != "" {
		line += " " + f.Link
	}
	return line
}

// PostmortemJob reminds a postmortem's owner when it is due and weekly
// after, until it is published.
type PostmortemJob struct{ Read ReadLearning }

// Due implements Job.
func (j PostmortemJob) Due(now time.Time) (due []Reminder, next time.Time) {
	j.Read(func(st *learning.State) {
		for _, p := range st.Postmortems {
			if p.Status == learning.StatusPublished || p.Owner == "" {
				continue
			}
			latest, ok, n := Latest(p.DueAt, Week, now)
			next = earliest(next, n)
			if !ok {
				continue
			}
			id := ID(KindPostmortem, p.Key, latest)
			if _, sent := st.Reminders[id]; sent {
				continue
			}
			due = append(due, Reminder{ID: id, Kind: KindPostmortem, Ref: p.Key, To: p.Owner, At: latest,
				Line: fmt.Sprintf("Postmortem of %s is %s, due %s", p.Key, p.Status, p.DueAt.UTC().Format("2006-01-02 15:04 MST"))})
		}
	})
	return due, next
}

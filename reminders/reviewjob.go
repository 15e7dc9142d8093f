package reminders

import (
	"fmt"
	"time"

	"github.com/pagerd/pagerd/learning"
)

// Reminder kinds of plan reviews (issue 16 item 2).
const (
	// KindReview reminds a service's owner that its plan is due for review.
	KindReview = "review"
	// KindReviewOverdue tells the continuity manager a review is 14 days overdue.
	KindReviewOverdue = "review_overdue"
)

// ReviewEscalation is how long after the due date the continuity manager
// is told.
const ReviewEscalation = 14 * 24 * time.Hour

// ReviewDue is one service's plan review state, read from the replicated
// state and the active config.
type ReviewDue struct {
	Service string
	Name    string
	Owner   string
	Manager string // continuity_manager
	DueAt   time.Time
	Changed bool // changed_since_review
	Link    string
}

// ReviewJob reminds a service's owner when its plan review is due and
// weekly after, and tells the continuity manager once when it is 14 days
// overdue. A review moves DueAt, so reminders of the old due date stop and
// the new one starts its own calendar. As with follow-ups, when several
// instants passed unsent only the latest is sent.
type ReviewJob struct {
	// List returns the services with a review due date.
	List func(now time.Time) []ReviewDue
	// Read gives the reminder records (learning state).
	Read ReadLearning
}

// Due implements Job.
func (j ReviewJob) Due(now time.Time) (due []Reminder, next time.Time) {
	items := j.List(now)
	j.Read(func(st *learning.State) {
		for _, r := range items {
			if r.Owner != "" {
				latest, ok, n := Latest(r.DueAt, Week, now)
				next = earliest(next, n)
				if id := ID(KindReview, r.Service, latest); ok && st.Reminders[id] == nil {
					due = append(due, Reminder{ID: id, Kind: KindReview, Ref: r.Service, To: r.Owner, At: latest,
						Line: reviewLine(r, now, "")})
				}
			}
			if r.Manager == "" {
				continue
			}
			at := r.DueAt.Add(ReviewEscalation)
			if now.Before(at) {
				next = earliest(next, at)
				continue
			}
			if id := ID(KindReviewOverdue, r.Service, at); st.Reminders[id] == nil {
				due = append(due, Reminder{ID: id, Kind: KindReviewOverdue, Ref: r.Service, To: r.Manager, At: at,
					Line: reviewLine(r, now, " (you are its continuity manager; owner: "+r.Owner+")")})
			}
		}
	})
	return due, next
}

func reviewLine(r ReviewDue, now time.Time, who string) string {
	name := r.Service
	if r.Name != "" {
		name = r.Name + " (" + r.Service + ")"
	}
	when := "is due for review " + r.DueAt.UTC().Format("2006-01-02")
	if days := int(now.Sub(r.DueAt) / (24 * time.Hour)); days > 0 {
		when = fmt.Sprintf("review is OVERDUE by %d days (was due %s)", days, r.DueAt.UTC().Format("2006-01-02"))
	}
	line := "Continuity plan of " + name + " " + when + who
	if r.Changed {
		line += "; its rto, rpo, runbook or plan changed since the last review"
	}
	// How to record the review (a reply, or the CLI, API and console when
	// replies cannot reach pagerd) is the mailer's to say: it knows
	// whether the mail takes a reply.
	line += "."
	if r.Link != "" {
		line += " " + r.Link
	}
	return line
}

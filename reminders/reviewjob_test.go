package reminders

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/learning"
)

// A plan review due 90 days after the service first appeared reminds the
// owner at day 90 (and weekly after: 97, 104) and tells the continuity
// manager once at day 104 (14 days overdue); a review at day 105 moves the
// due date 90 days on, so nothing more is sent before then. Due dates come
// from cluster.ReviewStatusOf, the function the API and report use.
func TestReviewRemindersDay90OwnerDay104Manager(t *testing.T) {
	day0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	day := func(n int) time.Time { return day0.Add(time.Duration(n) * 24 * time.Hour) }
	svc := config.Service{ID: "checkout", Name: "Checkout API", Owner: "carol", ContinuityManager: "alice",
		ReviewEvery: config.Duration(90 * 24 * time.Hour)}
	var last *cluster.Review
	list := func(now time.Time) []ReviewDue {
		st := cluster.ReviewStatusOf(svc, last, &day0, now)
		return []ReviewDue{{Service: svc.ID, Name: svc.Name, Owner: svc.Owner, Manager: svc.ContinuityManager,
			DueAt: *st.DueAt, Changed: st.ChangedSinceReview}}
	}
	clk := &fakeClock{t: day0}
	st := &memStore{st: learning.NewState(), now: clk.Now}
	snd := &memSender{now: clk.Now}
	e := New(Options{Jobs: []Job{ReviewJob{List: list, Read: st.read}}, Store: st, Sender: snd, Clock: clk})
	if next := e.RunOnce(context.Background()); !next.Equal(day(90)) {
		t.Fatalf("first wake %v, want day 90", next)
	}
	for clk.t.Before(day(120)) {
		if clk.t.Equal(day(105)) {
			last = &cluster.Review{Service: "checkout", By: "carol", At: clk.t}
		}
		e.RunOnce(context.Background())
		e.RunOnce(context.Background()) // a second run at the same instant sends nothing new
		clk.t = clk.t.Add(time.Hour)
	}
	var got []string
	for _, m := range snd.mails {
		for _, it := range m.items {
			got = append(got, fmt.Sprintf("%s:%s@%d", m.to, it.Kind, int(m.at.Sub(day0)/(24*time.Hour))))
		}
	}
	want := "[carol:review@90 carol:review@97 alice:review_overdue@104 carol:review@104]"
	if fmt.Sprint(got) != want {
		t.Fatalf("reminders %v, want %s", got, want)
	}
	// The line offers no reply: only the mailer knows whether the mail
	// takes one (channels.email.reply_domain), and says how to act.
	if l := snd.mails[0].items[0].Line; !strings.Contains(l, "Checkout API") || strings.Contains(strings.ToLower(l), "reply") {
		t.Fatalf("owner's line %q", l)
	}
}

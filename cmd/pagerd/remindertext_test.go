package main

import (
	"strings"
	"testing"

	"github.com/pagerd/pagerd/reminders"
)

// A reminder offers a reply only for what its Reply-To token is bound to;
// without a binding (no reply_domain, or the --dev outbox) it names the
// CLI, API and console ways instead, for follow-ups, reviews and
// postmortems alike.
func TestReminderTextOffersReplyOnlyWhenBound(t *testing.T) {
	fu := reminders.Reminder{Kind: reminders.KindFollowup, Ref: "INC-7-F1", Line: "Follow-up INC-7-F1: add an alert"}
	rv := reminders.Reminder{Kind: reminders.KindReview, Ref: "checkout", Line: "Continuity plan of checkout is due for review."}
	pm := reminders.Reminder{Kind: reminders.KindPostmortem, Ref: "INC-7", Line: "Postmortem of INC-7 is draft"}
	items := []reminders.Reminder{fu, rv, pm}
	for _, tc := range []struct {
		name      string
		bound     replyBinding
		want, not []string
	}{
		{"no reply path", replyBinding{},
			[]string{"pagerd followup done INC-7-F1", "PATCH /v1/followups/INC-7-F1", "https://pager.example.com/ui/followups",
				"pagerd review checkout", "POST /v1/services/checkout/reviews", "pagerd postmortem INC-7 --edit FILE",
				"https://pager.example.com/ui/incidents/INC-7"},
			[]string{"Reply", "reply"}},
		{"bound to the follow-up", replyBinding{Kind: reminders.KindFollowup, Ref: "INC-7-F1"},
			[]string{"Reply `done`", "pagerd review checkout"},
			[]string{"Reply `reviewed", "pagerd followup done"}},
		{"bound to the review", replyBinding{Kind: reminders.KindReview, Ref: "checkout"},
			[]string{"Reply `reviewed [note]` to record a review of the plan of checkout", "pagerd followup done INC-7-F1"},
			[]string{"Reply `done`", "pagerd review checkout"}},
	} {
		subject, body := reminderText(items, tc.bound, "https://pager.example.com/")
		all := subject + "\n" + body
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("%s: missing %q in\n%s", tc.name, w, all)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(all, n) {
				t.Errorf("%s: says %q in\n%s", tc.name, n, all)
			}
		}
	}
}

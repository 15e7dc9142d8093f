package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/reports"
)

// Plan reviews and the continuity report on a real node (issue 16 items 2
// and 5). The fake-clock day-90/day-104 calendar is in reminders'
// TestReviewRemindersDay90OwnerDay104Manager.

// rvConfig is ctConfig with checkout's plan due for review every 4 s.
func rvConfig(smtp string) string {
	return strings.Replace(ctConfig(smtp, "5m", ""), "    continuity_manager: bob", "    continuity_manager: bob\n    review_every: 4s", 1)
}

func rvService(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) api.ServiceView {
	t.Helper()
	var v api.ServiceView
	if code := c.GetJSON(n, "/v1/services/checkout", &v); code != http.StatusOK {
		t.Fatalf("GET service: %d", code)
	}
	return v
}

// The owner gets a review reminder by email (aiosmtpd) when the plan falls
// due; a `reviewed` reply (swaks into the node's SMTP listener) from
// someone else is refused and records nothing; the owner's records the
// review (by, via email, the note, the config version) and moves the due
// date review_every after it.
func TestReviewReminderReplyReviewed(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: rvConfig(box.addr)})
	n := c.Nodes[0]
	var mail pgMail
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.body, "Continuity plan of Checkout API") && strings.Contains(m.header.Get("To"), "carol@example.com") {
				mail = m
				return true, ""
			}
		}
		return false, "no review reminder to carol yet"
	})
	replyTo := strings.Trim(mail.header.Get("Reply-To"), "<>")
	if !strings.HasPrefix(replyTo, "rv-") || !strings.Contains(mail.body, "Reply `reviewed [note]`") {
		t.Fatalf("review reminder Reply-To %q, body:\n%s", replyTo, mail.body)
	}
	subject := mail.header.Get("Subject")
	code, out := rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo, rpReply("rv-alice@x", "alice@example.com", replyTo, subject, "reviewed", "reminder"))
	if code != 0 {
		t.Fatalf("alice's reply: swaks %d %s", code, out)
	}
	var list struct {
		Reviews []cluster.Review `json:"reviews"`
	}
	c.GetJSON(n, "/v1/services/checkout/reviews", &list)
	if len(list.Reviews) != 0 {
		t.Fatalf("a reply from alice (neither owner nor manager) recorded %+v", list.Reviews)
	}
	before := rvService(t, c, n)
	code, out = rpSwaks(t, n.SMTPAddr, "carol@example.com", replyTo, rpReply("rv-carol@x", "carol@example.com", replyTo, subject, "reviewed failover steps still right", "reminder"))
	if code != 0 {
		t.Fatalf("carol's reply: swaks %d %s", code, out)
	}
	c.GetJSON(n, "/v1/services/checkout/reviews", &list)
	if len(list.Reviews) != 1 {
		t.Fatalf("reviews after carol's reply: %+v", list.Reviews)
	}
	rv := list.Reviews[0]
	if rv.By != "carol" || rv.Via != "email" || rv.Note != "failover steps still right" || !strings.HasPrefix(rv.ConfigVersion, "sha256:") {
		t.Fatalf("review %+v", rv)
	}
	after := rvService(t, c, n)
	if after.Continuity.ReviewDueAt == nil || !after.Continuity.ReviewDueAt.Equal(rv.At.Add(4*time.Second)) ||
		before.Continuity.ReviewDueAt == nil || !after.Continuity.ReviewDueAt.After(*before.Continuity.ReviewDueAt) {
		t.Fatalf("due before %v after %v, review at %v", before.Continuity.ReviewDueAt, after.Continuity.ReviewDueAt, rv.At)
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.body, "Recorded a review of the continuity plan of checkout") {
				return true, ""
			}
		}
		return false, "no confirmation of the review"
	})
}

// Without channels.email.reply_domain a reply cannot reach pagerd, so the
// review reminder offers none (no Reply-To, no "reply reviewed") and names
// the CLI and API ways instead.
func TestReviewReminderWithoutReplyDomainOffersNoReply(t *testing.T) {
	box := pgStartSMTP(t)
	cfg := rvConfig(box.addr)
	noReply := strings.Replace(cfg, `, reply_domain: "reply.example.com"`, "", 1)
	if noReply == cfg {
		t.Fatal("test config has no reply_domain to take out")
	}
	testcluster.Start(t, 1, testcluster.Options{Config: noReply})
	var mail pgMail
	testcluster.WaitFor(t, 30*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.body, "Continuity plan of Checkout API") {
				mail = m
				return true, ""
			}
		}
		return false, "no review reminder yet"
	})
	all := mail.header.Get("Subject") + "\n" + mail.body
	if mail.header.Get("Reply-To") != "" || strings.Contains(strings.ToLower(all), "reply") ||
		!strings.Contains(mail.body, "pagerd review checkout") || !strings.Contains(mail.body, "POST /v1/services/checkout/reviews") {
		t.Fatalf("review reminder without reply_domain: Reply-To %q\n%s", mail.header.Get("Reply-To"), all)
	}
}

// POST /v1/services/{id}/reviews: 201 with the review; unknown service 404;
// an unknown field 400 naming it; a forged via=email 400; nothing recorded
// by the refusals.
func TestReviewAPI(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: rvConfig(box.addr)})
	n := c.Nodes[0]
	lnDo(t, c, n, "POST", "/v1/services/nope/reviews", `{"note":"x"}`, 404)
	if out := lnDo(t, c, n, "POST", "/v1/services/checkout/reviews", `{"notes":"x"}`, 400); !strings.Contains(string(out), "notes") {
		t.Fatalf("unknown field answer %s", out)
	}
	lnDo(t, c, n, "POST", "/v1/services/checkout/reviews", `{"via":"email","by":"carol"}`, 400)
	lnDo(t, c, n, "POST", "/v1/services/checkout/reviews", `{"dedup_id":"x","by":"carol"}`, 400)
	var rv cluster.Review
	json.Unmarshal(lnDo(t, c, n, "POST", "/v1/services/checkout/reviews", `{"by":"carol","note":"ok"}`, 201), &rv)
	var list struct {
		Reviews []cluster.Review `json:"reviews"`
	}
	c.GetJSON(n, "/v1/services/checkout/reviews", &list)
	if len(list.Reviews) != 1 || list.Reviews[0].By != "carol" || list.Reviews[0].Via != "api" || rv.At.IsZero() {
		t.Fatalf("reviews %+v (posted %+v)", list.Reviews, rv)
	}
	code, out := c.Run(n, "review", "checkout", "--note", "restore drill notes added")
	if code != 0 || !strings.Contains(out, "checkout reviewed by admin") {
		t.Fatalf("pagerd review: %d %s", code, out)
	}
	c.GetJSON(n, "/v1/services/checkout/reviews", &list)
	if len(list.Reviews) != 2 || list.Reviews[0].Via != "cli" || list.Reviews[0].Note != "restore drill notes added" {
		t.Fatalf("after pagerd review: %+v", list.Reviews)
	}
	if code, out := c.Run(n, "review", "nope"); code == 0 || !strings.Contains(out, "nope") {
		t.Fatalf("pagerd review nope: %d %s", code, out)
	}
}

// The continuity report over known incidents and a drill on a real node:
// one incident resolved at once (met), one whose impact began 2 h before
// its resolve (breached against rto 1h), one drill run (counted as a
// drill, not an incident); the response report leaves the drill out.
func TestContinuityReportOnRealNode(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: rvConfig(box.addr)})
	n := c.Nodes[0]
	lnTrigger(t, c, n, "met-1", "error")
	met := pgIncident(t, c, n, "met-1")
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/resolve", met.ID), `{"by":"alice"}`, 200)
	lnTrigger(t, c, n, "late-1", "error")
	late := pgIncident(t, c, n, "late-1")
	started := time.Now().Add(-2 * time.Hour).UTC().Format(time.RFC3339)
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/impact", late.ID), `{"started_at":"`+started+`","by":"alice"}`, 200)
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/resolve", late.ID), `{"by":"alice"}`, 200)
	run := ctRun(t, c, n, "checkout-drill")
	if run.IncidentID == 0 {
		t.Fatalf("drill run opened no incident: %+v", run)
	}
	var rep reports.Continuity
	if code := c.GetJSON(n, "/v1/reports/continuity", &rep); code != http.StatusOK {
		t.Fatalf("continuity report: %d", code)
	}
	var row *reports.ContinuityRow
	for i := range rep.Services {
		if rep.Services[i].Service == "checkout" {
			row = &rep.Services[i]
		}
	}
	if row == nil || row.Incidents != 2 || row.RTOMet != 1 || row.RTOBreached != 1 || row.RTO != "1h" || row.Criticality != "tier1" {
		t.Fatalf("checkout row %+v", row)
	}
	if row.Drills.Runs != 1 || row.Drills.Last == nil || row.Drills.Last.ID != run.ID || row.Review.DueAt == nil {
		t.Fatalf("checkout drills/review %+v %+v", row.Drills, row.Review)
	}
	if v := rvService(t, c, n); v.Continuity.RTOMet90d == nil || *v.Continuity.RTOMet90d != 0.5 {
		t.Fatalf("rto_met_90d %v, want 0.5", v.Continuity.RTOMet90d)
	}
	var resp reports.Response
	if code := c.GetJSON(n, "/v1/reports/response", &resp); code != http.StatusOK {
		t.Fatalf("response report: %d", code)
	}
	if resp.Total.Count != 2 || resp.Drills != 1 {
		t.Fatalf("response report counted %d incidents and %d drills, want 2 and 1 left out", resp.Total.Count, resp.Drills)
	}
	code, out := c.Do(n, "GET", "/v1/reports/continuity?format=csv", nil, nil)
	if code != http.StatusOK || !strings.Contains(string(out), "\ncheckout,tier1,1h,2,1,1,1,") {
		t.Fatalf("csv %d:\n%s", code, out)
	}
	code, cli := c.Run(n, "report", "continuity", "--output", "csv")
	if code != 0 || !strings.Contains(cli, "\ncheckout,tier1,1h,2,1,1,1,") {
		t.Fatalf("pagerd report continuity --output csv: %d\n%s", code, cli)
	}
	code, cli = c.Run(n, "report", "continuity")
	if code != 0 || !strings.Contains(cli, "RTO BREACHED") || !strings.Contains(cli, "checkout") {
		t.Fatalf("pagerd report continuity: %d\n%s", code, cli)
	}
	code, out = c.Do(n, "GET", "/metrics", nil, nil)
	if code != http.StatusOK || !strings.Contains(string(out), `pagerd_service_review_overdue{service="checkout"}`) {
		t.Fatalf("metrics %d lack the review gauge", code)
	}
}

// Three real nodes: a `reviewed` reply sent to a follower's SMTP listener
// is forwarded to the leader (node-to-node, via=email) and recorded once;
// the manager may review too. The review reminder went out once.
func TestReviewReplyViaFollower(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{SMTP: true, Config: rvConfig(box.addr)})
	var mail pgMail
	c.WaitFor(40*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.body, "Continuity plan of Checkout API") {
				mail = m
				return true, ""
			}
		}
		return false, "no review reminder yet"
	})
	replyTo := strings.Trim(mail.header.Get("Reply-To"), "<>")
	follower := c.Followers()[0]
	if code, out := rpSwaks(t, follower.SMTPAddr, "bob@example.com", replyTo,
		rpReply("rv-bob@x", "bob@example.com", replyTo, mail.header.Get("Subject"), "reviewed as continuity manager", "reminder")); code != 0 {
		t.Fatalf("bob's reviewed via a follower: swaks %d %s", code, out)
	}
	var list struct {
		Reviews []cluster.Review `json:"reviews"`
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		c.GetJSON(c.Leader(), "/v1/services/checkout/reviews", &list)
		return len(list.Reviews) == 1, fmt.Sprintf("reviews %+v", list.Reviews)
	})
	if rv := list.Reviews[0]; rv.By != "bob" || rv.Via != "email" || rv.Note != "as continuity manager" {
		t.Fatalf("review via follower %+v", rv)
	}
	// The same message delivered again (a retry) records nothing new.
	if code, out := rpSwaks(t, follower.SMTPAddr, "bob@example.com", replyTo,
		rpReply("rv-bob@x", "bob@example.com", replyTo, mail.header.Get("Subject"), "reviewed as continuity manager", "reminder")); code != 0 {
		t.Fatalf("bob's retried reply: swaks %d %s", code, out)
	}
	c.GetJSON(c.Leader(), "/v1/services/checkout/reviews", &list)
	if len(list.Reviews) != 1 {
		t.Fatalf("a retried reply recorded again: %+v", list.Reviews)
	}
}

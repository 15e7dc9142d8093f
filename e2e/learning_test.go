package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/learning"
)

// Learning from incidents end to end (issue 15): postmortems drafted on
// resolve, follow-ups, reminder mails to a real SMTP server (aiosmtpd) and
// `done` replies sent with swaks to the node's own SMTP listener.

func lnTrigger(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, key, severity string) {
	t.Helper()
	body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":"Checkout errors %s","source":"web-1","severity":%q}}`,
		testcluster.EventsKey, key, key, severity)
	if code, out := c.Do(n, "POST", "/v2/enqueue", []byte(body), nil); code != http.StatusAccepted {
		t.Fatalf("trigger %s: %d %s", key, code, out)
	}
}

func lnDo(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, method, path, body string, want int) []byte {
	t.Helper()
	code, out := c.Do(n, method, path, []byte(body), map[string]string{"Content-Type": "application/json"})
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

func lnPostmortem(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id uint64) (learning.Postmortem, int) {
	t.Helper()
	var p learning.Postmortem
	code := c.GetJSON(n, fmt.Sprintf("/v1/incidents/%d/postmortem", id), &p)
	return p, code
}

func TestPostmortemDraftedOnResolveOfSev2(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	lnTrigger(t, c, n, "pm-sev2", "error") // error maps to sev2
	inc := pgIncident(t, c, n, "pm-sev2")
	if inc.Severity != "sev2" {
		t.Fatalf("severity %s, want sev2", inc.Severity)
	}
	c.WaitFor(20*time.Second, func() (bool, string) { return len(box.messages(t)) > 0, "alice not paged yet" })
	// bob takes the incident manager role; alice acknowledges first.
	lnDo(t, c, n, "PUT", fmt.Sprintf("/v1/incidents/%d/roles/incident_manager", inc.ID), `{"user":"bob","by":"bob"}`, 200)
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/ack", inc.ID), `{"by":"alice"}`, 200)
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/resolve", inc.ID), `{"by":"alice"}`, 200)
	inc = pgIncident(t, c, n, "pm-sev2")
	p, code := lnPostmortem(t, c, n, inc.ID)
	if code != 200 {
		t.Fatalf("GET postmortem of a resolved sev2: %d", code)
	}
	if p.Status != learning.StatusDraft || p.Owner != "bob" {
		t.Fatalf("postmortem %s owned by %q, want draft owned by bob (the incident manager)", p.Status, p.Owner)
	}
	var shown struct {
		Postmortem *struct{ Status, Owner string }
	}
	c.GetJSON(n, fmt.Sprintf("/v1/incidents/%d", inc.ID), &shown)
	if shown.Postmortem == nil || shown.Postmortem.Status != "draft" || shown.Postmortem.Owner != "bob" {
		t.Fatalf("the incident shows postmortem %+v", shown.Postmortem)
	}
	if want := inc.ResolvedAt.Add(5 * 24 * time.Hour); !p.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v (resolve + 5 days)", p.DueAt, want)
	}
	detected := inc.DetectedTime() // the summary's duration: detected_at to resolve, whole seconds
	duration := (inc.ResolvedAt.Sub(detected) / time.Second * time.Second).String()
	for _, want := range []string{inc.Key, inc.Title, "Duration: " + duration, "## What happened", "## Actions", "alice by email"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, p.Body)
		}
	}
	drafted := 0
	for _, e := range inc.Timeline {
		if e.Type == learning.EntryPostmortemDrafted {
			drafted++ // recorded with the draft, after its body was written
			continue
		}
		if !strings.Contains(p.Body, strings.Join(strings.Fields(e.Message), " ")) {
			t.Errorf("body lacks timeline entry %q", e.Message)
		}
	}

	if drafted != 1 {
		t.Errorf("%d postmortem_drafted timeline entries, want 1", drafted)
	}

	// The CLI prints the body and stores an edited one.
	if code, out := c.Run(n, "postmortem", inc.Key); code != 0 || out != p.Body {
		t.Fatalf("pagerd postmortem: %d, body differs:\n%s", code, out)
	}
	file := t.TempDir() + "/pm.md"
	if err := os.WriteFile(file, []byte("# Edited\n\nWe learned.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := c.Run(n, "postmortem", inc.Key, "--edit", file, "--status", "in_review"); code != 0 {
		t.Fatalf("pagerd postmortem --edit: %d %s", code, out)
	}
	if p2, _ := lnPostmortem(t, c, n, inc.ID); p2.Body != "# Edited\n\nWe learned.\n" || p2.Status != learning.StatusInReview {
		t.Fatalf("after --edit: %s %q", p2.Status, p2.Body)
	}

	// A sev3 has none until someone starts one by hand.
	lnTrigger(t, c, n, "pm-sev3", "warning")
	low := pgIncident(t, c, n, "pm-sev3")
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/resolve", low.ID), `{"by":"bob"}`, 200)
	if _, code := lnPostmortem(t, c, n, low.ID); code != 404 {
		t.Fatalf("sev3 postmortem: %d, want 404", code)
	}
	lnDo(t, c, n, "PUT", fmt.Sprintf("/v1/incidents/%d/postmortem", low.ID), `{"owner":"bob"}`, 200)
	if p3, code := lnPostmortem(t, c, n, low.ID); code != 200 || p3.Owner != "bob" || !strings.Contains(p3.Body, low.Key) {
		t.Fatalf("hand-made postmortem: %d %+v", code, p3)
	}
}

func TestLearningBadInputChangesNothing(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	lnTrigger(t, c, n, "bad-1", "error")
	inc := pgIncident(t, c, n, "bad-1")
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/ack", inc.ID), `{"by":"alice"}`, 200)
	lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/resolve", inc.ID), `{"by":"alice"}`, 200)
	before, _ := lnPostmortem(t, c, n, inc.ID)
	fu := fmt.Sprintf("/v1/incidents/%d/followups", inc.ID)
	pm := fmt.Sprintf("/v1/incidents/%d/postmortem", inc.ID)
	big, _ := json.Marshal(strings.Repeat("x", learning.MaxBody+1))
	for _, c2 := range []struct{ method, path, body, field string }{
		{"POST", fu, `{"title":"Add an alert","owner":"mallory"}`, "owner:"},
		{"POST", fu, `{"title":"Add an alert","owner":"alice","due":"2020-01-01"}`, "due:"},
		{"POST", fu, `{"title":"","owner":"alice"}`, "title:"},
		{"PUT", pm, `{"body":` + string(big) + `}`, "body:"},
		{"PUT", pm, `{"status":"finished"}`, "status:"},
	} {
		out := lnDo(t, c, n, c2.method, c2.path, c2.body, 400)
		if !strings.Contains(string(out), c2.field) {
			t.Errorf("%s %s: %s does not name %s", c2.method, c2.path, out, c2.field)
		}
	}
	var list struct{ Followups []learning.Followup }
	c.GetJSON(n, "/v1/followups?status=all", &list)
	if len(list.Followups) != 0 {
		t.Fatalf("refused follow-ups were stored: %+v", list.Followups)
	}
	if after, _ := lnPostmortem(t, c, n, inc.ID); after.Body != before.Body || after.Status != before.Status || !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a refused PUT changed the postmortem")
	}
	// A good one: default due is sev2's followups_due (8 weeks), id INC-n-F1.
	var got learning.Followup
	json.Unmarshal(lnDo(t, c, n, "POST", fu, `{"title":"Add an alert","owner":"alice","link":"https://issues.example.com/42"}`, 201), &got)
	if got.ID != inc.Key+"-F1" || got.Due.Sub(got.CreatedAt) != 8*7*24*time.Hour || got.Link != "https://issues.example.com/42" {
		t.Fatalf("follow-up %+v", got)
	}
	if code, out := c.Run(n, "followups", "--owner", "alice"); code != 0 || !strings.Contains(out, got.ID) || !strings.Contains(out, got.Link) {
		t.Fatalf("pagerd followups: %d %s", code, out)
	}
	if code, out := c.Run(n, "followups", "--overdue"); code != 0 || !strings.Contains(out, "no follow-ups") {
		t.Fatalf("pagerd followups --overdue: %d %s", code, out)
	}
	if code, out := c.Run(n, "followup", "add", inc.Key, "Runbook for the queue", "--owner", "bob", "--due", "14d"); code != 0 || !strings.Contains(out, inc.Key+"-F2") {
		t.Fatalf("pagerd followup add: %d %s", code, out)
	}
	if code, out := c.Run(n, "followup", "add", inc.Key, "Ghost work", "--owner", "nobody"); code == 0 || !strings.Contains(out, "owner") {
		t.Fatalf("pagerd followup add for an unknown owner: %d %s", code, out)
	}
	if code, out := c.Run(n, "followup", "done", inc.Key+"-F2"); code != 0 || !strings.Contains(out, "done") {
		t.Fatalf("pagerd followup done: %d %s", code, out)
	}
}

// lnReminders are the reminder mails aiosmtpd received for follow-up id.
func lnReminders(t *testing.T, box *pgMailbox, id string) []pgMail {
	var out []pgMail
	for _, m := range box.messages(t) {
		if strings.Contains(m.body, "Follow-up "+id+" ") {
			out = append(out, m)
		}
	}
	return out
}

// A follow-up due in 7 days and 3 seconds gets its "7 days before" reminder
// in 3 seconds. A `done` from another address is refused and changes
// nothing; the owner's `done` closes it; a second `done` is answered.
func TestFollowupReminderReplyDone(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	lnTrigger(t, c, n, "fu-1", "error")
	inc := pgIncident(t, c, n, "fu-1")
	due := time.Now().Add(7*24*time.Hour + 3*time.Second).UTC().Format(time.RFC3339Nano)
	var f learning.Followup
	json.Unmarshal(lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/followups", inc.ID),
		`{"title":"Alert on queue depth","owner":"alice","due":"`+due+`","priority":"high"}`, 201), &f)
	var mail pgMail
	c.WaitFor(30*time.Second, func() (bool, string) {
		ms := lnReminders(t, box, f.ID)
		if len(ms) == 0 {
			return false, "no reminder mail yet"
		}
		mail = ms[0]
		return true, ""
	})
	replyTo := strings.Trim(mail.header.Get("Reply-To"), "<>")
	if !strings.HasPrefix(replyTo, "fu-") || mail.header.Get("To") != "<alice@example.com>" && !strings.Contains(mail.header.Get("To"), "alice@example.com") {
		t.Fatalf("reminder To %q Reply-To %q", mail.header.Get("To"), replyTo)
	}
	subject := mail.header.Get("Subject")

	var withRem struct {
		Reminders []learning.ReminderRecord
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		c.GetJSON(n, "/v1/followups/"+f.ID, &withRem)
		return len(withRem.Reminders) == 1 && withRem.Reminders[0].Status == learning.ReminderSent, fmt.Sprintf("reminder records %+v", withRem.Reminders)
	})
	code, out := rpSwaks(t, n.SMTPAddr, "bob@example.com", replyTo, rpReply("fu-bob@x", "bob@example.com", replyTo, subject, "done", "reminder"))
	if code != 0 {
		t.Fatalf("bob's reply: swaks %d %s", code, out)
	}
	var got learning.Followup
	c.GetJSON(n, "/v1/followups/"+f.ID, &got)
	if got.Status != learning.FollowupOpen {
		t.Fatalf("a done from bob changed %s to %s", f.ID, got.Status)
	}
	code, out = rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo, rpReply("fu-alice@x", "alice@example.com", replyTo, subject, "done", "reminder"))
	if code != 0 {
		t.Fatalf("alice's reply: swaks %d %s", code, out)
	}
	c.GetJSON(n, "/v1/followups/"+f.ID, &got)
	if got.Status != learning.FollowupDone || got.ClosedBy != "alice" || got.ClosedVia != "email" {
		t.Fatalf("after alice's done: %s by %q via %q", got.Status, got.ClosedBy, got.ClosedVia)
	}
	code, out = rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo, rpReply("fu-alice-2@x", "alice@example.com", replyTo, subject, "done", "reminder"))
	if code != 0 {
		t.Fatalf("a done to a closed follow-up is answered, not an SMTP error: swaks %d %s", code, out)
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.body, "already done") {
				return true, ""
			}
		}
		return false, "no answer saying it is already done"
	})
}

// Three real nodes: the leader mails a follow-up's first reminder and
// records it; after the leader is killed, the new leader sends the next
// due reminder (so its engine runs) but not the recorded one again. This
// shows a recorded reminder is not repeated across a leader change; the
// window between "queued" and the send is covered by design (a queued
// reminder is never resent) and by reminders' fake-clock tests.
func TestReminderNotRepeatedAfterLeaderChange(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	leader := c.Leader()
	lnTrigger(t, c, leader, "fu-ha", "error")
	inc := pgIncident(t, c, leader, "fu-ha")
	add := func(n *testcluster.Node, owner string, in time.Duration) learning.Followup {
		due := time.Now().Add(7*24*time.Hour + in).UTC().Format(time.RFC3339Nano)
		var f learning.Followup
		json.Unmarshal(lnDo(t, c, n, "POST", fmt.Sprintf("/v1/incidents/%d/followups", inc.ID),
			`{"title":"Fix it","owner":"`+owner+`","due":"`+due+`"}`, 201), &f)
		return f
	}
	first := add(leader, "alice", 2*time.Second)
	c.WaitFor(30*time.Second, func() (bool, string) {
		return len(lnReminders(t, box, first.ID)) == 1, "no first reminder yet"
	})
	// Every node has the reminder recorded as sent before the leader dies.
	for _, n := range c.Nodes {
		c.WaitFor(20*time.Second, func() (bool, string) {
			var l struct{ Followups []learning.Followup }
			c.GetJSON(n, "/v1/followups?status=all", &l)
			return len(l.Followups) == 1, "follow-up not replicated"
		})
	}
	leader.Kill()
	next := c.Leader()
	second := add(next, "bob", 2*time.Second)
	c.WaitFor(40*time.Second, func() (bool, string) {
		return len(lnReminders(t, box, second.ID)) == 1, "the new leader sent no reminder"
	})
	if got := len(lnReminders(t, box, first.ID)); got != 1 {
		t.Fatalf("the first reminder was mailed %d times across the leader change, want once", got)
	}
	// bob's `done`, sent to a follower's SMTP listener, is forwarded to the
	// leader and closes his follow-up.
	m := lnReminders(t, box, second.ID)[0]
	replyTo := strings.Trim(m.header.Get("Reply-To"), "<>")
	follower := c.Followers()[0]
	if code, out := rpSwaks(t, follower.SMTPAddr, "bob@example.com", replyTo,
		rpReply("fu-bob-done@x", "bob@example.com", replyTo, m.header.Get("Subject"), "done", "reminder")); code != 0 {
		t.Fatalf("bob's done via a follower: swaks %d %s", code, out)
	}
	var got learning.Followup
	c.GetJSON(next, "/v1/followups/"+second.ID, &got)
	if got.Status != learning.FollowupDone || got.ClosedBy != "bob" || got.ClosedVia != "email" {
		t.Fatalf("after bob's done via a follower: %+v", got)
	}
}

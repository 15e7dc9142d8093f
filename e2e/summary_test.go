package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
)

// smConfig: a real node (no --dev) pages alice by email and carol by SMS,
// then bob by email 2 s later; public_url makes every message link to the
// console.
const smConfig = `
timezone: UTC
public_url: https://pager.example.com
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, notify: [{via: email, after: 0m}]}
  - {id: bob, name: Bob, email: bob@example.com, notify: [{via: email, after: 0m}]}
  - {id: carol, name: Carol, email: carol@example.com, phone: "+31612345003", notify: [{via: sms, after: 0m}]}
policies:
  - id: two-step
    steps:
      - {notify: [user:alice, user:carol], escalate_after: 2s}
      - {notify: [user:bob], escalate_after: 1h}
services:
  - {id: checkout, name: Checkout API, policy: two-step, bridge_url: "https://meet.example.com/checkout"}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
severity:
  label: severity
  map: {critical: sev1}
  default: sev2
channels:
  email: {smtp: "%s", from: "pagerd@pager.example.com", reply_domain: "reply.example.com"}
  sms: {provider: twilio, account_sid: ACtest, auth_token: secret-token, from: "+15550000000", api_base: "%s"}
`

// TestResolveMailsSummaryToEveryPagedPerson: on resolve, the aiosmtpd
// process receives one summary mail for each person paged (by email or
// SMS), with the duration from the impact start to the resolve, the time to
// ack, the severity history and the pages by channel; the pages link to
// the console; the summary is what `pagerd summary` prints.
func TestResolveMailsSummaryToEveryPagedPerson(t *testing.T) {
	box := pgStartSMTP(t)
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(smConfig, box.addr, tw.URL)})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "sum-1", testcluster.EventsKey)
	// Both steps page: alice and bob by email, carol by SMS.
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "sum-1")
		sent := 0
		for _, nt := range inc.Notifications {
			if nt.Status == incident.NotifySent {
				sent++
			}
		}
		return sent == 3, fmt.Sprintf("notifications %+v", inc.Notifications)
	})
	link := "https://pager.example.com/ui/incidents/INC-1"
	if msgs := tw.Messages(); len(msgs) != 1 || !strings.Contains(msgs[0].Body, link) {
		t.Fatalf("SMS page lacks the console link: %+v", msgs)
	}
	for _, m := range box.messages(t) {
		if !strings.Contains(m.body, link) {
			t.Fatalf("email page lacks the console link:\n%s", m.body)
		}
	}

	started := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	code, out := c.Do(n, "POST", "/v1/incidents/INC-1/impact", []byte(`{"started_at":"`+started.Format(time.RFC3339)+`","by":"alice"}`), nil)
	if code != http.StatusOK {
		t.Fatalf("impact: %d %s", code, out)
	}
	code, out = c.Do(n, "POST", "/v1/incidents/INC-1/severity", []byte(`{"severity":"sev2","by":"alice","note":"EU only"}`), nil)
	if code != http.StatusOK {
		t.Fatalf("severity: %d %s", code, out)
	}
	if code, out := c.Run(n, "ack", "INC-1", "--as", "alice"); code != 0 {
		t.Fatalf("ack: %d %s", code, out)
	}
	if code, out := c.Run(n, "resolve", "INC-1", "--as", "bob", "--note", "rolled back"); code != 0 {
		t.Fatalf("resolve: %d %s", code, out)
	}

	var summaries map[string]pgMail
	c.WaitFor(30*time.Second, func() (bool, string) {
		summaries = map[string]pgMail{}
		for id, ms := range box.byNotification(t) {
			if strings.Contains(id, "-summary-") {
				if len(ms) != 1 {
					t.Fatalf("summary %s mailed %d times", id, len(ms))
				}
				summaries[id] = ms[0]
			}
		}
		return len(summaries) == 3, fmt.Sprintf("summary mails %d of 3", len(summaries))
	})
	inc := pgIncident(t, c, n, "sum-1")
	wantSeconds := int64(inc.ResolvedAt.Sub(started) / time.Second)
	wantDuration := fmt.Sprintf("Duration:     %s from impact_started_at", time.Duration(wantSeconds)*time.Second)
	var ackedAfter time.Duration
	for _, e := range inc.Timeline {
		if e.Type == incident.EntryAcknowledged {
			ackedAfter = (e.At.Sub(inc.CreatedAt) / time.Second) * time.Second
			break
		}
	}
	code, cliText := c.Run(n, "summary", "INC-1")
	if code != 0 {
		t.Fatalf("pagerd summary: %d %s", code, cliText)
	}
	for _, user := range []string{"alice", "bob", "carol"} {
		m, ok := summaries["n1-summary-"+user]
		if !ok {
			t.Fatalf("no summary mail for %s; got %v", user, summaries)
		}
		if to := m.header.Get("To"); !strings.Contains(to, user+"@example.com") {
			t.Errorf("summary for %s went to %q", user, to)
		}
		if s := m.header.Get("Subject"); s != "[INC-1] Summary: sev2 checkout: Checkout errors sum-1" {
			t.Errorf("summary subject %q", s)
		}
		body := strings.ReplaceAll(m.body, "\r\n", "\n")
		for _, want := range []string{wantDuration, "email: 2 sent, 0 failed, 0 cancelled", "sms: 1 sent, 0 failed, 0 cancelled",
			"by alice, " + ackedAfter.String() + " after paging began", "Link:         " + link, "Bridge:       https://meet.example.com/checkout",
			"Paged:        alice, carol, bob", "Responders:   alice, bob", "Resolved:",
			"opened as sev1 by events:events", "sev1 -> sev2 by alice: EU only"} {
			if !strings.Contains(body, want) {
				t.Errorf("summary mail to %s lacks %q:\n%s", user, want, body)
			}
		}
		if !strings.Contains(body, cliText) {
			t.Errorf("summary mail to %s is not what pagerd summary prints:\nmail:\n%s\ncli:\n%s", user, body, cliText)
		}
	}
	// The incident records each summary mail as sent, once.
	c.WaitFor(10*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "sum-1")
		sent := 0
		for _, nt := range inc.Notifications {
			if nt.Kind == incident.KindSummary && nt.Status == incident.NotifySent && nt.Attempts == 1 {
				sent++
			}
		}
		return sent == 3, fmt.Sprintf("notifications %+v", inc.Notifications)
	})
}

// TestSummaryMailSurvivesLeaderKill: the leader is killed right after the
// resolve commits, on three real nodes. The summary mail is recorded in the
// replicated state with the resolve, so the next leader sends it if the
// old one had not: it reaches the SMTP server at least once and at most
// twice (the one resend spec §4 allows for a mail in flight), and the
// state records it sent.
func TestSummaryMailSurvivesLeaderKill(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	smAwaitVoters(t, c, 3)
	leader := c.Leader()
	pgTrigger(t, c, leader, "kill-1", testcluster.EventsKey)
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, leader, "kill-1")
		return len(inc.Notifications) == 1 && inc.Notifications[0].Status == incident.NotifySent,
			fmt.Sprintf("page not recorded as sent: %+v", inc.Notifications)
	})
	if code, out := c.Do(leader, "POST", "/v1/incidents/INC-1/resolve", []byte(`{"by":"alice"}`), nil); code != http.StatusOK {
		t.Fatalf("resolve: %d %s", code, out)
	}
	leader.Kill()
	var survivor *testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			survivor = n
		}
	}
	const id = "n1-summary-alice"
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, survivor, "kill-1")
		for _, n := range inc.Notifications {
			if n.ID == id && n.Status == incident.NotifySent {
				return len(box.byNotification(t)[id]) > 0, "recorded sent, not at the SMTP server"
			}
		}
		return false, fmt.Sprintf("summary mail not recorded sent: %+v", inc.Notifications)
	})
	if got := len(box.byNotification(t)[id]); got < 1 || got > 2 {
		t.Fatalf("summary mail reached the SMTP server %d times, want 1 (or 2 if it was in flight at the kill)", got)
	}
}

// smAwaitVoters waits until the cluster has n voters: testcluster.Start
// returns once every node is a member, and a joining node is a non-voter
// until promoted; killing the leader before that leaves no quorum.
func smAwaitVoters(t *testing.T, c *testcluster.Cluster, n int) {
	t.Helper()
	c.WaitFor(30*time.Second, func() (bool, string) {
		var st testcluster.Status
		if code := c.GetJSON(c.Nodes[0], "/v1/cluster", &st); code != http.StatusOK {
			return false, fmt.Sprintf("GET /v1/cluster: %d", code)
		}
		voters := 0
		for _, m := range st.Nodes {
			if m.Suffrage == "voter" {
				voters++
			}
		}
		return voters == n, fmt.Sprintf("%d of %d voters: %+v", voters, n, st.Nodes)
	})
}

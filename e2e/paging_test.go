package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
	"github.com/pagerd/pagerd/notify/webhook"
)

// Paging end to end: real node processes deliver pages to a real SMTP
// server process (Python's aiosmtpd, from Debian) and to a Twilio-format
// HTTP server, and the tests read what those received.

const pgSystemPython = "/usr/bin/python3" // Debian's, with python3-aiosmtpd

// pgMailbox is an aiosmtpd process storing every accepted message in a Maildir.
type pgMailbox struct {
	addr, dir string
}

func pgStartSMTP(t *testing.T) *pgMailbox {
	t.Helper()
	if out, err := exec.Command(pgSystemPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("paging tests need %s with aiosmtpd (apt-get install python3-aiosmtpd): %v: %s", pgSystemPython, err, out)
	}
	dir := filepath.Join(t.TempDir(), "maildir")
	addr := testcluster.FreePort(t)
	var stderr bytes.Buffer
	cmd := exec.Command(pgSystemPython, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", dir)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	testcluster.WaitFor(t, 15*time.Second, func() (bool, string) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, "aiosmtpd not listening: " + stderr.String()
		}
		c.Close()
		return true, ""
	})
	return &pgMailbox{addr: addr, dir: dir}
}

// pgMail is one stored message.
type pgMail struct {
	header     mail.Header
	body       string
	receivedAt time.Time
}

func (m *pgMailbox) messages(t *testing.T) []pgMail {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(m.dir, "new", "*"))
	var out []pgMail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		st, _ := os.Stat(f)
		r, err := mail.CreateReader(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		var body strings.Builder
		for {
			p, err := r.NextPart()
			if err != nil {
				break
			}
			b := new(bytes.Buffer)
			b.ReadFrom(p.Body)
			body.WriteString(b.String())
		}
		out = append(out, pgMail{header: r.Header, body: body.String(), receivedAt: st.ModTime()})
	}
	return out
}

// byNotification groups messages by their X-Pagerd-Notification header.
func (m *pgMailbox) byNotification(t *testing.T) map[string][]pgMail {
	out := map[string][]pgMail{}
	for _, msg := range m.messages(t) {
		id := msg.header.Get("X-Pagerd-Notification")
		out[id] = append(out[id], msg)
	}
	return out
}

const pgConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, phone: "+31612345001", notify: [{via: email, after: 0m}]}
  - {id: bob, name: Bob, email: bob@example.com, phone: "+31612345002", notify: [{via: email, after: 0m}]}
  - {id: carol, name: Carol, email: carol@example.com, phone: "+31612345003", notify: [{via: sms, after: 0m}]}
policies:
  - id: two-step
    steps:
      - {notify: [user:alice], escalate_after: %s}
      - {notify: [user:bob], escalate_after: 1h}
  - id: sms-then-email
    steps:
      - {notify: [user:carol], escalate_after: 1h}
services:
  - {id: checkout, name: Checkout API, policy: two-step}
  - {id: texting, name: Texting, policy: sms-then-email}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
  - {name: texts, key: "test-texts-key", service: texting}
severity:
  label: severity
  map: {critical: sev1, error: sev2, warning: sev3}
  default: sev2
channels:
  email: {smtp: "%s", from: "pagerd@pager.example.com", reply_domain: "reply.example.com"}
  sms: {provider: twilio, account_sid: ACtest, auth_token: secret-token, from: "+15550000000", api_base: "%s"}
`

func pgTrigger(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, key, routingKey string) {
	t.Helper()
	body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":"Checkout errors %s","source":"web-1","severity":"critical","custom_details":{"runbook_url":"https://runbooks.example.com/checkout"}}}`, routingKey, key, key)
	code, out := c.Do(n, "POST", "/v2/enqueue", []byte(body), nil)
	if code != http.StatusAccepted {
		t.Fatalf("trigger %s: %d %s", key, code, out)
	}
}

func pgIncident(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, dedupKey string) *incident.Incident {
	t.Helper()
	list := amListIncidents(t, c, n, "all", dedupKey)
	if len(list) != 1 {
		t.Fatalf("incidents with dedup key %s: %d", dedupKey, len(list))
	}
	return amGetIncident(t, c, n, list[0].ID)
}

func TestPageEmailReachesRealSMTPServer(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "10m", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "email-1", testcluster.EventsKey)
	var msg pgMail
	c.WaitFor(20*time.Second, func() (bool, string) {
		msgs := box.messages(t)
		if len(msgs) == 0 {
			return false, "no mail at the SMTP server yet"
		}
		msg = msgs[0]
		return true, ""
	})
	h := msg.header
	if got := h.Get("Subject"); got != "[INC-1] sev1 checkout: Checkout errors email-1" {
		t.Errorf("Subject %q", got)
	}
	if got := h.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted %q", got)
	}
	if got := h.Get("To"); !strings.Contains(got, "alice@example.com") {
		t.Errorf("To %q", got)
	}
	replyTo := strings.Trim(h.Get("Reply-To"), "<>")
	if !strings.HasSuffix(replyTo, "@reply.example.com") || !strings.HasPrefix(replyTo, "n1-1-0") {
		t.Errorf("Reply-To %q: want a token bound to notification n1-1-0 at reply.example.com", replyTo)
	}
	msgID := h.Get("Message-Id")
	if msgID != "<n1-1-0@pager.example.com>" {
		t.Errorf("Message-Id %q", msgID)
	}
	for _, want := range []string{"severity=critical", "https://runbooks.example.com/checkout", "reply to this email"} {
		if !strings.Contains(msg.body, want) {
			t.Errorf("body lacks %q:\n%s", want, msg.body)
		}
	}
	// pagerd incident shows the escalation and the notification.
	c.WaitFor(10*time.Second, func() (bool, string) {
		code, out := c.Run(n, "incident", "INC-1")
		ok := code == 0 && strings.Contains(out, "escalation: policy two-step, step 1, loop 1") &&
			strings.Contains(out, "n1-1-0") && strings.Contains(out, "sent")
		return ok, out
	})
	// The metrics count the page, its send latency and the step.
	_, metrics := c.Do(n, "GET", "/metrics", nil, nil)
	for _, want := range []string{`pagerd_notifications_total{channel="email",outcome="sent"} 1`,
		`pagerd_notification_send_duration_seconds_count{channel="email"} 1`,
		`pagerd_escalation_steps_total{reason="trigger"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Nothing was acknowledged or resolved: the labelled histograms have no
	// series yet.
	for _, never := range []string{"pagerd_incident_time_to_ack_seconds_count", "pagerd_incident_time_to_resolve_seconds_count"} {
		if strings.Contains(string(metrics), never) {
			t.Errorf("metrics have %s before any ack or resolve", never)
		}
	}
	// The incident records the page as sent, with the same Message-ID.
	c.WaitFor(10*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "email-1")
		if len(inc.Notifications) != 1 || inc.Notifications[0].Status != incident.NotifySent {
			return false, fmt.Sprintf("notifications %+v", inc.Notifications)
		}
		if inc.Notifications[0].ProviderID != msgID {
			return false, "provider id " + inc.Notifications[0].ProviderID
		}
		return true, ""
	})
}

func TestSMSRetriesOn429And500ThenDelivers(t *testing.T) {
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	tw.FailNext(1, twiliotest.RateLimited(time.Second))
	tw.FailNext(1, twiliotest.ServerError())
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "10m", "127.0.0.1:1", tw.URL)})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "sms-1", "test-texts-key")
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "sms-1")
		if len(inc.Notifications) != 1 || inc.Notifications[0].Status != incident.NotifySent {
			return false, fmt.Sprintf("notifications %+v", inc.Notifications)
		}
		if a := inc.Notifications[0].Attempts; a != 3 {
			t.Fatalf("sent after %d attempts, want 3 (429, 500, 201)", a)
		}
		return true, ""
	})
	reqs := tw.Requests()
	if len(reqs) != 3 || reqs[0].Status != 429 || reqs[1].Status != 500 || reqs[2].Status != 201 {
		t.Fatalf("Twilio saw %+v", reqs)
	}
	// The 429 said Retry-After: 1, so the second try waited at least that long.
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 900*time.Millisecond {
		t.Errorf("retry after a 429 with Retry-After 1 came after %v", gap)
	}
	body := tw.Messages()[0].Body
	if !strings.HasPrefix(body, "INC-1 sev1 texting: Checkout errors sms-1") || !strings.Contains(body, "Reply 1a to ack") {
		t.Errorf("SMS body %q", body)
	}
}

func TestSMSFinalFailureIsRecordedAndNotRetried(t *testing.T) {
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	tw.FailNext(1, twiliotest.Reply{Status: 400, Code: 21211, Message: "The 'To' number is not a valid phone number."})
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "10m", "127.0.0.1:1", tw.URL)})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "sms-bad", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "sms-bad")
		if len(inc.Notifications) != 1 || inc.Notifications[0].Status != incident.NotifyFailed {
			return false, fmt.Sprintf("notifications %+v", inc.Notifications)
		}
		if !strings.Contains(inc.Notifications[0].Error, "21211") {
			t.Errorf("error %q does not carry Twilio's code", inc.Notifications[0].Error)
		}
		for _, e := range inc.Timeline {
			if e.Type == incident.EntryNotifyFailed && strings.Contains(e.Message, "carol") {
				return true, ""
			}
		}
		return false, "no notify_failed timeline entry"
	})
	if got := len(tw.Requests()); got != 1 {
		t.Fatalf("a final 400 was tried %d times, want 1", got)
	}
}

// TestSecondStepPagedAfterLeaderKill is the failover acceptance: an
// incident whose second step is due 3 s after the trigger, the leader
// killed with SIGKILL 1 s in. The second step still pages, late by at most
// about one election, and no page is sent twice (the first step's page was
// delivered and recorded before the kill, so none was in flight). Rounds:
// 5, or $PAGERD_FAILOVER_ROUNDS.
func TestSecondStepPagedAfterLeaderKill(t *testing.T) {
	rounds := 5
	if v := os.Getenv("PAGERD_FAILOVER_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	box := pgStartSMTP(t)
	// Every round pages alice, within a minute of the last: lift the flood
	// bound (3 a minute by default), which a new leader now keeps counting.
	cfg := fmt.Sprintf(pgConfig, "3s", box.addr, "http://127.0.0.1:1") + "  flood_control: {max: 1000, per: 1m}\n"
	c := testcluster.Start(t, 3, testcluster.Options{Config: cfg})
	var worst time.Duration
	for r := 0; r < rounds; r++ {
		leader := c.Leader()
		key := fmt.Sprintf("failover-%d", r)
		start := time.Now()
		pgTrigger(t, c, leader, key, testcluster.EventsKey)
		inc := pgIncident(t, c, leader, key)
		createdAt := inc.CreatedAt
		step0 := fmt.Sprintf("n%d-1-0", inc.ID)
		step1 := fmt.Sprintf("n%d-2-0", inc.ID)
		c.WaitFor(3*time.Second, func() (bool, string) {
			inc := pgIncident(t, c, leader, key)
			ok := len(inc.Notifications) == 1 && inc.Notifications[0].Status == incident.NotifySent
			return ok, fmt.Sprintf("step 0 page not recorded as sent: %+v", inc.Notifications)
		})
		// The scenario's clock: the kill comes 1 s after the trigger.
		time.Sleep(time.Until(start.Add(time.Second)))
		leader.Kill()
		var survivor *testcluster.Node
		for _, n := range c.Nodes {
			if n != leader {
				survivor = n
			}
		}
		c.WaitFor(20*time.Second, func() (bool, string) {
			got := box.byNotification(t)[step1]
			return len(got) > 0, "second step not paged yet"
		})
		// Let a duplicate, if any, arrive before counting.
		c.WaitFor(20*time.Second, func() (bool, string) {
			inc := pgIncident(t, c, survivor, key)
			for _, n := range inc.Notifications {
				if n.ID == step1 && n.Status == incident.NotifySent {
					return true, ""
				}
			}
			return false, "second step's page not recorded as sent"
		})
		byID := box.byNotification(t)
		if n := len(byID[step0]); n != 1 {
			t.Errorf("round %d: step 0 page %s delivered %d times, want 1", r, step0, n)
		}
		if n := len(byID[step1]); n != 1 {
			t.Errorf("round %d: step 1 page %s delivered %d times, want 1", r, step1, n)
		}
		due := createdAt.Add(3 * time.Second)
		late := byID[step1][0].receivedAt.Sub(due)
		if late < -50*time.Millisecond {
			t.Errorf("round %d: step 1 paged %v before it was due", r, -late)
		}
		worst = max(worst, late)
		t.Logf("round %d: leader %s killed; second step paged %v after due", r, leader.ID, late.Round(time.Millisecond))
		leader.Start()
		c.WaitReady(leader)
	}
	// One election with a 500 ms heartbeat takes 0.5-2 s; allow for a slow CI.
	if worst > 5*time.Second {
		t.Errorf("worst lateness %v past due, want within about one election", worst)
	}
}

const pgStormConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, phone: "+31612345001", notify: [{via: sms, after: 0m}, {via: email, after: 0m}]}
rotations:
  - {id: primary, participants: [alice], shift: 1w, start: "2026-01-05 09:00"}
schedules:
  - {id: web, layers: [primary]}
policies:
  - id: page-oncall
    steps:
      - {notify: [schedule:web], escalate_after: 1h}
services:
  - {id: checkout, name: Checkout API, policy: page-oncall}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@pager.example.com"}
  sms: {provider: twilio, account_sid: ACtest, auth_token: secret-token, from: "+15550000000", api_base: "http://127.0.0.1:1"}
  flood_control: {max: 3, per: 5s}
`

type pgOutbox struct {
	Messages []struct {
		ID        string    `json:"id"`
		Channel   string    `json:"channel"`
		User      string    `json:"user"`
		Incidents []string  `json:"incidents"`
		Summary   bool      `json:"summary"`
		At        time.Time `json:"at"`
	} `json:"messages"`
}

// TestStormStaysWithinFloodBound: 1,000 incidents in 10 s for one on-call
// user. Per channel she gets at most 3 messages in any 5 s (the configured
// bound), and every incident is in a message: alone or in a summary.
func TestStormStaysWithinFloodBound(t *testing.T) {
	const incidents = 1000
	c := testcluster.Start(t, 1, testcluster.Options{Config: pgStormConfig, ExtraArgs: []string{"--dev"}})
	n := c.Nodes[0]
	start := time.Now()
	errs := make(chan error, incidents)
	sem := make(chan struct{}, 16)
	for i := 0; i < incidents; i++ {
		// 100 a second for 10 s.
		time.Sleep(time.Until(start.Add(time.Duration(i) * 10 * time.Millisecond)))
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			body := fmt.Sprintf(`{"routing_key":"test-events-key","event_action":"trigger","dedup_key":"storm-%d","payload":{"summary":"disk full %d","source":"db-%d","severity":"critical"}}`, i, i, i)
			code, out := c.Do(n, "POST", "/v2/enqueue", []byte(body), nil)
			if code != http.StatusAccepted {
				errs <- fmt.Errorf("trigger %d: %d %s", i, code, out)
			}
		}()
	}
	for i := 0; i < cap(sem); i++ {
		sem <- struct{}{}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var box pgOutbox
	c.WaitFor(60*time.Second, func() (bool, string) {
		box = pgOutbox{}
		c.GetJSON(n, "/dev/outbox?format=json", &box)
		covered := map[string]map[string]bool{"sms": {}, "email": {}}
		for _, m := range box.Messages {
			for _, k := range m.Incidents {
				covered[m.Channel][k] = true
			}
		}
		return len(covered["sms"]) == incidents && len(covered["email"]) == incidents,
			fmt.Sprintf("incidents paged so far: sms %d, email %d of %d", len(covered["sms"]), len(covered["email"]), incidents)
	})
	for _, ch := range []string{"sms", "email"} {
		var at []time.Time
		summaries := 0
		for _, m := range box.Messages {
			if m.Channel == ch {
				at = append(at, m.At)
				if m.Summary {
					summaries++
				}
			}
		}
		for i := 0; i+3 < len(at); i++ {
			if at[i+3].Sub(at[i]) < 5*time.Second {
				t.Errorf("%s: 4 messages within %v (bound: 3 per 5s): %v", ch, at[i+3].Sub(at[i]), at[i:i+4])
			}
		}
		if summaries == 0 {
			t.Errorf("%s: no summary message in a storm of %d", ch, incidents)
		}
		t.Logf("%s: %d messages (%d summaries) for %d incidents", ch, len(at), summaries, incidents)
	}
}

// TestWebhookPageIsSignedAndRetried: a step's webhook target gets the JSON
// event with a valid HMAC signature and the notification id as delivery id;
// a 503 from the receiver is retried.
func TestWebhookPageIsSignedAndRetried(t *testing.T) {
	type delivery struct {
		id, sig string
		ok      bool
		status  int
	}
	got := make(chan delivery, 10)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := webhook.Verify("hook-secret", r.Header.Get(webhook.HeaderTimestamp), body, r.Header.Get(webhook.HeaderSignature))
		status := http.StatusOK
		if calls.Add(1) == 1 {
			status = http.StatusServiceUnavailable
		}
		w.WriteHeader(status)
		got <- delivery{id: r.Header.Get(webhook.HeaderDelivery), sig: r.Header.Get(webhook.HeaderSignature), ok: ok, status: status}
	}))
	t.Cleanup(srv.Close)
	cfg := `
timezone: UTC
api_tokens: [{name: admin, token: "test-admin-token"}]
users: [{id: alice, email: alice@example.com, notify: []}]
policies:
  - id: hook
    steps: [{notify: [webhook:chat], escalate_after: 1h}]
services: [{id: checkout, policy: hook}]
integrations: [{name: events, key: "test-events-key", service: checkout}]
channels:
  webhooks: [{id: chat, url: "` + srv.URL + `/hook", secret: "hook-secret"}]
`
	c := testcluster.Start(t, 1, testcluster.Options{Config: cfg})
	pgTrigger(t, c, c.Nodes[0], "hook-1", testcluster.EventsKey)
	for i, want := range []int{http.StatusServiceUnavailable, http.StatusOK} {
		select {
		case d := <-got:
			if d.id != "n1-1-0" || !d.ok || d.status != want {
				t.Fatalf("delivery %d: %+v; want id n1-1-0, a valid signature, status %d", i, d, want)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("delivery %d did not arrive", i)
		}
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, c.Nodes[0], "hook-1")
		n := inc.Notifications
		return len(n) == 1 && n[0].Status == incident.NotifySent && n[0].Attempts == 2, fmt.Sprintf("%+v", n)
	})
}

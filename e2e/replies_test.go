package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
	"github.com/pagerd/pagerd/reply"
)

// Replies end to end: a real daemon pages by email to a real SMTP server
// (aiosmtpd), and swaks (from Debian) sends the engineer's reply to the
// daemon's own SMTP port; SMS replies arrive as signed Twilio webhooks.

func rpSwaks(t *testing.T, smtpAddr, from, to, data string) (int, string) {
	t.Helper()
	bin, err := exec.LookPath("swaks")
	if err != nil {
		t.Fatal("swaks is required (apt-get install swaks)")
	}
	host, port, _ := net.SplitHostPort(smtpAddr)
	file := filepath.Join(t.TempDir(), "reply.eml")
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--server", host, "--port", port, "--from", from, "--to", to,
		"--data", "@"+file, "--timeout", "30s").CombinedOutput()
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("run swaks: %v", err)
	}
	return 0, string(out)
}

// rpReply is an engineer's reply as a mail client writes it: new text on
// top, the page quoted below.
func rpReply(msgID, from, to, subject, text, quoted string) string {
	return "From: <" + from + ">\r\nTo: <" + to + ">\r\nSubject: Re: " + subject + "\r\nMessage-ID: <" + msgID + ">\r\n" +
		"Date: Sat, 21 Nov 2026 12:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n\r\n" +
		"On Sat, 21 Nov 2026 at 12:00, pagerd wrote:\r\n> " + strings.ReplaceAll(quoted, "\n", "\r\n> ") + "\r\n"
}

// rpPageEmail waits for the page email of a notification and returns its
// Reply-To address and subject.
func rpPageEmail(t *testing.T, c *testcluster.Cluster, box *pgMailbox, notification string) (string, string) {
	t.Helper()
	var replyTo, subject string
	c.WaitFor(20*time.Second, func() (bool, string) {
		msgs := box.byNotification(t)[notification]
		if len(msgs) == 0 {
			return false, "no page email for " + notification
		}
		replyTo = strings.Trim(msgs[0].header.Get("Reply-To"), "<>")
		subject = msgs[0].header.Get("Subject")
		return true, ""
	})
	return replyTo, subject
}

func TestEmailReplyAckStopsTheSecondStep(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "3s", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "reply-1", testcluster.EventsKey)
	inc := pgIncident(t, c, n, "reply-1")
	replyTo, subject := rpPageEmail(t, c, box, "n1-1-0")

	// A forged token (one character changed) is refused at RCPT and changes nothing.
	forged := []byte(replyTo)
	at := strings.IndexByte(replyTo, '@')
	forged[at-1] ^= 1
	if forged[at-1] < 'a' || forged[at-1] > 'z' {
		forged[at-1] = 'a' + (forged[at-1] % 26)
	}
	code, out := rpSwaks(t, n.SMTPAddr, "alice@example.com", string(forged), rpReply("forged@x", "alice@example.com", string(forged), subject, "ack", "page"))
	if code == 0 || !strings.Contains(out, "<** 550") {
		t.Fatalf("forged token: swaks exit %d, want a 550 at RCPT:\n%s", code, out)
	}
	if got := pgIncident(t, c, n, "reply-1"); got.Status != incident.Triggered {
		t.Fatalf("a forged reply changed the incident: %s", got.Status)
	}

	// The real reply: new text "ack", the quoted page below mentions resolve.
	code, out = rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo,
		rpReply("reply-1@mail.example.com", "alice@example.com", replyTo, subject, "ack", "Reply resolve to resolve INC-1"))
	if code != 0 {
		t.Fatalf("reply: swaks exit %d:\n%s", code, out)
	}
	got := pgIncident(t, c, n, "reply-1")
	if got.Status != incident.Acknowledged || got.AcknowledgedBy != "alice" {
		t.Fatalf("after the reply: status %s by %q, want acknowledged by alice (and not resolved)", got.Status, got.AcknowledgedBy)
	}
	found := false
	for _, e := range got.Timeline {
		if e.Type == incident.EntryAcknowledged && strings.Contains(e.Message, "via email") {
			found = true
		}
	}
	if !found {
		t.Errorf("timeline has no acknowledgement via email: %+v", got.Timeline)
	}
	// An auto-reply to the same address is dropped: accepted, nothing changes.
	auto := strings.Replace(rpReply("ooo@x", "alice@example.com", replyTo, subject, "resolve", "page"),
		"Subject:", "Auto-Submitted: auto-replied\r\nSubject:", 1)
	if code, out := rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo, auto); code != 0 {
		t.Fatalf("auto-reply: swaks exit %d:\n%s", code, out)
	}
	// The second step was due 3 s after the trigger. Absence cannot be
	// awaited: wait past the due time (plus a margin) and look.
	time.Sleep(time.Until(inc.CreatedAt.Add(4500 * time.Millisecond)))
	if msgs := box.byNotification(t)["n1-2-0"]; len(msgs) != 0 {
		t.Fatalf("the second step paged bob after alice acknowledged")
	}
	// Seq 2: step 0 started, then the acknowledgement; no second step.
	if got := pgIncident(t, c, n, "reply-1"); got.Status != incident.Acknowledged || got.Escalation.Seq != 2 || got.Escalation.Step != 0 {
		t.Fatalf("after the due time: status %s, step %d, seq %d; want acknowledged at step 0, seq 2",
			got.Status, got.Escalation.Step, got.Escalation.Seq)
	}
}

func TestEmailReplyWithoutQuorumGets451AndSucceedsOnRetry(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	leader := c.Leader()
	pgTrigger(t, c, leader, "quorum-1", testcluster.EventsKey)
	replyTo, subject := rpPageEmail(t, c, box, "n1-1-0")
	followers := c.Followers()
	survivor := followers[0]
	leader.Kill()
	followers[1].Kill()
	msg := rpReply("retry-1@mail.example.com", "alice@example.com", replyTo, subject, "ack", "page")
	code, out := rpSwaks(t, survivor.SMTPAddr, "alice@example.com", replyTo, msg)
	if code == 0 || !strings.Contains(out, "<** 451") {
		t.Fatalf("reply without quorum: swaks exit %d, want 451:\n%s", code, out)
	}
	// A forged Twilio webhook is refused 403 on the node it reached, even
	// without a leader to forward to.
	if code, out := rpTwilio(t, c, survivor, "+31612345003", "1a", "SMforged", false); code != http.StatusForbidden {
		t.Fatalf("unsigned SMS webhook without quorum: %d %s, want 403", code, out)
	}
	leader.Start()
	followers[1].Start()
	c.WaitReady(survivor)
	c.WaitFor(30*time.Second, func() (bool, string) {
		code, out := rpSwaks(t, survivor.SMTPAddr, "alice@example.com", replyTo, msg)
		return code == 0, "retry: " + out
	})
	// 250 came after the leader's commit; the survivor may be a follower
	// that applies it a moment later.
	c.WaitFor(10*time.Second, func() (bool, string) {
		got := pgIncident(t, c, survivor, "quorum-1")
		return got.Status == incident.Acknowledged && got.AcknowledgedBy == "alice",
			fmt.Sprintf("after the retry: %s by %q", got.Status, got.AcknowledgedBy)
	})
}

// rpTwilio posts an inbound SMS webhook, signed as Twilio does (or not).
func rpTwilio(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, from, body, sid string, sign bool) (int, string) {
	t.Helper()
	form := url.Values{"From": {from}, "To": {"+15550000000"}, "Body": {body}, "MessageSid": {sid}, "AccountSid": {"ACtest"}}
	headers := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if sign {
		headers["X-Twilio-Signature"] = reply.TwilioSignature("secret-token", "http://"+n.HTTPAddr+"/v1/sms/twilio", form)
	}
	code, out := c.Do(n, "POST", "/v1/sms/twilio", []byte(form.Encode()), headers)
	return code, string(out)
}

func TestSMSRepliesAckAndStopStart(t *testing.T) {
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	// public_url must be the node's own address: start, then apply a config naming it.
	c := testcluster.Start(t, 1, testcluster.Options{Config: fmt.Sprintf(pgConfig, "1h", "127.0.0.1:1", tw.URL)})
	n := c.Nodes[0]
	cfg := strings.Replace(fmt.Sprintf(pgConfig, "1h", "127.0.0.1:1", tw.URL),
		`api_base: "`+tw.URL+`"}`, `api_base: "`+tw.URL+`", public_url: "http://`+n.HTTPAddr+`"}`, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(path, []byte(cfg), 0o600)
	if code, out := c.Run(n, "config", "apply", path); code != 0 {
		t.Fatalf("config apply: %d %s", code, out)
	}
	pgTrigger(t, c, n, "sms-a", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 1, "no SMS yet" })
	waitSMSPageSent(t, c, n, "sms-a")

	if code, _ := rpTwilio(t, c, n, "+31612345003", "1a", "SM1", false); code != http.StatusForbidden {
		t.Fatalf("unsigned webhook: %d, want 403", code)
	}
	code, out := rpTwilio(t, c, n, "+31612345001", "1a", "SM2", true)
	if code != 200 || pgIncident(t, c, n, "sms-a").Status != incident.Triggered {
		t.Fatalf("1a from a phone that was not paged: %d %s; it must change nothing", code, out)
	}
	code, out = rpTwilio(t, c, n, "+31612345003", " 1 A ", "SM3", true)
	if code != 200 || !strings.Contains(out, "Acknowledged INC-1") {
		t.Fatalf("1a from the paged phone: %d %s", code, out)
	}
	if got := pgIncident(t, c, n, "sms-a"); got.Status != incident.Acknowledged || got.AcknowledgedBy != "carol" {
		t.Fatalf("after 1a: %s by %q", got.Status, got.AcknowledgedBy)
	}
	// Twilio retries the same MessageSid: it acts once.
	before := len(pgIncident(t, c, n, "sms-a").Timeline)
	rpTwilio(t, c, n, "+31612345003", "1a", "SM3", true)
	if after := len(pgIncident(t, c, n, "sms-a").Timeline); after != before {
		t.Fatalf("a retried MessageSid added %d timeline entries", after-before)
	}

	// STOP: the next page sends no SMS and says why.
	if code, out := rpTwilio(t, c, n, "+31612345003", "STOP", "SM4", true); code != 200 {
		t.Fatalf("STOP: %d %s", code, out)
	}
	pgTrigger(t, c, n, "sms-b", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) {
		inc := pgIncident(t, c, n, "sms-b")
		if len(inc.Notifications) != 1 || inc.Notifications[0].Status != incident.NotifyFailed {
			return false, fmt.Sprintf("notifications %+v", inc.Notifications)
		}
		return strings.Contains(inc.Notifications[0].Error, "STOP"), "error " + inc.Notifications[0].Error
	})
	if got := len(tw.Messages()); got != 1 {
		t.Fatalf("%d SMS sent after STOP, want still 1", got)
	}
	// START turns SMS back on.
	rpTwilio(t, c, n, "+31612345003", "START", "SM5", true)
	pgTrigger(t, c, n, "sms-c", "test-texts-key")
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 2, "no SMS after START" })
}

func TestReplyKeyRotationKeepsMailedTokensValid(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: fmt.Sprintf(pgConfig, "1h", box.addr, "http://127.0.0.1:1")})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "rotate-1", testcluster.EventsKey)
	replyTo, subject := rpPageEmail(t, c, box, "n1-1-0")
	code, out := c.Do(n, "POST", "/v1/reply-keys/rotate", nil, nil)
	var keys struct {
		Keys []struct {
			ID       int        `json:"id"`
			NotAfter *time.Time `json:"not_after"`
		} `json:"keys"`
	}
	json.Unmarshal(out, &keys)
	if code != http.StatusOK || len(keys.Keys) != 2 || keys.Keys[0].NotAfter == nil || keys.Keys[1].ID != 2 || keys.Keys[1].NotAfter != nil {
		t.Fatalf("rotate: %d %s; want key 1 retiring and key 2 current", code, out)
	}
	if strings.Contains(string(out), "secret") {
		t.Fatalf("rotate answer shows secrets: %s", out)
	}
	code2, out2 := rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo,
		rpReply("rot-1@mail.example.com", "alice@example.com", replyTo, subject, "ack", "page"))
	if code2 != 0 {
		t.Fatalf("reply with a token of the rotated-out key: swaks exit %d:\n%s", code2, out2)
	}
	if got := pgIncident(t, c, n, "rotate-1"); got.Status != incident.Acknowledged {
		t.Fatalf("status %s after a reply with the previous key's token", got.Status)
	}
}

package email

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// systemPython is Debian's interpreter, which has python3-aiosmtpd; the
// python3 on PATH may be a pyenv without it.
const systemPython = "/usr/bin/python3"

// aiosmtpd is a real SMTP server process (Python's aiosmtpd) storing every
// message it accepts in a Maildir.
type aiosmtpd struct {
	addr    string
	maildir string
}

// startAiosmtpd runs `python3 -m aiosmtpd` with the Mailbox handler on a free
// loopback port and waits until it accepts connections. A missing Python or
// aiosmtpd fails the test: a skipped test would hide that email delivery is
// untested on this machine.
func startAiosmtpd(t *testing.T) *aiosmtpd {
	t.Helper()
	if out, err := exec.Command(systemPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("email tests need %s with aiosmtpd (apt-get install python3-aiosmtpd): %v: %s", systemPython, err, out)
	}
	dir := filepath.Join(t.TempDir(), "maildir")
	addr := freeAddr(t)
	var stderr bytes.Buffer
	cmd := exec.Command(systemPython, "-m", "aiosmtpd", "-n", "-l", addr, "-c", "aiosmtpd.handlers.Mailbox", dir)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd (apt-get install python3-aiosmtpd): %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	waitListening(t, addr, exited, &stderr)
	return &aiosmtpd{addr: addr, maildir: dir}
}

// freeAddr asks the kernel for a free loopback port. Another process could
// take it before aiosmtpd binds; waitListening then reports the exit.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// waitListening polls addr until it accepts a connection, the process exits,
// or a deadline passes. Each poll is a real connection attempt, so there is
// no guessed sleep: the ticker only spaces out the attempts.
func waitListening(t *testing.T, addr string, exited <-chan error, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("aiosmtpd exited before listening on %s: %v\n%s", addr, err, stderr.String())
		case <-deadline.C:
			t.Fatalf("aiosmtpd not listening on %s after 15s\n%s", addr, stderr.String())
		case <-tick.C:
		}
	}
}

// messages returns the raw messages in the Maildir's new/ folder.
func (a *aiosmtpd) messages(t *testing.T) [][]byte {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(a.maildir, "new"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(a.maildir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func parseMail(t *testing.T, raw []byte) (mail.Header, string) {
	t.Helper()
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse stored message: %v\n%s", err, raw)
	}
	p, err := r.NextPart()
	if err != nil {
		t.Fatalf("read body part: %v", err)
	}
	body, err := io.ReadAll(p.Body)
	if err != nil {
		t.Fatal(err)
	}
	return r.Header, string(body)
}

func TestSendToAiosmtpd(t *testing.T) {
	srv := startAiosmtpd(t)
	s := newTestSender(t, srv.addr)
	m := testMessage()
	m.Incident.Title = "HighErrorRate – Zahlungsfehler ✓"

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rcpt, err := s.Send(ctx, m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if rcpt.ProviderID != "<n-42-0-1-alice-email@example.com>" {
		t.Fatalf("ProviderID %q", rcpt.ProviderID)
	}
	msgs := srv.messages(t)
	if len(msgs) != 1 {
		t.Fatalf("aiosmtpd stored %d messages, want 1", len(msgs))
	}
	h, body := parseMail(t, msgs[0])

	if id, _ := h.MessageID(); id != "n-42-0-1-alice-email@example.com" {
		t.Errorf("Message-ID %q", id)
	}
	want := map[string]string{
		"Auto-Submitted":            "auto-generated",
		"X-Pagerd-Incident":         "INC-42",
		"X-Pagerd-Notification":     "n-42-0-1-alice-email",
		"Content-Transfer-Encoding": "quoted-printable",
		"Mime-Version":              "1.0",
		// Envelope as seen by the server, added by aiosmtpd's Mailbox.
		"X-Mailfrom": "pagerd@example.com",
		"X-Rcptto":   "alice@example.com",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if h.Has("Precedence") {
		t.Error("a page must not be marked Precedence: bulk")
	}
	if subj, _ := h.Subject(); subj != "[INC-42] sev1 checkout: HighErrorRate – Zahlungsfehler ✓" {
		t.Errorf("Subject %q", subj)
	}
	if rt, err := h.AddressList("Reply-To"); err != nil || len(rt) != 1 || rt[0].Address != "r+tok123@pager.example.com" {
		t.Errorf("Reply-To %v %v", rt, err)
	}
	if to, err := h.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "alice@example.com" || to[0].Name != "Alice Jansen" {
		t.Errorf("To %v %v", to, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(fixedNow()) {
		t.Errorf("Date %v %v, want %v", d, err, fixedNow())
	}
	if ct, params, _ := h.ContentType(); ct != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type %s %v", ct, params)
	}
	for _, s := range []string{
		"INC-42 sev1 checkout: HighErrorRate – Zahlungsfehler ✓",
		"Dedup key:  grp-abc",
		"alertname=HighErrorRate",
		"summary: 5xx above 5%",
		"Runbook: https://runbooks.example.com/checkout/errors",
		"reply to this email with ack, resolve or escalate",
	} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q:\n%s", s, body)
		}
	}

	// A resend of the same notification (say, after a failover) is the same
	// message to the recipient's client: same Message-ID.
	if _, err := s.Send(ctx, m); err != nil {
		t.Fatalf("resend: %v", err)
	}
	msgs = srv.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("stored %d messages after resend, want 2", len(msgs))
	}
	for _, raw := range msgs {
		h, _ := parseMail(t, raw)
		if id, _ := h.MessageID(); id != "n-42-0-1-alice-email@example.com" {
			t.Errorf("resend Message-ID %q", id)
		}
	}
}

package mailserver

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
	"github.com/pagerd/pagerd/reply/replytest"
)

const (
	domain    = "pager.example.com"
	aliceMail = "alice@example.com"
)

var t0 = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

// sentMail is one call of Options.Confirm.
type sentMail struct{ to, subject, body, inReplyTo string }

// recorder collects confirmations.
type recorder struct {
	mu   sync.Mutex
	sent []sentMail
	ch   chan sentMail
	fail error
}

func (r *recorder) confirm(_ context.Context, to, subject, body, inReplyTo string) error {
	c := sentMail{to, subject, body, inReplyTo}
	r.mu.Lock()
	r.sent = append(r.sent, c)
	err := r.fail
	r.mu.Unlock()
	r.ch <- c
	return err
}

func (r *recorder) all() []sentMail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentMail(nil), r.sent...)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	be     *replytest.Backend
	srv    *Server
	rec    *recorder
	logs   *syncBuffer
	reg    *prometheus.Registry
	port   string
	token  string // the Reply-To token of alice's page email for INC-42
	closed bool
	served chan error
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	swaksPath(t) // fail early, before anything starts
	f := &fixture{be: replytest.New(), rec: &recorder{ch: make(chan sentMail, 100)}, logs: &syncBuffer{},
		reg: prometheus.NewRegistry(), served: make(chan error, 1)}
	f.be.Now = func() time.Time { return t0 }
	f.be.AddPage(reply.Page{Notification: "n42-1-1", Incident: 42, Title: "HighErrorRate", Service: "checkout",
		Severity: "sev1", User: "alice", Channel: "email", To: aliceMail, SentAt: t0.Add(-5 * time.Minute)})
	tok, err := f.be.Token("n42-1-1", t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f.token = tok
	opts.Domain = domain
	opts.Backend = f.be
	opts.Confirm = f.rec.confirm
	opts.Now = func() time.Time { return t0 }
	opts.Logger = slog.New(slog.NewTextHandler(f.logs, nil))
	opts.Metrics = f.reg
	f.srv, err = New(opts)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { f.served <- f.srv.Serve(l) }()
	_, f.port, _ = net.SplitHostPort(l.Addr().String())
	t.Cleanup(func() {
		f.close(t)
		if t.Failed() {
			t.Logf("server log:\n%s", f.logs)
		}
	})
	return f
}

// close stops the server, which waits for confirmations in flight, so
// afterwards f.rec.all() is final.
func (f *fixture) close(t *testing.T) {
	t.Helper()
	if f.closed {
		return
	}
	f.closed = true
	if err := f.srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case err := <-f.served:
		if err != nil {
			t.Errorf("Serve returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Serve did not return after Close")
	}
}

func swaksPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"swaks", "/usr/bin/swaks"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("swaks is required for the SMTP tests and was not found: apt-get install swaks")
	return ""
}

// swaks sends data (a whole message) to rcpts and returns swaks' exit code
// and transcript.
func (f *fixture) swaks(t *testing.T, data string, from string, rcpts []string, extra ...string) (int, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "msg.eml")
	if err := os.WriteFile(file, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--server", "127.0.0.1", "--port", f.port, "--helo", "client.example.net",
		"--from", from, "--to", strings.Join(rcpts, ","), "--data", "@" + file, "--suppress-data", "--timeout", "30s"}, extra...)
	cmd := exec.Command(swaksPath(t), args...)
	out, err := cmd.CombinedOutput()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatalf("running swaks: %v", err)
	}
	return code, string(out)
}

func (f *fixture) send(t *testing.T, data string) (int, string) {
	t.Helper()
	return f.swaks(t, data, aliceMail, []string{f.token + "@" + domain})
}

// mustSend sends and requires a 250 for the message.
func (f *fixture) mustSend(t *testing.T, data string) string {
	t.Helper()
	code, out := f.send(t, data)
	if code != 0 {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	return out
}

// message builds a reply with the given extra header lines and body.
func message(msgID, from string, headers []string, body string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	b.WriteString("To: pagerd <reply@" + domain + ">\r\n")
	b.WriteString("Subject: Re: [INC-42] sev1 checkout: HighErrorRate\r\n")
	b.WriteString("Date: Sat, 21 Nov 2026 12:00:00 +0000\r\n")
	if msgID != "" {
		fmt.Fprintf(&b, "Message-ID: <%s>\r\n", msgID)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.String()
}

func (f *fixture) incident(t *testing.T) incident.Incident {
	t.Helper()
	inc, ok := f.be.Incident(42)
	if !ok {
		t.Fatal("no INC-42")
	}
	return inc
}

// nextConfirmation waits for the next confirmation.
func (f *fixture) nextConfirmation(t *testing.T) sentMail {
	t.Helper()
	select {
	case c := <-f.rec.ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no confirmation sent")
	}
	return sentMail{}
}

func (f *fixture) count(t *testing.T, outcome string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "pagerd_email_replies_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestAckActsAsPagedUserAndConfirms(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m1@mail.example.com", "Alice Jansen <Alice.Jansen@Example.COM>", nil,
		"Ack, looking now\n\nOn Sat, 21 Nov 2026 at 12:00, pagerd <pagerd@example.com> wrote:\n> INC-42 sev1 checkout: HighErrorRate\n"))
	inc := f.incident(t)
	if inc.Status != incident.Acknowledged || inc.AcknowledgedBy != "alice" {
		t.Fatalf("INC-42 %s by %q", inc.Status, inc.AcknowledgedBy)
	}
	want := reply.Request{Channel: "email", From: "Alice.Jansen@Example.COM", User: "alice", Incident: 42,
		Kind: incident.Ack, DedupID: "email:m1@mail.example.com/" + f.token, Note: "Ack, looking now"}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0] != want {
		t.Fatalf("acts %+v\nwant %+v", acts, want)
	}
	c := f.nextConfirmation(t)
	if c.to != aliceMail || c.subject != "Re: [INC-42] sev1 checkout: HighErrorRate" || c.inReplyTo != "m1@mail.example.com" ||
		!strings.HasPrefix(c.body, "Acknowledged INC-42 sev1 checkout: HighErrorRate\n") ||
		!strings.Contains(c.body, "Reply received from Alice.Jansen@Example.COM") {
		t.Fatalf("confirmation %+v", c)
	}
	if got := f.count(t, OutcomeActed); got != 1 {
		t.Fatalf("acted counter %v", got)
	}
}

func TestNewAckAboveQuotedResolveOnlyAcknowledges(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m2@mail.example.com", aliceMail, nil,
		"ack\n\n> resolve\n> INC-42 sev1 checkout: HighErrorRate\n\n-- \nAlice\nresolve\n"))
	inc := f.incident(t)
	if inc.Status != incident.Acknowledged {
		t.Fatalf("INC-42 %s", inc.Status)
	}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0].Kind != incident.Ack {
		t.Fatalf("acts %+v", acts)
	}
}

func TestResolveAndEscalate(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m3@x", aliceMail, nil, "escalate please\n"))
	if c := f.nextConfirmation(t); !strings.HasPrefix(c.body, "Escalated INC-42 sev1 checkout: HighErrorRate") {
		t.Fatalf("confirmation %q", c.body)
	}
	// An empty body: the subject counts.
	data := strings.Replace(message("m4@x", aliceMail, nil, ""), "Subject: Re: [INC-42] sev1 checkout: HighErrorRate", "Subject: Re: resolved", 1)
	f.mustSend(t, data)
	if c := f.nextConfirmation(t); !strings.HasPrefix(c.body, "Resolved INC-42") {
		t.Fatalf("confirmation %q", c.body)
	}
	if inc := f.incident(t); inc.Status != incident.Resolved || inc.ResolvedBy != "alice" {
		t.Fatalf("INC-42 %s by %s", inc.Status, inc.ResolvedBy)
	}
}

func TestForgedTokenRefusedAtRcpt(t *testing.T) {
	f := newFixture(t, Options{})
	forged := []byte(f.token)
	last := len(forged) - 2
	forged[last] = map[bool]byte{true: 'b', false: 'a'}[forged[last] == 'a']
	for name, rcpt := range map[string]string{
		"forged":      string(forged) + "@" + domain,
		"garbage":     "postmaster@" + domain,
		"other id":    "n43-1-1" + f.token[len("n42-1-1"):] + "@" + domain,
		"upper-cased": strings.ToUpper(string(forged)) + "@" + domain,
	} {
		t.Run(name, func(t *testing.T) {
			code, out := f.swaks(t, message("m5@x", aliceMail, nil, "ack\n"), aliceMail, []string{rcpt})
			if code != 24 || !strings.Contains(out, "<** 550 5.7.1") {
				t.Fatalf("swaks exit %d (want 24, no RCPT accepted):\n%s", code, out)
			}
		})
	}
	code, out := f.swaks(t, message("m6@x", aliceMail, nil, "ack\n"), aliceMail, []string{f.token + "@elsewhere.example.com"})
	if code != 24 || !strings.Contains(out, "<** 550 5.1.1") {
		t.Fatalf("other domain: swaks exit %d:\n%s", code, out)
	}
	if f.be.ActCalls() != 0 || f.incident(t).Status != incident.Triggered {
		t.Fatal("a refused recipient acted")
	}
	if got := f.count(t, OutcomeRefused); got != 5 {
		t.Fatalf("refused counter %v", got)
	}
}

func TestExpiredTokenRefusedAtRcpt(t *testing.T) {
	f := newFixture(t, Options{})
	old, err := f.be.Token("n42-1-1", t0.Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	code, out := f.swaks(t, message("m7@x", aliceMail, nil, "ack\n"), aliceMail, []string{old + "@" + domain})
	if code != 24 || !strings.Contains(out, "<** 550 5.7.1 This reply address has expired") {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	// A token of a page the state no longer has.
	gone, _ := f.be.Token("n99-1-1", t0.Add(time.Hour))
	code, out = f.swaks(t, message("m8@x", aliceMail, nil, "ack\n"), aliceMail, []string{gone + "@" + domain})
	if code != 24 || !strings.Contains(out, "<** 550 5.7.1") {
		t.Fatalf("unknown page: swaks exit %d:\n%s", code, out)
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestUpperCasedTokenActs(t *testing.T) {
	f := newFixture(t, Options{})
	code, out := f.swaks(t, message("m9@x", aliceMail, nil, "ack\n"), aliceMail, []string{strings.ToUpper(f.token) + "@PAGER.EXAMPLE.COM"})
	if code != 0 {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0].DedupID != "email:m9@x/"+f.token {
		t.Fatalf("acts %+v", acts)
	}
}

func TestAutoRepliesAndBouncesAreDropped(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m10@x", aliceMail, []string{"Auto-Submitted: auto-replied"}, "ack\n"))
	// A bounce: null envelope sender.
	code, out := f.swaks(t, message("m11@x", "MAILER-DAEMON@mail.example.com", nil, "ack\n"), "<>", []string{f.token + "@" + domain})
	if code != 0 {
		t.Fatalf("bounce: swaks exit %d:\n%s", code, out)
	}
	f.close(t)
	if f.be.ActCalls() != 0 || f.incident(t).Status != incident.Triggered {
		t.Fatal("an auto-reply or bounce acted")
	}
	if c := f.rec.all(); len(c) != 0 {
		t.Fatalf("confirmations sent: %+v", c)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "auto-reply: Auto-Submitted") || !strings.Contains(logs, "bounce: null envelope sender") {
		t.Fatalf("drop reasons not logged:\n%s", logs)
	}
	if got := f.count(t, OutcomeDropped); got != 2 {
		t.Fatalf("dropped counter %v", got)
	}
}

func TestTransientAnswers451ThenRetrySucceeds(t *testing.T) {
	f := newFixture(t, Options{})
	data := message("m12@x", aliceMail, nil, "ack\n")
	f.be.SetTransient(true)
	code, out := f.send(t, data)
	if code != 26 || !strings.Contains(out, "<** 451 4.3.0") {
		t.Fatalf("swaks exit %d (want 26, DATA refused):\n%s", code, out)
	}
	if f.incident(t).Status != incident.Triggered {
		t.Fatal("changed while transient")
	}
	f.be.SetTransient(false)
	f.mustSend(t, data) // the sender's retry
	if acts := f.be.Acts(); len(acts) != 1 || f.incident(t).Status != incident.Acknowledged {
		t.Fatalf("after retry: acts %+v, status %s", acts, f.incident(t).Status)
	}
	f.close(t)
	if c := f.rec.all(); len(c) != 1 {
		t.Fatalf("%d confirmations, want 1 (none for the 451)", len(c))
	}
	if f.count(t, OutcomeTransient) != 1 || f.count(t, OutcomeActed) != 1 {
		t.Fatal("counters")
	}
}

func TestOversizedMessageGets552(t *testing.T) {
	f := newFixture(t, Options{MaxMessageBytes: 64 << 10})
	body := "ack\n" + strings.Repeat(strings.Repeat("x", 70)+"\n", 1200) // ~85 KB
	code, out := f.send(t, message("m13@x", aliceMail, nil, body))
	if code != 26 || !strings.Contains(out, "<** 552 5.3.4") {
		t.Fatalf("swaks exit %d (want 26):\n%.2000s", code, out)
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("an oversized message acted")
	}
	// The connection is still in order and a normal message still works.
	f.mustSend(t, message("m14@x", aliceMail, nil, "ack\n"+strings.Repeat(strings.Repeat("x", 70)+"\n", 500)))
	if f.incident(t).Status != incident.Acknowledged {
		t.Fatal("not acknowledged")
	}
	if f.count(t, OutcomeTooLarge) != 1 {
		t.Fatal("too_large counter")
	}
}

func TestDefaultSizeLimit(t *testing.T) {
	f := newFixture(t, Options{})
	if !strings.Contains(func() string { _, out := f.send(t, message("m15@x", aliceMail, nil, "hello\n")); return out }(),
		"SIZE "+strconv.Itoa(reply.MaxEmailSize)) {
		t.Fatal("SIZE not advertised as reply.MaxEmailSize")
	}
	body := "ack\n" + strings.Repeat(strings.Repeat("y", 98)+"\n", reply.MaxEmailSize/100+10)
	code, out := f.send(t, message("m16@x", aliceMail, nil, body))
	if code != 26 || !strings.Contains(out, "<** 552 5.3.4") {
		t.Fatalf("swaks exit %d:\n%.2000s", code, out[max(0, len(out)-2000):])
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestDuplicateMessageActsOnce(t *testing.T) {
	f := newFixture(t, Options{})
	data := message("m17@x", aliceMail, nil, "ack\n")
	f.mustSend(t, data)
	f.mustSend(t, data)
	if acts := f.be.Acts(); len(acts) != 1 || f.be.ActCalls() != 2 {
		t.Fatalf("acts %d, calls %d", len(acts), f.be.ActCalls())
	}
	// Without a Message-ID the message's bytes are the key.
	noID := message("", aliceMail, nil, "resolve\n")
	f.mustSend(t, noID)
	f.mustSend(t, noID)
	acts := f.be.Acts()
	if len(acts) != 2 || !strings.HasPrefix(acts[1].DedupID, "email:sha256:") || !strings.HasSuffix(acts[1].DedupID, "/"+f.token) {
		t.Fatalf("acts %+v", acts)
	}
	f.close(t)
	if c := f.rec.all(); len(c) != 2 {
		t.Fatalf("%d confirmations, want 2 (none for duplicates)", len(c))
	}
	if f.count(t, OutcomeDuplicate) != 2 {
		t.Fatal("duplicate counter")
	}
}

func TestConflictsAreExplainedAnd250(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m18@x", aliceMail, nil, "ack\n"))
	f.nextConfirmation(t)
	// The first ack won; a later one (a new message) is refused, mail accepted.
	f.mustSend(t, message("m19@x", aliceMail, nil, "acknowledged\n"))
	c := f.nextConfirmation(t)
	if !strings.HasPrefix(c.body, "Cannot acknowledge INC-42: already acknowledged by alice at 2026-11-21T12:00:00Z.") {
		t.Fatalf("confirmation %q", c.body)
	}
	inc := f.incident(t)
	resolvedAt := t0.Add(-time.Minute)
	inc.Status, inc.ResolvedBy, inc.ResolvedAt = incident.Resolved, "bob", &resolvedAt
	f.be.SetIncident(inc)
	f.mustSend(t, message("m20@x", aliceMail, nil, "resolve\n"))
	c = f.nextConfirmation(t)
	if !strings.HasPrefix(c.body, "Cannot resolve INC-42: already resolved by bob at 2026-11-21T11:59:00Z.") ||
		c.subject != "Re: [INC-42] sev1 checkout: HighErrorRate" {
		t.Fatalf("confirmation %+v", c)
	}
	if f.count(t, OutcomeConflict) != 2 {
		t.Fatal("conflict counter")
	}
}

// TestRedeliveredRefusalIsNotExplainedTwice: a refused reply delivered
// again (same Message-ID, the state answers ErrReplayed) is accepted 250
// and counted a duplicate; its explanation went out the first time.
func TestRedeliveredRefusalIsNotExplainedTwice(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m30@x", aliceMail, nil, "ack\n"))
	f.nextConfirmation(t)
	refused := message("m31@x", aliceMail, nil, "ack again\n")
	f.mustSend(t, refused)
	if c := f.nextConfirmation(t); !strings.HasPrefix(c.body, "Cannot acknowledge INC-42") {
		t.Fatalf("confirmation %q", c.body)
	}
	f.mustSend(t, refused)
	f.close(t) // waits for confirmations in flight
	if sent := f.rec.all(); len(sent) != 2 {
		t.Fatalf("%d confirmations, want 2 (the ack, one explanation): %+v", len(sent), sent)
	}
	if f.count(t, OutcomeConflict) != 1 || f.count(t, OutcomeDuplicate) != 1 {
		t.Fatalf("conflict %v duplicate %v, want 1 and 1", f.count(t, OutcomeConflict), f.count(t, OutcomeDuplicate))
	}
}

func TestNoCommandIsExplained(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m21@x", aliceMail, nil, "Thanks, on it\n\n> ack\n"))
	c := f.nextConfirmation(t)
	if !strings.Contains(c.body, "Your reply to INC-42 did nothing: its first line (Thanks, on it) is not a command.") {
		t.Fatalf("confirmation %q", c.body)
	}
	if f.be.ActCalls() != 0 {
		t.Fatal("acted")
	}
}

func TestConfirmFailureChangesNothing(t *testing.T) {
	f := newFixture(t, Options{})
	f.rec.fail = errors.New("relay down")
	f.mustSend(t, message("m22@x", aliceMail, nil, "ack\n"))
	f.close(t)
	if f.incident(t).Status != incident.Acknowledged {
		t.Fatal("not acknowledged")
	}
	if !strings.Contains(f.logs.String(), "confirmation not sent") {
		t.Fatal("confirmation failure not logged")
	}
}

func TestOneRecipientPerMessage(t *testing.T) {
	f := newFixture(t, Options{})
	f.be.AddPage(reply.Page{Notification: "n43-1-1", Incident: 43, User: "alice", Channel: "email", To: aliceMail})
	other, _ := f.be.Token("n43-1-1", t0.Add(time.Hour))
	code, out := f.swaks(t, message("m23@x", aliceMail, nil, "ack\n"), aliceMail,
		[]string{f.token + "@" + domain, other + "@" + domain})
	if code != 0 || !strings.Contains(out, "<** 452 4.5.3") {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0].Incident != 42 {
		t.Fatalf("acts %+v", acts)
	}
	// The client sends again for the other address.
	code, out = f.swaks(t, message("m23@x", aliceMail, nil, "ack\n"), aliceMail, []string{other + "@" + domain})
	if code != 0 {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	if acts := f.be.Acts(); len(acts) != 2 || acts[1].Incident != 43 || acts[1].DedupID != "email:m23@x/"+other {
		t.Fatalf("acts %+v", acts)
	}
}

func TestTooManyRefusedRecipients(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			opts, extra := Options{}, []string(nil)
			if useTLS {
				opts.TLS, extra = selfSigned(t), []string{"--tls"}
			}
			f := newFixture(t, opts)
			var rcpts []string
			for i := 0; i < maxRefusedRcpts; i++ {
				rcpts = append(rcpts, fmt.Sprintf("guess%d@%s", i, domain))
			}
			rcpts = append(rcpts, f.token+"@"+domain) // valid, but too late
			code, out := f.swaks(t, message("m24@x", aliceMail, nil, "ack\n"), aliceMail, rcpts, extra...)
			// Closed after the 421: swaks' QUIT gets no 221. Over TLS,
			// swaks (Net::SSLeay) may die of SIGPIPE writing that QUIT
			// instead of exiting 24.
			refused, closed := "<** 550 5.7.1", "Remote host closed connection"
			if useTLS {
				refused, closed = "<~* 550 5.7.1", "<~* 421 4.7.0"
			}
			if (code != 24 && !(useTLS && code == -1)) || strings.Count(out, refused) != maxRefusedRcpts ||
				!strings.Contains(out, "421 4.7.0 Too many refused recipients") || !strings.Contains(out, closed) ||
				strings.Contains(out, " 221 ") {
				t.Fatalf("swaks exit %d:\n%s", code, out)
			}
			if f.be.ActCalls() != 0 {
				t.Fatal("acted")
			}
		})
	}
}

func TestStartTLS(t *testing.T) {
	f := newFixture(t, Options{TLS: selfSigned(t)})
	code, out := f.swaks(t, message("m25@x", aliceMail, nil, "ack\n"), aliceMail, []string{f.token + "@" + domain}, "--tls")
	if code != 0 || !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "TLS started") {
		t.Fatalf("swaks exit %d:\n%s", code, out)
	}
	if f.incident(t).Status != incident.Acknowledged {
		t.Fatal("not acknowledged over TLS")
	}
}

func TestNewValidates(t *testing.T) {
	be := replytest.New()
	if _, err := New(Options{Domain: domain}); err == nil {
		t.Error("no Backend accepted")
	}
	if _, err := New(Options{Backend: be}); err == nil {
		t.Error("no Domain accepted")
	}
	if _, err := New(Options{Backend: be, Domain: domain, MaxMessageBytes: -1}); err == nil {
		t.Error("negative size accepted")
	}
	s, err := New(Options{Backend: be, Domain: domain, MaxMessageBytes: 1 << 30})
	if err != nil || s.opts.MaxMessageBytes != reply.MaxEmailSize || s.Addr() != nil {
		t.Fatalf("New: %v, max %d", err, s.opts.MaxMessageBytes)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(l); err == nil {
		t.Fatal("Serve after Close succeeded")
	}
}

func TestListenAndServeAndAddr(t *testing.T) {
	s, err := New(Options{Backend: replytest.New(), Domain: domain, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	select {
	case <-s.listening:
	case err := <-done:
		t.Fatalf("ListenAndServe: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("never listening")
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "220 "+domain) {
		t.Fatalf("greeting %q", buf[:n])
	}
	c.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
}

func selfSigned(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: domain}, DNSNames: []string{domain},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

func TestSessionLifetime(t *testing.T) {
	f := newFixture(t, Options{MaxSessionDuration: 200 * time.Millisecond})
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", f.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := fmt.Fprintf(c, "EHLO client.example.net\r\n"); err != nil {
		t.Fatal(err)
	}
	// Keep quiet: the server must close the connection itself.
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v (read %q)", err, got)
	}
	if !strings.Contains(string(got), "250 SIZE") {
		t.Fatalf("read %q", got)
	}
}

// TestConnectionCap: past MaxConns a connection is answered 421 and closed
// at once; a slot freed by a closing client serves the next one (swaks).
func TestConnectionCap(t *testing.T) {
	f := newFixture(t, Options{MaxConns: 2})
	greet := func() (net.Conn, string) {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", f.port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("no greeting: %v", err)
		}
		return c, line
	}
	held := make([]net.Conn, 2)
	for i := range held {
		c, line := greet()
		defer c.Close()
		if !strings.HasPrefix(line, "220 ") {
			t.Fatalf("connection %d greeted %q, want 220", i+1, line)
		}
		held[i] = c
	}
	over, line := greet()
	if !strings.HasPrefix(line, "421 4.3.2 ") {
		t.Fatalf("connection past the cap greeted %q, want 421", line)
	}
	if _, err := bufio.NewReader(over).ReadByte(); err == nil {
		t.Fatal("connection past the cap was not closed")
	}
	over.Close()
	if got := f.count(t, OutcomeTooManyConns); got != 1 {
		t.Fatalf("too_many_connections counter %v, want 1", got)
	}
	held[0].Close()
	// The freed slot is given back when the server sees the close; swaks
	// may race it, so retry a 421 until the slot is free.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := f.send(t, message("cap1@mail.example.com", aliceMail, nil, "ack\n"))
		if code == 0 {
			break
		}
		if time.Now().After(deadline) || !strings.Contains(out, "421") {
			t.Fatalf("swaks after a slot was freed: exit %d:\n%s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if inc := f.incident(t); inc.Status != incident.Acknowledged {
		t.Fatalf("INC-42 %s after the reply", inc.Status)
	}
}

// Spec §5.5: "sev3" as the first line sets the severity as the paged user.
func TestSeverityReply(t *testing.T) {
	f := newFixture(t, Options{})
	f.mustSend(t, message("m9@x", aliceMail, nil, "sev3 - only the batch queue is slow\n\n> INC-42 sev1 checkout: HighErrorRate\n"))
	if c := f.nextConfirmation(t); !strings.HasPrefix(c.body, "Severity set: INC-42 sev3 checkout: HighErrorRate") {
		t.Fatalf("confirmation %q", c.body)
	}
	if inc := f.incident(t); inc.Severity != "sev3" || inc.SeveritySetBy != "alice" || inc.Status != incident.Triggered {
		t.Fatalf("INC-42 %s set by %q, %s", inc.Severity, inc.SeveritySetBy, inc.Status)
	}
	if acts := f.be.Acts(); len(acts) != 1 || acts[0].Kind != reply.ActionSeverity || acts[0].Severity != "sev3" {
		t.Fatalf("acts %+v", acts)
	}
}

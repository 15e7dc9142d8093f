package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

func fixedNow() time.Time { return time.Date(2026, 11, 25, 18, 0, 5, 0, time.UTC) }

func newTestSender(t *testing.T, addr string) *Sender {
	t.Helper()
	s, err := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com", ReplyDomain: "pager.example.com"},
		Options{Now: fixedNow, HelloName: "pagerd-test.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testMessage() *notify.Message {
	return &notify.Message{
		ID:      "n-42-0-1-alice-email",
		User:    config.User{ID: "alice", Name: "Alice Jansen", Email: "alice@example.com"},
		ReplyTo: "r+tok123@pager.example.com",
		Step:    0, Loop: 1,
		Incident: &incident.Incident{
			ID: 42, Key: "INC-42", Title: "HighErrorRate", Service: "checkout", Severity: "sev1",
			Status: incident.Triggered, DedupKey: "grp-abc", AlertCount: 1,
			Alerts: []incident.Alert{{
				Fingerprint: "f1", Status: "firing",
				Labels:      map[string]string{"alertname": "HighErrorRate"},
				Annotations: map[string]string{"summary": "5xx above 5%", "runbook_url": "https://runbooks.example.com/checkout/errors"},
			}},
		},
	}
}

// backend is a go-smtp server backend whose answers a test scripts: a real
// SMTP implementation, used where aiosmtpd cannot be told to refuse.
type backend struct {
	mailErr, rcptErr, dataErr error

	mu       sync.Mutex
	messages []string
	tls      []bool
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, c: c}, nil
}

type session struct {
	b *backend
	c *smtp.Conn
}

func (s *session) Reset()                                    {}
func (s *session) Logout() error                             { return nil }
func (s *session) Mail(string, *smtp.MailOptions) error      { return s.b.mailErr }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error { return s.b.rcptErr }
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	_, isTLS := s.c.TLSConnectionState()
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.messages = append(s.b.messages, string(raw))
	s.b.tls = append(s.b.tls, isTLS)
	return nil
}

func startGoSMTP(t *testing.T, be *backend, tlsCfg *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.TLSConfig = tlsCfg
	srv.AllowInsecureAuth = true
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return l.Addr().String()
}

func sendCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSMTPReplyClassification(t *testing.T) {
	cases := []struct {
		name      string
		be        *backend
		retryable bool
		stage     string
	}{
		{"RCPT 550", &backend{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}}, false, "RCPT TO"},
		{"RCPT 451", &backend{rcptErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}}, true, "RCPT TO"},
		{"MAIL 421", &backend{mailErr: &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Shutting down"}}, true, "MAIL FROM"},
		{"DATA 554", &backend{dataErr: &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Rejected as spam"}}, false, "end of DATA"},
		{"DATA 452", &backend{dataErr: &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "Out of storage"}}, true, "end of DATA"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newTestSender(t, startGoSMTP(t, c.be, nil))
			_, err := s.Send(sendCtx(t), testMessage())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if got := notify.IsRetryable(err); got != c.retryable {
				t.Fatalf("IsRetryable(%v) = %v, want %v", err, got, c.retryable)
			}
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				t.Fatalf("SMTP reply lost from chain: %v", err)
			}
			if !strings.Contains(err.Error(), c.stage) || !strings.Contains(err.Error(), se.Message) {
				t.Fatalf("error %q does not name stage %q and the relay's text", err, c.stage)
			}
		})
	}
}

func TestSendGoSMTPPlain(t *testing.T) {
	be := &backend{}
	s := newTestSender(t, startGoSMTP(t, be, nil))
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if len(be.messages) != 1 || be.tls[0] {
		t.Fatalf("messages %d, tls %v", len(be.messages), be.tls)
	}
	if !strings.Contains(be.messages[0], "\r\nAuto-Submitted: auto-generated\r\n") {
		t.Fatalf("header lines not CRLF or missing:\n%q", be.messages[0])
	}
}

func TestSendUsesSTARTTLSWhenOffered(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &backend{}
	addr := startGoSMTP(t, be, &tls.Config{Certificates: []tls.Certificate{cert}})
	s, err := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com"},
		Options{Now: fixedNow, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if len(be.tls) != 1 || !be.tls[0] {
		t.Fatalf("message not sent over TLS: %v", be.tls)
	}

	// A certificate we do not trust fails the send instead of falling back
	// to plain text.
	s2, _ := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com"}, Options{Now: fixedNow})
	if _, err := s2.Send(sendCtx(t), testMessage()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("untrusted certificate: err = %v", err)
	}
	if len(be.messages) != 1 {
		t.Fatalf("message delivered despite failed TLS")
	}
}

func TestSendHonoursContextDeadline(t *testing.T) {
	// A peer that accepts TCP but never greets: only ctx can end the wait.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	}()
	s := newTestSender(t, l.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Send(ctx, testMessage())
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !notify.IsRetryable(err) {
		t.Fatalf("err = %v; want retryable deadline exceeded", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("Send ignored the deadline (%v)", time.Since(start))
	}
}

func TestSendConnectionRefusedIsRetryable(t *testing.T) {
	s := newTestSender(t, freeAddr(t))
	_, err := s.Send(sendCtx(t), testMessage())
	if err == nil || !notify.IsRetryable(err) || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("err = %v", err)
	}
}

func TestSendInvalidMessageIsPermanent(t *testing.T) {
	s := newTestSender(t, "127.0.0.1:1")
	for name, mutate := range map[string]func(*notify.Message){
		"no id":        func(m *notify.Message) { m.ID = "" },
		"no email":     func(m *notify.Message) { m.User.Email = "" },
		"bad email":    func(m *notify.Message) { m.User.Email = "alice\r\nRCPT TO:<x@y>" },
		"bad reply-to": func(m *notify.Message) { m.ReplyTo = "not an address" },
	} {
		m := testMessage()
		mutate(m)
		if _, err := s.Send(sendCtx(t), m); err == nil || notify.IsRetryable(err) {
			t.Errorf("%s: err = %v, want permanent", name, err)
		}
	}
	if _, err := s.Send(sendCtx(t), nil); err == nil || notify.IsRetryable(err) {
		t.Errorf("nil message: %v", err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	for _, cfg := range []config.EmailChannel{
		{SMTP: "", From: "a@b.c"},
		{SMTP: "localhost", From: "a@b.c"},
		{SMTP: "localhost:25", From: ""},
		{SMTP: "localhost:25", From: "nodomain"},
	} {
		if _, err := New(cfg, Options{}); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

func TestMessageID(t *testing.T) {
	for id, want := range map[string]string{
		"n-42-0-1-alice-email": "n-42-0-1-alice-email@ex.com",
		"n-1-bob.smith-email":  "n-1-bob.smith-email@ex.com",
		".lead..dots.":         "=2Elead.=2Edots=2E@ex.com",
		"a b<c>@d=e":           "a=20b=3Cc=3E=40d=3De@ex.com",
	} {
		if got := MessageID(id, "ex.com"); got != want {
			t.Errorf("MessageID(%q) = %q, want %q", id, got, want)
		}
	}
	if MessageID("a=20", "x") == MessageID("a ", "x") {
		t.Error("escaping is not injective")
	}
}

func TestComposeSummaryHeaders(t *testing.T) {
	s := newTestSender(t, "127.0.0.1:25")
	m := testMessage()
	m.Summary = []*incident.Incident{{ID: 42, Key: "INC-42"}, {ID: 43}}
	raw, err := s.Compose(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "X-Pagerd-Incident: INC-42\r\n") || !strings.Contains(string(raw), "X-Pagerd-Incident: INC-43\r\n") {
		t.Fatalf("summary should name every bundled incident:\n%s", raw)
	}
}

// selfSigned makes a loopback certificate and a pool trusting it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

package email

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
)

// aiosmtpdAuthScript runs aiosmtpd with TLS (STARTTLS required, or implicit
// TLS) and AUTH required over TLS, accepting one username and password. It
// prints the mechanism of every successful login, so the test sees which
// one pagerd chose.
const aiosmtpdAuthScript = `
import sys, ssl, threading
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
host, port, maildir, cert, key, mode, user, password, exclude = sys.argv[1:10]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
          and auth_data.password == password.encode())
    if ok:
        print("AUTH " + mechanism, flush=True)
    # handled=False: aiosmtpd answers 535 itself.
    return AuthResult(success=ok, handled=False)
kw = dict(hostname=host, port=int(port), authenticator=authenticator, auth_required=True,
          auth_require_tls=True, auth_exclude_mechanism=[m for m in exclude.split(",") if m])
if mode == "implicit":
    # aiosmtpd only counts STARTTLS as TLS for auth_require_tls; on an
    # implicit-TLS listener every byte is inside TLS already.
    kw["ssl_context"] = ctx
    kw["auth_require_tls"] = False
else:
    kw["tls_context"] = ctx
    kw["require_starttls"] = True
c = Controller(Mailbox(maildir), **kw)
c.start()
print("READY", flush=True)
threading.Event().wait()
`

type authServer struct {
	*aiosmtpd
	pool   *x509.CertPool
	logins chan string // mechanisms of successful logins
}

// startAiosmtpdAuth starts the script above with a certificate generated
// for the test. mode is "starttls" or "implicit"; exclude lists AUTH
// mechanisms the server must not offer.
func startAiosmtpdAuth(t *testing.T, mode, exclude string) *authServer {
	t.Helper()
	if out, err := exec.Command(systemPython, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Fatalf("email tests need %s with aiosmtpd (apt-get install python3-aiosmtpd): %v: %s", systemPython, err, out)
	}
	dir := t.TempDir()
	cert, pool := selfSigned(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", cert.Certificate[0])
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", der)
	maildir := filepath.Join(dir, "maildir")
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(systemPython, "-c", aiosmtpdAuthScript, host, port, maildir, certFile, keyFile, mode,
		"pagerd", "s3cret pass", exclude)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	srv := &authServer{aiosmtpd: &aiosmtpd{addr: addr, maildir: maildir}, pool: pool, logins: make(chan string, 16)}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "READY":
				close(ready)
			case strings.HasPrefix(line, "AUTH "):
				srv.logins <- strings.TrimPrefix(line, "AUTH ")
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		t.Fatalf("aiosmtpd exited before it was ready: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("aiosmtpd not ready after 20s\n%s", stderr.String())
	}
	return srv
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (a *authServer) sender(t *testing.T, user, password string, implicit bool) *Sender {
	t.Helper()
	s, err := New(config.EmailChannel{SMTP: a.addr, From: "pagerd@example.com", Username: user, Password: password},
		Options{Now: fixedNow, HelloName: "pagerd-test.example.com", ImplicitTLS: implicit,
			TLSConfig: &tls.Config{RootCAs: a.pool, ServerName: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (a *authServer) login(t *testing.T) string {
	t.Helper()
	select {
	case m := <-a.logins:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("aiosmtpd reported no successful login")
		return ""
	}
}

// AUTH PLAIN after STARTTLS against a relay that requires both.
func TestSendAuthPlainAfterSTARTTLS(t *testing.T) {
	srv := startAiosmtpdAuth(t, "starttls", "")
	s := srv.sender(t, "pagerd", "s3cret pass", false)
	for i := 0; i < 2; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if m := srv.login(t); m != "PLAIN" {
			t.Fatalf("logged in with %s, want PLAIN", m)
		}
	}
	if n := len(srv.messages(t)); n != 2 {
		t.Fatalf("relay stored %d messages, want 2", n)
	}
}

// A relay that offers only LOGIN gets LOGIN.
func TestSendAuthLoginWhenPlainIsNotOffered(t *testing.T) {
	srv := startAiosmtpdAuth(t, "starttls", "PLAIN")
	if _, err := srv.sender(t, "pagerd", "s3cret pass", false).Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if m := srv.login(t); m != "LOGIN" {
		t.Fatalf("logged in with %s, want LOGIN", m)
	}
}

// Implicit TLS (SMTPS, what port 465 means) with AUTH.
func TestSendAuthOverImplicitTLS(t *testing.T) {
	srv := startAiosmtpdAuth(t, "implicit", "")
	if _, err := srv.sender(t, "pagerd", "s3cret pass", true).Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	srv.login(t)
	if n := len(srv.messages(t)); n != 1 {
		t.Fatalf("relay stored %d messages, want 1", n)
	}
}

// Wrong credentials are the relay's final answer (535): a permanent
// error naming AUTH, and nothing delivered. Without credentials the relay
// refuses MAIL FROM (530 authentication required).
func TestSendAuthRefusedIsPermanent(t *testing.T) {
	srv := startAiosmtpdAuth(t, "starttls", "")
	_, err := srv.sender(t, "pagerd", "wrong", false).Send(sendCtx(t), testMessage())
	var se *smtp.SMTPError
	if err == nil || notify.IsRetryable(err) || !strings.Contains(err.Error(), "AUTH") || !errors.As(err, &se) || se.Code != 535 {
		t.Fatalf("wrong password: err %v, want a permanent AUTH 535", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("\x00pagerd\x00wrong"))) {
		t.Fatalf("error text carries the password: %v", err)
	}
	_, err = srv.sender(t, "", "", false).Send(sendCtx(t), testMessage())
	if err == nil || notify.IsRetryable(err) || !strings.Contains(err.Error(), "MAIL FROM") {
		t.Fatalf("no credentials: err %v, want the relay's permanent refusal of MAIL FROM", err)
	}
	if n := len(srv.messages(t)); n != 0 {
		t.Fatalf("relay stored %d messages", n)
	}
}

// A password is never sent over a connection without TLS.
func TestSendAuthRefusesPlainTextRelay(t *testing.T) {
	be := &backend{}
	addr := startGoSMTP(t, be, nil) // no TLS; AllowInsecureAuth would take it
	s, err := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com", Username: "pagerd", Password: "pw"}, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Send(sendCtx(t), testMessage())
	if err == nil || notify.IsRetryable(err) || !strings.Contains(err.Error(), "offers no TLS") {
		t.Fatalf("err %v, want a permanent refusal to send the password in clear", err)
	}
	if len(be.messages) != 0 {
		t.Fatal("message delivered without AUTH")
	}
}

// Once the relay has offered STARTTLS, each send opens one connection, not
// a plain probe followed by a TLS one.
func TestSTARTTLSIsNotProbedOnEverySend(t *testing.T) {
	cert, pool := selfSigned(t)
	be := &backend{}
	addr := startGoSMTP(t, be, &tls.Config{Certificates: []tls.Certificate{cert}})
	var dials atomic.Int32
	var d net.Dialer
	s, err := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com"}, Options{Now: fixedNow,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
		Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, a)
		}})
	if err != nil {
		t.Fatal(err)
	}
	const sends = 3
	for i := 0; i < sends; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if got := dials.Load(); got != sends+1 {
		t.Fatalf("%d connections for %d sends, want %d (one probe, then one each)", got, sends, sends+1)
	}
	for i, isTLS := range be.tls {
		if !isTLS {
			t.Fatalf("message %d not sent over TLS", i)
		}
	}
}

func TestNewUsesImplicitTLSOnPort465(t *testing.T) {
	s, err := New(config.EmailChannel{SMTP: "smtp.example.com:465", From: "pagerd@example.com"}, Options{})
	if err != nil || !s.opts.ImplicitTLS {
		t.Fatalf("port 465: implicit TLS %v, err %v", s != nil && s.opts.ImplicitTLS, err)
	}
	s, _ = New(config.EmailChannel{SMTP: "smtp.example.com:587", From: "pagerd@example.com"}, Options{})
	if s.opts.ImplicitTLS {
		t.Fatal("port 587 must use STARTTLS, not implicit TLS")
	}
}

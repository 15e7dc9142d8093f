package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/pagerd/pagerd/notify"
)

// deliver runs one SMTP transaction for rcpt: over a kept connection when
// there is one (session.go), else, or when the relay no longer takes
// mail on it, over a fresh one.
func (s *Sender) deliver(ctx context.Context, rcpt string, raw []byte) error {
	if ss := s.takeIdle(); ss != nil {
		ss.bind(ctx)
		pastMail, err := s.transact(ctx, ss, rcpt, raw)
		if err == nil || pastMail || ctx.Err() != nil {
			return err
		}
		// MAIL FROM failed on the kept connection: nothing was accepted,
		// so the message goes over a fresh connection instead.
	}
	ss, err := s.dial(ctx)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, ss, rcpt, raw)
	return err
}

// transact sends one message over ss and hands ss back (finish).
// pastMail is true once the relay accepted MAIL FROM, after which a failure
// is the relay's answer about this message, not about the connection.
func (s *Sender) transact(ctx context.Context, ss *smtpSession, rcpt string, raw []byte) (pastMail bool, err error) {
	defer func() { s.finish(ss, err == nil) }()
	c := ss.c
	if err := c.Mail(s.from.Address, nil); err != nil {
		return false, classify(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return true, classify(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return true, classify(ctx, "DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return true, classify(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return true, classify(ctx, "end of DATA", err)
	}
	// The relay has accepted the message.
	return true, nil
}

// dial opens a fresh session bound to ctx: connected, greeted, inside TLS
// when the relay offers it, logged in when configured.
func (s *Sender) dial(ctx context.Context) (*smtpSession, error) {
	ss, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.auth(ctx, ss.c); err != nil {
		ss.close()
		return nil, err
	}
	return ss, nil
}

// How a connection starts.
type connMode int

const (
	modePlain    connMode = iota // EHLO in clear; STARTTLS not (yet) seen
	modeSTARTTLS                 // EHLO, STARTTLS, EHLO again inside TLS
	modeImplicit                 // TLS from the first byte (port 465)
)

// connect returns a session that has greeted the relay, inside TLS when
// the relay offers it. go-smtp can only start TLS on a fresh client, so the
// first connection to a relay that offers STARTTLS is a probe: it is
// closed, and the sender remembers the offer, so every later connection
// negotiates STARTTLS at once. A plain connection is used as it is unless
// its EHLO now offers STARTTLS.
func (s *Sender) connect(ctx context.Context) (*smtpSession, error) {
	switch {
	case s.opts.ImplicitTLS:
		return s.open(ctx, modeImplicit)
	case s.startTLS.Load():
		return s.open(ctx, modeSTARTTLS)
	}
	ss, err := s.open(ctx, modePlain)
	if err != nil {
		return nil, err
	}
	if ok, _ := ss.c.Extension("STARTTLS"); !ok {
		return ss, nil
	}
	s.startTLS.Store(true)
	_ = ss.c.Quit()
	ss.close()
	return s.open(ctx, modeSTARTTLS)
}

// open dials the relay and says EHLO, after starting TLS as mode says. The
// session is bound to ctx: its end closes the connection, which aborts
// whatever command is waiting.
func (s *Sender) open(ctx context.Context, mode connMode) (*smtpSession, error) {
	nc, err := s.opts.Dial(ctx, "tcp", s.relay)
	if err != nil {
		return nil, classify(ctx, "connect", err)
	}
	ss := &smtpSession{nc: nc, mode: mode, opened: time.Now()}
	ss.bind(ctx)
	switch mode {
	case modeSTARTTLS:
		ss.c, err = smtp.NewClientStartTLS(nc, s.tlsConfig())
		if err != nil {
			ss.unbind()
			_ = nc.Close()
			return nil, classify(ctx, "STARTTLS", err)
		}
	case modeImplicit:
		ss.c = smtp.NewClient(tls.Client(nc, s.tlsConfig()))
	default:
		ss.c = smtp.NewClient(nc)
	}
	// After STARTTLS this is the renewed EHLO inside TLS (RFC 3207 §4.2).
	// The one before STARTTLS said "localhost": go-smtp offers no way to
	// name ourselves before it negotiates TLS.
	if err := ss.c.Hello(s.opts.HelloName); err != nil {
		ss.close()
		// The TLS handshake runs lazily on the first read or write, so
		// certificate failures surface here.
		stage := map[connMode]string{modePlain: "EHLO", modeSTARTTLS: "EHLO after STARTTLS", modeImplicit: "TLS handshake and EHLO"}[mode]
		return nil, classify(ctx, stage, err)
	}
	return ss, nil
}

// auth logs in when a username is configured: AUTH PLAIN if the relay
// offers it, else LOGIN, and only inside TLS. A relay without TLS or
// without either mechanism, or one refusing the credentials (535), fails
// the send for good: retrying cannot fix a configuration.
func (s *Sender) auth(ctx context.Context, c *smtp.Client) error {
	if s.username == "" {
		return nil
	}
	if _, ok := c.TLSConnectionState(); !ok {
		return notify.Permanent(errors.New("AUTH: channels.email.username is set but the relay offers no TLS " +
			"(STARTTLS, or implicit TLS on port 465); the password is not sent in clear"))
	}
	var mech sasl.Client
	switch {
	case c.SupportsAuth(sasl.Plain):
		mech = sasl.NewPlainClient("", s.username, s.password)
	case c.SupportsAuth(sasl.Login):
		mech = &loginClient{username: s.username, password: s.password}
	default:
		_, offered := c.Extension("AUTH")
		return notify.Permanent(fmt.Errorf("AUTH: the relay offers %q; pagerd speaks PLAIN and LOGIN", offered))
	}
	if err := c.Auth(mech); err != nil {
		return classify(ctx, "AUTH", err)
	}
	return nil
}

func (s *Sender) tlsConfig() *tls.Config {
	if s.opts.TLSConfig != nil {
		return s.opts.TLSConfig
	}
	host, _, _ := net.SplitHostPort(s.relay)
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// classify wraps an SMTP failure with the stage it happened in. A 5xx reply
// is the relay refusing this message for good; 4xx replies, network errors
// and timeouts may pass. When ctx ended, its error is kept in the chain so
// callers can tell a timeout from the relay's answer.
func classify(ctx context.Context, stage string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w: %w", stage, ctxErr, err)
	}
	wrapped := fmt.Errorf("%s: %w", stage, err)
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code <= 599 {
		return notify.Permanent(wrapped)
	}
	return wrapped
}

// loginClient is AUTH LOGIN (draft-murchison-sasl-login): the username in
// answer to the first challenge, the password to the second. The challenge
// texts are not checked: relays word them differently ("Username:",
// "User Name\x00"), and go-sasl's client insists on one spelling.
type loginClient struct {
	username, password string
	step               int
}

func (l *loginClient) Start() (string, []byte, error) { return sasl.Login, nil, nil }

func (l *loginClient) Next([]byte) ([]byte, error) {
	l.step++
	switch l.step {
	case 1:
		return []byte(l.username), nil
	case 2:
		return []byte(l.password), nil
	}
	return nil, errors.New("AUTH LOGIN: unexpected third challenge")
}

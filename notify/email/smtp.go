package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/emersion/go-smtp"

	"github.com/pagerd/pagerd/notify"
)

// deliver runs one SMTP transaction for rcpt.
func (s *Sender) deliver(ctx context.Context, rcpt string, raw []byte) error {
	c, release, err := s.connect(ctx)
	if err != nil {
		return err
	}
	defer release()
	if err := c.Mail(s.from.Address, nil); err != nil {
		return classify(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return classify(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(ctx, "DATA", err)
	}
	if _, err := w.Write(raw); err != nil {
		_ = w.Close()
		return classify(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return classify(ctx, "end of DATA", err)
	}
	// The relay has accepted the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// connect returns a client that has greeted the relay and, if the relay
// offers STARTTLS, switched to TLS. go-smtp can only start TLS on a fresh
// client, so when the plain EHLO shows STARTTLS the probe connection is
// closed and a second one negotiates TLS from the start. release closes the
// connection and stops watching ctx.
func (s *Sender) connect(ctx context.Context) (*smtp.Client, func(), error) {
	c, release, err := s.open(ctx, false)
	if err != nil {
		return nil, nil, err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return c, release, nil
	}
	_ = c.Quit()
	release()
	return s.open(ctx, true)
}

// open dials the relay and says EHLO, with STARTTLS if startTLS. go-smtp
// sets its own deadline on every command, so ctx is enforced by closing the
// connection when it ends; that aborts whatever command is waiting.
func (s *Sender) open(ctx context.Context, startTLS bool) (*smtp.Client, func(), error) {
	nc, err := s.opts.Dial(ctx, "tcp", s.relay)
	if err != nil {
		return nil, nil, classify(ctx, "connect", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
	var c *smtp.Client
	if startTLS {
		c, err = smtp.NewClientStartTLS(nc, s.tlsConfig())
		if err != nil {
			stop()
			_ = nc.Close()
			return nil, nil, classify(ctx, "STARTTLS", err)
		}
	} else {
		c = smtp.NewClient(nc)
	}
	release := func() {
		stop()
		_ = c.Close()
	}
	// After STARTTLS this is the renewed EHLO inside TLS (RFC 3207 §4.2).
	// The one before STARTTLS said "localhost": go-smtp offers no way to
	// name ourselves before it negotiates TLS.
	if err := c.Hello(s.opts.HelloName); err != nil {
		release()
		stage := "EHLO"
		if startTLS {
			// The TLS handshake runs lazily on this first write, so
			// certificate failures surface here.
			stage = "EHLO after STARTTLS"
		}
		return nil, nil, classify(ctx, stage, err)
	}
	return c, release, nil
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

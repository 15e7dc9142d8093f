// Package email sends pages as plain-text mail through the configured SMTP
// relay (channels.email.smtp), using go-smtp for the protocol and go-message
// for the MIME encoding.
//
// Each page carries a Message-ID derived from the notification id and the
// From domain, so a resend of the same notification after a leader change is
// the same message to every mail client and dedupes there; it also carries
// Auto-Submitted: auto-generated (RFC 3834) so vacation responders stay
// quiet, and the notification's Reply-To, whose token the inbound SMTP side
// checks.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-message/mail"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// DefaultTimeout bounds one Send whose context has no deadline. go-smtp's own
// per-command timeouts are minutes long (RFC 5321 values for MTAs); a page
// stuck that long should rather fail and be retried.
const DefaultTimeout = time.Minute

// Options tune a Sender; the zero value is usable.
type Options struct {
	// Now stamps the Date header; default time.Now. Injected so tests and the
	// dev outbox produce byte-identical messages.
	Now func() time.Time
	// TLSConfig is used for STARTTLS when the relay offers it. nil means
	// system roots with ServerName taken from the relay host.
	TLSConfig *tls.Config
	// HelloName is the EHLO name; default the host name of this machine.
	HelloName string
	// Dial opens the TCP connection; default a net.Dialer. Tests and
	// proxies may replace it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// ImplicitTLS speaks TLS from the first byte (SMTPS) instead of
	// STARTTLS. New sets it for a relay on port 465, as Alertmanager does.
	ImplicitTLS bool
	// KeepIdle keeps the connection of a successful send open for the
	// next send for this long (session.go); 0 closes it after each send.
	// The pager's sender uses DefaultKeepIdle; one-off senders (reply
	// confirmations, reminders) leave it 0.
	KeepIdle time.Duration
}

// Sender delivers notifications by SMTP. It is safe for concurrent use; each
// Send uses a connection of its own, fresh or, with Options.KeepIdle, kept
// from an earlier send that succeeded (session.go).
type Sender struct {
	relay  string
	from   *mail.Address
	domain string
	opts   Options
	// username and password log in with AUTH PLAIN or LOGIN, over TLS only.
	username, password string
	// startTLS is set once the relay has offered STARTTLS: later sends
	// negotiate it on their one connection instead of probing first, and
	// never fall back to plain text (a relay that stops offering it fails
	// the send rather than receiving the page, and a password, in clear).
	startTLS atomic.Bool

	idleMu sync.Mutex
	idle   []*smtpSession // kept connections, the most recent last
}

var _ notify.Sender = (*Sender)(nil)

// New validates the channel config and returns a Sender.
func New(cfg config.EmailChannel, opts Options) (*Sender, error) {
	if _, _, err := net.SplitHostPort(cfg.SMTP); err != nil {
		return nil, fmt.Errorf("email: channels.email.smtp %q: want host:port: %w", cfg.SMTP, err)
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email: channels.email.from %q: %w", cfg.From, err)
	}
	at := strings.LastIndexByte(from.Address, '@')
	if at < 0 || at == len(from.Address)-1 {
		return nil, fmt.Errorf("email: channels.email.from %q has no domain", cfg.From)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.HelloName == "" {
		opts.HelloName = defaultHelloName()
	}
	if opts.Dial == nil {
		var d net.Dialer
		opts.Dial = d.DialContext
	}
	if _, port, _ := net.SplitHostPort(cfg.SMTP); port == "465" {
		opts.ImplicitTLS = true
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return nil, errors.New("email: channels.email.username and password: set both or neither")
	}
	return &Sender{relay: cfg.SMTP, from: from, domain: from.Address[at+1:], opts: opts,
		username: cfg.Username, password: cfg.Password}, nil
}

func defaultHelloName() string {
	if h, err := os.Hostname(); err == nil && h != "" && !strings.ContainsAny(h, " \r\n") {
		return h
	}
	return "localhost"
}

// Send delivers m to m.User.Email. The receipt's ProviderID is the
// Message-ID header value. Invalid messages (no id, bad address) and SMTP
// 5xx answers are permanent errors; everything else is retryable.
func (s *Sender) Send(ctx context.Context, m *notify.Message) (notify.Receipt, error) {
	raw, rcpt, err := s.compose(m)
	if err != nil {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("email: %w", err))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	if err := s.deliver(ctx, rcpt, raw); err != nil {
		return notify.Receipt{}, fmt.Errorf("email %s to <%s> via %s: %w", m.ID, rcpt, s.relay, err)
	}
	return notify.Receipt{ProviderID: "<" + MessageID(m.ID, s.domain) + ">"}, nil
}

// Compose renders the RFC 5322 message Send would transmit for m, for the
// dev outbox and for tests.
func (s *Sender) Compose(m *notify.Message) ([]byte, error) {
	raw, _, err := s.compose(m)
	return raw, err
}

// compose returns the message bytes and the bare envelope recipient.
func (s *Sender) compose(m *notify.Message) ([]byte, string, error) {
	if m == nil {
		return nil, "", errors.New("nil message")
	}
	if m.ID == "" {
		return nil, "", errors.New("message has no id (the Message-ID is derived from it)")
	}
	to, err := mail.ParseAddress(m.User.Email)
	if err != nil {
		return nil, "", fmt.Errorf("user %q email %q: %w", m.User.ID, m.User.Email, err)
	}
	to.Name = m.User.Name
	h, err := s.header(m, to)
	if err != nil {
		return nil, "", err
	}
	raw, err := textMessage(h, notify.EmailBody(m))
	if err != nil {
		return nil, "", err
	}
	return raw, to.Address, nil
}

func (s *Sender) header(m *notify.Message, to *mail.Address) (mail.Header, error) {
	h := s.newHeader(to)
	if m.ReplyTo != "" {
		rt, err := mail.ParseAddress(m.ReplyTo)
		if err != nil {
			return h, fmt.Errorf("reply-to %q: %w", m.ReplyTo, err)
		}
		h.SetAddressList("Reply-To", []*mail.Address{rt})
	}
	h.SetSubject(notify.EmailSubject(m))
	h.SetMessageID(MessageID(m.ID, s.domain))
	// RFC 3834: responders must not answer, so out-of-office replies do
	// not land at the Reply-To token address. Exchange ignores it and
	// honours its own header instead.
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("X-Auto-Response-Suppress", "All")
	for _, key := range incidentKeys(m) {
		h.Add("X-Pagerd-Incident", key)
	}
	h.Set("X-Pagerd-Notification", headerSafe(m.ID))
	return h, nil
}

// incidentKeys names the paged incident, or every bundled one of a summary.
func incidentKeys(m *notify.Message) []string {
	incs := m.Summary
	if len(incs) == 0 {
		incs = []*incident.Incident{m.Incident}
	}
	var keys []string
	for _, inc := range incs {
		if inc == nil {
			continue
		}
		k := inc.Key
		if k == "" {
			k = incident.KeyFor(inc.ID)
		}
		keys = append(keys, headerSafe(k))
	}
	return keys
}

// headerSafe drops characters that could break out of a header line.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// MessageID returns the Message-ID (without angle brackets) for notification
// id: "<id>@<domain>". Characters not allowed in a dot-atom are escaped as
// =XX so that distinct ids give distinct Message-IDs.
func MessageID(id, domain string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		if plainIDByte(c) || (c == '.' && i > 0 && i < len(id)-1 && id[i-1] != '.') {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "=%02X", c)
	}
	return b.String() + "@" + domain
}

func plainIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+'
}

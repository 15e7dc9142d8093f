// Package mailserver is pagerd's inbound SMTP server for email replies
// (`pagerd serve --smtp-addr`, interface.md §4 "Email replies"): an on-call
// engineer answers a page email with "ack", "resolve" or "escalate" as the
// first line, and the reply, addressed to the page's Reply-To
// <token>@<reply_domain>, acts on the incident as the paged user.
//
// SMTP answers, in the order a transaction meets them:
//
//	RCPT to another domain                         550 5.1.1
//	RCPT whose token is malformed, forged, expired,
//	  of a retired key, or of a page no longer known 550 5.7.1
//	a second, different RCPT in one transaction    452 4.5.3 (the client sends
//	                                               the message again for it)
//	MAIL or RCPT after 5 refused RCPTs on one
//	  connection                                   421 4.7.0, and it is closed
//	DATA over MaxMessageBytes                      552 5.3.4
//	DATA with an unreadable header                 554 5.6.0
//	auto-reply or bounce                           250, dropped (logged)
//	no command in the first line of new text       250, explained by email
//	the action committed, or refused by the
//	  incident's state (already acknowledged/
//	  resolved), or a duplicate                    250, confirmed by email
//	                                               (not for a duplicate)
//	the commit failed (ErrTransient, timeout, any
//	  other error)                                 451 4.3.0, so the sender
//	                                               retries; nothing is lost
//
// 250 is only answered after Backend.Act returned: the action is committed.
// A retried delivery (same Message-ID, same token) acts once: the request's
// DedupID is "email:"+Message-ID+"/"+token (the token lower-cased; a message
// without Message-ID is keyed by the SHA-256 of its bytes instead).
//
// The token is the authority, not the From header: mail From can
// legitimately differ from the paged address (aliases, forwarding), so it is
// only recorded in Request.From. Confirmations go to the address the page
// was sent to (Page.To), never to the reply's From, so a reply cannot make
// pagerd mail a third party. Tokens are never logged: they are bearer
// capabilities until they expire.
package mailserver

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/connlimit"
	"github.com/pagerd/pagerd/reply"
)

// Defaults of Options.
const (
	DefaultReadTimeout    = 5 * time.Minute // RFC 5321 §4.5.3.2 command timeout
	DefaultWriteTimeout   = time.Minute
	DefaultActTimeout     = 30 * time.Second
	DefaultConfirmTimeout = time.Minute
	DefaultMaxConns       = 100
	// DefaultMaxSessionDuration is far more than any honest sender needs
	// for a few replies.
	DefaultMaxSessionDuration = 30 * time.Minute
	// maxRefusedRcpts is how many refused recipients one connection gets
	// before every further MAIL and RCPT is answered 421.
	maxRefusedRcpts = 5
)

// ConfirmFunc sends a confirmation email: to is the address the page went
// to, inReplyTo the Message-ID of the reply (without angle brackets; may be
// empty). Implementations must mark the message `Auto-Submitted:
// auto-replied` (RFC 3834) so that it is never answered in turn.
type ConfirmFunc func(ctx context.Context, to, subject, body, inReplyTo string) error

// Options configures a Server.
type Options struct {
	// Addr is the listen address for ListenAndServe (--smtp-addr).
	Addr string
	// Domain is channels.email.reply_domain: only RCPT TO <token>@Domain is
	// accepted (case-insensitively). Required. It is also the name the
	// server greets with.
	Domain string
	// Backend is the replicated state. Required.
	Backend reply.Backend
	// Followups, when set, takes replies to follow-up reminders (tokens
	// reply.FollowupTokenPrefix…; followup.go).
	Followups reply.FollowupBackend
	// Reviews, when set, takes replies to plan review reminders (tokens
	// reply.ReviewTokenPrefix…; review.go).
	Reviews reply.ReviewBackend
	// Confirm sends confirmations and explanations, best effort: failures
	// are logged and change no SMTP answer. Nil: none are sent.
	Confirm ConfirmFunc
	// IncidentURL, when set, gives the console link of an incident key
	// (public_url + /ui/incidents/KEY, "" without public_url); every
	// confirmation carries it, as every mail from pagerd does.
	IncidentURL func(key string) string
	// TLS, when set, enables STARTTLS (not required of clients).
	TLS *tls.Config
	// MaxMessageBytes caps a message (advertised as SIZE; larger ones get
	// 552). Default and maximum reply.MaxEmailSize.
	MaxMessageBytes int64
	// Now is the clock for token expiry (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Metrics, optional, gets pagerd_email_replies_total{outcome}.
	Metrics prometheus.Registerer

	// ReadTimeout bounds the wait for each command line, and for a whole
	// DATA transfer from the DATA command on (default DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds each answer (default DefaultWriteTimeout).
	WriteTimeout time.Duration
	// ActTimeout bounds Backend.Act; past it the answer is 451 (default
	// DefaultActTimeout).
	ActTimeout time.Duration
	// MaxSessionDuration closes a connection this long after its EHLO,
	// whatever it is doing, so a client cannot hold one open forever with
	// NOOPs (default DefaultMaxSessionDuration).
	MaxSessionDuration time.Duration
	// MaxConns caps the connections open at once (default DefaultMaxConns);
	// past it a connection is answered 421 and closed without being read,
	// so a crowd of idle clients cannot use up the process's files.
	MaxConns int
}

// Outcomes, the values of the outcome label of pagerd_email_replies_total.
// RCPT refusals count once per refused recipient, the rest once per message.
const (
	OutcomeActed     = "acted"      // committed, confirmation sent
	OutcomeDuplicate = "duplicate"  // Message-ID+token already applied
	OutcomeConflict  = "conflict"   // refused by the incident's state; explained by email
	OutcomeNotFound  = "not_found"  // the incident no longer exists
	OutcomeNoCommand = "no_command" // no ack/resolve/escalate found; explained by email
	OutcomeDropped   = "dropped"    // auto-reply or bounce
	OutcomeRefused   = "refused"    // RCPT refused: wrong domain, bad or expired token
	OutcomeTooLarge  = "too_large"  // 552
	OutcomeMalformed = "malformed"  // 554, header unreadable
	OutcomeTransient = "transient"  // 451: ErrTransient or timeout
	OutcomeError     = "error"      // 451: any other failure
	// OutcomeTooManyConns counts connections refused with 421 past MaxConns.
	OutcomeTooManyConns = "too_many_connections"
)

// Server is the inbound SMTP server.
type Server struct {
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	replies *prometheus.CounterVec
	smtp    *smtp.Server

	ctx    context.Context // cancelled by Close: stops Act and Confirm calls
	cancel context.CancelFunc
	wg     sync.WaitGroup // confirmations in flight

	mu        sync.Mutex
	listeners []net.Listener
	listening chan struct{} // closed once the first listener is registered
	closed    bool
}

// New checks opts and returns a Server; Serve or ListenAndServe runs it.
func New(opts Options) (*Server, error) {
	opts.Domain = strings.TrimSuffix(strings.TrimSpace(opts.Domain), ".")
	switch {
	case opts.Backend == nil:
		return nil, errors.New("mailserver: Backend is required")
	case opts.Domain == "":
		return nil, errors.New("mailserver: Domain (channels.email.reply_domain) is required")
	case opts.MaxMessageBytes < 0:
		return nil, fmt.Errorf("mailserver: MaxMessageBytes %d is negative", opts.MaxMessageBytes)
	}
	if opts.MaxMessageBytes == 0 || opts.MaxMessageBytes > reply.MaxEmailSize {
		opts.MaxMessageBytes = reply.MaxEmailSize
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.ActTimeout <= 0 {
		opts.ActTimeout = DefaultActTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultMaxConns
	}
	if opts.MaxSessionDuration <= 0 {
		opts.MaxSessionDuration = DefaultMaxSessionDuration
	}
	s := &Server{opts: opts, now: opts.Now, log: opts.Logger, listening: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("component", "mailserver")
	s.replies = reply.OutcomeCounter(opts.Metrics, "pagerd_email_replies_total", "Inbound email replies (SMTP) by outcome.")
	s.ctx, s.cancel = context.WithCancel(context.Background())

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Addr = opts.Addr
	srv.Domain = opts.Domain
	srv.TLSConfig = opts.TLS
	srv.MaxMessageBytes = opts.MaxMessageBytes
	srv.ReadTimeout = opts.ReadTimeout
	srv.WriteTimeout = opts.WriteTimeout
	srv.ErrorLog = slogPrinter{s.log}
	s.smtp = srv
	return s, nil
}

// Serve accepts connections on l until Close; it returns nil after Close.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = l.Close()
		return smtp.ErrServerClosed
	}
	s.listeners = append(s.listeners, l)
	if len(s.listeners) == 1 {
		close(s.listening)
	}
	s.mu.Unlock()
	limited := connlimit.Wrap(l, connlimit.Options{Max: s.opts.MaxConns,
		Refuse:   []byte("421 4.3.2 " + s.opts.Domain + " too many connections, try again later\r\n"),
		OnRefuse: func() { s.count(OutcomeTooManyConns) }})
	return s.smtp.Serve(trackingListener{limited})
}

// ListenAndServe listens on Options.Addr and serves until Close.
func (s *Server) ListenAndServe() error {
	if s.opts.Addr == "" {
		return errors.New("mailserver: no listen address")
	}
	l, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Addr is the address of the first listener being served, or nil before.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.listeners) == 0 {
		return nil
	}
	return s.listeners[0].Addr()
}

// Close stops listening, drops open connections, cancels commits and
// confirmations in flight and waits for the confirmations to return. A
// second Close does nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	err := s.smtp.Close()
	if errors.Is(err, smtp.ErrServerClosed) {
		err = nil
	}
	s.wg.Wait()
	return err
}

func (s *Server) count(outcome string) { s.replies.WithLabelValues(outcome).Inc() }

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	remote := ""
	if nc != nil && nc.RemoteAddr() != nil {
		remote = nc.RemoteAddr().String()
	}
	ss := &session{s: s, conn: c, log: s.log.With("remote", remote, "helo", c.Hostname())}
	if nc != nil {
		// Closing the connection (not c, whose lock the connection's own
		// goroutine may hold) ends its goroutine at its next read or write.
		ss.lifetime = time.AfterFunc(s.opts.MaxSessionDuration, func() {
			ss.log.Info("email: session too long; closing it", "limit", s.opts.MaxSessionDuration)
			_ = nc.Close()
		})
	}
	return ss, nil
}

// session is one SMTP connection. go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	s        *Server
	conn     *smtp.Conn
	log      *slog.Logger
	refused  int         // refused recipients on this connection
	lifetime *time.Timer // closes the connection after MaxSessionDuration

	// The current transaction.
	from  string // envelope sender, "" for the null sender
	token string // lower-cased local part of the accepted recipient
	page  reply.Page
	rcpt  bool
	// followup is set when the recipient is a follow-up reminder's token.
	followup *reply.FollowupRef
	review   *reply.ReviewRef
}

func smtpErr(code int, enh smtp.EnhancedCode, msg string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

var (
	errTooManyRefused = smtpErr(421, smtp.EnhancedCode{4, 7, 0}, "Too many refused recipients; closing")
	errOneRcpt        = smtpErr(452, smtp.EnhancedCode{4, 5, 3}, "One reply address per message; send again for the others")
	errWrongDomain    = smtpErr(550, smtp.EnhancedCode{5, 1, 1}, "No such recipient here")
	errBadToken       = smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "Unknown reply address")
	errExpiredToken   = smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "This reply address has expired; act on the incident in pagerd instead")
	errUnknownPage    = smtpErr(550, smtp.EnhancedCode{5, 7, 1}, "This reply address belongs to no known page")
	errLookup         = smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "Cannot check the reply address now; try again later")
	errTooLarge       = smtpErr(552, smtp.EnhancedCode{5, 3, 4}, "Maximum message size exceeded")
	errMalformed      = smtpErr(554, smtp.EnhancedCode{5, 6, 0}, "Message header could not be parsed")
	errRead           = smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "Error reading the message; try again")
	errCommit         = smtpErr(451, smtp.EnhancedCode{4, 3, 0}, "Cannot record the reply now; try again later")
)

func (ss *session) Reset() {
	ss.from, ss.token, ss.page, ss.rcpt, ss.followup, ss.review = "", "", reply.Page{}, false, nil, nil
}

func (ss *session) Logout() error {
	if ss.lifetime != nil {
		ss.lifetime.Stop()
	}
	return nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.refused >= maxRefusedRcpts {
		return ss.tooManyRefused()
	}
	ss.Reset()
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.refused >= maxRefusedRcpts {
		return ss.tooManyRefused()
	}
	at := strings.LastIndexByte(to, '@')
	if at <= 0 || !strings.EqualFold(strings.TrimSuffix(to[at+1:], "."), ss.s.opts.Domain) {
		return ss.refuse(errWrongDomain, "recipient not at the reply domain", "to_domain", to[at+1:])
	}
	local := reply.ASCIILower(to[:at]) // the one spelling Verify accepts
	if ss.rcpt {
		if local == ss.token {
			return nil // the same address twice
		}
		return errOneRcpt
	}
	if handled, err := ss.rcptFollowup(local); handled {
		return err
	}
	if handled, err := ss.rcptReview(local); handled {
		return err
	}
	page, err := ss.s.opts.Backend.PageForToken(local, ss.s.now())
	switch {
	case err == nil:
	case errors.Is(err, reply.ErrTokenExpired), errors.Is(err, reply.ErrTokenKeyRetired):
		return ss.refuse(errExpiredToken, "reply token expired", "err", err)
	case errors.Is(err, reply.ErrUnknownPage):
		return ss.refuse(errUnknownPage, "reply token of an unknown page", "err", err)
	case errors.Is(err, reply.ErrTokenMalformed), errors.Is(err, reply.ErrTokenForged):
		return ss.refuse(errBadToken, "reply token refused", "err", err)
	default:
		// Not a verdict on the token: let the sender retry.
		ss.log.Warn("email reply: token lookup failed", "err", err)
		return errLookup
	}
	ss.token, ss.page, ss.rcpt = local, page, true
	return nil
}

// tooManyRefused answers 421 and ends the connection once that answer is
// written.
func (ss *session) tooManyRefused() error {
	ss.log.Warn("email: too many refused recipients on one connection; closing it")
	if ss.conn != nil {
		if tc, ok := unwrap(ss.conn.Conn()); ok {
			tc.closeAfterWrite.Store(true)
		}
	}
	return errTooManyRefused
}

// trackedConn is every connection the server accepts. go-smtp writes each
// answer with one Write (a flushed bufio.Writer; under TLS one record), so
// closing right after the next Write ends the connection just after the
// answer that asked for it.
type trackedConn struct {
	net.Conn
	closeAfterWrite atomic.Bool
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.closeAfterWrite.Load() {
		_ = c.Conn.Close()
	}
	return n, err
}

// unwrap finds the trackedConn under c (under TLS, beneath the tls.Conn).
func unwrap(c net.Conn) (*trackedConn, bool) {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn()
	}
	t, ok := c.(*trackedConn)
	return t, ok
}

type trackingListener struct{ net.Listener }

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c}, nil
}

func (ss *session) refuse(e *smtp.SMTPError, msg string, args ...any) error {
	ss.refused++
	ss.s.count(OutcomeRefused)
	ss.log.Info("email reply refused at RCPT: "+msg, append(args, "code", e.Code)...)
	return e
}

func (ss *session) Data(r io.Reader) error {
	if !ss.rcpt {
		return smtpErr(503, smtp.EnhancedCode{5, 5, 1}, "No valid recipient")
	}
	if ss.followup != nil {
		return ss.dataFollowup(r)
	}
	if ss.review != nil {
		return ss.dataReview(r)
	}
	s := ss.s
	log := ss.log.With("envelope_from", ss.from, "incident", ss.page.Key, "notification", ss.page.Notification)
	h := sha256.New()
	rep, err := reply.ParseEmail(io.TeeReader(r, h), ss.from)
	if err != nil {
		var se *smtp.SMTPError
		switch {
		case errors.As(err, &se):
			// go-smtp's reader: over MaxMessageBytes (552), or the like.
			// Returned as is, so the client sees the real reason.
			if se.Code == 552 {
				s.count(OutcomeTooLarge)
			} else {
				s.count(OutcomeError)
			}
			log.Info("email reply refused", "err", err)
			return se
		case errors.Is(err, reply.ErrTooLarge):
			s.count(OutcomeTooLarge)
			log.Info("email reply refused", "err", err)
			return errTooLarge
		case errors.Is(err, reply.ErrMalformedEmail):
			s.count(OutcomeMalformed)
			log.Info("email reply refused", "err", err)
			return errMalformed
		}
		s.count(OutcomeError)
		log.Warn("email reply: reading the message failed", "err", err)
		return errRead
	}
	log = log.With("message_id", rep.MessageID, "from", rep.From)
	if rep.Bounce || rep.AutoReply {
		s.count(OutcomeDropped)
		log.Info("email reply dropped", "reason", rep.Reason)
		return nil
	}
	if rep.Command == "" {
		s.count(OutcomeNoCommand)
		log.Info("email reply has no command", "reason", rep.Reason, "line", rep.Line)
		s.confirm(log, ss.page, nil, noCommandText(ss.page, rep.Line), rep.MessageID, rep.From)
		return nil
	}
	req := reply.Request{
		Channel:  "email",
		From:     reply.OrElse(rep.From, ss.from),
		User:     ss.page.User,
		Incident: ss.page.Incident,
		Kind:     rep.Command,
		Severity: rep.Severity,
		Audience: rep.Audience,
		Text:     rep.Text,
		Role:     rep.Role,
		DedupID:  dedupID(rep, h, ss.token),
		Note:     rep.Line,
	}
	reply.RoleAck(&req, ss.page)
	log = log.With("action", req.Kind, "paged_user", req.User)
	ctx, cancel := context.WithTimeout(s.ctx, s.opts.ActTimeout)
	defer cancel()
	res, err := s.opts.Backend.Act(ctx, req)
	switch {
	case err == nil && res.Duplicate:
		s.count(OutcomeDuplicate)
		log.Info("email reply already applied (redelivery)")
		return nil
	case err == nil:
		s.count(OutcomeActed)
		log.Info("email reply applied")
		s.confirm(log, ss.page, res.Incident, confirmation(req.Kind, ss.page, res.Incident), rep.MessageID, rep.From)
		return nil
	case errors.Is(err, incident.ErrReplayed):
		// A redelivery of a refused reply: its explanation went out the
		// first time.
		s.count(OutcomeDuplicate)
		log.Info("email reply already refused (redelivery)", "err", err)
		return nil
	case errors.Is(err, incident.ErrConflict):
		s.count(OutcomeConflict)
		log.Info("email reply refused by the incident's state", "err", err)
		s.confirm(log, ss.page, nil, reply.ConflictText(err), rep.MessageID, rep.From)
		return nil
	case errors.Is(err, incident.ErrNotFound):
		s.count(OutcomeNotFound)
		log.Info("email reply for an incident that no longer exists", "err", err)
		s.confirm(log, ss.page, nil, describe(ss.page, nil)+" no longer exists.", rep.MessageID, rep.From)
		return nil
	case errors.Is(err, reply.ErrTransient), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		s.count(OutcomeTransient)
		log.Warn("email reply could not be committed now; answered 451", "err", err)
		return errCommit
	}
	s.count(OutcomeError)
	log.Error("email reply failed; answered 451", "err", err)
	return errCommit
}

// confirm sends text to the paged address in the background (best effort).
func (s *Server) confirm(log *slog.Logger, page reply.Page, inc *incident.Incident, text, inReplyTo, from string) {
	if s.opts.Confirm == nil || page.To == "" {
		return
	}
	subject := "Re: " + subjectOf(page, inc)
	body := text + "\n"
	if from != "" && !strings.EqualFold(from, page.To) {
		body += "\n(Reply received from " + reply.OneLine(from) + ".)\n"
	}
	if key := pageKey(page); s.opts.IncidentURL != nil && key != "" {
		if link := s.opts.IncidentURL(key); link != "" {
			body += "\nOpen " + key + " in pagerd: " + link + "\n"
		}
	}
	body += "\n-- \npagerd\n"
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		ctx, cancel := context.WithTimeout(s.ctx, DefaultConfirmTimeout)
		defer cancel()
		if err := s.opts.Confirm(ctx, page.To, subject, body, inReplyTo); err != nil {
			log.Warn("email reply: confirmation not sent", "to", page.To, "err", err)
		}
	}()
}

// confirmation is "Acknowledged INC-42 sev1 checkout: HighErrorRate".
func confirmation(kind string, page reply.Page, inc *incident.Incident) string {
	verb := map[string]string{
		incident.Ack: "Acknowledged", incident.Resolve: "Resolved", incident.Escalate: "Escalated",
		reply.ActionSeverity: "Severity set:", reply.ActionRole: "You took the role on",
		reply.ActionUpdate: "Update posted:",
	}[kind]
	return verb + " " + describe(page, inc)
}

func noCommandText(page reply.Page, line string) string {
	s := "Your reply to " + reply.OrElse(page.Key, incident.KeyFor(page.Incident)) + " did nothing: "
	if line = reply.OneLine(line); line != "" {
		s += "its first line (" + reply.Shorten(line, 60) + ") is not a command."
	} else {
		s += "it has no text."
	}
	return s + " Reply with ack, resolve or escalate as the first line."
}

// subjectOf is the page's subject, "[INC-42] sev1 checkout: HighErrorRate".
func subjectOf(page reply.Page, inc *incident.Incident) string {
	key, sev, svc, title := fields(page, inc)
	s := "[" + key + "]"
	for _, p := range []string{sev, svc} {
		if p != "" {
			s += " " + p
		}
	}
	if svc != "" && title != "" {
		s += ":"
	}
	if title != "" {
		s += " " + reply.Shorten(title, 200)
	}
	return s
}

// describe is "INC-42 sev1 checkout: HighErrorRate", leaving out empty parts.
func describe(page reply.Page, inc *incident.Incident) string {
	key, sev, svc, title := fields(page, inc)
	s := key
	for _, p := range []string{sev, svc} {
		if p != "" {
			s += " " + p
		}
	}
	if title != "" {
		s += ": " + reply.Shorten(title, 200)
	}
	return s
}

// fields are the page's incident's key, severity, service and title as they
// are now (from inc, when the Backend returned it), one line each.
func fields(page reply.Page, inc *incident.Incident) (key, sev, svc, title string) {
	key, sev, svc, title = page.Key, page.Severity, page.Service, page.Title
	if inc != nil {
		key, sev, svc, title = reply.OrElse(inc.Key, key), reply.OrElse(inc.Severity, sev), reply.OrElse(inc.Service, svc), reply.OrElse(inc.Title, title)
	}
	if key == "" {
		key = incident.KeyFor(page.Incident)
	}
	return reply.OneLine(key), reply.OneLine(sev), reply.OneLine(svc), reply.OneLine(title)
}

// slogPrinter adapts go-smtp's error log to slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, v ...interface{}) {
	p.log.Warn("smtp: " + fmt.Sprintf(format, v...))
}

func (p slogPrinter) Println(v ...interface{}) {
	p.log.Warn("smtp: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// pageKey is the page's incident key ("INC-42"), from its id when unset.
func pageKey(page reply.Page) string {
	if page.Key != "" || page.Incident == 0 {
		return page.Key
	}
	return incident.KeyFor(page.Incident)
}

// dedupID names one reply to one reply address for the state machine's
// dedup: its Message-ID, or without one a digest of the whole message (h
// has read all of it), so an SMTP retry is one reply and two different
// replies are two.
func dedupID(rep *reply.EmailReply, h hash.Hash, token string) string {
	key := rep.MessageID
	if key == "" {
		key = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	return "email:" + key + "/" + token
}

package email

import (
	"context"
	"net"
	"time"

	"github.com/emersion/go-smtp"
)

// Connection reuse (issue 18: alert to page). A fresh connection costs a
// TCP connect, the relay's greeting and EHLO (and STARTTLS with a second
// EHLO, and AUTH) before the first MAIL FROM: three to six round trips and
// the relay's per-connection setup, every page. A Sender built with
// Options.KeepIdle keeps the connection of a successful send open for the
// next one, as MTAs do (RFC 5321 §4.1.1.4: after the reply to the end of
// DATA the session is back where a new MAIL may start).
//
// Only a session whose last transaction ended with the relay's 250 after
// the final dot is kept, so a reused connection never inherits a broken
// transaction. If the relay dropped it meanwhile, or answers the first
// MAIL FROM on it with anything but 250 (a relay limiting messages per
// connection says 421 or 452), the message was not accepted, and the send
// goes on over a fresh connection: reuse can delay a page by one failed
// round trip, never duplicate or lose one.

// maxSendsPerSession and maxSessionAge bound the use of one connection,
// as MTAs bound theirs (Exim accepts 1,000 messages per connection by
// default; Postfix's client reuses one for at most 300 s). A relay with a
// lower limit refuses the next MAIL FROM, and the send takes a fresh
// connection.
const (
	maxSendsPerSession = 1000
	maxSessionAge      = 5 * time.Minute
)

// maxIdleSessions bounds the connections kept open between sends: pages
// sent at once beyond it open their own connection and close it after.
const maxIdleSessions = 2

// DefaultKeepIdle is how long the pager's email sender keeps a connection
// open after a send: well under the five minutes RFC 5321 §4.5.3.2.7 asks
// a relay to wait for the next command, so the relay has not timed it out.
const DefaultKeepIdle = 30 * time.Second

// quitTimeout bounds the polite QUIT of a session that is not kept.
const quitTimeout = 5 * time.Second

// smtpSession is an SMTP connection that has greeted the relay, inside TLS when
// the relay offers it, logged in when configured.
type smtpSession struct {
	c      *smtp.Client
	nc     net.Conn
	mode   connMode
	opened time.Time
	sends  int
	// unbind stops closing nc when the current send's ctx ends; false when
	// that already happened (nc is closed).
	unbind func() bool
	// expiry closes the session when it has sat idle for KeepIdle.
	expiry *time.Timer
}

// bind makes ctx's end close the connection: go-smtp sets its own
// deadline on every command, so closing is what aborts a waiting command.
func (ss *smtpSession) bind(ctx context.Context) {
	ss.unbind = context.AfterFunc(ctx, func() { _ = ss.nc.Close() })
}

// close drops the connection without a word (after a failure: the
// transaction state is unknown).
func (ss *smtpSession) close() {
	if ss.unbind != nil {
		ss.unbind()
	}
	_ = ss.c.Close()
}

// quit ends the session politely, bounded by quitTimeout.
func (ss *smtpSession) quit() {
	if ss.unbind != nil {
		ss.unbind()
	}
	_ = ss.nc.SetDeadline(time.Now().Add(quitTimeout))
	_ = ss.c.Quit()
	_ = ss.c.Close()
}

// takeIdle returns a kept session for a send, or nil. A plain-text session
// kept before the relay was seen offering STARTTLS is not reused.
func (s *Sender) takeIdle() *smtpSession {
	s.idleMu.Lock()
	defer s.idleMu.Unlock()
	for len(s.idle) > 0 {
		ss := s.idle[len(s.idle)-1]
		s.idle = s.idle[:len(s.idle)-1]
		ss.expiry.Stop() // if it fired already, expire finds it gone and leaves it
		if ss.mode == modePlain && s.startTLS.Load() {
			go ss.quit()
			continue
		}
		return ss
	}
	return nil
}

// finish ends a send's use of ss: after a message accepted it is kept for
// the next send (when the Sender keeps connections and has room), else it
// is closed. It runs after the relay's reply to the end of DATA, so the
// page's latency does not include the QUIT.
func (s *Sender) finish(ss *smtpSession, ok bool) {
	if !ok {
		ss.close()
		return
	}
	ss.sends++
	if s.opts.KeepIdle <= 0 || ss.sends >= maxSendsPerSession || time.Since(ss.opened) >= maxSessionAge || !ss.unbind() {
		// Not kept, or ctx ended the moment the message was accepted
		// (the connection is being closed).
		ss.quit()
		return
	}
	ss.unbind = nil
	s.idleMu.Lock()
	if len(s.idle) >= maxIdleSessions {
		s.idleMu.Unlock()
		ss.quit()
		return
	}
	ss.expiry = time.AfterFunc(s.opts.KeepIdle, func() { s.expire(ss) })
	s.idle = append(s.idle, ss)
	s.idleMu.Unlock()
}

// expire closes ss if it is still idle (a send may have taken it just as
// the timer fired).
func (s *Sender) expire(ss *smtpSession) {
	s.idleMu.Lock()
	for i, x := range s.idle {
		if x == ss {
			s.idle = append(s.idle[:i], s.idle[i+1:]...)
			s.idleMu.Unlock()
			ss.quit()
			return
		}
	}
	s.idleMu.Unlock()
}

// Close ends the kept connections. The Sender stays usable.
func (s *Sender) Close() {
	s.idleMu.Lock()
	idle := s.idle
	s.idle = nil
	s.idleMu.Unlock()
	for _, ss := range idle {
		ss.expiry.Stop()
		ss.quit()
	}
}

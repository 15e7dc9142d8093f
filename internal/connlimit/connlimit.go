// Package connlimit caps the concurrent connections of a listener, so that a
// crowd of slow or idle clients cannot use up the process's file descriptors
// (issue 10.6: 3,000 connections that sent headers and then nothing all stayed
// open).
//
// Up to Max connections are served normally. The next Overflow connections
// are still served, but on a short leash: every read on them must complete
// before OverflowTimeout after the accept, so a client that sends its whole
// request at once (a health check, a well-behaved Alertmanager) is answered
// while the cap is hit, and a slow one is cut off within OverflowTimeout.
// Past both, a connection goes to Triage if set (at most TriageMax at once:
// the HTTP listener answers /healthz there and 503 to the rest), else it is
// answered with Refuse (an HTTP 503, an SMTP 421) and closed at once,
// without reading from it.
package connlimit

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Options of a Listener.
type Options struct {
	// Max is how many connections are served normally (required, > 0).
	Max int
	// Overflow is how many connections past Max are served under
	// OverflowTimeout (0: none; past Max every connection is refused).
	Overflow int
	// OverflowTimeout bounds every read on an overflow connection, counted
	// from its accept.
	OverflowTimeout time.Duration
	// Refuse is written to a connection past Max+Overflow before it is
	// closed (may be nil: closed without a word).
	Refuse []byte
	// OnRefuse, if set, is called for each refused connection (a metric).
	OnRefuse func()
	// Triage, if set, takes a connection past both caps in its own
	// goroutine and must close it soon (it holds a file descriptor);
	// TriageMax bounds how many it holds at once, past which Refuse applies.
	Triage    func(net.Conn)
	TriageMax int
}

// Listener wraps a net.Listener with the caps of Options.
type Listener struct {
	net.Listener
	opts             Options
	normal, overflow atomic.Int64
	triage, refused  atomic.Int64
}

// Wrap returns l with the caps.
func Wrap(l net.Listener, opts Options) *Listener {
	return &Listener{Listener: l, opts: opts}
}

// refuseWriteTimeout bounds writing the refusal: it is a few bytes into an
// empty socket buffer, so this never waits in practice, and never blocks
// Accept if the peer is gone.
const refuseWriteTimeout = 100 * time.Millisecond

// Accept returns the next connection that is within the caps; connections
// past them are refused here and never returned.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.normal.Add(1) <= int64(l.opts.Max) {
			return &conn{Conn: c, release: func() { l.normal.Add(-1) }}, nil
		}
		l.normal.Add(-1)
		if l.overflow.Add(1) <= int64(l.opts.Overflow) {
			limit := time.Now().Add(l.opts.OverflowTimeout)
			_ = c.SetReadDeadline(limit)
			return &conn{Conn: c, readLimit: limit, release: func() { l.overflow.Add(-1) }}, nil
		}
		l.overflow.Add(-1)
		if l.opts.Triage != nil && l.triage.Add(1) <= int64(l.opts.TriageMax) {
			go l.triaged(c)
			continue
		}
		if l.opts.Triage != nil {
			l.triage.Add(-1)
		}
		l.refuse(c)
	}
}

func (l *Listener) triaged(c net.Conn) {
	defer l.triage.Add(-1)
	l.opts.Triage(c)
}

func (l *Listener) refuse(c net.Conn) {
	l.refused.Add(1)
	if l.opts.OnRefuse != nil {
		l.opts.OnRefuse()
	}
	if len(l.opts.Refuse) > 0 {
		_ = c.SetWriteDeadline(time.Now().Add(refuseWriteTimeout))
		_, _ = c.Write(l.opts.Refuse)
	}
	_ = c.Close()
}

// Open is how many connections are open, normal and overflow.
func (l *Listener) Open() (normal, overflow int64) { return l.normal.Load(), l.overflow.Load() }

// Refused is how many connections were refused since the start.
func (l *Listener) Refused() int64 { return l.refused.Load() }

// conn gives its slot back once, on the first Close.
type conn struct {
	net.Conn
	readLimit time.Time // zero: a normal connection
	once      sync.Once
	release   func()
}

func (c *conn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// SetReadDeadline keeps an overflow connection's reads within its limit:
// servers reset deadlines per request (and to zero between requests), which
// must not lift the limit.
func (c *conn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}

// SetDeadline clamps the read side as SetReadDeadline does.
func (c *conn) SetDeadline(t time.Time) error {
	if c.readLimit.IsZero() {
		return c.Conn.SetDeadline(t)
	}
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.Conn.SetReadDeadline(c.clamp(t))
}

func (c *conn) clamp(t time.Time) time.Time {
	if c.readLimit.IsZero() || (!t.IsZero() && t.Before(c.readLimit)) {
		return t
	}
	return c.readLimit
}

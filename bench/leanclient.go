package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// LeanConn is a closed-loop worker's HTTP/1.1 client for one endpoint: one
// keep-alive TCP connection (made again after an error or a
// "Connection: close"), the request head built once, each request sent
// with one write and its answer read into reused buffers. A worker of
// net/http's client costs the bench process about 85 µs of CPU per request
// on this machine (a request object, header maps, the transport's
// goroutines and channels, io.ReadAll), which on two cores is CPU taken
// from the servers being measured; wrk-like tools exist for that reason.
// A LeanConn is not safe for concurrent use: each worker owns one.
type LeanConn struct {
	addr    string
	head    []byte // request line and headers up to "Content-Length: "
	want    int
	timeout time.Duration

	conn   net.Conn
	br     *bufio.Reader
	reused bool // the connection has answered a request already
	req    []byte
	body   []byte

	watched   context.Context // the context whose cancellation closes conn
	stopWatch func() bool
}

// LeanTimeout bounds a request (connect, write and answer), as Client's
// Timeout does.
const LeanTimeout = 30 * time.Second

// NewLeanConn prepares a client for POSTs to endpoint e (an http:// URL);
// it connects on the first request.
func NewLeanConn(e Endpoint) (*LeanConn, error) {
	u, err := url.Parse(e.URL)
	if err != nil {
		return nil, fmt.Errorf("lean client: %w", err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("lean client: %q: want http://host[:port]/path", e.URL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	head := []byte("POST " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\n")
	keys := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !validHeaderText(k, true) || !validHeaderText(e.Headers[k], false) {
			return nil, fmt.Errorf("lean client: invalid header %q", k)
		}
		head = append(head, k+": "+e.Headers[k]+"\r\n"...)
	}
	head = append(head, "Content-Length: "...)
	want := e.Want
	if want == 0 {
		want = 200
	}
	return &LeanConn{addr: addr, head: head, want: want, timeout: LeanTimeout}, nil
}

// SetTimeout changes the bound on each request (0: LeanTimeout).
func (c *LeanConn) SetTimeout(d time.Duration) {
	if d <= 0 {
		d = LeanTimeout
	}
	c.timeout = d
}

// Post sends body and returns the answer's body and status when the status
// is the endpoint's Want; otherwise a *StatusError (or the transport error,
// status 0), as Post does. The returned body is valid until the next call.
// Cancelling ctx closes the connection, which ends a request in flight.
func (c *LeanConn) Post(ctx context.Context, body []byte) ([]byte, int, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	c.req = append(c.req[:0], c.head...)
	c.req = strconv.AppendInt(c.req, int64(len(body)), 10)
	c.req = append(c.req, "\r\n\r\n"...)
	c.req = append(c.req, body...)
	for attempt := 0; ; attempt++ {
		reused := c.conn != nil && c.reused
		if err := c.connect(ctx); err != nil {
			return nil, 0, err
		}
		resp, err := c.roundTrip()
		if err == nil {
			c.reused = true
			if resp.Close {
				c.Close()
			}
			if resp.Status != c.want {
				return resp.Body, resp.Status, &StatusError{Code: resp.Status, RetryAfter: resp.RetryAfter, Body: string(resp.Body)}
			}
			return resp.Body, resp.Status, nil
		}
		c.Close()
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("lean client: %w (%v)", ctx.Err(), err)
		}
		// A kept-alive connection the server closed while it was idle
		// fails before any answer: net/http notices that before it sends
		// and dials again; here the request is sent once more on a new
		// connection. Any other failure is the request's.
		if !reused || attempt > 0 || !errors.Is(err, errLeanNoAnswer) {
			return nil, 0, err
		}
	}
}

// errLeanNoAnswer marks a failure before the first byte of an answer.
var errLeanNoAnswer = errors.New("connection closed before an answer")

func (c *LeanConn) connect(ctx context.Context) error {
	if c.conn == nil {
		d := net.Dialer{Timeout: min(c.timeout, 2*time.Second)}
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return fmt.Errorf("lean client: %w", err)
		}
		c.conn, c.reused = conn, false
		if c.br == nil {
			c.br = bufio.NewReaderSize(conn, 4096)
		} else {
			c.br.Reset(conn)
		}
		c.watched = nil
	}
	if c.watched != ctx {
		if c.stopWatch != nil {
			c.stopWatch()
		}
		conn := c.conn
		c.stopWatch = context.AfterFunc(ctx, func() { conn.Close() })
		c.watched = ctx
	}
	return nil
}

// roundTrip writes the built request and reads its answer.
func (c *LeanConn) roundTrip() (leanResponse, error) {
	if err := c.conn.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return leanResponse{}, fmt.Errorf("lean client: %w", err)
	}
	if _, err := c.conn.Write(c.req); err != nil {
		return leanResponse{}, fmt.Errorf("lean client: write: %w", noAnswer(err))
	}
	if _, err := c.br.Peek(1); err != nil {
		return leanResponse{}, fmt.Errorf("lean client: read: %w", noAnswer(err))
	}
	resp, err := readLeanResponse(c.br, c.body)
	if cap(resp.Body) > cap(c.body) {
		c.body = resp.Body[:0]
	}
	if err != nil {
		return resp, fmt.Errorf("lean client: %w", err)
	}
	return resp, nil
}

// noAnswer marks the errors of a connection the server had closed.
func noAnswer(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w: %w", errLeanNoAnswer, err)
	}
	return err
}

// Close closes the connection (the next Post connects again).
func (c *LeanConn) Close() {
	if c.stopWatch != nil {
		c.stopWatch()
		c.stopWatch, c.watched = nil, nil
	}
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// validHeaderText refuses header names that are not tokens and values with
// control bytes, which would split the request.
func validHeaderText(s string, name bool) bool {
	if name && s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if name && !isTokenByte(c) || !name && c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// raftHandshakeTimeout bounds a TLS handshake on the Raft port, and the wait
// for a connection's first byte, so a peer that connects and says nothing
// cannot hold a connection open.
const raftHandshakeTimeout = 10 * time.Second

// tunnelHTTP is the first byte a member sends on a mutual-TLS connection to
// the Raft port to speak HTTP to the node's API instead of Raft (whose
// messages start with their type, 0–3). Node-to-node HTTP (forwarded writes
// and replies) thus travels encrypted and only between certificate holders.
const tunnelHTTP = 'H'

// newRaftTransport is the Raft transport: plain TCP without TLS files (the
// default, for --dev and loopback), mutual TLS with them; then the layer is
// returned too, for the HTTP tunnel.
func newRaftTransport(bind string, src *tlsSource, hlog hclog.Logger, log *slog.Logger) (*raft.NetworkTransport, *tlsStreamLayer, error) {
	addr, err := net.ResolveTCPAddr("tcp", bind)
	if err != nil {
		return nil, nil, fmt.Errorf("raft address %q: %w", bind, err)
	}
	if src == nil {
		t, err := raft.NewTCPTransportWithLogger(bind, addr, 8, 10*time.Second, hlog)
		return t, nil, err
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		return nil, nil, fmt.Errorf("raft address %q: give the address peers reach this node at, not an unspecified one", bind)
	}
	raw, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, nil, err
	}
	var advertise net.Addr = addr
	if addr.Port == 0 {
		advertise = raw.Addr() // port 0 (tests): the port actually taken
	}
	layer := newTLSStreamLayer(raw, advertise, src, log)
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 8, Timeout: 10 * time.Second, Logger: hlog,
	}), layer, nil
}

// tlsStreamLayer is a raft.StreamLayer over mutual TLS: a connection whose
// peer has no certificate from the cluster CA fails its handshake before a
// single byte of it is read. After the handshake, a connection that starts
// with tunnelHTTP goes to the HTTP tunnel listener; any other goes to Raft.
type tlsStreamLayer struct {
	raw       net.Listener
	advertise net.Addr
	src       *tlsSource
	log       *slog.Logger

	raftConns chan net.Conn
	tunnel    *connListener
	done      chan struct{}
	closeOnce sync.Once
}

func newTLSStreamLayer(raw net.Listener, advertise net.Addr, src *tlsSource, log *slog.Logger) *tlsStreamLayer {
	l := &tlsStreamLayer{raw: raw, advertise: advertise, src: src, log: log,
		raftConns: make(chan net.Conn), done: make(chan struct{})}
	l.tunnel = &connListener{conns: make(chan net.Conn), done: l.done, addr: advertise}
	go l.acceptLoop()
	return l
}

// acceptLoop hands every connection to its own goroutine for the handshake
// and the first byte, so a slow peer cannot stall the others.
func (l *tlsStreamLayer) acceptLoop() {
	for {
		c, err := l.raw.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				l.Close()
				return
			}
			l.log.Warn("raft port: accept failed", "err", err)
			time.Sleep(50 * time.Millisecond) // as net/http does on accept errors
			continue
		}
		go l.classify(c)
	}
}

func (l *tlsStreamLayer) classify(c net.Conn) {
	tc := tls.Server(c, l.src.serverConfig())
	ctx, cancel := context.WithTimeout(context.Background(), raftHandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		l.src.refused.Inc()
		l.log.Warn("refused a Raft connection: TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	var first [1]byte
	tc.SetReadDeadline(time.Now().Add(raftHandshakeTimeout))
	if _, err := io.ReadFull(tc, first[:]); err != nil {
		tc.Close()
		return
	}
	tc.SetReadDeadline(time.Time{})
	dst := l.raftConns
	var conn net.Conn = &prefixConn{Conn: tc, first: first[0], pending: true}
	if first[0] == tunnelHTTP {
		dst, conn = l.tunnel.conns, tc
	}
	// Nobody taking it (no tunnel server yet) must not hold it forever.
	timer := time.NewTimer(raftHandshakeTimeout)
	defer timer.Stop()
	select {
	case dst <- conn:
	case <-l.done:
		tc.Close()
	case <-timer.C:
		l.log.Warn("raft port: connection not taken up; closed", "remote", c.RemoteAddr().String(), "tunnel", first[0] == tunnelHTTP)
		tc.Close()
	}
}

// Accept returns the next Raft connection (handshake done).
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.raftConns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *tlsStreamLayer) Close() error {
	var err error
	l.closeOnce.Do(func() { close(l.done); err = l.raw.Close() })
	return err
}

func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial opens a mutual-TLS connection to a peer's Raft port; the handshake is
// done before it returns, so a peer without a CA-signed certificate is never
// sent a message.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return l.dial(ctx, string(address))
}

func (l *tlsStreamLayer) dial(ctx context.Context, address string) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: l.src.clientConfig()}
	c, err := d.DialContext(ctx, "tcp", address)
	if err != nil {
		return nil, fmt.Errorf("raft TLS dial %s: %w", address, err)
	}
	return c, nil
}

// DialTunnel opens the HTTP tunnel to a member's Raft port: a mutual-TLS
// connection that starts with tunnelHTTP.
func (l *tlsStreamLayer) DialTunnel(ctx context.Context, address string) (net.Conn, error) {
	c, err := l.dial(ctx, address)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{tunnelHTTP}); err != nil {
		c.Close()
		return nil, fmt.Errorf("raft TLS tunnel to %s: %w", address, err)
	}
	return c, nil
}

// prefixConn gives back the first byte classify read.
type prefixConn struct {
	net.Conn
	first   byte
	pending bool
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if c.pending && len(b) > 0 {
		c.pending = false
		b[0] = c.first
		return 1, nil
	}
	return c.Conn.Read(b)
}

// connListener is a net.Listener fed with connections classify routed to
// the HTTP tunnel.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	addr  net.Addr
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error   { return nil } // closed with the layer
func (l *connListener) Addr() net.Addr { return l.addr }

package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// raftHandshakeTimeout bounds a TLS handshake on the Raft port, so a peer
// that connects and says nothing cannot hold a connection open.
const raftHandshakeTimeout = 10 * time.Second

// newRaftTransport is the Raft transport: plain TCP without TLS files (the
// default, for --dev and loopback), mutual TLS with them.
func newRaftTransport(bind string, src *tlsSource, hlog hclog.Logger, log *slog.Logger) (*raft.NetworkTransport, error) {
	addr, err := net.ResolveTCPAddr("tcp", bind)
	if err != nil {
		return nil, fmt.Errorf("raft address %q: %w", bind, err)
	}
	if src == nil {
		return raft.NewTCPTransportWithLogger(bind, addr, 8, 10*time.Second, hlog)
	}
	if addr.IP == nil || addr.IP.IsUnspecified() {
		return nil, fmt.Errorf("raft address %q: give the address peers reach this node at, not an unspecified one", bind)
	}
	raw, err := net.Listen("tcp", bind)
	if err != nil {
		return nil, err
	}
	var advertise net.Addr = addr
	if addr.Port == 0 {
		advertise = raw.Addr() // port 0 (tests): the port actually taken
	}
	layer := &tlsStreamLayer{raw: raw, advertise: advertise, src: src, log: log}
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: layer, MaxPool: 8, Timeout: 10 * time.Second, Logger: hlog,
	}), nil
}

// tlsStreamLayer is a raft.StreamLayer over mutual TLS: a connection whose
// peer has no certificate from the cluster CA fails its handshake before a
// single Raft message is read from it.
type tlsStreamLayer struct {
	raw       net.Listener
	advertise net.Addr
	src       *tlsSource
	log       *slog.Logger
}

// Accept returns the next connection; its handshake runs on its first read
// or write (in the goroutine Raft serves it on), so a slow peer cannot stall
// the accept loop.
func (l *tlsStreamLayer) Accept() (net.Conn, error) {
	c, err := l.raw.Accept()
	if err != nil {
		return nil, err
	}
	return &handshakeConn{Conn: tls.Server(c, l.src.serverConfig()), log: l.log, refused: l.src.refused}, nil
}

func (l *tlsStreamLayer) Close() error   { return l.raw.Close() }
func (l *tlsStreamLayer) Addr() net.Addr { return l.advertise }

// Dial opens a mutual-TLS connection to a peer's Raft port; the handshake is
// done before it returns, so a peer without a CA-signed certificate is never
// sent a message.
func (l *tlsStreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: l.src.clientConfig()}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raft TLS dial %s: %w", address, err)
	}
	return c, nil
}

// handshakeConn completes the server handshake, bounded in time, before the
// first byte is read or written, and logs a refused peer once.
type handshakeConn struct {
	*tls.Conn
	log     *slog.Logger
	refused prometheus.Counter
	once    sync.Once
	err     error
}

func (c *handshakeConn) handshake() error {
	c.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), raftHandshakeTimeout)
		defer cancel()
		c.err = c.Conn.HandshakeContext(ctx)
		if c.err != nil {
			c.refused.Inc()
			c.log.Warn("refused a Raft connection: TLS handshake failed", "remote", c.RemoteAddr().String(), "err", c.err)
		}
	})
	return c.err
}

func (c *handshakeConn) Read(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *handshakeConn) Write(b []byte) (int, error) {
	if err := c.handshake(); err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

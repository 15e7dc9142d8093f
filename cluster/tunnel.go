package cluster

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/internal/connlimit"
)

// With --raft-tls-*, node-to-node HTTP requests to the leader (a write a
// follower proxies, a reply it forwards) go through the HTTP tunnel on the
// leader's Raft port (transport.go): mutual TLS, so a client's bearer token
// and a reply's content cross the network encrypted, and only to a
// certificate holder. The tunnel serves the same API handler as the public
// port: authorisation is the request's own (the client's token, or the node
// signature of nodeauth.go), the tunnel only carries it. Without TLS the
// requests go to the leader's --http-addr, as before.

// TunnelOptions bound the tunnel's server like the API listener's: a peer
// holding the TLS certificate is trusted to send, not to hold connections
// or goroutines forever (a stuck or compromised member).
type TunnelOptions struct {
	ReadTimeout, WriteTimeout time.Duration // 0: DefaultTunnelTimeout
	MaxConns                  int           // 0: DefaultTunnelMaxConns
}

// Defaults of TunnelOptions.
const (
	DefaultTunnelTimeout  = time.Minute
	DefaultTunnelMaxConns = 1024
)

// ServeTunnel serves h on the HTTP tunnel of the Raft port. A node without
// TLS has no tunnel and ignores the call. Call it once, after Open.
func (n *Node) ServeTunnel(h http.Handler, opts TunnelOptions) {
	if n.raftLayer == nil {
		return
	}
	srv, ln := tunnelServer(h, n.raftLayer.tunnel, opts)
	n.tunnelMu.Lock()
	n.tunnelSrv = srv
	n.tunnelMu.Unlock()
	go srv.Serve(ln)
}

// tunnelServer is the tunnel's server with every timeout set, on l capped
// at opts.MaxConns (past it a connection is closed at once).
func tunnelServer(h http.Handler, l net.Listener, opts TunnelOptions) (*http.Server, net.Listener) {
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultTunnelTimeout
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultTunnelTimeout
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = DefaultTunnelMaxConns
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: opts.ReadTimeout,
		WriteTimeout: opts.WriteTimeout, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	return srv, connlimit.Wrap(l, connlimit.Options{Max: opts.MaxConns})
}

func (n *Node) closeTunnel() {
	n.tunnelMu.Lock()
	srv := n.tunnelSrv
	n.tunnelMu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// NodeTransport carries node-to-node HTTP requests made with LeaderRequest:
// through the tunnel with TLS, plain HTTP without.
func (n *Node) NodeTransport() http.RoundTripper {
	if n.tls != nil {
		return n.forwarder.tunnel
	}
	return n.forwarder.plain
}

func newTunnelTransport(n *Node) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			return n.raftLayer.DialTunnel(ctx, addr)
		},
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
}

// leaderBase is the base URL of the leader's API as this node reaches it:
// its Raft address (the tunnel) with TLS, its --http-addr without.
func (n *Node) leaderBase() (string, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return "", false
	}
	if n.tls != nil {
		return "http://" + string(addr), addr != ""
	}
	http := n.fsm.Nodes()[string(id)].HTTPAddr
	return normalizeURL(http), http != ""
}

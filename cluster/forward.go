package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// forwardedHeader marks a request a follower proxied to the leader. A node
// that receives one while not leading answers 503 instead of forwarding again,
// so a leadership change mid-flight cannot make requests loop.
const forwardedHeader = "X-Pagerd-Forwarded-By"

// forwarder proxies write requests from followers to the leader's HTTP API.
// Proxying the whole request keeps one code path for every write: the leader
// authenticates, validates, stamps time and ids, and answers.
type forwarder struct {
	n      *Node
	client *http.Client    // to members' public HTTP ports (joins, probes)
	plain  *http.Transport // client's transport
	tunnel *http.Transport // to the leader's Raft port, with TLS (tunnel.go)
	proxy  *httputil.ReverseProxy
	ingest *ingestForwarder // ingest payloads to the leader (ingestfwd.go)
}

func newForwarder(n *Node) *forwarder {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
	f := &forwarder{n: n, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}, plain: tr, tunnel: newTunnelTransport(n)}
	var toLeader http.RoundTripper = tr
	if n.tls != nil {
		toLeader = f.tunnel
	}
	f.ingest = newIngestForwarder(n, toLeader)
	f.proxy = &httputil.ReverseProxy{
		Transport: toLeader,
		// Without a pool the proxy allocates a 32 KiB copy buffer per
		// forwarded request: a third of a follower's allocations in a storm.
		BufferPool: proxyBuffers{},
		Rewrite: func(pr *httputil.ProxyRequest) {
			target, _ := pr.In.Context().Value(targetKey{}).(*url.URL)
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Set(forwardedHeader, n.opts.NodeID)
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			n.log.Warn("forward to leader failed", "err", err, "path", r.URL.Path)
			WriteUnavailable(w, "leader unreachable: "+err.Error(), time.Second)
		},
	}
	return f
}

type targetKey struct{}

// proxyBuffers is the forwarder's httputil.BufferPool: 32 KiB buffers, as
// the proxy would allocate, reused through a sync.Pool.
type proxyBuffers struct{}

var proxyBufferPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (proxyBuffers) Get() []byte  { return *proxyBufferPool.Get().(*[]byte) }
func (proxyBuffers) Put(b []byte) { proxyBufferPool.Put(&b) }

// LeaderOnly wraps a write handler: the leader serves it; a follower proxies
// the request to the leader; with no known leader the answer is 503 with
// Retry-After, never a 4xx, because senders such as Alertmanager retry 5xx only.
func (n *Node) LeaderOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.IsLeader() {
			h.ServeHTTP(w, r)
			return
		}
		if r.Header.Get(forwardedHeader) != "" {
			WriteUnavailable(w, "leadership changed while forwarding; retry", time.Second)
			return
		}
		base, ok := n.leaderBase()
		if !ok {
			WriteUnavailable(w, "no cluster leader; retry", time.Second)
			return
		}
		target, err := url.Parse(base)
		if err != nil {
			WriteUnavailable(w, "bad leader address", time.Second)
			return
		}
		ctx := r.Context()
		n.forwarder.proxy.ServeHTTP(w, r.WithContext(contextWith(ctx, target)))
	})
}

// IngestAnywhere wraps an ingest handler (router.Handler): the leader
// serves it; so does a follower that has caught up with the cluster (its
// config and keys are current) while the leader takes forwarded ingest
// payloads — the handler decides 4xx answers here and its submits go to
// the leader over the ingest channel (ingestfwd.go). Otherwise, and for a
// request that was itself forwarded, it behaves as LeaderOnly: the whole
// request is proxied, or answered 503.
func (n *Node) IngestAnywhere(h http.Handler) http.Handler {
	proxied := n.LeaderOnly(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !n.IsLeader() && r.Header.Get(forwardedHeader) == "" && n.CaughtUp() && n.forwarder.ingest.leaderSpeaks() {
			h.ServeHTTP(w, r)
			return
		}
		proxied.ServeHTTP(w, r)
	})
}

// WriteUnavailable answers 503 with Retry-After and the JSON error body.
func WriteUnavailable(w http.ResponseWriter, msg string, after time.Duration) {
	secs := int(after.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusServiceUnavailable)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func contextWith(ctx context.Context, target *url.URL) context.Context {
	return context.WithValue(ctx, targetKey{}, target)
}

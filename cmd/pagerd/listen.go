package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/internal/connlimit"
	"github.com/pagerd/pagerd/reply/mailserver"
)

// listenFlags bound what one client can hold of the HTTP and SMTP
// listeners (issue 10.6): how long it may take to send a request, how long
// an answer may take to go out, how long an idle keep-alive connection
// stays, and how many connections are open at once.
type listenFlags struct {
	readHeaderTimeout, readTimeout, writeTimeout, idleTimeout time.Duration
	longTimeout, overflowTimeout                              time.Duration
	maxConns, overflowConns, smtpMaxConns                     int
}

// Defaults of the listener flags (docs/operations.md, "Timeouts and
// connection limits").
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultReadTimeout       = 30 * time.Second
	defaultWriteTimeout      = time.Minute
	defaultIdleTimeout       = 2 * time.Minute
	defaultLongTimeout       = 10 * time.Minute
	defaultOverflowTimeout   = 5 * time.Second
	defaultMaxConns          = 1024
	defaultOverflowConns     = 256
)

func addListenFlags(fs *flag.FlagSet, f *listenFlags) {
	fs.DurationVar(&f.readHeaderTimeout, "http-read-header-timeout", defaultReadHeaderTimeout, "longest wait for a request's headers")
	fs.DurationVar(&f.readTimeout, "http-read-timeout", defaultReadTimeout, "longest wait for a whole request, body included (past it: 408)")
	fs.DurationVar(&f.writeTimeout, "http-write-timeout", defaultWriteTimeout, "longest time from a request's headers to the end of its answer")
	fs.DurationVar(&f.idleTimeout, "http-idle-timeout", defaultIdleTimeout, "how long an idle keep-alive connection stays open")
	fs.DurationVar(&f.longTimeout, "http-snapshot-timeout", defaultLongTimeout, "read and write timeout of GET and PUT /v1/snapshot and GET /v1/incidents/export instead of the two above")
	fs.IntVar(&f.maxConns, "http-max-conns", defaultMaxConns, "HTTP connections served normally at once")
	fs.IntVar(&f.overflowConns, "http-overflow-conns", defaultOverflowConns, "HTTP connections past --http-max-conns still served, each within --http-overflow-timeout; past both: 503 at once")
	fs.DurationVar(&f.overflowTimeout, "http-overflow-timeout", defaultOverflowTimeout, "time an overflow connection has to send its request, from its accept")
	fs.IntVar(&f.smtpMaxConns, "smtp-max-conns", mailserver.DefaultMaxConns, "inbound SMTP connections at once; past it: 421 at once")
}

// check refuses values that would switch a bound off or make no sense.
func (f listenFlags) check() error {
	for name, d := range map[string]time.Duration{
		"--http-read-header-timeout": f.readHeaderTimeout, "--http-read-timeout": f.readTimeout,
		"--http-write-timeout": f.writeTimeout, "--http-idle-timeout": f.idleTimeout,
		"--http-snapshot-timeout": f.longTimeout, "--http-overflow-timeout": f.overflowTimeout,
	} {
		if d <= 0 {
			return usagef("%s must be positive (got %v)", name, d)
		}
	}
	if f.maxConns < 1 || f.smtpMaxConns < 1 {
		return usagef("--http-max-conns and --smtp-max-conns must be at least 1 (got %d, %d)", f.maxConns, f.smtpMaxConns)
	}
	if f.overflowConns < 0 {
		return usagef("--http-overflow-conns must not be negative (got %d)", f.overflowConns)
	}
	return nil
}

// httpBusy is written, without reading the request, to a connection past
// both caps. Alertmanager and PagerDuty clients retry a 503.
var httpBusy = func() []byte {
	body := `{"error":"too many connections; retry after 1 second"}` + "\n"
	return []byte(fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"+
		"Connection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body))
}()

// triageMax bounds the connections past both caps that are read for a
// health check at once; past it they get httpBusy unread.
const triageMax = 64

// triageTimeout is how long a connection past both caps has to send its
// request line: a health checker sends it at once.
const triageTimeout = 500 * time.Millisecond

const healthyBody = `{"status":"ok"}` + "\n"

var httpHealthy = []byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"+
	"Content-Length: %d\r\n\r\n%s", len(healthyBody), healthyBody))

// triage answers a connection past both caps: GET or HEAD /healthz is
// answered 200, so a load balancer does not take a busy node for a dead one
// (the process serves); anything else gets httpBusy. It reads only the
// request line, within triageTimeout.
func triage(c net.Conn, refused func()) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(triageTimeout))
	line, err := bufio.NewReaderSize(io.LimitReader(c, 512), 512).ReadString('\n')
	answer, healthy := triageAnswer(line, err == nil)
	if !healthy {
		refused()
	}
	_, _ = c.Write(answer)
	if !healthy {
		lingerClose(c)
	}
}

// triageAnswer is the answer to a request line (complete: ended by a
// newline): the health answer to GET or HEAD /healthz, else httpBusy.
func triageAnswer(line string, complete bool) (answer []byte, healthy bool) {
	method, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	target, _, _ := strings.Cut(rest, " ")
	if !complete || target != "/healthz" {
		return httpBusy, false
	}
	switch method {
	case http.MethodGet:
		return httpHealthy, true
	case http.MethodHead:
		return httpHealthy[:len(httpHealthy)-len(healthyBody)], true
	}
	return httpBusy, false
}

// lingerClose half-closes and drains briefly, as net/http does, so that a
// client still sending its body reads the answer instead of a reset.
func lingerClose(c net.Conn) {
	if tc, ok := c.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(triageTimeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(c, 64<<10))
}

// listenHTTP opens the API listener with its connection caps and returns the
// server to Serve it with; every timeout is set.
func listenHTTP(addr string, h http.Handler, f listenFlags, reg prometheus.Registerer, log *slog.Logger) (*http.Server, net.Listener, error) {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	refused := prometheus.NewCounter(prometheus.CounterOpts{Name: "pagerd_http_connections_refused_total",
		Help: "HTTP connections answered 503 at once because --http-max-conns and --http-overflow-conns were all in use."})
	ln := connlimit.Wrap(raw, connlimit.Options{Max: f.maxConns, Overflow: f.overflowConns,
		OverflowTimeout: f.overflowTimeout, Refuse: httpBusy, OnRefuse: refused.Inc,
		Triage: func(c net.Conn) { triage(c, refused.Inc) }, TriageMax: triageMax})
	registerConnMetrics(reg, ln, refused)
	srv := &http.Server{
		Handler:           longRequests(h, f.longTimeout, log),
		ReadHeaderTimeout: f.readHeaderTimeout,
		ReadTimeout:       f.readTimeout,
		WriteTimeout:      f.writeTimeout,
		IdleTimeout:       f.idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return srv, ln, nil
}

func registerConnMetrics(reg prometheus.Registerer, ln *connlimit.Listener, refused prometheus.Counter) {
	if reg == nil {
		return
	}
	open := func(overflow bool) func() float64 {
		return func() float64 {
			n, o := ln.Open()
			if overflow {
				return float64(o)
			}
			return float64(n)
		}
	}
	reg.MustRegister(refused,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pagerd_http_connections", Help: "Open HTTP connections within --http-max-conns.",
			ConstLabels: prometheus.Labels{"class": "normal"}}, open(false)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pagerd_http_connections", Help: "Open HTTP connections within --http-max-conns.",
			ConstLabels: prometheus.Labels{"class": "overflow"}}, open(true)))
}

// longRequests gives snapshot downloads and restores and the incident
// export, which move the whole state (tens of megabytes), the longer
// --http-snapshot-timeout instead of the read and write timeouts every other
// request has.
func longRequests(h http.Handler, d time.Duration, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLongRequest(r) {
			rc := http.NewResponseController(w)
			deadline := time.Now().Add(d)
			if err := rc.SetReadDeadline(deadline); err != nil {
				log.Debug("snapshot request: cannot extend the read deadline", "err", err)
			}
			if err := rc.SetWriteDeadline(deadline); err != nil {
				log.Debug("snapshot request: cannot extend the write deadline", "err", err)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// isLongRequest: GET and PUT /v1/snapshot, GET /v1/incidents/export.
func isLongRequest(r *http.Request) bool {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/v1/snapshot":
		return true
	case "/v1/incidents/export":
		return r.Method == http.MethodGet
	}
	return false
}

package bench

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ClientKind names the HTTP client closed-loop workers use.
type ClientKind string

const (
	// ClientLean is LeanConn: one keep-alive connection per worker, no
	// allocations per request beyond its body (the default).
	ClientLean ClientKind = "lean"
	// ClientNetHTTP is net/http through Client and Post, the bench's
	// client before the lean one, kept to compare the generator's cost.
	ClientNetHTTP ClientKind = "nethttp"
)

// ParseClientKind reads a -client flag value.
func ParseClientKind(s string) (ClientKind, error) {
	switch k := ClientKind(s); k {
	case ClientLean, ClientNetHTTP:
		return k, nil
	case "":
		return ClientLean, nil
	}
	return "", fmt.Errorf("unknown client %q (want lean or nethttp)", s)
}

// Endpoint is where a worker posts, with which extra headers, and which
// status counts as success.
type Endpoint struct {
	URL     string
	Headers map[string]string
	Want    int
}

// Poster sends request bodies to one endpoint for one worker.
type Poster interface {
	// Post is bench.Post's contract: the answer body and status when the
	// status is the endpoint's Want, else a *StatusError (status 0 for a
	// transport error). The body may be reused by the next call.
	Post(ctx context.Context, body []byte) ([]byte, int, error)
	Close()
}

// NewPoster makes a worker's poster of kind k for e. The lean client speaks
// plain HTTP only: an https:// endpoint (a cluster measured with -urls)
// goes through net/http whatever k says.
func (k ClientKind) NewPoster(e Endpoint) (Poster, error) {
	if k == ClientNetHTTP || strings.HasPrefix(e.URL, "https://") {
		return netPoster{e}, nil
	}
	return NewLeanConn(e)
}

type netPoster struct{ e Endpoint }

func (p netPoster) Post(ctx context.Context, body []byte) ([]byte, int, error) {
	return Post(ctx, p.e.URL, body, p.e.Headers, p.e.Want)
}

func (netPoster) Close() {}

// bodyOp makes worker w's operation: build the body of operation i into a
// reused buffer and post it to endpoint(w). items is the events a request
// carries.
func bodyOp(k ClientKind, endpoint func(w int) Endpoint, items int, build func(dst []byte, i int64) []byte) WorkerOps {
	return func(w int) (Op, func()) {
		p, err := k.NewPoster(endpoint(w))
		if err != nil {
			return func(context.Context, int64) (int, int, error) { return items, 0, err }, func() {}
		}
		var buf []byte
		return func(ctx context.Context, i int64) (int, int, error) {
			buf = build(buf[:0], i)
			_, code, err := p.Post(ctx, buf)
			return items, code, err
		}, p.Close
	}
}

// spread gives worker w the w-th of urls (round-robin), so the workers are
// spread evenly over the nodes and each keeps its connection to one.
func spread(urls []string, path string, want int, hdr map[string]string) func(w int) Endpoint {
	return func(w int) Endpoint { return Endpoint{URL: urls[w%len(urls)] + path, Headers: hdr, Want: want} }
}

// EventsWorkers posts Events v2 triggers (routing key key, source source)
// with distinct dedup keys run-<i>, worker w to urls[w mod len(urls)].
func EventsWorkers(k ClientKind, urls []string, key, run, source string) WorkerOps {
	return bodyOp(k, spread(urls, "/v2/enqueue", http.StatusAccepted, nil), 1, func(dst []byte, i int64) []byte {
		return AppendEventTrigger(dst, key, run, i, source)
	})
}

// WebhookWorkers posts Alertmanager webhooks of batch distinct alerts, each
// a new group (so a new incident).
func WebhookWorkers(k ClientKind, urls []string, run string, batch int) WorkerOps {
	hdr := map[string]string{"Authorization": "Bearer " + WebhookKey}
	return bodyOp(k, spread(urls, "/v1/ingest/alertmanager", http.StatusAccepted, hdr), batch, func(dst []byte, i int64) []byte {
		return AppendWebhook(dst, run, i, batch, "bench", time.Now())
	})
}

// AlertmanagerWorkers posts batch new alerts of service per request to
// Alertmanager's POST /api/v2/alerts.
func AlertmanagerWorkers(k ClientKind, amURL, run string, batch int, service string) WorkerOps {
	return bodyOp(k, spread([]string{amURL}, "/api/v2/alerts", http.StatusOK, nil), batch, func(dst []byte, i int64) []byte {
		return AppendPostableAlerts(dst, run, i, batch, service, time.Now())
	})
}

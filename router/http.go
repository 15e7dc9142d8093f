package router

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

// Ingest paths (spec §2).
const (
	PathAlertmanager    = "/v1/ingest/alertmanager"
	PathAlertmanagerKey = "/v1/ingest/alertmanager/{key}"
	PathEvents          = "/v2/enqueue"
)

// Defaults of Options.
const (
	DefaultMaxBody          = 1 << 20
	defaultNoConfigRetry    = 5 * time.Second
	defaultDeadlineRetry    = 1 * time.Second
	alertmanagerAuthRealm   = `Bearer realm="pagerd"`
	eventsInvalidStatusText = "invalid event"
)

// Options tunes a Handler. The zero value is usable.
type Options struct {
	// MaxBody is the largest accepted request body in bytes (default 1 MiB).
	MaxBody int64
	// Registerer receives pagerd_ingest_requests_total; nil exports nothing.
	Registerer prometheus.Registerer
	// Logger gets server-side failures (never keys or bodies); nil means slog.Default().
	Logger *slog.Logger
	// NoConfigRetryAfter is the Retry-After sent while no config is committed
	// (default 5s).
	NoConfigRetryAfter time.Duration
}

// Handler serves the ingest endpoints. It is safe for concurrent use.
type Handler struct {
	cfg         func() *config.Config
	sub         Submitter
	maxBody     int64
	noCfgRetry  time.Duration
	log         *slog.Logger
	metrics     *metrics
	tables      tableCache
	mux         *http.ServeMux
	newDedupKey func() string
}

// NewHandler returns the ingest handler. cfg returns the committed config, or
// nil before the first one is applied; the returned *config.Config must not be
// mutated afterwards, because its routing table is cached by pointer.
func NewHandler(cfg func() *config.Config, sub Submitter, opts Options) *Handler {
	h := &Handler{
		cfg:         cfg,
		sub:         sub,
		maxBody:     opts.MaxBody,
		noCfgRetry:  opts.NoConfigRetryAfter,
		log:         opts.Logger,
		metrics:     newMetrics(opts.Registerer),
		newDedupKey: newDedupKey,
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.noCfgRetry <= 0 {
		h.noCfgRetry = defaultNoConfigRetry
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.mux = http.NewServeMux()
	h.Register(h.mux)
	return h
}

// Register mounts the ingest endpoints on mux. The patterns carry no method so
// that a wrong method gets our JSON 405 rather than the mux's plain-text one.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(PathAlertmanager, h.ServeAlertmanager)
	mux.HandleFunc(PathAlertmanagerKey, h.ServeAlertmanager)
	mux.HandleFunc(PathEvents, h.ServeEvents)
}

// ServeHTTP serves the ingest endpoints on their own, for tests and for
// servers that mount the handler under a prefix-free catch-all.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// outcome is what one request came to; serve writes it and counts it.
type outcome struct {
	status      int
	integration string
	msg         string        // error text for status >= 300
	retryAfter  time.Duration // with 503
	body        any           // success body
	raw         rawJSON       // success body already encoded (instead of body)
}

func fail(status int, integration, msg string) outcome {
	return outcome{status: status, integration: integration, msg: msg}
}

// ServeAlertmanager handles POST /v1/ingest/alertmanager[/{key}].
func (h *Handler) ServeAlertmanager(w http.ResponseWriter, r *http.Request) {
	o := h.alertmanager(w, r)
	if o.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", alertmanagerAuthRealm)
	}
	h.write(w, incident.SourceAlertmanager, o)
}

// ServeEvents handles POST /v2/enqueue.
func (h *Handler) ServeEvents(w http.ResponseWriter, r *http.Request) {
	h.write(w, incident.SourceEvents, h.events(w, r))
}

// alertmanager authenticates before reading the body, so an unauthenticated
// sender cannot make us read or parse a megabyte.
func (h *Handler) alertmanager(w http.ResponseWriter, r *http.Request) outcome {
	table, o, ok := h.begin(r)
	if !ok {
		return o
	}
	key := alertmanagerKey(r)
	if key == "" {
		return fail(http.StatusUnauthorized, "", "missing integration key (send Authorization: Bearer KEY or POST to "+PathAlertmanager+"/KEY)")
	}
	in := table.authenticate(key)
	if in == nil {
		return fail(http.StatusUnauthorized, "", "unknown integration key")
	}
	body, o, ok := h.readBody(w, r, in.name)
	if !ok {
		return o
	}
	msg, err := DecodeAlertmanager(body)
	if err != nil {
		return fail(http.StatusBadRequest, in.name, err.Error())
	}
	if o, done := h.pingWatchdogs(r.Context(), in.name, msg); done {
		return o
	}
	var lset map[string]string
	if in.usesLabels() {
		lset = alertRoutingLabels(msg)
	}
	service, err := in.route(lset)
	if err != nil {
		return fail(http.StatusBadRequest, in.name, err.Error())
	}
	g := table.BuildAlertGroup(msg, in.name, service)
	res, err := h.sub.SubmitAlertGroup(r.Context(), g)
	if err != nil {
		return h.submitFailed(err, in.name)
	}
	return outcome{status: http.StatusAccepted, integration: in.name, raw: alertsAccepted(res.Incident)}
}

// events reads the body first because the key (routing_key) is inside it.
// Syntax and type errors are reported before authentication (there is no key
// to check yet); field validation only after it.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) outcome {
	table, o, ok := h.begin(r)
	if !ok {
		return o
	}
	body, o, ok := h.readBody(w, r, "")
	if !ok {
		return o
	}
	ev, err := DecodeEvent(body)
	if err != nil {
		return fail(http.StatusBadRequest, "", err.Error())
	}
	if ev.RoutingKey == "" {
		return fail(http.StatusUnauthorized, "", "routing_key: required (the integration key)")
	}
	in := table.authenticate(ev.RoutingKey)
	if in == nil {
		return fail(http.StatusUnauthorized, "", "routing_key: unknown integration key")
	}
	if err := ev.Validate(); err != nil {
		return fail(http.StatusBadRequest, in.name, err.Error())
	}
	var lset map[string]string
	if in.usesLabels() {
		lset = eventRoutingLabels(ev)
	}
	service, err := in.route(lset)
	if err != nil {
		return fail(http.StatusBadRequest, in.name, err.Error())
	}
	dedupKey := ev.DedupKey
	if dedupKey == "" {
		dedupKey = h.newDedupKey() // Validate allows this only for trigger
	}
	res, err := h.sub.SubmitEvent(r.Context(), table.BuildEvent(ev, in.name, service, dedupKey))
	if err != nil {
		return h.submitFailed(err, in.name)
	}
	if res.DedupKey != "" {
		dedupKey = res.DedupKey
	}
	return outcome{status: http.StatusAccepted, integration: in.name, raw: eventAccepted(dedupKey)}
}

// begin checks the method and that a config (and so a routing table) exists.
func (h *Handler) begin(r *http.Request) (*Table, outcome, bool) {
	if r.Method != http.MethodPost {
		return nil, fail(http.StatusMethodNotAllowed, "", "method "+r.Method+" not allowed, use POST"), false
	}
	cfg := h.cfg()
	if cfg == nil {
		o := fail(http.StatusServiceUnavailable, "", "no config committed yet")
		o.retryAfter = h.noCfgRetry
		return nil, o, false
	}
	table, err := h.tables.get(cfg)
	if err != nil {
		// A committed config that does not compile is our bug or the loader's,
		// never the sender's: 500, so Alertmanager keeps retrying.
		h.log.Error("ingest: routing table", "err", err)
		return nil, fail(http.StatusInternalServerError, "", "routing table: "+err.Error()), false
	}
	return table, outcome{}, true
}

// alertmanagerKey takes the key from the path if present, else from an
// Authorization: Bearer header (scheme case-insensitive, RFC 7235).
func alertmanagerKey(r *http.Request) string {
	if k := r.PathValue("key"); k != "" {
		return k
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(cred)
}

// readBody reads at most maxBody bytes; a larger body is a 413.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, integration string) ([]byte, outcome, bool) {
	tooLarge := func() outcome {
		return fail(http.StatusRequestEntityTooLarge, integration,
			"body: larger than "+strconv.FormatInt(h.maxBody, 10)+" bytes")
	}
	if r.ContentLength > h.maxBody {
		return nil, tooLarge(), false
	}
	body, err := readAllSized(http.MaxBytesReader(w, r.Body, h.maxBody), r.ContentLength)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(), false
		}
		if isTimeout(err) {
			// The server's read deadline (serve --http-read-timeout) cut a
			// sender that announced a body and did not send it.
			return nil, fail(http.StatusRequestTimeout, integration, "body: not received in time ("+err.Error()+")"), false
		}
		return nil, fail(http.StatusBadRequest, integration, "body: "+err.Error()), false
	}
	return body, outcome{}, true
}

// readAllSized is io.ReadAll starting from a buffer of the announced
// length (plus one byte, so the end is seen without growing): one
// allocation per request instead of io.ReadAll's doubling from 512 bytes.
// The caller has bounded size by the body limit.
func readAllSized(rd io.Reader, size int64) ([]byte, error) {
	if size <= 0 {
		return io.ReadAll(rd)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := rd.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // a body longer than announced
		}
	}
}

// isTimeout reports a read that hit its deadline.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// submitFailed maps a Submitter error: RetryAfter errors (no leader, no
// quorum) and commit deadlines are transient, so 503 + Retry-After, which
// Alertmanager and PagerDuty clients retry; anything else is a 500, still a
// 5xx so it is retried too. Never a 4xx: the sender did nothing wrong.
func (h *Handler) submitFailed(err error, integration string) outcome {
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case errors.As(err, &ra):
		o := fail(http.StatusServiceUnavailable, integration, "cannot commit now: "+err.Error())
		o.retryAfter = ra.RetryAfter()
		return o
	case errors.Is(err, context.DeadlineExceeded):
		o := fail(http.StatusServiceUnavailable, integration, "commit timed out: "+err.Error())
		o.retryAfter = defaultDeadlineRetry
		return o
	}
	h.log.Error("ingest: submit failed", "integration", integration, "err", err)
	return fail(http.StatusInternalServerError, integration, "commit failed: "+err.Error())
}

// write sends the outcome as JSON and counts it.
func (h *Handler) write(w http.ResponseWriter, source string, o outcome) {
	h.metrics.observe(source, o.integration, resultFor(o.status))
	hdr := w.Header()
	hdr["Content-Type"] = jsonContentType
	hdr["Cache-Control"] = noStore
	switch o.status {
	case http.StatusMethodNotAllowed:
		hdr.Set("Allow", http.MethodPost)
	case http.StatusServiceUnavailable:
		hdr.Set("Retry-After", retryAfterSeconds(o.retryAfter))
	}
	body := o.body
	if o.status >= 300 {
		body = errorBody(source, o)
	}
	w.WriteHeader(o.status)
	// The status is sent; a write error has no one to go to.
	if o.raw != nil && o.status < 300 {
		_, _ = w.Write(o.raw)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// jsonContentType and noStore are the answers' header values, shared
// instead of a new slice per answer (Header.Set): nothing writes into a
// header value's slice in place (Add appends, and with len == cap that
// copies), and net/http only reads them.
var (
	jsonContentType = []string{"application/json"}
	noStore         = []string{"no-store"}
)

// rawJSON is an answer body already encoded, newline included, as
// json.Encoder would have written it.
type rawJSON []byte

// eventAccepted and alertsAccepted are the 202 bodies, written without a
// map and json.Encoder (which sorts the map's keys per request): the same
// bytes as encoding {"status","message","dedup_key"|"incident"}
// (TestAcceptedBodiesMatchEncoder).
func eventAccepted(dedupKey string) rawJSON {
	b := make([]byte, 0, len(dedupKey)+80)
	b = append(b, `{"dedup_key":`...)
	if jsonenc.IsPlain(dedupKey) {
		b = append(b, '"')
		b = append(b, dedupKey...)
		b = append(b, '"')
	} else {
		key, _ := json.Marshal(dedupKey) // escapes <, >, & as the Encoder does
		b = append(b, key...)
	}
	return append(b, `,"message":"Event processed","status":"success"}`+"\n"...)
}

func alertsAccepted(id uint64) rawJSON {
	b := make([]byte, 0, 80)
	b = append(b, `{"incident":`...)
	b = strconv.AppendUint(b, id, 10)
	return append(b, `,"message":"Alerts processed","status":"success"}`+"\n"...)
}

// errorBody is the spec's {"error": ...}; Events v2 400s also carry
// PagerDuty's "status" and "errors" so PagerDuty client libraries that read
// those show the reason.
func errorBody(source string, o outcome) map[string]any {
	b := map[string]any{"error": o.msg}
	if source == incident.SourceEvents && o.status == http.StatusBadRequest {
		b["status"] = eventsInvalidStatusText
		b["errors"] = []string{o.msg}
	}
	return b
}

// retryAfterSeconds rounds up to whole seconds, at least 1: Retry-After has
// no fractions and 0 would invite a retry storm.
func retryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

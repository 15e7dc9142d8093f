package status

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Options configure the status page handler.
type Options struct {
	Node   *cluster.Node
	Logger *slog.Logger
	// Now is the render clock (default time.Now).
	Now func() time.Time
	// SignedIn reports whether r carries a signed-in console session (the
	// web console's cookie); internal pages accept it besides an API token
	// with read scope. nil: only tokens.
	SignedIn func(r *http.Request) bool
}

// timeBucket: a cached answer is reused within this long (history expiry
// and maintenance windows move with time, not only with the log).
const timeBucket = 10 * time.Second

// Handler serves /status/.
type Handler struct {
	opts Options
	fsm  *cluster.FSM
	log  *slog.Logger
	mux  *http.ServeMux
	// gen counts applied changes that can alter a page: a new config, a
	// restore, or a change to an incident with updates. Cached answers are
	// keyed by it, so ingest of alerts that never reach a page does not
	// invalidate them.
	gen   atomic.Uint64
	mu    sync.Mutex
	cache map[cacheKey]*cached
	stop  func()
}

type cacheKey struct{ page, kind string }

type cached struct {
	stamp string
	body  []byte
}

// New returns the handler; Close stops its watch of the state.
func New(o Options) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	h := &Handler{opts: o, fsm: o.Node.FSM(), log: o.Logger.With("component", "status"), cache: map[cacheKey]*cached{}}
	h.stop = h.fsm.Watch(h.noteChange)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /status/{page}", h.read("html"))
	mux.HandleFunc("GET /status/{page}/summary.json", h.read("json"))
	mux.HandleFunc("GET /status/{page}/feed.atom", h.read("atom"))
	mux.Handle("POST /status/{page}/subscribe", o.Node.LeaderOnly(http.HandlerFunc(h.subscribe)))
	mux.Handle("GET /status/{page}/confirm", o.Node.LeaderOnly(http.HandlerFunc(h.confirm)))
	mux.Handle("GET /status/{page}/unsubscribe", o.Node.LeaderOnly(http.HandlerFunc(h.unsubscribe)))
	mux.Handle("POST /status/{page}/unsubscribe", o.Node.LeaderOnly(http.HandlerFunc(h.unsubscribe)))
	h.mux = mux
	return h
}

// Close stops watching the state.
func (h *Handler) Close() { h.stop() }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// noteChange runs on the apply path: it only reads the touched incidents.
func (h *Handler) noteChange(c cluster.Change) {
	if c.All {
		h.gen.Add(1)
		return
	}
	if len(c.Incidents) == 0 {
		return
	}
	relevant := false
	h.fsm.ReadIncidents(func(s *incident.State) {
		for _, id := range c.Incidents {
			if s.HasPublicUpdate(id) {
				relevant = true
				return
			}
		}
	})
	if relevant {
		h.gen.Add(1)
	}
}

// page finds the configured page; writes the error answer when it cannot.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) (config.StatusPage, *cluster.ActiveConfig, bool) {
	ac := h.fsm.Config()
	if ac == nil || ac.Config == nil {
		cluster.WriteUnavailable(w, "no config committed yet; retry", time.Second)
		return config.StatusPage{}, nil, false
	}
	p, ok := ac.Config.StatusPageByID(r.PathValue("page"))
	if !ok {
		writeError(w, r, http.StatusNotFound, fmt.Sprintf("page: no status page %q", r.PathValue("page")))
		return config.StatusPage{}, nil, false
	}
	if p.Audience == config.StatusInternal && !h.allowed(ac.Config, r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="pagerd"`)
		writeError(w, r, http.StatusUnauthorized, "this status page is internal: send an API token (read scope) as Authorization: Bearer, or sign in to the console")
		return config.StatusPage{}, nil, false
	}
	return p, ac, true
}

// allowed: an API token with read scope, or a signed-in console user.
func (h *Handler) allowed(cfg *config.Config, r *http.Request) bool {
	if h.opts.SignedIn != nil && h.opts.SignedIn(r) {
		return true
	}
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	t, ok := cfg.APITokenFor(tok)
	return ok && config.ScopeAllows(t.Scope, config.ScopeRead)
}

func (h *Handler) read(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ac, ok := h.page(w, r)
		if !ok {
			return
		}
		body, err := h.render(p, ac, kind, absBase(r, p.ID))
		if err != nil {
			h.log.Error("render status page", "page", p.ID, "kind", kind, "err", err)
			writeError(w, r, http.StatusInternalServerError, "render failed")
			return
		}
		switch kind {
		case "html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		case "json":
			w.Header().Set("Content-Type", "application/json")
		case "atom":
			w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
		}
		w.Header().Set("Cache-Control", "public, max-age=10")
		if p.Audience == config.StatusInternal {
			w.Header().Set("Cache-Control", "private, no-store")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		_, _ = w.Write(body)
	}
}

// render answers from the cache when nothing that shows on the page has
// changed (same generation, config, maintenance windows and time bucket).
func (h *Handler) render(p config.StatusPage, ac *cluster.ActiveConfig, kind, base string) ([]byte, error) {
	now := h.opts.Now().UTC()
	windows := h.fsm.MaintenanceWindows(now, UpcomingWindow)
	stamp := h.stamp(ac, windows, now, base)
	key := cacheKey{p.ID, kind}
	h.mu.Lock()
	if c := h.cache[key]; c != nil && c.stamp == stamp {
		h.mu.Unlock()
		return c.body, nil
	}
	h.mu.Unlock()
	v := h.view(p, windows, now)
	var body []byte
	var err error
	switch kind {
	case "html":
		body, err = renderHTML(v, p.History.D(), true)
	case "json":
		body, err = renderJSON(v)
	default:
		body, err = renderAtom(v, base)
	}
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.cache[key] = &cached{stamp: stamp, body: body}
	h.mu.Unlock()
	return body, nil
}

func (h *Handler) stamp(ac *cluster.ActiveConfig, windows []config.MaintenanceWindow, now time.Time, base string) string {
	f := fnv.New64a()
	for _, w := range windows {
		fmt.Fprintf(f, "%s|%d|%d;", w.ID, w.From.UnixNano(), w.To.UnixNano())
	}
	return strconv.FormatUint(h.gen.Load(), 10) + "/" + ac.Version + "/" + strconv.FormatUint(f.Sum64(), 16) +
		"/" + strconv.FormatInt(now.UnixNano()/int64(timeBucket), 10) + "/" + base
}

// View is the current view of page (for tests and the mailer).
func (h *Handler) view(p config.StatusPage, windows []config.MaintenanceWindow, now time.Time) View {
	var v View
	h.fsm.ReadIncidents(func(s *incident.State) {
		var incs []*incident.Incident
		s.EachPublic(now.Add(-p.History.D()), func(inc *incident.Incident) { incs = append(incs, inc) })
		v = Build(p, incs, windows, now)
	})
	return v
}

// absBase is the page's absolute URL as the reader reached it.
func absBase(r *http.Request, page string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/status/" + page
}

// writeError answers JSON to API-like requests and a small HTML page to
// browsers.
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write(renderMessage(http.StatusText(code), msg, ""))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

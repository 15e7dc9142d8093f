// Package web is pagerd's console (issue 17, spec §5.6): server-rendered
// HTML (html/template, embedded with go:embed) for the people on call,
// progressively enhanced with a vendored htmx for live refresh. Every node
// serves it; reads come from the node's applied state, writes go to the
// leader (cluster.Node.LeaderOnly) exactly like API writes.
//
// Layout: one file per page (incidents.go, incident.go, oncall.go,
// schedule.go, services.go, cluster.go) with its template under
// templates/; sign-in, sessions and CSRF in login.go, session.go and
// csrf.go. A capability that lands later adds its page as one more file
// and one line in routes.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Mailer gives the sender of a channel under the active config, as the
// escalation engine gets it (escalation.Senders): real SMTP, or the --dev
// outbox.
type Mailer interface {
	Sender(cfg *config.Config, version, channel, target string) (notify.Sender, error)
}

// Options configure the console.
type Options struct {
	Node   *cluster.Node
	Mailer Mailer
	Logger *slog.Logger
	// Dev is serve --dev: a visitor without a session is signed in as the
	// config's first user, and every page says so.
	Dev bool
	// DevURL is this node's own address ("http://127.0.0.1:8080"); under
	// Dev, mailed sign-in links point there when the config has no
	// public_url. Ignored outside Dev.
	DevURL string
	// Now is the clock for ages and on-call queries; time.Now when nil.
	Now func() time.Time
}

// Console is the web console of one node.
type Console struct {
	node   *cluster.Node
	mailer Mailer
	log    *slog.Logger
	dev    bool
	devURL string
	now    func() time.Time
	pages  *pages
	mux    *http.ServeMux
}

// New builds the console. It panics only if the embedded templates do not
// parse, which the package's tests catch.
func New(o Options) *Console {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Console{node: o.Node, mailer: o.Mailer, log: o.Logger, dev: o.Dev, devURL: o.DevURL, now: o.Now,
		pages: mustParsePages(), mux: http.NewServeMux()}
	c.routes()
	return c
}

// routes lists every console path. Reads need a session; writes need a
// session and its CSRF token, and run on the leader.
func (c *Console) routes() {
	m, lead := c.mux, c.node.LeaderOnly
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheStatic(http.FileServerFS(static))))
	m.HandleFunc("GET /ui/login", c.loginPage)
	m.Handle("POST /ui/login", c.sameSiteOnly(c.loginToken))
	m.Handle("POST /ui/login/mail", lead(c.sameSiteOnly(c.loginMail)))
	m.HandleFunc("GET /ui/login/link", c.linkPage)
	m.Handle("POST /ui/login/link", lead(c.sameSiteOnly(c.linkUse)))
	m.Handle("POST /ui/logout", c.write(http.HandlerFunc(c.logout)))

	m.Handle("GET /ui/{$}", c.read(c.incidentsPage))
	m.Handle("GET /ui/incidents", c.read(c.incidentsPage))
	m.Handle("GET /ui/incidents/rows", c.read(c.incidentRows))
	m.Handle("GET /ui/incidents/{key}", c.read(c.incidentPage))
	m.Handle("POST /ui/incidents/{key}/{action}", lead(c.write(http.HandlerFunc(c.incidentAction))))
	m.Handle("POST /ui/incidents/{key}/severity", lead(c.write(http.HandlerFunc(c.incidentSeverity))))
	m.Handle("POST /ui/incidents/{key}/role", lead(c.write(http.HandlerFunc(c.incidentRole))))
	m.Handle("POST /ui/incidents/{key}/update", lead(c.write(http.HandlerFunc(c.incidentUpdate))))
	m.Handle("POST /ui/incidents/{key}/impact", lead(c.write(http.HandlerFunc(c.incidentImpact))))
	m.Handle("POST /ui/incidents/{key}/postmortem", lead(c.writeUpTo(maxPostmortemForm, http.HandlerFunc(c.incidentPostmortem))))
	m.Handle("POST /ui/incidents/{key}/followup", lead(c.write(http.HandlerFunc(c.incidentFollowup))))
	m.Handle("GET /ui/followups", c.read(c.followupsPage))
	m.Handle("POST /ui/followups/{id}/close", lead(c.write(http.HandlerFunc(c.followupClose))))
	m.Handle("GET /ui/maintenance", c.read(c.maintenancePage))
	m.Handle("GET /ui/oncall", c.read(c.oncallPage))
	m.Handle("GET /ui/schedules/{id}", c.read(c.schedulePage))
	m.Handle("GET /ui/services", c.read(c.servicesPage))
	m.Handle("GET /ui/reports", c.read(c.reportsPage))
	m.Handle("GET /ui/cluster", c.read(c.clusterPage))
	m.HandleFunc("/ui/", c.notFound)
}

// ServeHTTP implements http.Handler for /ui/ and its sub-paths.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// The console's own script and style only; no framing (clickjacking on
	// the action buttons).
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// RedirectRoot sends GET / to the console.
func RedirectRoot(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/ui/", http.StatusFound)
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

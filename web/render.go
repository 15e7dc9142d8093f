package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// pageNames are the templates under templates/, one per page; each is
// parsed together with layout.html (the frame and shared partials).
var pageNames = []string{"login", "error", "incidents", "incident", "oncall", "schedule", "services", "reports", "cluster", "followups", "maintenance"}

type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"join":  strings.Join,
	"lower": strings.ToLower,
	"add":   func(a, b int) int { return a + b },
	"list":  func(s ...string) []string { return s },
	// secs shows a report's seconds readably, or "–" when there were no
	// samples (a zero would read as instant).
	"secs": func(s float64, n int) string {
		if n == 0 {
			return "–"
		}
		return humanSeconds(s)
	},
}

func mustParsePages() *pages {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
		p.byName[name] = t
	}
	return p
}

// pageData is what every page template gets: the frame's values and the
// page's own Data.
type pageData struct {
	Title string
	Nav   string // which top link is current
	V     *viewer
	Clock clock
	Data  any
}

// render executes a page (template "layout", or a fragment such as
// "rows") into a buffer first, so a template error never sends half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page, tmpl string, d pageData) {
	d.Clock = c.clockFor(r)
	var buf bytes.Buffer
	if err := c.pages.byName[page].ExecuteTemplate(&buf, tmpl, d); err != nil {
		c.log.Error("console template", "page", page, "err", err)
		http.Error(w, "console template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorPage answers with a readable page. Messages are the console's own
// words, never an echo of a secret the request carried.
func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, v *viewer, status int, msg string) {
	c.render(w, r, status, "error", "layout", pageData{Title: http.StatusText(status), V: v, Data: msg})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	cfg := c.config()
	var v *viewer
	if cfg != nil {
		v, _ = c.viewer(r, cfg)
	}
	c.errorPage(w, r, v, http.StatusNotFound, "There is no console page at this address.")
}

// clock shows times in the viewer's zone (the browser's, from the
// pagerd_tz cookie set by static/tz.js; UTC until it is known), with UTC
// on hover.
type clock struct {
	Loc  *time.Location
	Zone string
	Now  time.Time
}

const tzCookie = "pagerd_tz"

func (c *Console) clockFor(r *http.Request) clock {
	k := clock{Loc: time.UTC, Zone: "UTC", Now: c.now()}
	ck, err := r.Cookie(tzCookie)
	if err != nil {
		return k
	}
	// tz.js URI-encodes the name ("Asia%2FTokyo").
	name, err := url.PathUnescape(ck.Value)
	if err != nil || !validZoneName(name) {
		return k
	}
	if loc, err := time.LoadLocation(name); err == nil {
		k.Loc, k.Zone = loc, name
	}
	return k
}

// validZoneName admits IANA names only (no paths: LoadLocation reads files).
func validZoneName(s string) bool {
	if s == "" || len(s) > 64 || strings.Contains(s, "..") || strings.HasPrefix(s, "/") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r)) {
			return false
		}
	}
	return true
}

// stamp is one time as the templates show it.
type stamp struct {
	Local, UTC, ISO string
	Set             bool
}

// At formats t in the viewer's zone, with its UTC form for the title.
func (k clock) At(t time.Time) stamp {
	if t.IsZero() {
		return stamp{}
	}
	l := t.In(k.Loc)
	layout := "Mon 2 Jan 15:04 MST"
	if l.Year() != k.Now.In(k.Loc).Year() {
		layout = "Mon 2 Jan 2006 15:04 MST"
	}
	u := t.UTC().Format(time.RFC3339)
	return stamp{Local: l.Format(layout), UTC: u + " (UTC)", ISO: u, Set: true}
}

// AtP is At of an optional time.
func (k clock) AtP(t *time.Time) stamp {
	if t == nil {
		return stamp{}
	}
	return k.At(*t)
}

// Age is how long ago t was, e.g. "5m", "3h 2m", "4d".
func (k clock) Age(t time.Time) string { return short(k.Now.Sub(t)) }

// In is how long until t, e.g. "in 4m", or "due" once passed.
func (k clock) In(t *time.Time) string {
	if t == nil {
		return ""
	}
	d := t.Sub(k.Now)
	if d <= 0 {
		return "due now"
	}
	return "in " + short(d)
}

func short(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "<1m" // to the minute: the live list changes only when something happens
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

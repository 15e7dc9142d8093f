package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/pagerd/pagerd/config"
)

type viewerKey struct{}

// pageFunc is a console page: it renders for a signed-in viewer.
type pageFunc func(w http.ResponseWriter, r *http.Request, v *viewer)

// read serves a page to a signed-in viewer; anyone else is sent to
// /ui/login (with --dev, signed in as the first user instead).
func (c *Console) read(fn pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, ready := c.readyConfig(w, r)
		if !ready {
			return
		}
		v, ok := c.viewer(r, cfg)
		if !ok && c.dev {
			v, ok = c.devSignIn(w, r, cfg)
		}
		if !ok {
			c.toLogin(w, r)
			return
		}
		fn(w, r, v)
	})
}

// write guards a state-changing POST: a valid session, and the CSRF token
// of that same session in the form. Anything else is refused before the
// handler runs, so a forged POST changes nothing.
func (c *Console) write(h http.Handler) http.Handler {
	return c.writeUpTo(maxForm, h)
}

// writeUpTo is write for a form of up to limit bytes (the postmortem's
// body is bigger than any other form).
func (c *Console) writeUpTo(limit int64, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg, ready := c.readyConfig(w, r)
		if !ready {
			return
		}
		v, ok := c.viewer(r, cfg)
		if ok && crossSite(r) {
			c.errorPage(w, r, v, http.StatusForbidden, "This form was sent from another site; nothing was changed.")
			return
		}
		if !ok {
			c.errorPage(w, r, nil, http.StatusUnauthorized, "You are not signed in (or your session expired). Sign in and try again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		var tooBig *http.MaxBytesError
		if err := r.ParseForm(); errors.As(err, &tooBig) {
			c.errorPage(w, r, v, http.StatusRequestEntityTooLarge, fmt.Sprintf("The form is over %d KiB; nothing was changed.", limit>>10))
			return
		}
		got := r.PostFormValue("csrf")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) != 1 {
			c.errorPage(w, r, v, http.StatusForbidden, "This form's security token is missing or belongs to another session; nothing was changed. Reload the page and try again.")
			return
		}
		h.ServeHTTP(w, r.WithContext(withViewer(r, v)))
	})
}

const maxForm = 64 << 10

// crossSite reports a POST a browser sent from another site (its Origin
// names another host). Sign-in forms have no session to bind a CSRF token
// to, so this refuses login CSRF; for the other forms it is a second check
// beside the token. A request without Origin (curl, old browsers) passes.
func crossSite(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	return err != nil || u.Host != r.Host
}

// sameSiteOnly refuses cross-site POSTs before h runs.
func (c *Console) sameSiteOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if crossSite(r) {
			c.errorPage(w, r, nil, http.StatusForbidden, "This form was sent from another site; nothing was changed.")
			return
		}
		h(w, r)
	})
}

// readyConfig is the active config once this node may judge sessions and
// tokens by it: a config is committed, and a restarted node has caught up
// with the cluster (before that its users and tokens are older than the
// cluster's). Otherwise it answers 503 and returns false.
func (c *Console) readyConfig(w http.ResponseWriter, r *http.Request) (*config.Config, bool) {
	cfg := c.config()
	msg := ""
	switch {
	case cfg == nil:
		msg = "No config is committed yet; retry in a moment."
	case !c.node.CaughtUp():
		msg = "This node is catching up with the cluster; retry in a moment."
	}
	if msg != "" {
		w.Header().Set("Retry-After", "1")
		c.errorPage(w, r, nil, http.StatusServiceUnavailable, msg)
		return nil, false
	}
	return cfg, true
}

func (c *Console) config() *config.Config {
	if ac := c.node.FSM().Config(); ac != nil {
		return ac.Config
	}
	return nil
}

// viewer is the signed-in viewer of r, if its session cookie verifies.
func (c *Console) viewer(r *http.Request, cfg *config.Config) (*viewer, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	s, key, ok := c.parseSession(ck.Value)
	if !ok || (s.Kind == kindDev && !c.dev) {
		// A --dev session is no session on a node started without --dev.
		return nil, false
	}
	return viewerFor(cfg, s, key)
}

// devSignIn signs a --dev visitor in as the config's first user.
func (c *Console) devSignIn(w http.ResponseWriter, r *http.Request, cfg *config.Config) (*viewer, bool) {
	if len(cfg.Users) == 0 {
		return nil, false
	}
	val, s, err := c.newSession(cfg.Users[0].ID, kindDev)
	if err != nil {
		return nil, false
	}
	setSession(w, r, val)
	_, key, _ := c.parseSession(val)
	return viewerFor(cfg, s, key)
}

func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("HX-Request") != "" {
		// An htmx poll whose session ran out: reload the whole page there.
		w.Header().Set("HX-Redirect", "/ui/login")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

func withViewer(r *http.Request, v *viewer) context.Context {
	return context.WithValue(r.Context(), viewerKey{}, v)
}

func viewerOf(r *http.Request) *viewer {
	v, _ := r.Context().Value(viewerKey{}).(*viewer)
	return v
}

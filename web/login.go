package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/notify"
)

// loginData is the sign-in page.
type loginData struct {
	Next    string
	Message string
	Bad     bool
	Link    string // the secret of a link being confirmed (link page only)
	User    string
	// MailOff explains why links by email are off (no public_url); the
	// page then offers token sign-in only.
	MailOff string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", "layout", pageData{Title: "Sign in",
		Data: loginData{Next: safeNext(r.URL.Query().Get("next")), MailOff: c.mailOff()}})
}

func (c *Console) loginFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "login", "layout", pageData{Title: "Sign in",
		Data: loginData{Next: safeNext(r.FormValue("next")), Message: msg, Bad: true, MailOff: c.mailOff()}})
}

// loginToken signs in with an API token; the session names the token.
func (c *Console) loginToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	cfg, ready := c.readyConfig(w, r)
	if !ready {
		return
	}
	t, ok := cfg.APITokenFor(strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		// Never echo what was typed: it may be a secret pasted wrongly.
		c.loginFailed(w, r, http.StatusUnauthorized, "That API token is not known to this cluster.")
		return
	}
	c.startSession(w, r, t.Name, kindToken)
}

func (c *Console) startSession(w http.ResponseWriter, r *http.Request, name, kind string) {
	val, _, err := c.newSession(name, kind)
	if err != nil {
		c.loginFailed(w, r, http.StatusServiceUnavailable, err.Error())
		return
	}
	setSession(w, r, val)
	http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
}

// safeNext keeps a post-login redirect inside the console. What does not
// parse as a URL is refused (http.Redirect leaves it uncleaned and browsers
// read it their own lenient way: they drop tabs and newlines), and so are
// dot segments, plain or escaped, which climb out of /ui/ once resolved.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/ui/") || strings.HasPrefix(s, "//") || strings.ContainsFunc(s, unsafeInNext) {
		return "/ui/"
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" {
		return "/ui/"
	}
	for _, seg := range strings.Split(u.Path, "/") { // decoded: browsers read %2e as a dot too
		if seg == "." || seg == ".." {
			return "/ui/"
		}
	}
	if !redirectKeeps(s) {
		return "/ui/"
	}
	return s
}

// redirectKeeps reports whether http.Redirect sends s unchanged. It cleans
// a relative target up to its first '?' as one path, a fragment included,
// so "/ui/#/.." went out as "/ui" and "/ui/#/..?" as "/ui?" (both found by
// FuzzSafeNext): a next it would rewrite is not followed.
func redirectKeeps(s string) bool {
	// As http.Redirect does: the query from the first '?' is kept as is,
	// the rest (a fragment before it included) is cleaned.
	p, _, _ := strings.Cut(s, "?")
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(c, "/") {
		c += "/"
	}
	return c == p
}

func unsafeInNext(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }

const mailSent = "If that names a user with an email address, a sign-in link is on its way. It works once, for 15 minutes."

// loginMail (leader only) records a one-time link for the named user, then
// mails it. The answer is the same whether or not the user exists, so the
// form cannot be used to list users.
func (c *Console) loginMail(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ac := c.node.FSM().Config()
	if ac == nil {
		c.loginFailed(w, r, http.StatusServiceUnavailable, "No config is committed yet; retry in a moment.")
		return
	}
	base, ok := c.linkBase(ac.Config.PublicURL)
	if !ok {
		// Refused before the user is looked up: the answer says nothing
		// about who exists, and nothing is recorded or mailed.
		c.loginFailed(w, r, http.StatusForbidden, mailLinksOff)
		return
	}
	who := strings.TrimSpace(r.PostFormValue("who"))
	if who == "" {
		c.loginFailed(w, r, http.StatusBadRequest, "Enter your user id or email address.")
		return
	}
	u, ok := findUser(ac.Config, who)
	if ok && u.Email != "" {
		if err := c.mailLink(r.Context(), ac, u, base); err != nil {
			c.log.Warn("console sign-in link", "user", u.ID, "err", err)
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) {
				c.loginFailed(w, r, http.StatusServiceUnavailable, "The cluster cannot record the link right now; retry in a moment.")
				return
			}
		}
	}
	c.render(w, r, http.StatusOK, "login", "layout", pageData{Title: "Sign in", Data: loginData{Message: mailSent}})
}

func findUser(cfg *config.Config, who string) (config.User, bool) {
	if u, ok := cfg.User(who); ok {
		return u, true
	}
	for _, u := range cfg.Users {
		if u.Email != "" && strings.EqualFold(u.Email, who) {
			return u, true
		}
	}
	return config.User{}, false
}

// mailLink draws the secret, commits its hash (recorded before sent), then
// sends the mail through the configured email channel (the --dev outbox
// under serve --dev).
func (c *Console) mailLink(ctx context.Context, ac *cluster.ActiveConfig, u config.User, base string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	id := linkID(secret)
	if c.mailer == nil {
		return errors.New("no mail channel configured for the console")
	}
	l, err := c.node.SubmitLoginLink(ctx, cluster.LoginLinkCommand{ID: id, User: u.ID})
	if err != nil {
		return err
	}
	s, err := c.mailer.Sender(ac.Config, ac.Version, "email", "")
	if err != nil {
		return err
	}
	link := base + "/ui/login/link?t=" + secret
	body := "Someone (hopefully you) asked to sign in to the pagerd console as " + u.ID + ".\n\n" +
		"Open this link to sign in. It works once and until " + l.ExpiresAt.UTC().Format(time.RFC1123) + ":\n\n" +
		link + "\n\nIf you did not ask for it, ignore this mail.\n"
	_, err = s.Send(ctx, &notify.Message{ID: "login-" + id[:16], User: u,
		Notice: &notify.Notice{Subject: "[pagerd] Your sign-in link", Body: body}})
	return err
}

func linkID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// mailLinksOff is the answer to a link request while links are off.
const mailLinksOff = "Sign-in links by email are off: this cluster has no public_url in its config, " +
	"and a mailed link is only ever built from it. Sign in with an API token, or ask an admin to set public_url."

// linkBase is where a mailed link points: the config's public_url (every
// mail's links are built from it, spec §5.1), or under --dev this node's own
// listen address. Never the request's Host header: that is the requester's
// to choose, and a sign-in link mailed to someone else must not carry its
// secret to a host the requester named. ok is false when neither is known,
// and links by email are then off.
func (c *Console) linkBase(publicURL string) (base string, ok bool) {
	switch {
	case publicURL != "":
		return strings.TrimRight(publicURL, "/"), true
	case c.dev && c.devURL != "":
		return strings.TrimRight(c.devURL, "/"), true
	}
	return "", false
}

// mailOff is the sign-in page's note while links by email are off, else "".
func (c *Console) mailOff() string {
	ac := c.node.FSM().Config()
	if ac == nil {
		return ""
	}
	if _, ok := c.linkBase(ac.Config.PublicURL); ok {
		return ""
	}
	return mailLinksOff
}

// linkPage asks to confirm a mailed link with a button (a POST), so a mail
// scanner that fetches links cannot spend it.
func (c *Console) linkPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login", "layout", pageData{Title: "Sign in", Data: loginData{Link: r.URL.Query().Get("t")}})
}

// linkUse (leader only) spends a mailed link and signs its user in.
func (c *Console) linkUse(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	secret := r.PostFormValue("t")
	if secret == "" {
		c.loginFailed(w, r, http.StatusBadRequest, "This sign-in link is incomplete; open the whole link from the mail.")
		return
	}
	l, err := c.node.SubmitLoginUse(r.Context(), linkID(secret))
	var ra interface{ RetryAfter() time.Duration }
	switch {
	case errors.Is(err, cluster.ErrLoginLinkUnknown), errors.Is(err, cluster.ErrLoginLinkExpired):
		c.loginFailed(w, r, http.StatusForbidden, err.Error())
		return
	case errors.As(err, &ra):
		c.loginFailed(w, r, http.StatusServiceUnavailable, "The cluster cannot check the link right now; retry in a moment.")
		return
	case err != nil:
		c.log.Error("console link sign-in", "err", err)
		c.loginFailed(w, r, http.StatusInternalServerError, "Signing in failed; ask for a new link.")
		return
	}
	c.startSession(w, r, l.User, kindUser)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	clearSession(w, r)
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

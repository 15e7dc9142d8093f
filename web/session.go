package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/reply"
)

// A session is a signed cookie, so any node accepts it without a session
// store: payload.keyID.mac, where the MAC key is derived from the
// replicated reply-token keyring (every node holds the same keys; a key
// rotation keeps old keys until their NotAfter, and sessions with them).
const (
	sessionCookie   = "pagerd_session"
	sessionLifetime = 12 * time.Hour
	sessionLabel    = "pagerd console session v1"
)

// Session kinds: a person (signed in by a mailed link, or --dev), or an API
// token (signed in with the token; the session names the token).
const (
	kindUser  = "user"
	kindToken = "token"
	kindDev   = "dev"
)

// session is the signed payload of the cookie.
type session struct {
	Name    string `json:"n"` // user id, or API token name
	Kind    string `json:"k"`
	ID      string `json:"s"` // random; binds the CSRF token to this session
	Expires int64  `json:"e"` // unix seconds
}

// viewer is who is looking, resolved against the active config on every
// request (a user or token removed from the config is signed out).
type viewer struct {
	Name     string
	Kind     string
	CanWrite bool // may act on incidents
	CSRF     string
	Dev      bool
}

var errNoKey = errors.New("the cluster has no signing key yet (a leader creates it); retry in a moment")

// sessionKey derives the console's MAC key from a reply-token key, so the
// two uses never share a key.
func sessionKey(k reply.Key) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte(sessionLabel))
	return m.Sum(nil)
}

// currentKey is the newest current key of the keyring.
func currentKey(kr reply.Keyring) (reply.Key, bool) {
	for i := len(kr.Keys) - 1; i >= 0; i-- {
		if kr.Keys[i].NotAfter.IsZero() {
			return kr.Keys[i], true
		}
	}
	return reply.Key{}, false
}

func mac(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newSession signs a session for name.
func (c *Console) newSession(name, kind string) (string, session, error) {
	k, ok := currentKey(c.node.FSM().Keyring())
	if !ok {
		return "", session{}, errNoKey
	}
	sid := make([]byte, 16)
	if _, err := rand.Read(sid); err != nil {
		return "", session{}, fmt.Errorf("session id: %w", err)
	}
	s := session{Name: name, Kind: kind, ID: base64.RawURLEncoding.EncodeToString(sid),
		Expires: c.now().Add(sessionLifetime).Unix()}
	body, err := json.Marshal(s)
	if err != nil {
		return "", session{}, err
	}
	payload := base64.RawURLEncoding.EncodeToString(body)
	kid := strconv.Itoa(int(k.ID))
	return payload + "." + kid + "." + mac(sessionKey(k), "session", payload, kid), s, nil
}

// parseSession verifies a cookie value: a known key, a valid MAC, not
// expired.
func (c *Console) parseSession(v string) (session, []byte, bool) {
	return c.parseSessionWith(c.node.FSM().Keyring(), v)
}

func (c *Console) parseSessionWith(kr reply.Keyring, v string) (session, []byte, bool) {
	payload, rest, ok1 := strings.Cut(v, ".")
	kid, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return session{}, nil, false
	}
	id, err := strconv.ParseUint(kid, 10, 8)
	if err != nil {
		return session{}, nil, false
	}
	now := c.now()
	for _, k := range kr.Keys {
		if k.ID != uint8(id) || (!k.NotAfter.IsZero() && now.After(k.NotAfter)) {
			continue
		}
		key := sessionKey(k)
		if !hmac.Equal([]byte(sig), []byte(mac(key, "session", payload, kid))) {
			return session{}, nil, false
		}
		body, err := base64.RawURLEncoding.DecodeString(payload)
		var s session
		if err != nil || json.Unmarshal(body, &s) != nil || now.Unix() >= s.Expires || s.ID == "" {
			return session{}, nil, false
		}
		return s, key, true
	}
	return session{}, nil, false
}

// csrfToken binds a form to one session: the MAC of the session id.
func csrfToken(key []byte, s session) string { return mac(key, "csrf", s.ID) }

// viewerFor resolves a verified session against the active config.
func viewerFor(cfg *config.Config, s session, key []byte) (*viewer, bool) {
	v := &viewer{Name: s.Name, Kind: s.Kind, CSRF: csrfToken(key, s), Dev: s.Kind == kindDev}
	switch s.Kind {
	case kindUser, kindDev:
		if _, ok := cfg.User(s.Name); !ok {
			return nil, false
		}
		v.CanWrite = true
	case kindToken:
		t, ok := tokenByName(cfg, s.Name)
		if !ok {
			return nil, false
		}
		v.CanWrite = config.ScopeAllows(t.Scope, config.ScopeRespond)
	default:
		return nil, false
	}
	return v, true
}

func tokenByName(cfg *config.Config, name string) (config.APIToken, bool) {
	for _, t := range cfg.APITokens {
		if t.Name == name {
			return t, true
		}
	}
	return config.APIToken{}, false
}

// setSession writes the cookie: HttpOnly, SameSite=Lax, Secure over TLS.
func setSession(w http.ResponseWriter, r *http.Request, value string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: value, Path: "/ui/",
		MaxAge: int(sessionLifetime / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: servedOverTLS(r)})
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: servedOverTLS(r)})
}

// servedOverTLS: this node terminates TLS, or a follower that did forwarded
// the request here (X-Forwarded-Proto from our own forwarder or a proxy).
func servedOverTLS(r *http.Request) bool {
	return r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https"
}

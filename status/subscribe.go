package status

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Link purposes: a confirmation link cannot be used to unsubscribe and the
// other way round.
const (
	purposeConfirm     = "confirm"
	purposeUnsubscribe = "unsubscribe"
	maxEmailLen        = 254
	maxSubscribeBody   = 4 << 10
)

// subscribeAnswer is the same whether or not the address was subscribed
// already, so the endpoint tells nobody who is subscribed.
const subscribeAnswer = "If this address is not subscribed yet, a confirmation link is on its way to it. Nothing else is sent before the link is followed."

// ParseEmail checks a subscriber address: one bare address (no display
// name), at most 254 bytes, with a dotted domain. It returns the address
// lower-cased (one subscription per mailbox, whatever its spelling).
func ParseEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("email: required")
	}
	if len(s) > maxEmailLen {
		return "", fmt.Errorf("email: longer than %d bytes", maxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("email: %q is not an email address (want name@example.com)", s)
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \r\n\t<>\"") {
		return "", fmt.Errorf("email: %q is not an email address (want name@example.com)", s)
	}
	// Lower-casing can lengthen a non-ASCII address ("Ⱥ", 2 bytes, becomes
	// "ⱥ", 3), so the limit holds for what is stored, too.
	lower := strings.ToLower(s)
	if len(lower) > maxEmailLen {
		return "", fmt.Errorf("email: longer than %d bytes", maxEmailLen)
	}
	return lower, nil
}

// sign is the MAC of a link: the key id (2 hex digits) and 32 hex digits
// of HMAC-SHA256 over purpose, page and address, with a reply-token key
// (replicated, so every node verifies what the leader mailed).
func sign(kr reply.Keyring, purpose, page, email string) (string, error) {
	var key *reply.Key
	for i := len(kr.Keys) - 1; i >= 0; i-- {
		if kr.Keys[i].NotAfter.IsZero() {
			key = &kr.Keys[i]
			break
		}
	}
	if key == nil {
		return "", errors.New("no current signing key in the keyring")
	}
	return fmt.Sprintf("%02x", key.ID) + linkMAC(key.Secret, purpose, page, email), nil
}

func linkMAC(secret []byte, purpose, page, email string) string {
	m := hmac.New(sha256.New, secret)
	io.WriteString(m, "pagerd-status-link\x00"+purpose+"\x00"+page+"\x00"+email)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// verify checks a link's MAC with the key it names (retired keys too:
// unsubscribe links in old mails keep working).
func verify(kr reply.Keyring, purpose, page, email, sig string) bool {
	if len(sig) != 34 {
		return false
	}
	id, err := strconv.ParseUint(sig[:2], 16, 8)
	if err != nil || fmt.Sprintf("%02x", id) != sig[:2] { // one spelling per link, as sign writes it
		return false
	}
	for _, k := range kr.Keys {
		if uint64(k.ID) == id && len(k.Secret) >= reply.MinSecretLen {
			return hmac.Equal([]byte(sig[2:]), []byte(linkMAC(k.Secret, purpose, page, email)))
		}
	}
	return false
}

// SignedLink is the absolute confirm or unsubscribe link for a subscriber.
func SignedLink(kr reply.Keyring, base, purpose, page, email string) (string, error) {
	sig, err := sign(kr, purpose, page, email)
	if err != nil {
		return "", err
	}
	q := url.Values{"email": {email}, "sig": {sig}}
	return strings.TrimRight(base, "/") + "/status/" + url.PathEscape(page) + "/" + purpose + "?" + q.Encode(), nil
}

// subscribeEmail reads the address from a form or JSON body.
func subscribeEmail(r *http.Request) (string, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, maxSubscribeBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body struct {
			Email string `json:"email"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return "", fmt.Errorf("body: %v", err)
		}
		// Token, not More: More reports false for a stray '}' or ']' (as
		// the API's decodeStrict says).
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return "", errors.New("body: unexpected data after the JSON object")
		}
		return ParseEmail(body.Email)
	}
	if err := r.ParseForm(); err != nil {
		return "", fmt.Errorf("body: %v", err)
	}
	return ParseEmail(r.PostForm.Get("email"))
}

func (h *Handler) subscribe(w http.ResponseWriter, r *http.Request) {
	p, _, ok := h.page(w, r)
	if !ok {
		return
	}
	email, err := subscribeEmail(r)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := h.opts.Node.SubmitSubscriber(r.Context(), cluster.TypeSubscribe, cluster.SubscriberCommand{Page: p.ID, Email: email}); err != nil {
		h.writeSubmitError(w, r, err)
		return
	}
	h.answer(w, r, http.StatusAccepted, "Check your inbox", subscribeAnswer, "/status/"+p.ID)
}

func (h *Handler) confirm(w http.ResponseWriter, r *http.Request) {
	p, email, ok := h.signedRequest(w, r, purposeConfirm)
	if !ok {
		return
	}
	if _, err := h.opts.Node.SubmitSubscriber(r.Context(), cluster.TypeSubscribeConfirm, cluster.SubscriberCommand{Page: p, Email: email}); err != nil {
		h.writeSubmitError(w, r, err)
		return
	}
	h.answer(w, r, http.StatusOK, "Subscribed", "You will receive this page's public updates by email. Every mail has a link to stop them.", "/status/"+p)
}

func (h *Handler) unsubscribe(w http.ResponseWriter, r *http.Request) {
	p, email, ok := h.signedRequest(w, r, purposeUnsubscribe)
	if !ok {
		return
	}
	if _, err := h.opts.Node.SubmitSubscriber(r.Context(), cluster.TypeUnsubscribe, cluster.SubscriberCommand{Page: p, Email: email}); err != nil {
		h.writeSubmitError(w, r, err)
		return
	}
	h.answer(w, r, http.StatusOK, "Unsubscribed", "This address will receive no more mail from this status page.", "/status/"+p)
}

// signedRequest checks a confirm or unsubscribe link. It needs no sign-in:
// the MAC proves the link was mailed to the address.
func (h *Handler) signedRequest(w http.ResponseWriter, r *http.Request, purpose string) (page, email string, ok bool) {
	page = r.PathValue("page")
	email, err := ParseEmail(r.URL.Query().Get("email"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return "", "", false
	}
	if !verify(h.fsm.Keyring(), purpose, page, email, r.URL.Query().Get("sig")) {
		writeError(w, r, http.StatusForbidden, "sig: this link is not valid (copy the whole link from the mail)")
		return "", "", false
	}
	return page, email, true
}

func (h *Handler) writeSubmitError(w http.ResponseWriter, r *http.Request, err error) {
	var un *cluster.Unavailable
	switch {
	case errors.As(err, &un):
		cluster.WriteUnavailable(w, err.Error(), un.RetryAfter())
	case errors.Is(err, incident.ErrNotFound):
		writeError(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, incident.ErrInvalid):
		writeError(w, r, http.StatusBadRequest, err.Error())
	default:
		h.log.Warn("subscriber command", "err", err)
		cluster.WriteUnavailable(w, "not committed: "+err.Error(), time.Second)
	}
}

// answer is JSON for API clients and a page for browsers (form posts and
// links followed from mail).
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, code int, title, msg, back string) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": strings.ToLower(title), "message": msg})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(renderMessage(title, msg, back))
}

// hashEmail is a short stable digest of an address for Message-IDs (the
// address itself stays out of headers it does not belong in).
func hashEmail(e string) string {
	s := sha256.Sum256([]byte(e))
	return hex.EncodeToString(s[:8])
}

// Package smshook is the Twilio inbound-SMS webhook, `POST /v1/sms/twilio`
// (interface.md §2, §4 "SMS replies"): on-call engineers acknowledge,
// resolve or escalate a page by answering its SMS, and STOP/START switch SMS
// to their phone off and on.
//
// Order of checks, each of which ends the request when it fails:
//
//  1. POST only (405), body at most 64 KiB (413), received within the
//     server's read timeout (408).
//  2. The node has caught up with the cluster (Options.CaughtUp), else 503
//     with Retry-After: the signature is only checked against a current
//     auth_token.
//  3. X-Twilio-Signature verifies against PublicURL()+"/v1/sms/twilio" (plus
//     the request's query string, if any) and the POST form, with
//     reply.VerifyTwilioSignature (constant time; the URL with and without
//     the default port). Otherwise 403 {"error": "..."} and nothing changes.
//  4. From belongs to a configured user (Backend.UserForPhone). Otherwise the
//     number gets at most one TwiML answer per 10 minutes ("This number is
//     not registered with pagerd.") and an empty <Response/> in between;
//     nothing is ever done for it.
//  5. Body parses (reply.ParseSMS); otherwise the parser's problem and the
//     phone's open codes (reply.SMSAnswer). HELP answers those codes alone.
//  6. STOP/START → Backend.SetSMSOptOut. A command with a code acts on the
//     open page with that code sent to *this* phone; a bare action on the
//     newest open page sent to this phone (Backend.PagesForPhone). The
//     request acts as the paged user (Page.User), deduplicated on
//     "sms:"+MessageSid so Twilio's retries act once. A retry answers what
//     the first delivery did: the replicated state remembers the incident
//     it acted on (Result.Incident of a duplicate) or the refusal it got
//     (returned again as ErrConflict).
//
// Every answer after step 3 is HTTP 200 with TwiML (Content-Type text/xml),
// including "could not record this right now" when the commit failed
// transiently: Twilio does not retry inbound webhooks on 5xx by default, so a
// 503 would only replace an explanation by silence.
package smshook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// Path is where the webhook is mounted and what the signature's URL ends in.
const Path = "/v1/sms/twilio"

// Limits and answers.
const (
	// MaxBodyBytes bounds the form Twilio posts (a few hundred bytes in
	// practice, the SMS body at most 1600).
	MaxBodyBytes = 64 << 10
	// UnknownNumberInterval is how often an unknown number gets an answer.
	UnknownNumberInterval = 10 * time.Minute
	// ActTimeout bounds the commit, well inside Twilio's 15 s webhook timeout.
	ActTimeout = 10 * time.Second

	// TransientAnswer is sent when the reply could not be committed now.
	TransientAnswer = "pagerd could not record this right now; please send it again."
	// UnknownNumberAnswer is sent (rate-limited) to numbers of no user.
	UnknownNumberAnswer = "This number is not registered with pagerd."
	// maxUnknownNumbers bounds the rate limiter's memory; past it unknown
	// numbers get no answer at all.
	maxUnknownNumbers = 10000
	// maxListed is how many open pages a "no open page" answer lists.
	maxListed = 5
	// maxTitleRunes shortens titles in answers to keep them to one or two
	// SMS segments.
	maxTitleRunes = 60
	maxNoteBytes  = 256
)

// Options configures the handler.
type Options struct {
	// AuthToken returns the Twilio auth token (channels.sms.auth_token). It
	// is called per request, as config can change at runtime. Empty: every
	// request is refused with 403.
	AuthToken func() string
	// PublicURL returns channels.sms.public_url, e.g.
	// "https://pager.example.com" (a trailing slash is ignored). Empty: every
	// request is refused with 403.
	PublicURL func() string
	// Backend is the replicated state. Required.
	Backend reply.Backend
	// CaughtUp, optional, reports whether this node has applied what the
	// cluster had committed. Until it has, every request is answered 503
	// with Retry-After before the signature is checked: the local config's
	// auth_token may be older than the cluster's (a rotated token would
	// still verify, the new one would not).
	CaughtUp func() bool
	// Now is the clock of the unknown-number rate limit (default time.Now).
	Now func() time.Time
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Metrics, optional, gets pagerd_sms_replies_total{outcome}.
	Metrics prometheus.Registerer
}

// Outcomes, the values of the outcome label of pagerd_sms_replies_total.
const (
	OutcomeActed         = "acted"          // the action was committed
	OutcomeDuplicate     = "duplicate"      // a retried MessageSid; answered again, nothing changed
	OutcomeConflict      = "conflict"       // e.g. already acknowledged/resolved
	OutcomeNotFound      = "not_found"      // incident gone
	OutcomeNoPage        = "no_page"        // no open page with that code (or at all) for this phone
	OutcomeUnrecognised  = "unrecognised"   // ParseSMS refused the body
	OutcomeOptOut        = "opt_out"        // STOP recorded
	OutcomeOptIn         = "opt_in"         // START recorded
	OutcomeHelp          = "help"           // HELP answered with the phone's open codes
	OutcomeUnknownNumber = "unknown_number" // From is no user's phone
	OutcomeBadSignature  = "bad_signature"  // 403
	OutcomeBadRequest    = "bad_request"    // 405, 413, verified form without From
	OutcomeTransient     = "transient"      // commit failed with ErrTransient or timed out
	OutcomeError         = "error"          // any other commit error
)

type handler struct {
	opts    Options
	now     func() time.Time
	log     *slog.Logger
	replies *prometheus.CounterVec

	mu      sync.Mutex
	unknown map[string]time.Time // unknown number -> last answer
}

// New returns the webhook handler. Mount it at Path.
func New(opts Options) http.Handler {
	h := &handler{opts: opts, now: opts.Now, log: opts.Logger, unknown: map[string]time.Time{}}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.log = h.log.With("component", "smshook")
	h.replies = reply.OutcomeCounter(opts.Metrics, "pagerd_sms_replies_total", "Inbound SMS replies (Twilio webhook) by outcome.")
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, OutcomeBadRequest, "method not allowed; POST the Twilio webhook")
		return
	}
	if h.opts.CaughtUp != nil && !h.opts.CaughtUp() {
		w.Header().Set("Retry-After", "1")
		h.fail(w, http.StatusServiceUnavailable, OutcomeTransient, "this node is catching up with the cluster; retry")
		return
	}
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		h.fail(w, http.StatusForbidden, OutcomeBadSignature, "missing X-Twilio-Signature")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, http.StatusRequestEntityTooLarge, OutcomeBadRequest, "body over "+strconv.Itoa(MaxBodyBytes)+" bytes")
			return
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The server's read deadline cut a sender that announced a
			// body and did not send it (serve --http-read-timeout).
			h.fail(w, http.StatusRequestTimeout, OutcomeBadRequest, "body not received in time")
			return
		}
		// An unreadable form cannot have been verified.
		h.fail(w, http.StatusForbidden, OutcomeBadSignature, "X-Twilio-Signature does not verify")
		return
	}
	if !h.verify(r, sig) {
		h.fail(w, http.StatusForbidden, OutcomeBadSignature, "X-Twilio-Signature does not verify")
		return
	}
	form := r.PostForm
	from := strings.TrimSpace(form.Get("From"))
	if from == "" {
		h.fail(w, http.StatusBadRequest, OutcomeBadRequest, "From: required")
		return
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid") // older Twilio field name
	}
	body := form.Get("Body")
	log := h.log.With("from", from, "message_sid", sid)

	msg, outcome := h.handle(r.Context(), log, from, sid, body)
	h.replies.WithLabelValues(outcome).Inc()
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(reply.TwiML(msg))
}

// verify checks the signature against the configured public URL. The
// request's query string is part of what Twilio signed if the webhook URL
// it was given has one; it is taken from the request, but the scheme, host
// and path only ever from configuration (never from a proxy's view).
func (h *handler) verify(r *http.Request, sig string) bool {
	var token, base string
	if h.opts.AuthToken != nil {
		token = h.opts.AuthToken()
	}
	if h.opts.PublicURL != nil {
		base = strings.TrimRight(h.opts.PublicURL(), "/")
	}
	if token == "" || base == "" {
		h.log.Warn("sms reply refused: channels.sms auth_token or public_url not configured")
		return false
	}
	u := base + Path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return reply.VerifyTwilioSignature(token, u, r.PostForm, sig)
}

// handle decides the answer to a verified message from a phone.
func (h *handler) handle(ctx context.Context, log *slog.Logger, from, sid, body string) (string, string) {
	dedupID := ""
	if sid != "" {
		dedupID = "sms:" + sid
	}
	user, known := h.opts.Backend.UserForPhone(from)
	cmd, perr := reply.ParseSMS(body)
	if !known {
		if perr == nil && (cmd.Action == reply.ActionStop || cmd.Action == reply.ActionStart) {
			// Twilio answers opt-out words itself; pagerd never sends to
			// unknown numbers anyway.
			log.Info("sms opt-out word from unknown number ignored")
			return "", OutcomeUnknownNumber
		}
		if h.answerUnknown(from) {
			log.Info("sms reply from unknown number refused")
			return UnknownNumberAnswer, OutcomeUnknownNumber
		}
		log.Info("sms reply from unknown number refused (answer rate-limited)")
		return "", OutcomeUnknownNumber
	}
	log = log.With("user", user)
	if perr != nil {
		log.Info("sms reply not understood", "body", displayText(body, 40))
		return reply.SMSAnswer(perr, h.opts.Backend.PagesForPhone(from)), OutcomeUnrecognised
	}
	if cmd.Action == reply.ActionHelp {
		log.Info("sms help answered")
		return reply.SMSHelp(h.opts.Backend.PagesForPhone(from)), OutcomeHelp
	}

	switch cmd.Action {
	case reply.ActionStop, reply.ActionStart:
		off := cmd.Action == reply.ActionStop
		cctx, cancel := context.WithTimeout(ctx, ActTimeout)
		defer cancel()
		if err := h.opts.Backend.SetSMSOptOut(cctx, from, off, dedupID); err != nil {
			return h.commitError(log, err)
		}
		if off {
			log.Info("sms pages turned off by STOP")
			return "pagerd will no longer send SMS pages to this phone. Reply START to turn them back on.", OutcomeOptOut
		}
		log.Info("sms pages turned on by START")
		return "pagerd SMS pages to this phone are on again.", OutcomeOptIn
	}

	pages := h.opts.Backend.PagesForPhone(from)
	page, ok := pickPage(pages, cmd)
	if !ok {
		log.Info("sms reply matches no open page", "code", cmd.Code, "has_code", cmd.HasCode, "open_pages", len(pages))
		return noPageAnswer(cmd, pages), OutcomeNoPage
	}
	req := reply.Request{
		Channel:  "sms",
		From:     from,
		User:     page.User,
		Incident: page.Incident,
		Kind:     cmd.Action,
		Severity: cmd.Severity,
		Audience: cmd.Audience,
		Text:     cmd.Text,
		Role:     cmd.Role,
		DedupID:  dedupID,
		Note:     displayText(body, maxNoteBytes),
	}
	reply.RoleAck(&req, page)
	log = log.With("incident", page.Key, "action", cmd.Action, "paged_user", page.User)
	cctx, cancel := context.WithTimeout(ctx, ActTimeout)
	defer cancel()
	res, err := h.opts.Backend.Act(cctx, req)
	if err != nil {
		return h.commitError(log, err)
	}
	if res.Duplicate {
		// res.Incident is the incident the first delivery acted on, which
		// may not be the page picked now (a newer page arrived since), so
		// the answer repeats the first one (issue 10.9).
		if res.Incident != nil {
			log = log.With("first_incident", res.Incident.Key)
		}
		log.Info("sms reply already applied (Twilio retry)")
		return confirmation(req.Kind, page, res.Incident), OutcomeDuplicate
	}
	log.Info("sms reply applied")
	return confirmation(req.Kind, page, res.Incident), OutcomeActed
}

// commitError maps an Act or SetSMSOptOut error to the answer.
func (h *handler) commitError(log *slog.Logger, err error) (string, string) {
	switch {
	case errors.Is(err, incident.ErrConflict):
		log.Info("sms reply refused by the incident's state", "err", err)
		return reply.ConflictText(err), OutcomeConflict
	case errors.Is(err, incident.ErrNotFound):
		log.Info("sms reply for an incident that no longer exists", "err", err)
		return "That incident no longer exists.", OutcomeNotFound
	case errors.Is(err, reply.ErrTransient), errors.Is(err, context.DeadlineExceeded):
		log.Warn("sms reply could not be committed now", "err", err)
		return TransientAnswer, OutcomeTransient
	}
	log.Error("sms reply failed", "err", err)
	return TransientAnswer, OutcomeError
}

// answerUnknown reports whether an unknown number may get an answer now,
// and if so records it.
func (h *handler) answerUnknown(phone string) bool {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if last, ok := h.unknown[phone]; ok && now.Sub(last) < UnknownNumberInterval && !now.Before(last) {
		return false
	}
	if _, ok := h.unknown[phone]; !ok && len(h.unknown) >= maxUnknownNumbers {
		for p, last := range h.unknown {
			if now.Sub(last) >= UnknownNumberInterval || now.Before(last) {
				delete(h.unknown, p)
			}
		}
		if len(h.unknown) >= maxUnknownNumbers {
			return false
		}
	}
	h.unknown[phone] = now
	return true
}

// pickPage finds the page a command acts on among the phone's open pages
// (newest first): the one with its code, or the newest.
func pickPage(pages []reply.Page, cmd reply.Command) (reply.Page, bool) {
	if !cmd.HasCode {
		var best reply.Page
		found := false
		for _, p := range pages {
			if !found || p.SentAt.After(best.SentAt) {
				best, found = p, true
			}
		}
		return best, found
	}
	for _, p := range pages {
		if p.Code == cmd.Code {
			return p, true
		}
	}
	return reply.Page{}, false
}

// noPageAnswer explains a command that matched no open page and lists the
// codes that would.
func noPageAnswer(cmd reply.Command, pages []reply.Page) string {
	if !cmd.HasCode || len(pages) == 0 {
		if cmd.HasCode {
			return "No open page with code " + strconv.Itoa(cmd.Code) + ". You have no open pages."
		}
		return "You have no open pages."
	}
	var b strings.Builder
	b.WriteString("No open page with code " + strconv.Itoa(cmd.Code) + ". Your open pages: ")
	for i, p := range pages {
		if i == maxListed {
			b.WriteString(", +" + strconv.Itoa(len(pages)-maxListed) + " more")
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Itoa(p.Code) + " = " + reply.OneLine(p.Key))
	}
	return b.String()
}

// confirmation is "Acknowledged INC-42 sev1 checkout: HighErrorRate", from
// the incident after the action where the Backend returned it.
func confirmation(action string, page reply.Page, inc *incident.Incident) string {
	verb := map[string]string{
		incident.Ack: "Acknowledged", incident.Resolve: "Resolved", incident.Escalate: "Escalated",
		reply.ActionSeverity: "Severity set:", reply.ActionRole: "You took the role on",
		reply.ActionUpdate: "Update posted:",
	}[action]
	return verb + " " + describe(page, inc)
}

// describe is "INC-42 sev1 checkout: HighErrorRate", leaving out empty parts.
func describe(page reply.Page, inc *incident.Incident) string {
	key, sev, svc, title := page.Key, page.Severity, page.Service, page.Title
	if inc != nil {
		key, sev, svc, title = reply.OrElse(inc.Key, key), reply.OrElse(inc.Severity, sev), reply.OrElse(inc.Service, svc), reply.OrElse(inc.Title, title)
	}
	if key == "" {
		key = incident.KeyFor(page.Incident)
	}
	parts := []string{reply.OneLine(key)}
	for _, p := range []string{sev, svc} {
		if p = reply.OneLine(p); p != "" {
			parts = append(parts, p)
		}
	}
	s := strings.Join(parts, " ")
	if t := reply.OneLine(title); t != "" {
		s += ": " + reply.Shorten(t, maxTitleRunes)
	}
	return s
}

// displayText is s on one line, cut to at most max bytes on a rune
// boundary: what the sender wrote, for logs and the incident timeline.
func displayText(s string, max int) string {
	s = reply.OneLine(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (h *handler) fail(w http.ResponseWriter, status int, outcome, msg string) {
	h.replies.WithLabelValues(outcome).Inc()
	if status == http.StatusForbidden {
		h.log.Warn("sms webhook refused", "status", status, "reason", msg)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

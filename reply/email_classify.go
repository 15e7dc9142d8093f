package reply

import (
	"strings"

	"github.com/emersion/go-message/mail"
)

// bounceReason says why a message is a delivery or disposition report, or
// "" if it is not one.
//
//   - The null envelope sender ("" or "<>"): RFC 5321 §4.5.5 reserves it for
//     DSNs and other notifications that must never be answered or acted on.
//   - Content-Type multipart/report (RFC 6522): DSNs (report-type
//     delivery-status) and read receipts (disposition-notification), even
//     when relayed with a non-null sender.
//   - From MAILER-DAEMON@: the conventional sender of bounces from MTAs that
//     rewrite the envelope.
func bounceReason(h mail.Header, envelopeFrom string) string {
	env := strings.TrimSpace(envelopeFrom)
	if env == "" || env == "<>" {
		return "null envelope sender"
	}
	mt, params, _ := h.ContentType()
	switch strings.ToLower(mt) {
	case "multipart/report":
		return "multipart/report (" + clip(strings.ToLower(params["report-type"])) + ")"
	case "message/delivery-status", "message/disposition-notification":
		return clip(mt)
	}
	if from := headerFrom(h); strings.HasPrefix(strings.ToLower(from), "mailer-daemon@") {
		return "From " + from
	}
	return ""
}

// autoReplyPrecedence are Precedence values RFC 3834 §2 tells responders
// not to answer, plus auto_reply which some vacation programs set.
var autoReplyPrecedence = map[string]bool{"bulk": true, "junk": true, "list": true, "auto_reply": true}

// autoReplySubjects are subject prefixes of out-of-office replies from
// clients that set no header (Outlook/Exchange "Automatic reply:", Lotus
// Notes "Auto:", others). Lower case.
var autoReplySubjects = []string{
	"automatic reply:", "auto:", "autoreply:", "auto-reply:", "auto reply:",
	"out of office:", "out of office reply", "out-of-office", "abwesenheitsnotiz",
	"automatische antwort", "réponse automatique",
}

// autoReplyReason says why a message is an automatic response, or "".
//
//   - Auto-Submitted (RFC 3834 §5) present with any value but "no".
//   - X-Autoreply, X-Autorespond, X-Autoresponder: set by vacation
//     programs predating RFC 3834 (Exim, cPanel, Zimbra and others).
//   - Precedence bulk, junk, list or auto_reply.
//   - Known out-of-office subject prefixes.
//
// X-Auto-Response-Suppress is deliberately not a signal: it is Exchange's
// request to others not to auto-reply, set on ordinary messages too, and
// says nothing about whether this message was written by a person.
func autoReplyReason(h mail.Header) string {
	if v := strings.TrimSpace(h.Get("Auto-Submitted")); v != "" {
		kw := strings.ToLower(strings.TrimSpace(strings.SplitN(v, ";", 2)[0]))
		if i := strings.IndexAny(kw, " \t("); i >= 0 {
			kw = kw[:i] // drop a trailing comment
		}
		if kw != "no" {
			return "Auto-Submitted: " + clip(v)
		}
	}
	for _, k := range []string{"X-Autoreply", "X-Autorespond", "X-Autoresponder"} {
		if v := h.Get(k); v != "" && !strings.EqualFold(strings.TrimSpace(v), "no") {
			return k + ": " + clip(v)
		}
	}
	if v := strings.ToLower(strings.TrimSpace(h.Get("Precedence"))); autoReplyPrecedence[v] {
		return "Precedence: " + v
	}
	subject, _ := h.Subject()
	s := strings.ToLower(strings.TrimSpace(subject))
	for _, p := range autoReplySubjects {
		if strings.HasPrefix(s, p) {
			return "subject " + clip(subject)
		}
	}
	return ""
}

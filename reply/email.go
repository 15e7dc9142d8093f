package reply

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message"
	// Registers decoders for non-UTF-8 charsets (ISO-8859-*, windows-125x,
	// Shift_JIS, ...) with go-message, so those bodies decode to UTF-8.
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"
)

// Limits of ParseEmail.
const (
	// MaxEmailSize is the largest raw message ParseEmail reads. A reply is a
	// few lines, but replies quote the page and may carry signature images,
	// so the cap is generous. The SMTP layer should advertise it (SIZE) and
	// answer 552 on ErrTooLarge.
	MaxEmailSize = 4 << 20
	// maxTextBytes caps the decoded text kept from one part; only the first
	// lines matter.
	maxTextBytes = 1 << 20
	maxMIMEParts = 64 // parts visited before giving up on finding text
	maxMIMEDepth = 8  // multipart nesting followed
	maxLineField = 256
	// maxReasonLen bounds EmailReply.Reason: a fixed label and at most
	// one header value, clipped to maxLineField.
	maxReasonLen = maxLineField + 64
)

// ErrTooLarge is returned when the message exceeds MaxEmailSize.
var ErrTooLarge = errors.New("email too large")

// ErrMalformedEmail is returned when the message header cannot be parsed at
// all. Bodies are parsed leniently and never cause it.
var ErrMalformedEmail = errors.New("email malformed")

// EmailReply is what an inbound email to a Reply-To address says.
type EmailReply struct {
	From      string   // address from the From header (addr-spec), or its raw text
	To        []string // addresses in the To header
	MessageID string   // Message-ID without angle brackets, for dedupe
	Command   string   // ActionAck, ActionResolve, ActionEscalate, ActionSeverity, or ""
	Severity  string   // the severity ActionSeverity sets ("sev1".."sev3")
	Audience  string   // ActionUpdate: internal or public
	Text      string   // ActionUpdate: the update's message
	Role      string   // the role ActionRole takes ("take im" → "incident_manager")
	Line      string   // the line (or subject) the command came from, or the first line of new text
	AutoReply bool     // an automatic response (RFC 3834 and common practice)
	Bounce    bool     // a delivery or disposition report
	Reason    string   // why Command is what it is, for logs and the timeline
}

// emailCommandWords are accepted as the first word of a reply. Unlike SMS,
// single letters and abbreviations are not: "A quick question" or "E.g."
// must not act on an incident.
var emailCommandWords = map[string]string{
	"ack": ActionAck, "acked": ActionAck, "acknowledge": ActionAck, "acknowledged": ActionAck,
	"resolve": ActionResolve, "resolved": ActionResolve,
	"escalate": ActionEscalate, "escalated": ActionEscalate,
}

// ParseEmail reads a raw message (header and body, as received over SMTP
// DATA) and extracts the reply command. envelopeFrom is the SMTP MAIL FROM
// address ("" or "<>" for the null sender).
//
// Auto-replies and bounces come back with Command "" and AutoReply or
// Bounce set. Otherwise the command is taken from the first line of new
// text (quotes, attributions, forwarded blocks, signatures and mobile
// footers removed); if there is no new text, from the Subject. See
// DESIGN.md for the exact rules.
//
// Errors: ErrTooLarge past MaxEmailSize; ErrMalformedEmail when the header
// is unreadable. Any other oddity (bad MIME, unknown charset) degrades to
// finding no command rather than failing.
func ParseEmail(r io.Reader, envelopeFrom string) (rep *EmailReply, err error) {
	// The SMTP session is a trust boundary: a parser bug on a hostile
	// message must cost that message, not the daemon.
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("%w: parser panic: %v", ErrMalformedEmail, p)
		}
	}()
	raw, err := readCapped(r, MaxEmailSize)
	if err != nil {
		return nil, err
	}
	return parseEmail(raw, envelopeFrom)
}

// readCapped reads all of r, failing with ErrTooLarge past limit. It reads
// one byte more than the limit through an io.LimitedReader to tell "exactly
// the limit" from "over it" without reading the rest of an oversized body.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	raw, err := io.ReadAll(lr)
	if err != nil {
		return nil, fmt.Errorf("reading email: %w", err)
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, limit)
	}
	return raw, nil
}

func parseEmail(raw []byte, envelopeFrom string) (*EmailReply, error) {
	e, err := message.Read(bytes.NewReader(raw))
	if e == nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedEmail, err)
	}
	// An unknown charset or transfer encoding still yields a readable
	// entity (undecoded); carry on with it.
	h := mail.Header{Header: e.Header}
	rep := &EmailReply{
		From:      headerFrom(h),
		To:        headerAddrs(h, "To"),
		MessageID: headerMessageID(h),
	}
	if reason := bounceReason(h, envelopeFrom); reason != "" {
		rep.Bounce, rep.Reason = true, "bounce: "+reason
	}
	if reason := autoReplyReason(h); reason != "" {
		rep.AutoReply = true
		if rep.Reason == "" {
			rep.Reason = "auto-reply: " + reason
		}
	}
	if rep.Bounce || rep.AutoReply {
		return rep, nil
	}
	text := extractText(e)
	line, found := firstNewLine(text)
	if found {
		rep.Line = clip(line)
		var arg string
		rep.Command, arg = parseLine(line)
		if rep.Command == ActionRole {
			rep.Role = arg
		} else {
			rep.Severity = arg
		}
		if aud, text, ok := parseUpdateLine(line); ok {
			rep.Command, rep.Severity, rep.Audience, rep.Text = ActionUpdate, "", aud, text
		}
		if rep.Command != "" {
			rep.Reason = "command from first line"
		} else {
			rep.Reason = "first line of new text is not a command"
		}
		return rep, nil
	}
	subject, _ := h.Subject() // on a decoding error the raw text is returned
	rep.Line = clip(subject)
	rep.Command = commandFromSubject(subject)
	switch rep.Command {
	case ActionSeverity:
		rep.Severity = severityFromSubject(subject)
	case ActionRole:
		rep.Role = severityFromSubject(subject) // parseLine's arg: the role
	}
	if rep.Command != "" {
		rep.Reason = "empty body; command from subject"
	} else {
		rep.Reason = "empty body and no command in subject"
	}
	return rep, nil
}

func headerFrom(h mail.Header) string {
	if addrs, err := h.AddressList("From"); err == nil && len(addrs) > 0 {
		// A parsed address is bounded only by the header; no real mailbox
		// is longer than 254 bytes (RFC 5321), so clipping never changes
		// one that could match a person, and the "…" keeps a clipped one
		// from matching anybody.
		return clip(addrs[0].Address)
	}
	raw, _ := h.Text("From")
	return clip(strings.TrimSpace(raw))
}

func headerAddrs(h mail.Header, key string) []string {
	addrs, err := h.AddressList(key)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.Address)
	}
	return out
}

// headerMessageID is the Message-ID without angle brackets, or "" when
// there is none or it is longer than maxLineField. It becomes part of Raft
// dedup ids, so it must be bounded, and a clipped id could make two replies
// look like one; callers fall back to a digest of the message instead.
func headerMessageID(h mail.Header) string {
	id, err := h.MessageID()
	if err != nil || id == "" {
		// Non-conforming ids are still worth deduping on.
		raw := strings.TrimSpace(h.Get("Message-Id"))
		id = strings.TrimSuffix(strings.TrimPrefix(raw, "<"), ">")
	}
	if len(id) > maxLineField || !utf8.ValidString(id) {
		return ""
	}
	return id
}

// clip bounds strings copied from the message into EmailReply (they end up
// in logs and timelines) and keeps them valid UTF-8.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxLineField {
		return s
	}
	cut := maxLineField
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// clipTo is s, valid UTF-8, in at most max bytes: cut on a rune boundary
// and marked "…" when it is longer (max must exceed len("…")).
func clipTo(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

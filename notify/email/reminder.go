package email

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-message/mail"
)

// SendReminder sends a reminder digest (follow-ups, postmortems) to one
// person. replyTo, when set, is the reply address a `done` answer goes
// to; msgID is the stable Message-ID local part (the same reminder mailed
// twice would carry the same id, so a relay or client can tell).
func (s *Sender) SendReminder(ctx context.Context, to, replyTo, subject, body, msgID string) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("email: reminder to %q: %w", to, err)
	}
	var h mail.Header
	h.SetDate(s.opts.Now())
	h.SetAddressList("From", []*mail.Address{s.from})
	h.SetAddressList("To", []*mail.Address{addr})
	if replyTo != "" {
		h.SetAddressList("Reply-To", []*mail.Address{{Address: replyTo}})
	}
	h.SetSubject(subject)
	h.SetMessageID(MessageID(msgID, s.domain))
	h.Set("Auto-Submitted", "auto-generated")
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return fmt.Errorf("email: write header: %w", err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		return fmt.Errorf("email: write body: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: write body: %w", err)
	}
	return s.deliver(ctx, addr.Address, buf.Bytes())
}

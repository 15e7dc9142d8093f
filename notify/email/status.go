package email

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/emersion/go-message/mail"
)

// SendStatusMail sends one status page mail (a subscription confirmation or
// a public update) to a subscriber. id makes the Message-ID, so a mail the
// leader repeats after a failover is the same message to the recipient's
// client; unsubscribe becomes List-Unsubscribe with one-click POST (RFC
// 8058). It is marked bulk and auto-generated so nobody's responder answers.
func (s *Sender) SendStatusMail(ctx context.Context, to, subject, body, id, unsubscribe string) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("email: status mail to %q: %w", to, err)
	}
	var h mail.Header
	h.SetDate(s.opts.Now())
	h.SetAddressList("From", []*mail.Address{s.from})
	h.SetAddressList("To", []*mail.Address{addr})
	h.SetSubject(subject)
	h.SetMessageID(MessageID(id, s.domain))
	if unsubscribe != "" {
		h.Set("List-Unsubscribe", "<"+headerSafe(unsubscribe)+">")
		h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("Precedence", "bulk")
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

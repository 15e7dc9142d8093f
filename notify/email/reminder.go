package email

import (
	"context"
	"fmt"

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
	h := s.newHeader(addr)
	if replyTo != "" {
		h.SetAddressList("Reply-To", []*mail.Address{{Address: replyTo}})
	}
	h.SetSubject(subject)
	h.SetMessageID(MessageID(msgID, s.domain))
	h.Set("Auto-Submitted", "auto-generated")
	raw, err := textMessage(h, body)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return s.deliver(ctx, addr.Address, raw)
}

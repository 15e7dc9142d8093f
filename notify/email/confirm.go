package email

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/emersion/go-message/mail"
)

// SendReply sends a short plain-text answer to someone who replied to a
// page ("Acknowledged INC-42"). It is marked Auto-Submitted: auto-replied
// (RFC 3834) so that no responder answers it in turn, and threads under
// the reply via In-Reply-To when its Message-ID is known.
func (s *Sender) SendReply(ctx context.Context, to, subject, body, inReplyTo string) error {
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return fmt.Errorf("email: confirmation to %q: %w", to, err)
	}
	h := s.newHeader(addr)
	h.SetSubject(subject)
	sum := sha256.Sum256([]byte(to + "\x00" + subject + "\x00" + inReplyTo + "\x00" + body))
	h.SetMessageID(MessageID("r-"+hex.EncodeToString(sum[:12]), s.domain))
	if inReplyTo != "" {
		h.Set("In-Reply-To", "<"+headerSafe(inReplyTo)+">")
		h.Set("References", "<"+headerSafe(inReplyTo)+">")
	}
	h.Set("Auto-Submitted", "auto-replied")
	h.Set("X-Auto-Response-Suppress", "All")
	raw, err := textMessage(h, body)
	if err != nil {
		return fmt.Errorf("email: %w", err)
	}
	return s.deliver(ctx, addr.Address, raw)
}

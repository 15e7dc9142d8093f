package email

import (
	"bytes"
	"fmt"
	"io"

	"github.com/emersion/go-message/mail"
)

// newHeader starts the header every message pagerd mails has: the date,
// pagerd's From and the one recipient. Callers add their own fields, then
// textMessage finishes it.
func (s *Sender) newHeader(to *mail.Address) mail.Header {
	var h mail.Header
	h.SetDate(s.opts.Now())
	h.SetAddressList("From", []*mail.Address{s.from})
	h.SetAddressList("To", []*mail.Address{to})
	return h
}

// textMessage renders h and body as one UTF-8 text/plain part, quoted-
// printable so long lines and non-ASCII survive any relay.
func textMessage(h mail.Header, body string) ([]byte, error) {
	h.SetContentType("text/plain", map[string]string{"charset": "utf-8"})
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	var buf bytes.Buffer
	w, err := mail.CreateSingleInlineWriter(&buf, h)
	if err != nil {
		return nil, fmt.Errorf("write header: %w", err)
	}
	if _, err := io.WriteString(w, body); err != nil {
		return nil, fmt.Errorf("write body: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("write body: %w", err)
	}
	return buf.Bytes(), nil
}

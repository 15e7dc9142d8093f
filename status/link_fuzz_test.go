package status

import (
	"bytes"
	"testing"
	"time"

	"github.com/pagerd/pagerd/reply"
)

// linkRing has a retired key and a current one whose id needs hex letters
// (0x0a), so a second spelling of a link's key id can show.
var linkRing = reply.Keyring{Keys: []reply.Key{
	{ID: 1, Secret: bytes.Repeat([]byte{1}, reply.MinSecretLen), NotAfter: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
	{ID: 0x0a, Secret: bytes.Repeat([]byte{2}, reply.MinSecretLen)},
}}

// FuzzVerifyLink: a confirm or unsubscribe link (email and sig in its
// query) needs no sign-in, so it is unauthenticated outside input. Only the
// exact sig one of the ring's keys makes for that purpose, page and email
// verifies: one spelling per link, nothing forged.
func FuzzVerifyLink(f *testing.F) {
	for _, c := range [][3]string{{purposeConfirm, "public", "alice@example.com"},
		{purposeUnsubscribe, "public", "bob@example.org"}, {purposeUnsubscribe, "internal", "a@b.co"}} {
		sig, err := sign(linkRing, c[0], c[1], c[2])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c[0] == purposeConfirm, c[1], c[2], sig)
		f.Add(c[0] == purposeConfirm, c[1], c[2], "01"+linkMAC(linkRing.Keys[0].Secret, c[0], c[1], c[2]))
	}
	f.Add(true, "public", "alice@example.com", "")
	f.Fuzz(func(t *testing.T, confirm bool, page, email, sig string) {
		purpose := purposeUnsubscribe
		if confirm {
			purpose = purposeConfirm
		}
		if !verify(linkRing, purpose, page, email, sig) {
			return
		}
		for _, k := range linkRing.Keys {
			if sig == string([]byte{hexDigit(k.ID >> 4), hexDigit(k.ID & 15)})+linkMAC(k.Secret, purpose, page, email) {
				return
			}
		}
		t.Fatalf("%s link for page %q, %q verified with sig %q, which no key makes", purpose, page, email, sig)
	})
}

func hexDigit(b uint8) byte { return "0123456789abcdef"[b] }

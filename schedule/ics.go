package schedule

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"
)

// icsTime is RFC 5545's UTC DATE-TIME form.
const icsTime = "20060102T150405Z"

// ICS renders shifts as an RFC 5545 calendar named name (normally the
// schedule id): one VEVENT per shift with a UID stable per (name, user,
// start), UTC times, and a summary naming the person and the schedule. now is
// the DTSTAMP; the caller passes it because this package reads no clock.
func ICS(name string, shifts []Shift, now time.Time) []byte {
	var b bytes.Buffer
	line := func(s string) { writeFolded(&b, s) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//pagerd//pagerd schedule//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	line("X-WR-CALNAME:" + escapeText("pagerd: "+name))
	stamp := now.UTC().Format(icsTime)
	for _, sh := range shifts {
		line("BEGIN:VEVENT")
		line("UID:" + shiftUID(name, sh) + "@pagerd")
		line("DTSTAMP:" + stamp)
		line("DTSTART:" + sh.Start.UTC().Format(icsTime))
		line("DTEND:" + sh.End.UTC().Format(icsTime))
		line("SUMMARY:" + escapeText("On call: "+sh.User+" ("+name+")"))
		line("TRANSP:TRANSPARENT") // being on call does not make anyone busy
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	return b.Bytes()
}

// shiftUID hashes the identity of a shift so that subscribers see the same
// event across refreshes; the NUL separators keep fields from running together.
func shiftUID(name string, sh Shift) string {
	h := sha256.Sum256([]byte(name + "\x00" + sh.User + "\x00" + sh.Start.UTC().Format(icsTime)))
	return hex.EncodeToString(h[:16])
}

// escapeText escapes a TEXT value (RFC 5545 §3.3.11).
func escapeText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\r\n", `\n`, "\n", `\n`, "\r", `\n`).Replace(s)
}

// writeFolded writes one content line ending in CRLF, folded so that no line
// exceeds 75 octets (RFC 5545 §3.1) and no UTF-8 sequence is split.
func writeFolded(b *bytes.Buffer, s string) {
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		b.WriteString(s[:cut])
		b.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // continuation lines start with a space
	}
	b.WriteString(s)
	b.WriteString("\r\n")
}

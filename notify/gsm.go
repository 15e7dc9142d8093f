package notify

import "unicode/utf8"

// SMS segment sizes (3GPP TS 23.038/23.040). A concatenated message loses
// room in every part to the 6-byte user data header.
const (
	GSM7SingleSeptets = 160 // one GSM-7 segment
	GSM7PartSeptets   = 153 // per part of a concatenated GSM-7 message
	UCS2SingleUnits   = 70  // one UCS-2 segment, in UTF-16 code units
	UCS2PartUnits     = 67  // per part of a concatenated UCS-2 message
	// MaxSMSSegments is the most parts a page SMS may use: 2×153 = 306
	// GSM-7 septets or 2×67 = 134 UCS-2 units. Two segments keep cost and
	// delivery latency low while leaving room for title and reply code.
	MaxSMSSegments = 2
)

// gsm7Basic is the GSM 03.38 default alphabet (one septet each; the ESC
// position 0x1B is not a character and is left out).
var gsm7Basic = func() map[rune]bool {
	const chars = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	m := make(map[rune]bool, 128)
	for _, r := range chars {
		m[r] = true
	}
	return m
}()

// gsm7Ext is the GSM 03.38 extension table: each costs an ESC plus a septet.
var gsm7Ext = map[rune]bool{'\f': true, '^': true, '{': true, '}': true, '\\': true, '[': true, '~': true, ']': true, '|': true, '€': true}

// gsm7ASCII caches gsm7Septets for ASCII, which is nearly all page text, so
// fitting a long title stays cheap.
var gsm7ASCII = func() (t [128]uint8) {
	for r := range rune(128) {
		switch {
		case gsm7Basic[r]:
			t[r] = 1
		case gsm7Ext[r]:
			t[r] = 2
		}
	}
	return t
}()

// gsm7Septets returns the septets r needs in GSM-7 (1 or 2), or 0 if r is not
// representable and the message must be sent as UCS-2.
func gsm7Septets(r rune) int {
	if r >= 0 && r < 128 {
		return int(gsm7ASCII[r])
	}
	switch {
	case gsm7Basic[r]:
		return 1
	case gsm7Ext[r]:
		return 2
	}
	return 0
}

// IsGSM7 reports whether s can be sent in the GSM-7 alphabet (basic table
// plus extension table). One character outside it makes the whole message
// UCS-2, which more than halves the room per segment.
func IsGSM7(s string) bool {
	for _, r := range s {
		if gsm7Septets(r) == 0 {
			return false
		}
	}
	return true
}

// SMSSegments returns how many SMS parts s needs. It packs parts the way
// handsets and Twilio do: an extension character's ESC pair and a UTF-16
// surrogate pair are never split across two parts. An empty body needs 0.
func SMSSegments(s string) int {
	if s == "" {
		return 0
	}
	if IsGSM7(s) {
		return countParts(s, GSM7SingleSeptets, GSM7PartSeptets, gsm7Septets)
	}
	return countParts(s, UCS2SingleUnits, UCS2PartUnits, utf16Units)
}

// countParts fills parts of size part with characters of width cost; a
// message whose total fits single is one part.
func countParts(s string, single, part int, cost func(rune) int) int {
	total := 0
	for _, r := range s {
		total += cost(r)
	}
	if total <= single {
		return 1
	}
	parts, used := 1, 0
	for _, r := range s {
		c := cost(r)
		if used+c > part {
			parts++
			used = 0
		}
		used += c
	}
	return parts
}

// utf16Units is the UCS-2/UTF-16 length of r: 2 for characters outside the
// Basic Multilingual Plane (most emoji), else 1.
func utf16Units(r rune) int {
	if r >= 0x10000 && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

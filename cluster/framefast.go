package cluster

import (
	"bytes"
	"encoding/json"
)

// parseBatchFrame reads a batch framing that is byte for byte what
// encodeBatch writes (every entry pagerd writes is), without encoding/json:
// the time, then per command its type and version digits, a request id
// that needs no escaping, and the body, which it only delimits. It reports
// false for anything else, which then takes decodeBatchFrame's general
// path. It does not check that a body is JSON: decodeBatch decodes every
// body strictly next, which refuses one that is not, so a whole entry is
// accepted exactly when the strict decoder of the framing and the bodies
// accepts it, with the same result (FuzzDecodeBatchFastAgreesWithStrict;
// FuzzParseBatchFrameAgreesWithStrict checks the framing of valid bodies).
// Bodies are sub-slices of data: every body decoder copies what it keeps.
//
// Why: on a follower the frame decode was the larger half of apply's
// decode in a storm (json.Unmarshal of the frame, copying every body into a
// RawMessage, and encoding it back to prove nothing was dropped).
func parseBatchFrame(data []byte, b *batch) bool {
	p := frameParser{data: data}
	if !p.lit(`{"now":`) {
		return false
	}
	now, ok := p.plainString()
	if !ok || b.Now.UnmarshalJSON(now) != nil {
		return false
	}
	if !p.lit(`,"cmds":[`) {
		return false
	}
	cmds := make([]command, 0, bytes.Count(data, []byte(`{"t":`)))
	for {
		var c command
		if !p.lit(`{"t":`) || !p.typeAndVersion(&c.Type, &c.Version) {
			return false
		}
		id, ok := p.plainString()
		if !ok || !p.lit(`,"b":`) {
			return false
		}
		c.RequestID = string(id[1 : len(id)-1])
		body, ok := p.value()
		if !ok || !p.lit(`}`) {
			return false
		}
		c.Body = json.RawMessage(body)
		cmds = append(cmds, c)
		if p.lit(`]}`) {
			break
		}
		if !p.lit(`,`) {
			return false
		}
	}
	if p.i != len(data) {
		return false
	}
	b.Commands = cmds
	return true
}

type frameParser struct {
	data []byte
	i    int
}

// lit consumes s if the input continues with it.
func (p *frameParser) lit(s string) bool {
	if len(p.data)-p.i < len(s) || string(p.data[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// typeAndVersion reads `T,"v":V,"id":` into t and v: canonical decimal
// numbers (no sign, no leading zero) that fit a byte, as json.Unmarshal
// accepts into a uint8.
func (p *frameParser) typeAndVersion(t *CommandType, v *uint8) bool {
	var tb uint8
	ok := p.number(&tb) && p.lit(`,"v":`) && p.number(v) && p.lit(`,"id":`)
	*t = CommandType(tb)
	return ok
}

func (p *frameParser) number(out *uint8) bool {
	start, n := p.i, 0
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		n = n*10 + int(p.data[p.i]-'0')
		p.i++
		if n > 255 {
			return false
		}
	}
	digits := p.i - start
	if digits == 0 || (digits > 1 && p.data[start] == '0') {
		return false
	}
	*out = uint8(n)
	return true
}

// plainString reads a JSON string, quotes included, whose bytes are its
// value: printable ASCII without escapes (jsonenc.IsPlain).
func (p *frameParser) plainString() ([]byte, bool) {
	if p.i >= len(p.data) || p.data[p.i] != '"' {
		return nil, false
	}
	for j := p.i + 1; j < len(p.data); j++ {
		c := p.data[j]
		if c == '"' {
			s := p.data[p.i : j+1]
			p.i = j + 1
			return s, true
		}
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return nil, false
		}
	}
	return nil, false
}

// value delimits one JSON value starting here: an object or array up to
// its matching bracket (brackets inside strings skipped), a string up to
// its closing quote, anything else (a number, true, false, null) up to the
// next ',', '}' or ']' (refused if it holds whitespace, which a value
// with spaces around it would keep). It does not check the value: its reader decodes it
// strictly, which refuses what is not one JSON value.
func (p *frameParser) value() ([]byte, bool) {
	if p.i >= len(p.data) {
		return nil, false
	}
	start, end := p.i, -1
	switch p.data[start] {
	case '{', '[':
		end = p.compositeEnd(start)
	case '"':
		end = stringEnd(p.data, start)
	default:
		end = bytes.IndexAny(p.data[start:], ",}]")
		if end >= 0 {
			end += start
		}
		// Whitespace around a value is not part of it for the strict
		// decoder, and encodeBatch writes none: the general path reads it.
		if end > start && bytes.ContainsAny(p.data[start:end], " \t\r\n") {
			return nil, false
		}
	}
	if end <= start {
		return nil, false
	}
	p.i = end
	return p.data[start:end], true
}

// compositeEnd is the index after the bracket that closes the one at start.
func (p *frameParser) compositeEnd(start int) int {
	depth := 0
	for j := start; j < len(p.data); j++ {
		switch p.data[j] {
		case '"':
			if j = stringEnd(p.data, j); j < 0 {
				return -1
			}
			j-- // the loop steps past the closing quote
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// stringEnd is the index after the quote that closes the string at start.
func stringEnd(data []byte, start int) int {
	for j := start + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

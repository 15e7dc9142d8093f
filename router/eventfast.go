package router

import (
	"encoding/json"
)

// decodeEventFast reads an Events v2 body of the common shape without
// reflection: an object with the keys of EventRequest spelt exactly, each
// once, string values (or null), a payload object with its keys spelt
// exactly, each once, and custom_details any JSON value. It yields what
// the strict decoder (decodeStrict, twice) yields for such a body
// (FuzzDecodeEventFastAgreesWithStrict); for anything else (links,
// images, another spelling, a duplicate key, bad JSON) it returns false
// and DecodeEvent decodes strictly, so errors are the strict decoder's.
// Why: the two reflective decodes were half of the ingest handler's CPU
// on every node in a storm (BenchmarkServeEventsTrigger).
func decodeEventFast(body []byte) (*EventRequest, bool) {
	p := fastReader{b: body}
	ev := new(EventRequest)
	var seen uint8
	ok := p.object(func(key []byte) bool {
		var bit uint8
		switch string(key) {
		case "routing_key":
			bit = 1
		case "event_action":
			bit = 2
		case "dedup_key":
			bit = 4
		case "client":
			bit = 8
		case "client_url":
			bit = 16
		case "payload":
			bit = 32
		default:
			return false // links, images, another spelling: strictly
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		switch bit {
		case 1:
			return p.str(&ev.RoutingKey)
		case 2:
			return p.strShared(&ev.EventAction, eventActions[:])
		case 4:
			return p.str(&ev.DedupKey)
		case 8:
			return p.str(&ev.Client)
		case 16:
			return p.str(&ev.ClientURL)
		}
		return p.payload(ev)
	})
	if !ok || !p.end() {
		return nil, false
	}
	return ev, true
}

// fastReader reads JSON from b at i; every method reports false on
// anything it does not take, and the caller gives up.
type fastReader struct {
	b []byte
	i int
}

func (p *fastReader) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastReader) end() bool {
	p.ws()
	return p.i == len(p.b)
}

func (p *fastReader) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// object reads an object whose keys are plain strings (no escapes),
// calling member for each key with the reader at its value.
func (p *fastReader) object(member func(key []byte) bool) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		key, esc, ok := p.rawString()
		if !ok || esc || p.peek() != ':' {
			return false
		}
		p.i++
		if !member(key) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// rawString reads a string's bytes between its quotes; esc tells that
// it holds a backslash, a control character or a non-ASCII byte (so it
// needs encoding/json's reading).
func (p *fastReader) rawString() (raw []byte, esc, ok bool) {
	if p.peek() != '"' {
		return nil, false, false
	}
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		switch c := p.b[j]; {
		case c == '"':
			p.i = j + 1
			return p.b[start:j], esc, true
		case c == '\\':
			esc = true
			j++ // the escaped byte cannot end the string
		case c < 0x20 || c >= 0x80:
			esc = true
		}
	}
	return nil, false, false
}

// str reads a string into out (null leaves out empty, as encoding/json
// does for a field seen once). A string needing more than copying is
// read by encoding/json itself: escapes, invalid UTF-8 and its
// replacement are its business.
func (p *fastReader) str(out *string) bool {
	if p.peek() == 'n' {
		return p.lit("null")
	}
	start := p.i
	raw, esc, ok := p.rawString()
	if !ok {
		return false
	}
	if esc {
		return json.Unmarshal(p.b[start:p.i], out) == nil
	}
	*out = string(raw)
	return true
}

// eventActions and severityNames are values most events carry: read as
// these strings, not allocated per request.
var (
	eventActions  = [...]string{"trigger", "acknowledge", "resolve"}
	severityNames = [...]string{"critical", "error", "warning", "info"}
)

// strShared is str giving one of shared when the value is equal to it.
func (p *fastReader) strShared(out *string, shared []string) bool {
	if c := p.peek(); c == '"' {
		for _, s := range shared {
			if len(p.b)-p.i >= len(s)+2 && string(p.b[p.i+1:p.i+1+len(s)]) == s && p.b[p.i+1+len(s)] == '"' {
				*out = s
				p.i += len(s) + 2
				return true
			}
		}
	}
	return p.str(out)
}

func (p *fastReader) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// payload reads a payload object: RawPayload its bytes, as
// json.RawMessage keeps them (but not copied), Payload its fields.
func (p *fastReader) payload(ev *EventRequest) bool {
	if p.peek() != '{' {
		return false // null or a wrong type: strictly
	}
	start := p.i
	pl := new(EventPayload)
	var seen uint8
	ok := p.object(func(key []byte) bool {
		var out *string
		var bit uint8
		switch string(key) {
		case "summary":
			out, bit = &pl.Summary, 1
		case "source":
			out, bit = &pl.Source, 2
		case "severity":
			out, bit = &pl.Severity, 4
		case "timestamp":
			out, bit = &pl.Timestamp, 8
		case "component":
			out, bit = &pl.Component, 16
		case "group":
			out, bit = &pl.Group, 32
		case "class":
			out, bit = &pl.Class, 64
		case "custom_details":
			bit = 128
		default:
			return false
		}
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if bit == 4 {
			return p.strShared(out, severityNames[:])
		}
		if out != nil {
			return p.str(out)
		}
		return p.rawValue(&pl.CustomDetails)
	})
	if !ok {
		return false
	}
	ev.RawPayload = p.b[start:p.i:p.i] // shares body (DecodeEvent)
	ev.Payload = pl
	return true
}

// rawValue reads an object or array into out as json.RawMessage does
// (its bytes, but not copied), checked by json.Valid.
func (p *fastReader) rawValue(out *json.RawMessage) bool {
	c := p.peek()
	if c != '{' && c != '[' {
		return false
	}
	start, depth := p.i, 0
	for ; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				p.i++
				v := p.b[start:p.i]
				if !json.Valid(v) {
					return false
				}
				*out = v[:len(v):len(v)] // shares body (DecodeEvent)
				return true
			}
		case '"':
			if _, _, ok := p.rawString(); !ok {
				return false
			}
			p.i-- // the loop steps past the closing quote
		}
	}
	return false
}

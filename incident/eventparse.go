package incident

import (
	"bytes"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ParseEventJSON reads an event body in the form AppendJSON writes (its
// keys in that order, no whitespace, canonical numbers, label keys in
// ascending order, valid UTF-8) and reports false for anything else, which
// the caller then decodes strictly. What it accepts it reads to the very event
// the strict decoder (unknown fields refused) gives
// (FuzzParseEventJSONAgreesWithStrict). Every node decodes every event
// body of the log; by reflection that was most of apply's cost per event
// in storm profiles (docs/PERFORMANCE.md, "Storm").
func ParseEventJSON(data []byte) (*Event, bool) {
	shared := sharedStrings.Get().(*stringTable)
	defer sharedStrings.Put(shared)
	p := eventParser{b: data, shared: shared}
	e := &Event{}
	if !p.event(e) || p.i != len(p.b) {
		return nil, false
	}
	return e, true
}

// eventParser reads the canonical form; every method reports false at the
// first byte it does not expect.
type eventParser struct {
	b []byte
	i int
	// shared, when set, holds strings read before (strShared).
	shared *stringTable
}

// stringTable holds strings that events repeat, to share instead of
// allocating each again on every node for every event: the integration,
// service and policy, the plan of step 0 (policy, config version,
// message, whom it pages), deferrals, labels (keys and values) and label-
// like fields. Unique ones (dedup keys, summaries, annotation values)
// are not put in. In a storm that was about ten strings per event on
// every node, and the state keeps them all (issue 18).
type stringTable struct{ m map[string]string }

// maxSharedStrings bounds a table; a full one starts over.
const maxSharedStrings = 1024

// sharedStrings are the tables, one per parse in progress: the apply
// goroutine mostly gets the same one back, with no lock per string.
var sharedStrings = sync.Pool{New: func() any { return &stringTable{m: make(map[string]string, 64)} }}

func (t *stringTable) get(b []byte) string {
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	s := intern(b)
	if len(t.m) >= maxSharedStrings {
		clear(t.m)
	}
	t.m[s] = s
	return s
}

// strShared is str, sharing the string through p.shared (when set; an
// escaped string is read afresh).
func (p *eventParser) strShared(out *string) bool {
	if p.shared == nil {
		return p.str(out)
	}
	raw, s, plain, ok := p.nextStr()
	if plain {
		s = p.shared.get(raw)
	}
	*out = s
	return ok
}

func (p *eventParser) lit(s string) bool {
	if len(p.b)-p.i < len(s) || string(p.b[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

// key reads `,"name":` (or `"name":` first in an object) when it is next.
func (p *eventParser) key(name string, first bool) bool {
	j := p.i
	if !first {
		if j >= len(p.b) || p.b[j] != ',' {
			return false
		}
		j++
	}
	if len(p.b)-j < len(name)+3 || p.b[j] != '"' || string(p.b[j+1:j+1+len(name)]) != name ||
		p.b[j+1+len(name)] != '"' || p.b[j+2+len(name)] != ':' {
		return false
	}
	p.i = j + len(name) + 3
	return true
}

// str reads a string: valid UTF-8 without control characters, escapes
// read as encoding/json reads them (a lone surrogate is U+FFFD). Raw
// invalid UTF-8, which the decoder would replace, is left to it.
func (p *eventParser) str(out *string) bool {
	return p.strOr(out, "")
}

// strOr is str, but takes same instead of a new string when the string
// read equals it (same: a string read before that often repeats).
func (p *eventParser) strOr(out *string, same string) bool {
	raw, s, plain, ok := p.nextStr()
	switch {
	case !plain:
	case same != "" && string(raw) == same:
		s = same
	default:
		s = intern(raw)
	}
	*out = s
	return ok
}

// nextStr reads a string. Without escapes (plain) it gives the raw bytes
// for the caller to make the string from (shared, interned); with escapes
// it gives the unescaped string s. ok is false for a malformed string, and
// then plain is false and s empty.
func (p *eventParser) nextStr() (raw []byte, s string, plain, ok bool) {
	raw, escaped, ok := p.rawStr()
	switch {
	case !ok:
		return nil, "", false, false
	case escaped:
		s, ok = unescape(raw)
		return nil, s, false, ok
	}
	return raw, "", true, true
}

// rawStr reads a string's contents as they are in the body, and whether
// they hold an escape.
func (p *eventParser) rawStr() (raw []byte, escaped, ok bool) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, false, false
	}
	start := p.i + 1
	j := start
	for ; j < len(p.b) && p.b[j] != '"'; j++ {
		switch c := p.b[j]; {
		case c < 0x20:
			return nil, false, false
		case c == '\\':
			escaped = true
			j++ // the escaped byte, which may be a quote
		}
	}
	if j >= len(p.b) || !utf8.Valid(p.b[start:j]) {
		return nil, false, false
	}
	p.i = j + 1
	return p.b[start:j], escaped, true
}

// common are strings most events carry: the labels and annotation keys the
// router gives every event, actions, statuses, channels and PagerDuty's
// severities. An event read on every node shares these instead of
// allocating each again (and the state keeps the labels maps for good).
var common = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{"source", "component", "group", "class", "severity", "summary",
		"custom_details", "client", "client_url", ActionTrigger, ActionAcknowledge, ActionResolve,
		"firing", "resolved", ChannelEmail, ChannelSMS, ChannelWebhook, "critical", "error", "warning", "info",
		OutcomeSent, OutcomeRetry, OutcomeFailed, OutcomeHeld} {
		m[s] = s
	}
	return m
}()

// intern is string(b), shared when it is one of the common strings.
func intern(b []byte) string {
	if s, ok := common[string(b)]; ok {
		return s
	}
	return string(b)
}

// unescape reads the escapes of a JSON string's contents as encoding/json
// does.
func unescape(s []byte) (string, bool) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			out = append(out, s[i])
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := u4(s[i:])
			if r < 0 {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair is consumed whole; a lone half is U+FFFD.
				if dec := utf16.DecodeRune(r, u4(s[i:])); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

// u4 reads the \\uXXXX escape at the start of s, or -1 (encoding/json's
// getu4).
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

func (p *eventParser) boolean(out *bool) bool {
	switch {
	case p.lit("true"):
		*out = true
	case p.lit("false"):
		*out = false
	default:
		return false
	}
	return true
}

// int reads a number in canonical form (no fraction or exponent, no
// leading zeros) that fits an int64.
func (p *eventParser) int(out *int64) bool {
	j := p.i
	if j < len(p.b) && p.b[j] == '-' {
		j++
	}
	digits := j
	for j < len(p.b) && p.b[j] >= '0' && p.b[j] <= '9' {
		j++
	}
	if j == digits || (p.b[digits] == '0' && j-digits > 1) {
		return false
	}
	if j < len(p.b) && (p.b[j] == '.' || p.b[j] == 'e' || p.b[j] == 'E') {
		return false
	}
	n, err := strconv.ParseInt(string(p.b[p.i:j]), 10, 64)
	if err != nil {
		return false
	}
	*out, p.i = n, j
	return true
}

// timestamp reads a quoted time (as time.Time's UnmarshalJSON does) or, when
// nullable, null for the zero time.
func (p *eventParser) timestamp(out *time.Time, nullable bool) bool {
	if nullable && p.lit("null") {
		return true
	}
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return false
	}
	end := bytes.IndexByte(p.b[p.i+1:], '"')
	if end < 0 {
		return false
	}
	raw := p.b[p.i : p.i+end+2]
	if bytes.IndexByte(raw[1:len(raw)-1], '\\') >= 0 || out.UnmarshalJSON(raw) != nil {
		return false
	}
	p.i += len(raw)
	return true
}

// stringMap reads null (nil) or an object of strings with keys in strictly
// ascending order (no duplicate for the decoder to resolve).
func (p *eventParser) stringMap(out *map[string]string, shareValues bool) bool {
	if p.lit("null") {
		return true
	}
	if !p.lit("{") {
		return false
	}
	m := map[string]string{}
	*out = m
	if p.lit("}") {
		return true
	}
	prev := ""
	for first := true; ; first = false {
		if !first && !p.lit(",") {
			return false
		}
		var k, v string
		if !p.strShared(&k) || (!first && k <= prev) || !p.lit(":") || !p.value(&v, shareValues) {
			return false
		}
		m[k], prev = v, k
		if p.lit("}") {
			return true
		}
	}
}

// value reads a string, shared (strShared) or not.
func (p *eventParser) value(out *string, shared bool) bool {
	if shared {
		return p.strShared(out)
	}
	return p.str(out)
}

func (p *eventParser) event(e *Event) bool {
	if !p.lit("{") || !p.key("integration", true) || !p.strShared(&e.Integration) ||
		!p.key("service", false) || !p.strShared(&e.Service) ||
		!p.key("action", false) || !p.str(&e.Action) ||
		!p.key("dedup_key", false) || !p.str(&e.DedupKey) ||
		!p.key("auto_resolve", false) || !p.boolean(&e.AutoResolve) {
		return false
	}
	if p.key("policy", false) && !p.strShared(&e.Policy) {
		return false
	}
	if !p.key("alert", false) || !p.alert(&e.Alert, e.DedupKey) {
		return false
	}
	if p.key("rules_version", false) {
		var n int64
		if !p.int(&n) {
			return false
		}
		e.RulesVersion = int(n)
	}
	if p.key("deferrals", false) && !p.deferrals(&e.Deferrals) {
		return false
	}
	if p.key("postmortem", false) && !p.strings(&e.Postmortem) {
		return false
	}
	if p.key("first_step", false) {
		e.FirstStep = &FirstStep{}
		if !p.firstStep(e.FirstStep) {
			return false
		}
	}
	return p.lit("}")
}

// alert reads an event's alert; its fingerprint is the event's dedup key
// string when the same (Events v2 triggers: the router sets it so).
func (p *eventParser) alert(a *Alert, dedupKey string) bool {
	if !p.lit("{") || !p.key("fingerprint", true) || !p.strOr(&a.Fingerprint, dedupKey) ||
		!p.key("status", false) || !p.str(&a.Status) ||
		!p.key("labels", false) || !p.stringMap(&a.Labels, true) ||
		!p.key("annotations", false) || !p.stringMap(&a.Annotations, false) ||
		!p.key("severity", false) || !p.strShared(&a.Severity) {
		return false
	}
	if p.key("generator_url", false) && !p.str(&a.GeneratorURL) {
		return false
	}
	if p.key("silence_url", false) && !p.str(&a.SilenceURL) {
		return false
	}
	return p.key("starts_at", false) && p.timestamp(&a.StartsAt, true) &&
		p.key("ends_at", false) && p.timestamp(&a.EndsAt, true) && p.lit("}")
}

// array reads [] (an empty, non-nil slice, as the decoder makes) or
// elements read by elem, which is called once per element.
func (p *eventParser) array(elem func() bool) bool {
	if !p.lit("[") {
		return false
	}
	if p.lit("]") {
		return true
	}
	for first := true; ; first = false {
		if !first && !p.lit(",") {
			return false
		}
		if !elem() {
			return false
		}
		if p.lit("]") {
			return true
		}
	}
}

func (p *eventParser) strings(out *[]string) bool {
	*out = []string{}
	return p.array(func() bool {
		var s string
		if !p.str(&s) {
			return false
		}
		*out = append(*out, s)
		return true
	})
}

func (p *eventParser) deferrals(out *[]Deferral) bool {
	*out = []Deferral{}
	return p.array(func() bool {
		var d Deferral
		if !p.lit("{") || !p.key("severity", true) || !p.strShared(&d.Severity) ||
			!p.key("window", false) || !p.strShared(&d.Window) ||
			!p.key("until", false) || !p.timestamp(&d.Until, false) || !p.lit("}") {
			return false
		}
		*out = append(*out, d)
		return true
	})
}

func (p *eventParser) firstStep(f *FirstStep) bool {
	if !p.lit("{") || !p.key("policy", true) || !p.strShared(&f.Policy) ||
		!p.key("config_version", false) || !p.strShared(&f.ConfigVersion) {
		return false
	}
	if p.key("exhausted", false) && !p.boolean(&f.Exhausted) {
		return false
	}
	if p.key("next_after_ns", false) {
		var n int64
		if !p.int(&n) {
			return false
		}
		f.NextAfter = time.Duration(n)
	}
	if p.key("pages", false) {
		f.Pages = []PlannedPage{}
		if !p.array(func() bool {
			var pg PlannedPage
			if !p.plannedPage(&pg) {
				return false
			}
			f.Pages = append(f.Pages, pg)
			return true
		}) {
			return false
		}
	}
	return p.key("message", false) && p.strShared(&f.Message) && p.lit("}")
}

func (p *eventParser) plannedPage(pg *PlannedPage) bool {
	if !p.lit("{") {
		return false
	}
	first := true
	if p.key("user", true) {
		if !p.strShared(&pg.User) {
			return false
		}
		first = false
	}
	if !p.key("channel", first) || !p.strShared(&pg.Channel) || !p.key("to", false) || !p.strShared(&pg.To) {
		return false
	}
	if p.key("after_ns", false) {
		var n int64
		if !p.int(&n) {
			return false
		}
		pg.After = time.Duration(n)
	}
	if p.key("error", false) && !p.strShared(&pg.Error) {
		return false
	}
	return p.lit("}")
}

package incident

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// eventJSONCases cover every field of an event, each optional one present
// and absent, and strings encoding/json escapes.
func eventJSONCases() map[string]*Event {
	at := time.Date(2026, 11, 29, 17, 50, 1, 123456789, time.FixedZone("x", -7*3600-1800))
	odd := "a<b>&c \"q\" \\ \b\f\n\r\t\x01\x1f\x7f é \u2028\u2029 \xff\xfe 😀"
	return map[string]*Event{
		"zero": {},
		"storm trigger": {Integration: "events", Service: "web", Action: ActionTrigger, DedupKey: "storm-1-2",
			Policy: "default", RulesVersion: RulesCurrent,
			Alert: Alert{Fingerprint: "storm-1-2", Status: "firing", Severity: "critical", StartsAt: at,
				Labels:      map[string]string{"source": "bench", "component": "db", "class": "x", "group": "g"},
				Annotations: map[string]string{"summary": "disk full on host-1"}},
			FirstStep: &FirstStep{Policy: "default", ConfigVersion: "sha256:abc", NextAfter: 5 * time.Minute,
				Pages:   []PlannedPage{{User: "alice", Channel: ChannelEmail, To: "alice@example.com"}, {Channel: ChannelWebhook, To: "hook", After: time.Minute, Error: "no"}},
				Message: "step 0: paging alice"}},
		"every optional field": {Integration: odd, Service: odd, Action: odd, DedupKey: odd, AutoResolve: true, Policy: odd,
			Alert: Alert{Fingerprint: odd, Status: odd, Severity: odd, GeneratorURL: "http://p/graph?g0.expr=up&x=<1>",
				SilenceURL: odd, StartsAt: at, EndsAt: at.Add(time.Hour).UTC(),
				Labels: map[string]string{odd: odd, "": "", "b": "2", "a": "1", "é": "3", "A": "0"}, Annotations: map[string]string{}},
			RulesVersion: -3, Deferrals: []Deferral{{Severity: "sev3", Window: "office", Until: at}, {}},
			Postmortem: []string{"sev1", odd, ""},
			FirstStep:  &FirstStep{Exhausted: true, NextAfter: -1, Pages: []PlannedPage{}, Message: odd}},
		"custom details": {Integration: "events", Service: "web", Action: ActionTrigger, DedupKey: "k",
			Alert: Alert{Annotations: map[string]string{"custom_details": `{"run":"bench","path":"C:\\x","n":[1,2]}`,
				"summary": "\u00e9\U0001F600 \"quoted\" </script>"}}},
		"empty slices": {Deferrals: []Deferral{}, Postmortem: []string{}, FirstStep: &FirstStep{}},
	}
}

// TestEventJSONMatchesMarshal: the leader's hand-written encoding of an
// event is json.Marshal's, byte for byte, so entries written by either
// decode and replay the same on every release.
func TestEventJSONMatchesMarshal(t *testing.T) {
	for name, e := range eventJSONCases() {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, ok := e.AppendJSON([]byte("prefix"))
		if !ok {
			t.Fatalf("%s: AppendJSON refused what json.Marshal encodes", name)
		}
		if !bytes.Equal(got[len("prefix"):], want) || string(got[:len("prefix")]) != "prefix" {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestEventJSONRefusesWhatMarshalRefuses: a time json.Marshal cannot write
// (year 10000) makes AppendJSON give up, so the caller takes json.Marshal
// and its error.
func TestEventJSONRefusesWhatMarshalRefuses(t *testing.T) {
	late := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, e := range map[string]*Event{
		"starts_at": {Alert: Alert{StartsAt: late}},
		"ends_at":   {Alert: Alert{EndsAt: late}},
		"deferral":  {Deferrals: []Deferral{{Until: late}}},
	} {
		if _, err := json.Marshal(e); err == nil {
			t.Fatalf("%s: json.Marshal accepted year 10000", name)
		}
		if _, ok := e.AppendJSON(nil); ok {
			t.Errorf("%s: AppendJSON wrote what json.Marshal refuses", name)
		}
	}
}

func FuzzEventJSONMatchesMarshal(f *testing.F) {
	f.Add("storm-1", "summary", "source", "bench", int64(1796000000123456789), int64(0), int64(300e9), true, "alice")
	f.Add("a<b>&\u2028\xff", "\x00\"\\", "", "é", int64(-6213559680e9), int64(1), int64(-1), false, "")
	f.Fuzz(func(t *testing.T, key, summary, label, value string, start, end, after int64, auto bool, user string) {
		e := &Event{Integration: label, Service: value, Action: ActionTrigger, DedupKey: key, AutoResolve: auto, Policy: user,
			Alert: Alert{Fingerprint: key, Status: "firing", StartsAt: time.Unix(0, start), EndsAt: time.Unix(0, end).UTC(),
				Labels: map[string]string{label: value, value: label}, Annotations: map[string]string{"summary": summary}},
			Postmortem: []string{summary},
			Deferrals:  []Deferral{{Severity: label, Window: value, Until: time.Unix(0, end)}},
			FirstStep: &FirstStep{Policy: user, NextAfter: time.Duration(after),
				Pages: []PlannedPage{{User: user, Channel: label, To: value, After: time.Duration(after), Error: summary}}, Message: summary}}
		want, err := json.Marshal(e)
		got, ok := e.AppendJSON(nil)
		if (err == nil) != ok {
			t.Fatalf("json.Marshal error %v, AppendJSON ok %v", err, ok)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
	})
}

func BenchmarkEventJSON(b *testing.B) {
	e := eventJSONCases()["storm trigger"]
	b.Run("AppendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := e.AppendJSON(make([]byte, 0, 512)); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// strictEvent decodes as the FSM does: one value, unknown fields refused,
// nothing but whitespace after it.
func strictEvent(data []byte) (*Event, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Event
	if err := dec.Decode(&e); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the value")
	} else if !errors.Is(err, io.EOF) {
		return nil, err
	}
	return &e, nil
}

// TestParseEventJSONReadsWhatAppendJSONWrites: every event the leader
// writes without escapes is read by the fast path, to exactly what the
// strict decoder reads.
func TestParseEventJSONReadsWhatAppendJSONWrites(t *testing.T) {
	for name, e := range eventJSONCases() {
		data, _ := e.AppendJSON(nil)
		got, ok := ParseEventJSON(data)
		if !ok {
			t.Fatalf("%s: fast path refused %s", name, data)
		}
		want, err := strictEvent(data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", name, got, want)
		}
	}
}

// TestParseEventJSONLeavesTheRestToStrict: what is not the canonical form
// (whitespace, escapes, keys out of order, unknown or duplicate keys,
// trailing data) goes to the strict decoder.
func TestParseEventJSONLeavesTheRestToStrict(t *testing.T) {
	data, _ := eventJSONCases()["storm trigger"].AppendJSON(nil)
	canonical := string(data)
	for name, in := range map[string]string{
		"whitespace":       strings.Replace(canonical, `"service":`, `"service": `, 1),
		"bad escape":       strings.Replace(canonical, `"events"`, `"ev\'nts"`, 1),
		"unknown key":      strings.Replace(canonical, `{"integration"`, `{"x":1,"integration"`, 1),
		"key case":         strings.Replace(canonical, `"service"`, `"Service"`, 1),
		"labels unordered": strings.Replace(canonical, `"class":"x","component":"db"`, `"component":"db","class":"x"`, 1),
		"trailing":         canonical + " ",
		"float":            strings.Replace(canonical, `"rules_version":3`, `"rules_version":3.0`, 1),
		"control char":     strings.Replace(canonical, "storm-1-2", "storm\x01", 1),
		"invalid utf-8":    strings.Replace(canonical, "storm-1-2", "storm\xff", 1),
	} {
		if in == canonical {
			t.Fatalf("%s: the case changed nothing", name)
		}
		if _, ok := ParseEventJSON([]byte(in)); ok {
			t.Errorf("%s: fast path accepted %s", name, in)
		}
	}
}

// TestParseEventJSONReadsEscapesAsStrict: escapes (custom_details is
// JSON in a string; a summary may quote) are read as encoding/json reads
// them, surrogate pairs and lone halves included.
func TestParseEventJSONReadsEscapesAsStrict(t *testing.T) {
	data, _ := eventJSONCases()["storm trigger"].AppendJSON(nil)
	for _, esc := range []string{`\"`, `\\`, `\/`, `\b\f\n\r\t`, `\u00e9`, `\u00E9`, `\ud83d\ude00`,
		`\ud83d`, `\ud83dx`, `\ud83d\u0041`, `\ude00\ud83d`, `\u2028`, `a\"b\\`} {
		in := []byte(strings.Replace(string(data), `"storm-1-2"`, `"`+esc+`"`, 2))
		got, ok := ParseEventJSON(in)
		if !ok {
			t.Errorf("%s: fast path refused", esc)
			continue
		}
		want, err := strictEvent(in)
		if err != nil {
			t.Fatalf("%s: %v", esc, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: fast read %q, strict %q", esc, got.DedupKey, want.DedupKey)
		}
	}
}

func FuzzParseEventJSONAgreesWithStrict(f *testing.F) {
	for _, e := range eventJSONCases() {
		data, _ := e.AppendJSON(nil)
		f.Add(data)
	}
	f.Add([]byte(`{"integration":"","service":"","action":"","dedup_key":"","auto_resolve":false,"alert":{"fingerprint":"","status":"","labels":null,"annotations":{},"severity":"","starts_at":null,"ends_at":null},"rules_version":-0,"postmortem":[],"first_step":{"policy":"","config_version":"","pages":[{"channel":"","to":""}],"message":""}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := ParseEventJSON(data)
		if !ok {
			return
		}
		want, err := strictEvent(data)
		if err != nil {
			t.Fatalf("fast path accepted what the strict decoder refuses (%v): %q", err, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n fast   %#v\n strict %#v", data, got, want)
		}
	})
}

func BenchmarkParseEventJSON(b *testing.B) {
	data, _ := eventJSONCases()["storm trigger"].AppendJSON(nil)
	b.Run("Fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := ParseEventJSON(data); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("Strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := strictEvent(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package cluster

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
)

func frameSamples(t testing.TB) [][]byte {
	t.Helper()
	ev, err := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "a<b>&c \"quoted\" } ] { [ \\ \u2028 é", Alert: incident.Alert{Annotations: map[string]string{"summary": "<script>&"}}})
	if err != nil {
		t.Fatal(err)
	}
	ev.RequestID = "n1-abc-17"
	odd := ev
	odd.RequestID = "id with \"quotes\" and é"
	now := time.Date(2026, 11, 29, 15, 7, 0, 123456789, time.UTC)
	var out [][]byte
	for _, b := range []*batch{
		{Now: now},
		{Now: now, Commands: []command{}},
		{Now: now, Commands: []command{ev}},
		{Now: now, Commands: []command{ev, {Type: TypeKeyring, Version: 1, RequestID: "k"}, ev}},
		{Now: now, Commands: []command{ev, odd}},
		{Now: now, Commands: []command{{Type: 255, Version: 255, RequestID: "", Body: json.RawMessage(`"str]}"`)}, {Type: 0, Version: 10, Body: json.RawMessage(`-1.5e3`)}, {Type: 1, Version: 2, Body: json.RawMessage(`[1,{"a":[]}]`)}}},
	} {
		data, err := encodeBatch(b)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data[2:])
	}
	return out
}

// Every entry encodeBatch writes with commands, request ids that need no
// escaping included, takes the fast path and decodes as the strict
// decoder decodes it.
func TestParseBatchFrameReadsWhatEncodeBatchWrites(t *testing.T) {
	for i, data := range frameSamples(t) {
		var fast, strict batch
		ok := parseBatchFrame(data, &fast)
		if err := decodeStrict(data, &strict); err != nil {
			t.Fatalf("sample %d: strict: %v", i, err)
		}
		plain := len(strict.Commands) > 0
		for _, c := range strict.Commands {
			plain = plain && jsonenc.IsPlain(c.RequestID)
		}
		if ok != plain {
			t.Fatalf("sample %d: fast path %v, want %v: %s", i, ok, plain, data)
		}
		if ok && !sameBatch(&fast, &strict) {
			t.Fatalf("sample %d: fast %+v\nstrict %+v", i, fast, strict)
		}
	}
}

func sameBatch(a, b *batch) bool {
	if !a.Now.Equal(b.Now) || len(a.Commands) != len(b.Commands) {
		return false
	}
	for i := range a.Commands {
		x, y := a.Commands[i], b.Commands[i]
		if x.Type != y.Type || x.Version != y.Version || x.RequestID != y.RequestID || !bytes.Equal(x.Body, y.Body) {
			return false
		}
	}
	return a.Now.Location().String() == b.Now.Location().String()
}

// FuzzParseBatchFrameAgreesWithStrict: whatever the fast path accepts
// with bodies that are JSON, the strict decoder accepts too, with the same
// result; so the fast path can only make apply cheaper, never more lenient.
func FuzzParseBatchFrameAgreesWithStrict(f *testing.F) {
	for _, s := range frameSamples(f) {
		f.Add(s)
	}
	f.Add([]byte(`{"now":"2026-01-01T00:00:00Z","cmds":[{"t":01,"v":1,"id":"a","b":{}}]}`))
	f.Add([]byte(`{"now":"2026-01-01T00:00:00Z","cmds":[{"t":1,"v":1,"id":"a","b":{"x":"}"}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast batch
		if !parseBatchFrame(data, &fast) {
			return
		}
		for _, c := range fast.Commands {
			if !json.Valid(c.Body) {
				return // decodeBatch refuses the body (FuzzDecodeBatchFastAgreesWithStrict)
			}
		}
		var strict batch
		if err := decodeStrict(data, &strict); err != nil {
			t.Fatalf("fast path accepted what the strict decoder refuses (%v): %q", err, data)
		}
		if !sameBatch(&fast, &strict) {
			t.Fatalf("fast %+v\nstrict %+v\ninput %q", fast, strict, data)
		}
	})
}

// The general path (json.Unmarshal, encoded back and compared), which
// every entry took before parseBatchFrame.
func BenchmarkDecodeBatchFrameGeneral(b *testing.B) {
	ev, _ := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "storm-12345", Alert: incident.Alert{Annotations: map[string]string{"summary": "disk full on host-1"}}})
	ev.RequestID = "0123456789abcdef"
	cmds := make([]command, 64)
	for i := range cmds {
		cmds[i] = ev
	}
	data, _ := encodeBatch(&batch{Now: time.Now(), Commands: cmds})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var bt batch
		if json.Unmarshal(data[2:], &bt) != nil {
			b.Fatal("unmarshal")
		}
		if again, err := encodeBatch(&bt); err != nil || !bytes.Equal(again[2:], data[2:]) {
			b.Fatal("not canonical")
		}
	}
}

// BenchmarkDecodeBatchEvents: apply's whole decode of a log entry of 64
// trigger events (framing and every body), as each node runs it.
func BenchmarkDecodeBatchEvents(b *testing.B) {
	ev, _ := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "storm-12345", RulesVersion: incident.RulesCurrent,
		Alert: incident.Alert{Fingerprint: "storm-12345", Status: "firing", Labels: map[string]string{"source": "bench"},
			Annotations: map[string]string{"summary": "disk full on host-1"}}})
	ev.RequestID = "n1-abc-12345"
	cmds := make([]command, 64)
	for i := range cmds {
		cmds[i] = ev
	}
	data, _ := encodeBatch(&batch{Now: time.Now(), Commands: cmds})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := decodeBatch(data); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeBatchFastAgreesWithStrict: a whole entry (framing and bodies)
// decodes through the hand-read framing exactly when it decodes through the
// strict decoder of the framing, to the same commands and bodies.
func FuzzDecodeBatchFastAgreesWithStrict(f *testing.F) {
	for _, s := range frameSamples(f) {
		f.Add(s)
	}
	ev, _ := newCommand(TypeEvent, &incident.Event{Integration: "e", Service: "s", Action: incident.ActionTrigger, DedupKey: "k"})
	ev.RequestID = "r1"
	ka, _ := newCommand(TypeKeyring, KeyringCommand{})
	ka.RequestID = "r2"
	good, _ := encodeBatch(&batch{Now: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), Commands: []command{ev, ka}})
	f.Add(good[2:])
	f.Add([]byte(`{"now":"2026-01-01T00:00:00Z","cmds":[{"t":23,"v":1,"id":"a","b": {"s":"}]}"}}]}`))
	f.Fuzz(func(t *testing.T, frame []byte) {
		entry := append([]byte{entryBatch, entryBatchVersion}, frame...)
		fast, errFast := decodeBatch(entry)
		strict, errStrict := decodeBatchWith(entry, func(d []byte, b *batch) error { return decodeStrict(d, b) })
		if (errFast == nil) != (errStrict == nil) {
			t.Fatalf("fast: %v; strict: %v; entry %q", errFast, errStrict, frame)
		}
		if errFast != nil {
			return
		}
		if !fast.Now.Equal(strict.Now) || len(fast.Commands) != len(strict.Commands) {
			t.Fatalf("fast %+v, strict %+v", fast.batch, strict.batch)
		}
		for i := range fast.Commands {
			x, y := fast.Commands[i], strict.Commands[i]
			if x.Type != y.Type || x.Version != y.Version || x.RequestID != y.RequestID {
				t.Fatalf("command %d: fast %+v, strict %+v", i, x, y)
			}
		}
		if !reflect.DeepEqual(normalRaw(fast.bodies), normalRaw(strict.bodies)) {
			t.Fatalf("bodies differ: fast %+v, strict %+v", fast.bodies, strict.bodies)
		}
	})
}

// normalRaw compacts raw bodies: the hand reader keeps whitespace around
// a value that json.RawMessage leaves out (pagerd writes none).
func normalRaw(bodies []any) []any {
	out := make([]any, len(bodies))
	for i, b := range bodies {
		if raw, ok := b.(json.RawMessage); ok {
			var buf bytes.Buffer
			if json.Compact(&buf, raw) == nil {
				b = json.RawMessage(buf.Bytes())
			}
		}
		out[i] = b
	}
	return out
}

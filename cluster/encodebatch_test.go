package cluster

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// encodeBatch writes by hand what json.Marshal wrote before, byte for byte,
// so entries written by either decode the same on every release.
func TestEncodeBatchMatchesJSONMarshal(t *testing.T) {
	ev, err := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "a<b>&c \"quoted\" \u2028 é", Alert: incident.Alert{Annotations: map[string]string{"summary": "<script>&"}}})
	if err != nil {
		t.Fatal(err)
	}
	plain := ev
	plain.RequestID = "r-123_abc.def"
	odd := ev
	odd.RequestID = "id with \"quotes\", <tags>, \\ and é\x01"
	now := time.Date(2026, 11, 29, 15, 7, 0, 123456789, time.FixedZone("x", 3600))
	for name, b := range map[string]*batch{
		"nil commands":   {Now: now},
		"empty commands": {Now: now, Commands: []command{}},
		"one":            {Now: now, Commands: []command{plain}},
		"several":        {Now: now, Commands: []command{plain, odd, {Type: TypeKeyring, Version: 1}}},
	} {
		got, err := encodeBatch(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := append([]byte{entryBatch, entryBatchVersion}, body...)
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got[2:], want[2:])
		}
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	ev, _ := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger,
		DedupKey: "storm-12345", Alert: incident.Alert{Annotations: map[string]string{"summary": "disk full on host-1"}}})
	ev.RequestID = "0123456789abcdef"
	cmds := make([]command, 64)
	for i := range cmds {
		cmds[i] = ev
	}
	bt := &batch{Now: time.Now(), Commands: cmds}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := encodeBatch(bt); err != nil {
			b.Fatal(err)
		}
	}
}

// The cheap batch decode accepts and refuses exactly what the strict one
// does: an unknown field or trailing data in the framing is still refused.
func TestDecodeBatchFrameIsStrict(t *testing.T) {
	ev, err := newCommand(TypeEvent, &incident.Event{Integration: "events", Service: "web", Action: incident.ActionTrigger, DedupKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	ev.RequestID = "r1"
	good, err := encodeBatch(&batch{Now: time.Date(2026, 11, 29, 15, 0, 0, 0, time.UTC), Commands: []command{ev}})
	if err != nil {
		t.Fatal(err)
	}
	var b batch
	if err := decodeBatchFrame(good[2:], &b); err != nil || len(b.Commands) != 1 || b.Commands[0].RequestID != "r1" {
		t.Fatalf("canonical entry: %v %+v", err, b)
	}
	// Not canonical but valid: spaces. The strict path accepts it.
	spaced := bytes.Replace(good[2:], []byte(`,"cmds":`), []byte(`, "cmds" : `), 1)
	if err := decodeBatchFrame(spaced, &b); err != nil || len(b.Commands) != 1 {
		t.Fatalf("spaced entry: %v", err)
	}
	for name, bad := range map[string][]byte{
		"unknown outer field":   bytes.Replace(good[2:], []byte(`{"now":`), []byte(`{"extra":1,"now":`), 1),
		"unknown command field": bytes.Replace(good[2:], []byte(`{"t":`), []byte(`{"x":1,"t":`), 1),
		"trailing data":         append(append([]byte{}, good[2:]...), []byte(` {}`)...),
	} {
		if err := decodeBatchFrame(bad, &b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkDecodeBatchFrame(b *testing.B) {
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
		if err := decodeBatchFrame(data[2:], &bt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBatchFrameStrict(b *testing.B) {
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
		if err := decodeStrict(data[2:], &bt); err != nil {
			b.Fatal(err)
		}
	}
}

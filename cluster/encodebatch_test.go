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

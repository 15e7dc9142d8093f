package cluster

import (
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// The FSM apply of a storm incident's commands, as every node runs it
// (issue 18): the entries are encoded by the real encoder, as the leader
// writes them, and applied whole (decode, apply, watchers).

// stormPlan is the leader's plan of step 0 (made once: config.Version
// parses the config).
var stormPlan = sync.OnceValue(func() *incident.FirstStep {
	return goldenFirstStep(incident.PlannedPage{User: "alice", Channel: incident.ChannelEmail, To: "alice@example.com"})
})

// stormEvent is a storm's trigger as the router builds it from the bench's
// Events v2 request, with the leader's plan of step 0 (event v5).
func stormEvent(key string) *incident.Event {
	return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: key,
		AutoResolve: true, Policy: "default", RulesVersion: incident.RulesCurrent,
		Alert: incident.Alert{Fingerprint: key, Status: "firing",
			Labels:      map[string]string{"source": "bench-3", "component": "bench", "severity": "critical"},
			Annotations: map[string]string{"summary": "bench alert " + key, "custom_details": `{"run":"bench"}`},
			Severity:    "sev1"},
		FirstStep: stormPlan()}
}

// stormFSM is an FSM with the golden config applied.
func stormFSM(b *testing.B) *FSM {
	f := NewFSM(func(err error) { b.Fatalf("fatal: %v", err) })
	cfg, err := newCommand(TypeConfig, &ConfigCommand{Sources: []config.Source{{Name: "c.yaml", Data: []byte(goldenConfig)}},
		Env: map[string]string{"EVENTS_SUFFIX": "secret"}})
	if err != nil {
		b.Fatal(err)
	}
	applyEntry(b, f, 1, goldenNow, cfg)
	return f
}

func applyEntry(b *testing.B, f *FSM, index uint64, now time.Time, cmds ...command) {
	data, err := encodeBatch(&batch{Now: now, Commands: cmds})
	if err != nil {
		b.Fatal(err)
	}
	applyData(b, f, index, data)
}

func applyData(b *testing.B, f *FSM, index uint64, data []byte) {
	for _, r := range f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).([]Result) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
}

func benchCommand(b *testing.B, t CommandType, body any, id string) command {
	c, err := newCommand(t, body)
	if err != nil {
		b.Fatal(err)
	}
	c.RequestID = id
	return c
}

// BenchmarkApplyStormIncident/one: one incident's trigger in an entry of
// its own and its page's outcome (sent) in another, the low-load path.
// /storm64: group commit as a storm writes it, per incident: its trigger in
// an entry of 64, its page's hold in a delivery of 64 holds, its share of
// a 64-page summary's outcome. Allocations are per incident.
func BenchmarkApplyStormIncident(b *testing.B) {
	b.Run("one", func(b *testing.B) {
		f := stormFSM(b)
		entries := make([][2][]byte, b.N)
		for i := range entries {
			id := uint64(i + 1)
			now := goldenNow.Add(time.Duration(i) * time.Millisecond)
			ev := benchCommand(b, TypeEvent, stormEvent(fmt.Sprintf("storm-%d", i)), fmt.Sprintf("n1-%d", i))
			d := benchCommand(b, TypeDelivery, &incident.Delivery{Items: []incident.DeliveryItem{{Incident: id,
				Notification: incident.NotificationID(id, 1, 0), Attempt: 1, Outcome: incident.OutcomeSent, ProviderID: "smtp-250-" + fmt.Sprint(i)}}},
				fmt.Sprintf("n1-d%d", i))
			e1, _ := encodeBatch(&batch{Now: now, Commands: []command{ev}})
			e2, _ := encodeBatch(&batch{Now: now.Add(time.Microsecond), Commands: []command{d}})
			entries[i] = [2][]byte{e1, e2}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range entries {
			applyData(b, f, uint64(2+2*i), entries[i][0])
			applyData(b, f, uint64(3+2*i), entries[i][1])
		}
	})
	b.Run("storm64", func(b *testing.B) {
		const group = 64
		f := stormFSM(b)
		rounds := (b.N + group - 1) / group
		entries := make([][3][]byte, rounds)
		for r := range entries {
			now := goldenNow.Add(time.Duration(r) * time.Millisecond)
			var evs, holds []command
			var held, summary []incident.DeliveryItem
			for j := 0; j < group; j++ {
				i := r*group + j
				id := uint64(i + 1)
				evs = append(evs, benchCommand(b, TypeEvent, stormEvent(fmt.Sprintf("storm-%d", i)), fmt.Sprintf("n1-%d", i)))
				until := now.Add(time.Minute)
				n := incident.NotificationID(id, 1, 0)
				held = append(held, incident.DeliveryItem{Incident: id, Notification: n, Attempt: 1, Outcome: incident.OutcomeHeld, HeldUntil: &until})
				summary = append(summary, incident.DeliveryItem{Incident: id, Notification: n, Attempt: 1, Outcome: incident.OutcomeSent,
					ProviderID: "smtp-250-s", Summary: "s-" + incident.NotificationID(uint64(r*group+1), 1, 0)})
			}
			holds = append(holds, benchCommand(b, TypeDelivery, &incident.Delivery{Items: held}, fmt.Sprintf("n1-h%d", r)))
			sum := benchCommand(b, TypeDelivery, &incident.Delivery{Items: summary}, fmt.Sprintf("n1-s%d", r))
			e1, _ := encodeBatch(&batch{Now: now, Commands: evs})
			e2, _ := encodeBatch(&batch{Now: now.Add(time.Microsecond), Commands: holds})
			e3, _ := encodeBatch(&batch{Now: now.Add(2 * time.Microsecond), Commands: []command{sum}})
			entries[r] = [3][]byte{e1, e2, e3}
		}
		b.ReportAllocs()
		b.ResetTimer()
		for r := range entries {
			for k, e := range entries[r] {
				applyData(b, f, uint64(2+3*r+k), e)
			}
		}
	})
}

// BenchmarkEncodeStormEntry: 64 storm triggers (distinct events, step 0
// planned) encoded as the leader's batcher writes them into one log
// entry, then read back as every node does (decodeBatch), per incident.
// `/copied` is the form before 2026-11-29 20:10: a body buffer per
// command (marshalBody), copied into the entry by way of a batch value;
// `/pooled` the batcher's: pooled bodies copied straight into the entry
// (encodeEntry) and returned.
func BenchmarkEncodeStormEntry(b *testing.B) {
	events := make([]*incident.Event, 64)
	for i := range events {
		events[i] = stormEvent("storm-" + strconv.Itoa(100000+i))
	}
	decode := func(data []byte) {
		d, err := decodeBatch(data)
		if err != nil || len(d.bodies) != len(events) {
			b.Fatalf("decode: %v", err)
		}
	}
	run := func(b *testing.B, entry func() []byte) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			decode(entry())
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/incident")
	}
	now := goldenNow
	b.Run("copied", func(b *testing.B) {
		run(b, func() []byte {
			bt := &batch{Now: now, Commands: make([]command, len(events))}
			for i, e := range events {
				c, err := encodeCommand(TypeEvent, 5, e)
				if err != nil {
					b.Fatal(err)
				}
				c.RequestID = "n1-x-" + strconv.Itoa(i)
				bt.Commands[i] = c
			}
			data, err := encodeBatch(bt)
			if err != nil {
				b.Fatal(err)
			}
			return data
		})
	})
	b.Run("pooled", func(b *testing.B) {
		bat := &batcher{fsm: NewFSM(func(err error) { b.Fatal(err) }), clock: func() time.Time { return now }, idPrefix: quotedPrefix("n1-x-")}
		items := make([]*pending, len(events))
		for i := range items {
			items[i] = &pending{}
		}
		run(b, func() []byte {
			for i, e := range events {
				c, err := encodePooled(TypeEvent, 5, e)
				if err != nil {
					b.Fatal(err)
				}
				items[i].cmd = c
			}
			data, err := bat.encodeEntry(items)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range items {
				releaseBody(p.cmd.pooled, p.cmd.Body)
			}
			return data
		})
	})
}

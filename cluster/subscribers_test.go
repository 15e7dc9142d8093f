package cluster

import (
	"bytes"
	"io"
	"testing"
	"time"
)

func subCmd(t *testing.T, typ CommandType, sc SubscriberCommand) command {
	t.Helper()
	c, err := newCommand(typ, sc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func emails(subs []Subscriber) []string {
	var out []string
	for _, s := range subs {
		out = append(out, s.Email)
	}
	return out
}

// A fan-out covers exactly the subscribers confirmed before it started,
// in confirmation order, from its cursor; unsubscribed ones drop out; the
// cursor only moves forward; a snapshot restores the same state.
func TestSubscriberFanoutCursor(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var idx uint64
	apply := func(cmds ...command) []Result {
		idx++
		return applyAt(t, f, idx, now, cmds...)
	}
	for _, e := range []string{"c@x.com", "a@x.com", "b@x.com", "d@x.com"} {
		apply(subCmd(t, TypeSubscribe, SubscriberCommand{Page: "public", Email: e}))
	}
	if r := apply(subCmd(t, TypeSubscribe, SubscriberCommand{Page: "public", Email: "a@x.com"})); r[0].Value != false || r[0].Err != nil {
		t.Fatalf("second subscribe changed something: %+v", r)
	}
	if got := len(f.UnmailedConfirmations(10)); got != 4 {
		t.Fatalf("unmailed confirmations: %d", got)
	}
	apply(subCmd(t, TypeSubscribeMailed, SubscriberCommand{Page: "public", Email: "a@x.com"}))
	if got := emails(f.UnmailedConfirmations(10)); len(got) != 3 || got[0] != "b@x.com" {
		t.Fatalf("unmailed after one was mailed: %v", got)
	}
	for _, e := range []string{"b@x.com", "a@x.com", "c@x.com"} {
		apply(subCmd(t, TypeSubscribeConfirm, SubscriberCommand{Page: "public", Email: e}))
	}
	if r := apply(subCmd(t, TypeSubscribeConfirm, SubscriberCommand{Page: "public", Email: "nobody@x.com"})); r[0].Err == nil {
		t.Fatal("confirming an unknown address succeeded")
	}
	apply(subCmd(t, TypeFanoutStart, SubscriberCommand{Page: "public", Update: "INC-1-U1", Incident: 1}))
	apply(subCmd(t, TypeSubscribeConfirm, SubscriberCommand{Page: "public", Email: "d@x.com"})) // after the start: not in it
	batch, next := f.FanoutBatch("public", "INC-1-U1", 2)
	if got := emails(batch); len(got) != 2 || got[0] != "b@x.com" || got[1] != "a@x.com" {
		t.Fatalf("first batch %v (next %d)", got, next)
	}
	apply(subCmd(t, TypeFanoutProgress, SubscriberCommand{Page: "public", Update: "INC-1-U1", Next: next}))
	apply(subCmd(t, TypeFanoutProgress, SubscriberCommand{Page: "public", Update: "INC-1-U1", Next: 1})) // stale: ignored
	apply(subCmd(t, TypeUnsubscribe, SubscriberCommand{Page: "public", Email: "b@x.com"}))

	var snap memSink
	s, _ := f.Snapshot()
	if err := s.Persist(&snap); err != nil {
		t.Fatal(err)
	}
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snap.Bytes()))); err != nil {
		t.Fatal(err)
	}
	for _, fsm := range []*FSM{f, g} {
		batch, next = fsm.FanoutBatch("public", "INC-1-U1", 10)
		if got := emails(batch); len(got) != 1 || got[0] != "c@x.com" {
			t.Fatalf("rest of the fan-out %v", got)
		}
		if c, p := fsm.SubscriberCounts("public"); c != 3 || p != 0 {
			t.Fatalf("counts %d confirmed %d pending", c, p)
		}
	}
	apply(subCmd(t, TypeFanoutProgress, SubscriberCommand{Page: "public", Update: "INC-1-U1", Next: next}))
	if len(f.Fanouts()) != 0 || !f.HasFanout("public", "INC-1-U1") {
		t.Fatalf("fan-out not done: %+v", f.Fanouts())
	}
	if r := apply(subCmd(t, TypeFanoutStart, SubscriberCommand{Page: "public", Update: "INC-1-U1"})); r[0].Value != false {
		t.Fatal("a fan-out started twice")
	}
}

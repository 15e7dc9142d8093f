package cluster

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

func progressCmd(t *testing.T, items ...incident.EventProgressItem) command {
	t.Helper()
	c, err := newCommand(TypeEventProgress, &incident.EventProgress{Items: items})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Event stream cursors only move forward and never past the timeline (a
// stale leader's late commit changes nothing), count give-ups, survive a
// snapshot, and are dropped a day after their incident was resolved.
func TestEventCursorsAdvanceMonotonicallyAndPrune(t *testing.T) {
	f, now := overrideFSM(t)
	applyAt(t, f, 2, now, trigger(t, "a"))
	var tl int
	f.ReadIncidents(func(st *incident.State) { info, _ := st.StreamInfo(1); tl = info.TimelineLen })
	if tl == 0 {
		t.Fatal("no timeline")
	}
	cursor := func(g *FSM) incident.EventCursor { return g.EventCursors([]uint64{1})[1]["chat"] }

	res := applyAt(t, f, 3, now, progressCmd(t,
		incident.EventProgressItem{Incident: 1, Webhook: "chat", Next: 1},
		incident.EventProgressItem{Incident: 1, Webhook: "chat", Next: tl + 1}, // past the timeline
		incident.EventProgressItem{Incident: 9, Webhook: "chat", Next: 1},      // no such incident
	))
	if res[0].Value != 1 || cursor(f).Next != 1 {
		t.Fatalf("advance: moved %v, cursor %+v", res[0].Value, cursor(f))
	}
	applyAt(t, f, 4, now, progressCmd(t, incident.EventProgressItem{Incident: 1, Webhook: "chat", Next: tl, Error: "HTTP 410"}))
	applyAt(t, f, 5, now, progressCmd(t, incident.EventProgressItem{Incident: 1, Webhook: "chat", Next: 1})) // stale
	if c := cursor(f); c.Next != tl || c.Failed != 1 || c.Error != "HTTP 410" {
		t.Fatalf("after give-up and a stale commit: %+v", c)
	}

	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if c := cursor(g); c.Next != tl || c.Failed != 1 {
		t.Fatalf("restored cursor: %+v", c)
	}

	resolve, _ := newCommand(TypeAction, &incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice", Channel: "api"})
	applyAt(t, f, 6, now, resolve)
	applyAt(t, f, 7, now.Add(time.Hour), progressCmd(t))
	if len(f.EventCursors([]uint64{1})) != 1 {
		t.Fatal("cursor of a just-resolved incident dropped")
	}
	applyAt(t, f, 8, now.Add(eventCursorKeep+time.Minute), progressCmd(t))
	if len(f.EventCursors([]uint64{1})) != 0 {
		t.Fatal("cursor of an incident resolved over a day ago kept")
	}
}

package cluster

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

const overrideTestConfig = `
timezone: UTC
users:
  - {id: alice, email: alice@example.com}
  - {id: bob, email: bob@example.com}
  - {id: dave, email: dave@example.com}
rotations:
  - {id: ops, participants: [alice, bob], shift: 1w, start: "2026-11-02 00:00"}
schedules:
  - {id: web, layers: [ops]}
services:
  - {id: checkout, name: Checkout}
`

// applyAt applies cmds as one log entry stamped at now and returns the results.
func applyAt(t *testing.T, f *FSM, index uint64, now time.Time, cmds ...command) []Result {
	t.Helper()
	data, err := encodeBatch(&batch{Now: now, Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	return f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: data}).([]Result)
}

func overrideCmd(t *testing.T, op string, o RuntimeOverride) command {
	t.Helper()
	c, err := newCommand(TypeOverride, OverrideCommand{Op: op, Override: o})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func overrideFSM(t *testing.T) (*FSM, time.Time) {
	t.Helper()
	f := NewFSM(func(err error) { t.Fatal(err) })
	cc, err := CaptureConfig([]config.Source{{Name: "c.yaml", Data: []byte(overrideTestConfig)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := newCommand(TypeConfig, cc)
	now := time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC)
	applyAt(t, f, 1, now, cfg)
	return f, now
}

// A runtime override is validated in apply against the replicated config,
// gets an id and the stamped time, changes who is on call, and its deletion
// restores the config's answer.
func TestRuntimeOverrideApplyAndDelete(t *testing.T) {
	f, now := overrideFSM(t)
	from, to := now, now.Add(12*time.Hour)
	bad := []RuntimeOverride{
		{Schedule: "web", From: from, To: to, User: "mallory"},
		{Schedule: "web", From: from, To: to, User: "dave", Replaces: "eve"},
		{Schedule: "web", From: to, To: from, User: "dave"},
		{Schedule: "web", From: from, To: to},
	}
	for i, o := range bad {
		res := applyAt(t, f, uint64(2+i), now, overrideCmd(t, OverrideAdd, o))
		if !errors.Is(res[0].Err, incident.ErrInvalid) {
			t.Errorf("bad override %+v: %v, want invalid", o, res[0].Err)
		}
	}
	res := applyAt(t, f, 9, now, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "ops", From: from, To: to, User: "dave"}))
	if !errors.Is(res[0].Err, incident.ErrNotFound) {
		t.Errorf("override of a rotation: %v, want not found", res[0].Err)
	}
	if n := len(f.Overrides("")); n != 0 {
		t.Fatalf("refused overrides changed the state: %d", n)
	}

	onCall := func(at time.Time) string {
		t.Helper()
		set, _, err := f.Schedules()
		if err != nil {
			t.Fatal(err)
		}
		u, _ := set.OnCall("web", at)
		return joinUsers(u)
	}
	if got := onCall(now.Add(time.Hour)); got != "alice" {
		t.Fatalf("before: %s", got)
	}
	res = applyAt(t, f, 10, now, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "web", From: from, To: to, User: "dave", Replaces: "alice", By: "ops"}))
	o, _ := res[0].Value.(RuntimeOverride)
	if res[0].Err != nil || o.ID != "O1" || !o.CreatedAt.Equal(now) || o.By != "ops" {
		t.Fatalf("add: %+v %v", o, res[0].Err)
	}
	if got := onCall(now.Add(time.Hour)); got != "dave" {
		t.Errorf("with override: %s, want dave", got)
	}
	if got := onCall(to.Add(time.Hour)); got != "alice" {
		t.Errorf("after override: %s, want alice", got)
	}
	if res := applyAt(t, f, 11, now, overrideCmd(t, OverrideDelete, RuntimeOverride{Schedule: "web", ID: "O9"})); !errors.Is(res[0].Err, incident.ErrNotFound) {
		t.Errorf("delete unknown: %v", res[0].Err)
	}
	if res := applyAt(t, f, 12, now, overrideCmd(t, OverrideDelete, RuntimeOverride{Schedule: "web", ID: "O1"})); res[0].Err != nil {
		t.Fatalf("delete: %v", res[0].Err)
	}
	if got := onCall(now.Add(time.Hour)); got != "alice" {
		t.Errorf("after delete: %s, want alice", got)
	}
	// Ids are never reused.
	res = applyAt(t, f, 13, now, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "web", From: from, To: to, User: "bob"}))
	if o, _ := res[0].Value.(RuntimeOverride); o.ID != "O2" {
		t.Errorf("second id %q, want O2", o.ID)
	}
}

// Overrides that ended long ago are dropped on a later override command,
// and the list survives a snapshot and restore.
func TestRuntimeOverridesPruneAndSnapshot(t *testing.T) {
	f, now := overrideFSM(t)
	applyAt(t, f, 2, now, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "web", From: now, To: now.Add(time.Hour), User: "dave"}))
	applyAt(t, f, 3, now, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "web", From: now, To: now.Add(60 * 24 * time.Hour), User: "bob"}))

	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if got := g.Overrides("web"); len(got) != 2 || got[0].ID != "O1" || got[1].User != "bob" {
		t.Fatalf("restored overrides: %+v", got)
	}
	set, _, _ := g.Schedules()
	if u, _ := set.OnCall("web", now.Add(time.Minute)); joinUsers(u) != "bob" {
		t.Errorf("restored node's on-call: %v, want bob (the later override clears dave)", u)
	}

	later := now.Add(overrideKeep + 2*time.Hour)
	applyAt(t, g, 4, later, overrideCmd(t, OverrideAdd, RuntimeOverride{Schedule: "web", From: later, To: later.Add(time.Hour), User: "alice"}))
	got := g.Overrides("web")
	if len(got) != 2 || got[0].ID != "O2" || got[1].ID != "O3" {
		t.Errorf("after prune: %+v, want O2 and O3", got)
	}
}

func joinUsers(u []string) string {
	out := ""
	for i, s := range u {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

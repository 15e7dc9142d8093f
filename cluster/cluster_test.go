package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

const testConfig = `
timezone: UTC
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: events, key: "k-${EVENTS_SUFFIX}", service: checkout}
`

func rawEntry(t testing.TB, cmds ...command) []byte {
	t.Helper()
	data, err := encodeBatch(&batch{Now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), Commands: cmds})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func trigger(t testing.TB, key string) command {
	t.Helper()
	c, err := newCommand(TypeEvent, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: key,
		Alert: incident.Alert{Annotations: map[string]string{"summary": key}, Severity: "sev1"}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// An older binary meeting a command type or version it does not know must stop,
// not skip the entry and diverge.
func TestUnknownCommandStopsTheNode(t *testing.T) {
	for name, c := range map[string]command{
		"unknown type":  {Type: 99, Version: 1, Body: []byte(`{}`)},
		"newer version": {Type: TypeEvent, Version: registry[TypeEvent].version + 1, Body: []byte(`{}`)},
	} {
		t.Run(name, func(t *testing.T) {
			var fatal error
			f := NewFSM(func(err error) { fatal = err })
			f.Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: rawEntry(t, trigger(t, "a"), c)})
			if !errors.Is(fatal, errUnknownCommand) {
				t.Fatalf("fatal = %v, want errUnknownCommand", fatal)
			}
			// Nothing of the entry was applied, not even its known first command.
			f.ReadIncidents(func(st *incident.State) {
				if st.Len() != 0 {
					t.Fatalf("%d incidents applied from a rejected entry", st.Len())
				}
			})
		})
	}
	var fatal error
	NewFSM(func(err error) { fatal = err }).Apply(&raft.Log{Type: raft.LogCommand, Data: []byte{entryBatch, entryBatchVersion + 1, '{', '}'}})
	if !errors.Is(fatal, errUnknownCommand) {
		t.Fatalf("newer batch format: fatal = %v", fatal)
	}
}

func TestApplyReturnsOneResultPerCommandInOrder(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	out := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, trigger(t, "a"), trigger(t, "b"), trigger(t, "a"))})
	res := out.([]Result)
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	got := []uint64{}
	for _, r := range res {
		got = append(got, r.Value.(incident.IngestResult).Incident)
	}
	if fmt.Sprint(got) != "[1 2 1]" {
		t.Fatalf("incident ids %v, want [1 2 1] (third deduplicated into the first)", got)
	}
	if f.AppliedIndex() != 1 {
		t.Fatalf("applied index %d", f.AppliedIndex())
	}
}

func TestFSMSnapshotRestoreRoundTrip(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	cc := configCommand(t)
	cfgCmd, _ := newCommand(TypeConfig, cc)
	meta, _ := newCommand(TypeNodeMeta, NodeMeta{ID: "n1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"})
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cfgCmd, meta, trigger(t, "a"), trigger(t, "b"))})
	before := snapshotBytes(t, f)

	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(before))); err != nil {
		t.Fatal(err)
	}
	if after := snapshotBytes(t, g); !bytes.Equal(before, after) {
		t.Fatalf("snapshot differs after restore:\n%s\n---\n%s", before, after)
	}
	if g.Config() == nil || g.Config().Config.Integrations[0].Key != "k-secret" {
		t.Fatalf("restored config not parsed with the captured environment: %+v", g.Config())
	}
	if g.Nodes()["n1"].HTTPAddr != "127.0.0.1:2" {
		t.Fatalf("node meta lost: %v", g.Nodes())
	}
	// The open index was rebuilt: a trigger for an open key dedups.
	res := g.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: rawEntry(t, trigger(t, "a"))}).([]Result)
	if r := res[0].Value.(incident.IngestResult); r.Created || r.Incident != 1 {
		t.Fatalf("after restore, trigger for open key gave %+v", r)
	}
}

func configCommand(t testing.TB) *ConfigCommand {
	t.Helper()
	cc, err := CaptureConfig([]config.Source{{Name: "c.yaml", Data: []byte(testConfig)}},
		func(name string) (string, bool) {
			return map[string]string{"EVENTS_SUFFIX": "secret"}[name], name == "EVENTS_SUFFIX"
		})
	if err != nil {
		t.Fatal(err)
	}
	return cc
}

func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := s.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

// startNode runs a real single-node cluster in-process on loopback.
func startNode(t *testing.T, clock func() time.Time) (*Node, *prometheus.Registry) {
	t.Helper()
	return startNodeWith(t, clock, nil)
}

// startNodeWith is startNode with options changed by opt first.
func startNodeWith(t *testing.T, clock func() time.Time, opt func(*Options)) (*Node, *prometheus.Registry) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	reg := prometheus.NewRegistry()
	opts := Options{NodeID: "t1", DataDir: t.TempDir(), RaftAddr: addr, HTTPAddr: "127.0.0.1:1", HeartbeatTimeout: testHeartbeat,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Clock: clock,
		SeedConfig: func() (*ConfigCommand, error) { return configCommand(t), nil },
		Fatal:      func(err error) { t.Errorf("fatal: %v", err) }}
	if opt != nil {
		opt(&opts)
	}
	n, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for !n.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("single node did not become ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return n, reg
}

// Concurrent submissions share log entries: far fewer entries than commands.
func TestGroupCommitBatchesConcurrentSubmissions(t *testing.T) {
	n, reg := startNode(t, time.Now)
	const total = 500
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < total; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.SubmitEvent(context.Background(), &incident.Event{Service: "checkout",
				Action: incident.ActionTrigger, DedupKey: fmt.Sprintf("k%d", i)})
			if err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d submissions failed", failed.Load())
	}
	n.FSM().ReadIncidents(func(st *incident.State) {
		if st.Len() != total {
			t.Fatalf("%d incidents, want %d", st.Len(), total)
		}
	})
	h := histogram(t, reg, "pagerd_commit_batch_size")
	// Entries carrying these commands (the seed config and node meta add 2).
	if entries := h.GetSampleCount() - 2; entries >= total/4 {
		t.Fatalf("%d log entries for %d concurrent commands: group commit is not batching", entries, total)
	}
}

// A leader clock that steps backwards never makes recorded time run backwards.
func TestLeaderTimeNeverRunsBackwards(t *testing.T) {
	var step atomic.Int64
	base := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return base.Add(-time.Duration(step.Add(1)) * time.Minute) }
	n, _ := startNode(t, clock)
	var last time.Time
	for i := 0; i < 5; i++ {
		r, err := n.SubmitEvent(context.Background(), &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		var created time.Time
		n.FSM().ReadIncidents(func(st *incident.State) { inc, _ := st.Get(r.Incident); created = inc.CreatedAt })
		if created.Before(last) {
			t.Fatalf("incident %d created at %v, before the previous %v", r.Incident, created, last)
		}
		last = created
	}
}

func TestSubmitOnFollowerOrClosedNodeIsUnavailable(t *testing.T) {
	ev := &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "x"}
	wantRetryable := func(what string, err error) {
		t.Helper()
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() <= 0 {
			t.Fatalf("submit %s: %v, want a RetryAfter error", what, err)
		}
	}
	t.Run("follower", func(t *testing.T) {
		leader := openNodeAt(t, t.TempDir(), freeAddr(t))
		defer leader.Close()
		// A second real node, made a voter directly (the HTTP join needs
		// the API): it follows and receives the log, but does not lead (its
		// default 2 s election timeout is far above the leader's heartbeats).
		addr := freeAddr(t)
		f, err := Open(Options{NodeID: "t2", DataDir: t.TempDir(), RaftAddr: addr, HTTPAddr: "127.0.0.1:1",
			Join: []string{"http://127.0.0.1:1"}, ClusterSecrets: []string{"test-cluster-secret"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := leader.raft.AddVoter("t2", raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
			t.Fatal(err)
		}
		awaitCond(t, 10*time.Second, "t2 follows with the config", func() bool { return f.Leader() == "t1" && f.FSM().Config() != nil })
		_, err = f.SubmitEvent(context.Background(), ev)
		wantRetryable("on a follower", err)
		f.FSM().ReadIncidents(func(st *incident.State) {
			if st.Len() != 0 {
				t.Fatalf("a refused submit on the follower left %d incidents", st.Len())
			}
		})
		if _, err := leader.SubmitEvent(context.Background(), ev); err != nil {
			t.Fatalf("the same submit on the leader: %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		n, _ := startNode(t, time.Now)
		n.Close()
		_, err := n.SubmitEvent(context.Background(), ev)
		wantRetryable("after close", err)
	})
}

func histogram(t *testing.T, reg *prometheus.Registry, name string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("metric %s not found", name)
	return nil
}

// A snapshot is a view frozen when Snapshot returns: applying more while
// it is persisted (Raft does so concurrently) changes nothing in it, and
// the live state keeps every change.
func TestSnapshotIsFrozenWhileApplyGoesOn(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	cfgCmd, _ := newCommand(TypeConfig, configCommand(t))
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cfgCmd, trigger(t, "a"))})
	want := snapshotBytes(t, f)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := newCommand(TypeAction, incident.Action{Incident: 1, Kind: incident.Ack, By: "alice"})
	f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: rawEntry(t, ack, trigger(t, "a"), trigger(t, "b"))})
	var sink memSink
	if err := snap.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sink.Bytes(), want) {
		t.Fatalf("snapshot changed by later applies:\n%s\n---\n%s", want, sink.Bytes())
	}
	var st struct {
		status incident.Status
		n      int
	}
	f.ReadIncidents(func(s *incident.State) {
		inc, _ := s.Get(1)
		st.status, st.n = inc.Status, s.Len()
	})
	if st.status != incident.Acknowledged || st.n != 2 {
		t.Fatalf("live state after the snapshot: INC-1 %s, %d incidents; want acknowledged, 2", st.status, st.n)
	}
}

// The batcher's hand-rolled encoder must write exactly what encodeBatch
// (encoding/json) writes for the same commands, time and request ids, or
// replicas would decode something else; and it hands the pooled bodies
// back.
func TestEncodeEntryMatchesEncodeBatch(t *testing.T) {
	ack, _ := newCommand(TypeAction, incident.Action{Incident: 7, Kind: incident.Ack, By: "al\"ice <&>", Note: "ünïcode\n"})
	pooled, err := encodePooled(TypeEvent, 5, &incident.Event{Service: "s", Action: incident.ActionTrigger, DedupKey: "p\u2029"})
	if err != nil || pooled.pooled == nil {
		t.Fatalf("encodePooled: %v, pooled %v", err, pooled.pooled != nil)
	}
	cmds := []command{trigger(t, "a"), ack, trigger(t, "b\u2028"), pooled, {Type: TypeConfig, Version: 1}}
	for _, tc := range []struct {
		now    time.Time
		nodeID string
		n      int
	}{
		{time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC), "n1", len(cmds)},
		{time.Date(2026, 3, 29, 1, 30, 0, 0, time.FixedZone("x", 3600)), "nöde<&>\"\\", 1},
	} { // the batcher never writes an empty batch
		b := &batcher{fsm: NewFSM(func(err error) { t.Fatal(err) }), clock: func() time.Time { return tc.now }}
		prefix := tc.nodeID + "-x-"
		b.idPrefix = quotedPrefix(prefix)
		b.reqID.Store(41)
		items := make([]*pending, tc.n)
		want := &batch{Now: tc.now.UTC(), Commands: make([]command, tc.n)}
		for i := range items {
			items[i] = &pending{cmd: cmds[i]}
			want.Commands[i] = cmds[i]
			want.Commands[i].RequestID = prefix + strconv.Itoa(42+i)
		}
		wantData, err := encodeBatch(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.encodeEntry(items)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, wantData) {
			t.Fatalf("encodeEntry:\n%s\nencodeBatch:\n%s", got, wantData)
		}
		var viaJSON batch
		if err := json.Unmarshal(got[2:], &viaJSON); err != nil || viaJSON.Commands[0].RequestID != prefix+"42" {
			t.Fatalf("request id read back: %v, %+v", err, viaJSON.Commands)
		}
	}
}

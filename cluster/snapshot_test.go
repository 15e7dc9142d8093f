package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
)

// golden1 is a snapshot written by format-1 code (commit 8dbfee8): the
// example config of that release, a keyring, members, and an incident state
// with alerts past the cap, notifications, dedup records and an opt-out.
const golden1 = "testdata/snapshot-format1.snap"

// A snapshot of the previous format restores: its config (the previous
// release's example config) is accepted, and every incident reads back as
// it was written, field for field.
func TestRestoreGoldenFormat1(t *testing.T) {
	data, err := os.ReadFile(golden1)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFSM(func(err error) { t.Fatal(err) })
	if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatalf("restore a format-1 snapshot: %v", err)
	}
	if ac := f.Config(); ac == nil || ac.Config == nil || len(ac.Config.Services) == 0 {
		t.Fatalf("config not restored: %+v", ac)
	}
	if kr := f.Keyring(); len(kr.Keys) != 2 || kr.Keys[0].NotAfter.IsZero() {
		t.Fatalf("keyring %+v", kr)
	}
	if f.Nodes()["n1"].HTTPAddr != "127.0.0.1:8081" {
		t.Fatalf("nodes %v", f.Nodes())
	}

	// Every incident of the file, as the API shows it now, equals the file's.
	lines := bytes.SplitN(data, []byte("\n"), 2)
	var old struct {
		Incidents []json.RawMessage `json:"incidents"`
	}
	if err := json.Unmarshal(lines[1], &old); err != nil {
		t.Fatal(err)
	}
	if len(old.Incidents) < 10 {
		t.Fatalf("fixture holds %d incidents", len(old.Incidents))
	}
	f.ReadIncidents(func(st *incident.State) {
		if st.Len() != len(old.Incidents) {
			t.Fatalf("%d incidents restored, file has %d", st.Len(), len(old.Incidents))
		}
		for i, raw := range old.Incidents {
			inc, ok := st.Get(uint64(i + 1))
			if !ok {
				t.Fatalf("INC-%d missing", i+1)
			}
			if !sameAsWritten(canonical(t, raw), canonical(t, mustMarshal(t, inc))) {
				t.Fatalf("INC-%d differs after restore:\nfile: %s\nnow:  %s", i+1, raw, mustMarshal(t, inc))
			}
		}
	})

	// The derived state came back too: a retried reply answers as its
	// first delivery did, and the opt-out holds.
	a, _ := newCommand(TypeAction, &incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice", DedupID: "SM3"})
	if r := applyOne(t, f, 1000, a); r.Err == nil || !strings.Contains(r.Err.Error(), "already resolved") {
		t.Fatalf("retried reply after restore: %v", r.Err)
	}

	// The next snapshot is of the current format and restores to the same.
	again := snapshotBytes(t, f)
	if !bytes.HasPrefix(again, []byte(`{"format":2,`)) {
		t.Fatalf("new snapshot starts %.40s", again)
	}
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(again))); err != nil {
		t.Fatal(err)
	}
	if b := snapshotBytes(t, g); !bytes.Equal(again, b) {
		t.Fatalf("format-2 round trip differs")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAsWritten reports whether now holds everything was held, equal, and
// any field added to the API since is empty (null, "", 0, false, [] or {}).
func sameAsWritten(was, now any) bool {
	w, wok := was.(map[string]any)
	n, nok := now.(map[string]any)
	if !wok || !nok {
		wl, wlok := was.([]any)
		nl, nlok := now.([]any)
		if wlok && nlok && len(wl) == len(nl) {
			for i := range wl {
				if !sameAsWritten(wl[i], nl[i]) {
					return false
				}
			}
			return true
		}
		return reflect.DeepEqual(was, now)
	}
	for k, v := range w {
		if !sameAsWritten(v, n[k]) {
			return false
		}
	}
	for k, v := range n {
		if _, old := w[k]; !old && !emptyJSON(v) {
			return false
		}
	}
	return true
}

// dropNullTimes removes "starts_at"/"ends_at": null, which format 1 wrote
// for absent times and the stored form leaves out.
func dropNullTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if (k == "starts_at" || k == "ends_at") && e == nil {
				delete(x, k)
				continue
			}
			dropNullTimes(e)
		}
	case []any:
		for _, e := range x {
			dropNullTimes(e)
		}
	}
	return v
}

func emptyJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case float64:
		return x == 0
	case bool:
		return !x
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func canonical(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// writeSizes records the size of every Write a snapshot makes.
type writeSizes struct {
	memSink
	max, n int
}

func (w *writeSizes) Write(p []byte) (int, error) {
	w.n++
	w.max = max(w.max, len(p))
	return w.memSink.Write(p)
}

// The snapshot is streamed: no single write carries more than the 1 MiB
// buffer, however large the state (format 1 handed the sink the whole
// incident state in one write, after encoding it in memory).
func TestSnapshotIsStreamedRecordByRecord(t *testing.T) {
	f := bigFSM(t)
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink writeSizes
	if err := s.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	if sink.Len() < 5<<20 {
		t.Fatalf("snapshot of %d bytes; the test wants more than 5 MiB", sink.Len())
	}
	if sink.max > 1<<20 {
		t.Fatalf("one write of %d bytes: the snapshot was buffered, not streamed", sink.max)
	}
	// One record per line: the header, the state record, 3000 incidents, the end.
	sc := bufio.NewScanner(bytes.NewReader(sink.Bytes()))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
	}
	if lines != 3003 {
		t.Fatalf("%d lines", lines)
	}
}

// An operator's restore read from a stream of several 1 MiB pieces (the
// last one short) lands whole on a real node.
func TestRestoreSnapshotFromStreamInPieces(t *testing.T) {
	data := snapshotBytes(t, bigFSM(t))
	if len(data) < 3*restoreChunkSize || len(data)%restoreChunkSize == 0 {
		t.Fatalf("%d bytes; the test wants several pieces, the last one short", len(data))
	}
	n, _ := startNode(t, time.Now)
	if err := n.RestoreSnapshotFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if got := incidentCount(n.FSM()); got != 3000 {
		t.Fatalf("%d incidents after the restore, want 3000", got)
	}
	if err := n.RestoreSnapshotFrom(bytes.NewReader(data[:len(data)-10])); err == nil {
		t.Fatal("a cut snapshot was restored")
	}
}

// bigFSM holds 3000 incidents of about 2 KB each.
func bigFSM(t *testing.T) *FSM {
	t.Helper()
	f := NewFSM(func(err error) { t.Fatal(err) })
	big := strings.Repeat("x", 2000)
	var cmds []command
	for i := range 3000 {
		c, err := newCommand(TypeEvent, &incident.Event{Service: "checkout", Action: incident.ActionTrigger,
			DedupKey: "k" + string(rune('a'+i%26)) + big[:i%50] + itoa(i),
			Alert:    incident.Alert{Annotations: map[string]string{"summary": "s", "details": big}, Severity: "sev2"}})
		if err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, c)
	}
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cmds...)})
	return f
}

func itoa(i int) string { return time.Duration(i).String() }

// A cut or tampered stream is refused, never half restored.
func TestRestoreRefusesDamagedStream(t *testing.T) {
	f := liveFSM(t)
	good := snapshotBytes(t, f)
	cases := map[string][]byte{
		"cut before the end record": good[:bytes.LastIndex(good[:len(good)-1], []byte("\n"))+1],
		"unknown field":             bytes.Replace(good, []byte(`{"incident":{"id":1,`), []byte(`{"incident":{"bogus":1,"id":1,`), 1),
		"newer format":              bytes.Replace(good, []byte(`{"format":2,`), []byte(`{"format":3,`), 1),
		"incident out of order":     bytes.Replace(good, []byte(`{"incident":{"id":1,`), []byte(`{"incident":{"id":7,`), 1),
	}
	for name, data := range cases {
		if bytes.Equal(data, good) {
			t.Fatalf("%s: the damage did not apply", name)
		}
		if err := NewFSM(func(err error) { t.Fatal(err) }).Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
			t.Errorf("%s: restored", name)
		}
	}
}

// During a rolling upgrade the gate can hold snapshots at format 1, which
// older members read: written (streamed) from the golden state, it is the
// golden file's JSON (absent alert times are left out rather than null,
// which format-1 readers take alike) and restores to the same state. A
// state retention has thinned is written in format 2 regardless, since
// format 1 cannot hold it.
func TestSnapshotWriteFormat1ForOlderMembers(t *testing.T) {
	data, err := os.ReadFile(golden1)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFSM(func(err error) { t.Fatal(err) })
	if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	if err := f.SetSnapshotWriteFormat(1); err != nil {
		t.Fatal(err)
	}
	got := snapshotBytes(t, f)
	gotLines, wantLines := bytes.SplitN(got, []byte("\n"), 2), bytes.SplitN(data, []byte("\n"), 2)
	if !bytes.Equal(gotLines[0], wantLines[0]) {
		t.Fatalf("format-1 header differs:\n%s\n%s", gotLines[0], wantLines[0])
	}
	if a, b := canonical(t, gotLines[1]), canonical(t, wantLines[1]); !sameAsWritten(dropNullTimes(b), a) || !sameAsWritten(a, dropNullTimes(b)) {
		t.Fatalf("format-1 incident state differs from the golden file")
	}
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(got))); err != nil {
		t.Fatal(err)
	}
	f.SetSnapshotWriteFormat(0)
	if a, b := snapshotBytes(t, f), snapshotBytes(t, g); !bytes.Equal(a, b) {
		t.Fatal("the format-1 snapshot restores to another state")
	}
	f.SetSnapshotWriteFormat(1)
	if err := f.SetSnapshotWriteFormat(3); err == nil {
		t.Fatal("format 3 accepted")
	}
	var resolved uint64
	f.ReadIncidents(func(st *incident.State) {
		for id := uint64(1); id <= uint64(st.Len()) && resolved == 0; id++ {
			if inc, _ := st.Get(id); inc.Status == incident.Resolved {
				resolved = id
			}
		}
	})
	p, _ := newCommand(TypePurge, incident.Purge{Cutoff: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), IDs: []uint64{resolved}})
	if r := applyOne(t, f, 1001, p); r.Err != nil || r.Value != 1 {
		t.Fatalf("purge: %+v", r)
	}
	if got := snapshotBytes(t, f); !bytes.HasPrefix(got, []byte(`{"format":2,`)) {
		t.Fatalf("a thinned state was written as %.20s", got)
	}
}

// The version gate covers snapshots: while a member of the previous release
// (no announced versions, so no purge) is in the configuration, a node
// writes format 1, which that member can install; once it announces this
// release's versions, format 2. Retention's purge is refused meanwhile.
func TestSnapshotFormatFollowsTheGate(t *testing.T) {
	n, _ := startNode(t, time.Now)
	ctx := context.Background()
	if _, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "a"}); err != nil {
		t.Fatal(err)
	}
	format := func() string {
		var b bytes.Buffer
		if err := n.SaveSnapshot(&b); err != nil {
			t.Fatal(err)
		}
		return string(b.Bytes()[:12])
	}
	if got := format(); got != `{"format":2,` {
		t.Fatalf("alone: %s", got)
	}
	if err := n.raft.AddNonvoter("old", "127.0.0.1:1", 0, 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "b"}); err != nil {
		t.Fatal(err)
	}
	if got := format(); got != `{"format":1,` {
		t.Fatalf("with a member of the previous release: %s", got)
	}
	var un *Unavailable
	if _, err := n.Submit(ctx, TypePurge, incident.Purge{Cutoff: time.Now(), IDs: []uint64{1}}); !errors.As(err, &un) {
		t.Fatalf("purge with an old member: %v; want 503", err)
	}
	if _, err := n.Submit(ctx, TypeNodeMeta, NodeMeta{ID: "old", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:1",
		Version: "next", Commands: CommandVersions()}); err != nil {
		t.Fatal(err)
	}
	if got := format(); got != `{"format":2,` {
		t.Fatalf("after the member announced: %s", got)
	}
}

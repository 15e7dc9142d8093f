package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// foreignSnapshot is a snapshot of another cluster: other members, other
// incidents, a later leader time.
func foreignSnapshot(t testing.TB) []byte {
	t.Helper()
	g := NewFSM(func(err error) { t.Fatal(err) })
	cfgCmd, _ := newCommand(TypeConfig, configCommand(t))
	meta, _ := newCommand(TypeNodeMeta, NodeMeta{ID: "other-1", RaftAddr: "10.0.0.1:7000", HTTPAddr: "10.0.0.1:8080"})
	g.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cfgCmd, meta, trigger(t, "x"), trigger(t, "y"), trigger(t, "z"))})
	return snapshotBytes(t, g)
}

// liveFSM is the cluster being restored into: its own member and incident.
func liveFSM(t *testing.T) *FSM {
	t.Helper()
	f := NewFSM(func(err error) { t.Fatal(err) })
	cfgCmd, _ := newCommand(TypeConfig, configCommand(t))
	meta, _ := newCommand(TypeNodeMeta, NodeMeta{ID: "n1", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"})
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cfgCmd, meta, trigger(t, "live"))})
	return f
}

// restoreCommands splits data as Node.RestoreSnapshot does, in pieces of size.
func restoreCommands(t *testing.T, id string, data []byte, size int) (chunks []command, commit command) {
	t.Helper()
	for off, seq := 0, 0; off < len(data); off, seq = off+size, seq+1 {
		c, err := newCommand(TypeRestoreChunk, RestoreChunk{ID: id, Seq: seq, Data: data[off:min(off+size, len(data))]})
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, c)
	}
	sum := sha256.Sum256(data)
	commit, _ = newCommand(TypeRestoreCommit, RestoreCommit{ID: id, Chunks: len(chunks), Size: len(data), SHA256: hex.EncodeToString(sum[:])})
	return chunks, commit
}

func applyOne(t *testing.T, f *FSM, index uint64, c command) Result {
	t.Helper()
	return f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: rawEntry(t, c)}).([]Result)[0]
}

func incidentCount(f *FSM) int {
	n := 0
	f.ReadIncidents(func(st *incident.State) { n = st.Len() })
	return n
}

// Staged pieces change nothing; the commit swaps the whole state in at once,
// also on a node that installed a Raft snapshot taken mid-restore; member
// addresses stay the live cluster's.
func TestRestoreStagesPiecesAndSwapsAtCommit(t *testing.T) {
	data := foreignSnapshot(t)
	f := liveFSM(t)
	chunks, commit := restoreCommands(t, "r1", data, len(data)/3+1)
	if len(chunks) < 3 {
		t.Fatalf("%d chunks; the test wants several", len(chunks))
	}
	idx := uint64(2)
	for i, c := range chunks {
		if r := applyOne(t, f, idx, c); r.Err != nil {
			t.Fatalf("chunk %d: %v", i, r.Err)
		}
		idx++
		if i == 1 {
			// A follower catching up now gets a Raft snapshot holding the
			// pieces staged so far, then the rest of the log.
			mid := snapshotBytes(t, f)
			h := NewFSM(func(err error) { t.Fatal(err) })
			if err := h.Restore(io.NopCloser(bytes.NewReader(mid))); err != nil {
				t.Fatal(err)
			}
			for j, c := range append(chunks[2:], commit) {
				if r := applyOne(t, h, idx+uint64(j), c); r.Err != nil {
					t.Fatalf("node installed mid-restore: %v", r.Err)
				}
			}
			defer func() {
				if !bytes.Equal(snapshotBytes(t, h), snapshotBytes(t, f)) {
					t.Error("the node that installed a snapshot mid-restore ended with another state")
				}
			}()
		}
	}
	if n := incidentCount(f); n != 1 || !f.RestoreStaged() {
		t.Fatalf("after staging: %d incidents (want the live 1), staged %v", n, f.RestoreStaged())
	}
	if r := applyOne(t, f, idx, commit); r.Err != nil {
		t.Fatalf("commit: %v", r.Err)
	}
	if n := incidentCount(f); n != 3 || f.RestoreStaged() {
		t.Fatalf("after commit: %d incidents (want the snapshot's 3), staged %v", n, f.RestoreStaged())
	}
	nodes := f.Nodes()
	if len(nodes) != 1 || nodes["n1"].HTTPAddr != "127.0.0.1:2" {
		t.Fatalf("members after restoring a foreign snapshot: %v; want the live n1 only", nodes)
	}
}

// A restore missing a piece, or out of order, or aborted, changes nothing,
// on every node alike (the checks read only replicated state).
func TestIncompleteRestoreChangesNothing(t *testing.T) {
	data := foreignSnapshot(t)
	chunks, commit := restoreCommands(t, "r1", data, len(data)/3+1)
	abort, _ := newCommand(TypeRestoreAbort, RestoreAbort{})
	for name, log := range map[string][]command{
		"missing piece":  append([]command{chunks[0], chunks[1]}, commit),
		"out of order":   append([]command{chunks[0], chunks[2], chunks[1]}, commit),
		"aborted":        append(append([]command{}, chunks...), abort, commit),
		"corrupt digest": append(append([]command{}, chunks...), mustCommand(t, TypeRestoreCommit, RestoreCommit{ID: "r1", Chunks: len(chunks), Size: len(data), SHA256: "00"})),
	} {
		t.Run(name, func(t *testing.T) {
			f := liveFSM(t)
			before := stateBytes(t, f)
			var last Result
			for i, c := range log {
				last = applyOne(t, f, uint64(2+i), c)
			}
			if last.Err == nil {
				t.Fatal("commit accepted")
			}
			if f.RestoreStaged() {
				t.Fatal("pieces still staged after the commit was refused")
			}
			if after := stateBytes(t, f); !bytes.Equal(before, after) {
				t.Fatalf("state changed:\n%s\n---\n%s", before, after)
			}
		})
	}
}

var appliedIndexRe = regexp.MustCompile(`"applied_index":\d+`)

// stateBytes is the snapshot without the applied index, which every entry moves.
func stateBytes(t *testing.T, f *FSM) []byte {
	return appliedIndexRe.ReplaceAll(snapshotBytes(t, f), nil)
}

func mustCommand(t *testing.T, ct CommandType, body any) command {
	t.Helper()
	c, err := newCommand(ct, body)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A snapshot whose learning state is JSON but not a learning state (the
// header keeps it raw) is refused by validation, as the commit and a Raft
// restore refuse it: FuzzRestoreSnapshot's property, which such a header
// broke (validation passed, the commit failed).
func TestValidateSnapshotRefusesAnUndecodableLearningState(t *testing.T) {
	valid := foreignSnapshot(t)
	for _, learning := range []string{`[]`, `1`, `"x"`, `{"postmortems":{"not-a-number":{}}}`} {
		data := bytes.Replace(valid, []byte(`{"format":2,`), []byte(`{"format":2,"learning":`+learning+`,`), 1)
		if bytes.Equal(data, valid) {
			t.Fatal("the case changed nothing")
		}
		live := liveFSM(t)
		chunks, commit := restoreCommands(t, "l", data, len(data))
		for i, c := range chunks {
			applyOne(t, live, uint64(2+i), c)
		}
		res := applyOne(t, live, uint64(2+len(chunks)), commit)
		if res.Err == nil {
			t.Fatalf("learning %s: the commit restored it", learning)
		}
		if err := ValidateSnapshot(bytes.NewReader(data)); err == nil {
			t.Errorf("learning %s: validation passed what the commit refuses (%v)", learning, res.Err)
		}
		if err := NewFSM(func(error) {}).Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
			t.Errorf("learning %s: a Raft restore took it", learning)
		}
	}
}

// A header whose replicated maps hold null entries (a heartbeat state, a
// status page subscriber, a fan-out) is refused: restored, the nil was
// dereferenced later, by the next snapshot (Raft's goroutine: the process
// dies), the heartbeat checks or a Raft restore's rebuild, on every node.
func TestSnapshotRefusesNullEntriesInTheHeader(t *testing.T) {
	valid := foreignSnapshot(t)
	for _, part := range []string{`"continuity":{"heartbeats":{"w":null}}`,
		`"status_subscribers":{"seq":1,"pages":{"p":{"a@example.com":null}}}`,
		`"status_subscribers":{"seq":1,"fanouts":{"p/1":null}}`} {
		data := bytes.Replace(valid, []byte(`{"format":2,`), []byte(`{"format":2,`+part+`,`), 1)
		if bytes.Equal(data, valid) {
			t.Fatal("the case changed nothing")
		}
		if err := ValidateSnapshot(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: validated", part)
		}
		live := liveFSM(t)
		chunks, commit := restoreCommands(t, "n", data, len(data))
		for i, c := range chunks {
			applyOne(t, live, uint64(2+i), c)
		}
		if res := applyOne(t, live, uint64(2+len(chunks)), commit); res.Err == nil {
			t.Errorf("%s: the restore commit took it", part)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: restored, the next snapshot panics: %v", part, r)
					}
				}()
				_, _ = live.Snapshot()
			}()
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: a Raft restore panics: %v", part, r)
				}
			}()
			if err := NewFSM(func(error) {}).Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
				t.Errorf("%s: a Raft restore took it", part)
			}
		}()
	}
}

// A keyring the keyring command would refuse (duplicate ids, a short or
// missing secret, no current key) is refused in a snapshot too, by the same
// check. Restored, Mint failed for every page (no reply address), Verify
// refused the tokens already out, and the leader never repaired it:
// ensureKeyring only fills an empty ring and a rotation keeps the bad keys,
// so the keyring command refused every rotation after it.
func TestSnapshotRefusesAKeyringTheKeyringCommandRefuses(t *testing.T) {
	valid := foreignSnapshot(t)
	secret := `"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, reply.MinSecretLen)) + `"`
	current := `"0001-01-01T00:00:00Z"`
	for _, ring := range []string{
		`[{"ID":1,"Secret":"c2hvcnQ=","NotAfter":` + current + `}]`,
		`[{"ID":1,"Secret":null,"NotAfter":` + current + `}]`,
		`[{"ID":1,"Secret":` + secret + `,"NotAfter":` + current + `},{"ID":1,"Secret":` + secret + `,"NotAfter":` + current + `}]`,
		`[{"ID":1,"Secret":` + secret + `,"NotAfter":"2026-01-01T00:00:00Z"}]`,
	} {
		data := bytes.Replace(valid, []byte(`{"format":2,`), []byte(`{"format":2,"keyring":`+ring+`,`), 1)
		if bytes.Equal(data, valid) {
			t.Fatal("the case changed nothing")
		}
		if err := ValidateSnapshot(bytes.NewReader(data)); err == nil || !strings.Contains(err.Error(), "keyring") {
			t.Errorf("%s: validation: %v, want an error naming the keyring", ring, err)
		}
		live, res := restoreOverAKeyring(t, "n", data)
		if res.Err == nil {
			t.Errorf("%s: the restore commit took it", ring)
		}
		if _, err := live.Keyring().Mint("n1", time.Unix(1<<31, 0)); err != nil {
			t.Errorf("%s: after the refused restore the keyring cannot mint: %v", ring, err)
		}
		g := NewFSM(func(error) {})
		if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err == nil {
			t.Errorf("%s: a Raft restore took it", ring)
		}
	}
	// An empty keyring (a snapshot from before the first leader made one)
	// still restores: the leader creates the key.
	if err := ValidateSnapshot(bytes.NewReader(valid)); err != nil {
		t.Fatalf("the keyless snapshot: %v", err)
	}
	live, res := restoreOverAKeyring(t, "k", valid)
	if res.Err != nil {
		t.Fatalf("the keyless snapshot's restore commit: %v", res.Err)
	}
	if _, err := live.Keyring().Mint("n1", time.Unix(1<<31, 0)); err != nil {
		t.Errorf("a keyless snapshot's restore emptied the live keyring: %v", err)
	}
}

// restoreOverAKeyring restores data as committed chunks over a live FSM
// whose keyring holds one good key, and returns the FSM and the restore
// commit's result.
func restoreOverAKeyring(t *testing.T, id string, data []byte) (*FSM, Result) {
	t.Helper()
	live := liveFSM(t)
	kc, _ := newCommand(TypeKeyring, KeyringCommand{Keys: []reply.Key{{ID: 9, Secret: bytes.Repeat([]byte{1}, reply.MinSecretLen)}}})
	applyOne(t, live, 2, kc)
	chunks, commit := restoreCommands(t, id, data, len(data))
	for i, c := range chunks {
		applyOne(t, live, uint64(3+i), c)
	}
	return live, applyOne(t, live, uint64(3+len(chunks)), commit)
}

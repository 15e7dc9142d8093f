package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fillStore writes n command entries and the three stable keys Raft keeps.
func fillStore(t *testing.T, s logStore, n int) {
	t.Helper()
	logs := make([]*raft.Log, n)
	for i := range logs {
		logs[i] = &raft.Log{Index: uint64(i + 1), Term: 3, Type: raft.LogCommand,
			Data: []byte(fmt.Sprintf("entry %d", i+1)), AppendedAt: time.Unix(1700000000, int64(i)).UTC()}
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("LastVoteTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("n2")); err != nil {
		t.Fatal(err)
	}
}

// checkStore reads back what fillStore wrote.
func checkStore(t *testing.T, s logStore, n int) {
	t.Helper()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != 1 || last != uint64(n) {
		t.Fatalf("indexes %d..%d, want 1..%d", first, last, n)
	}
	for i := 1; i <= n; i++ {
		var l raft.Log
		if err := s.GetLog(uint64(i), &l); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if want := fmt.Sprintf("entry %d", i); l.Index != uint64(i) || l.Term != 3 || l.Type != raft.LogCommand || !bytes.Equal(l.Data, []byte(want)) {
			t.Fatalf("entry %d read back as %+v", i, l)
		}
	}
	if term, err := s.GetUint64([]byte("CurrentTerm")); err != nil || term != 3 {
		t.Fatalf("CurrentTerm %d (%v), want 3", term, err)
	}
	if term, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || term != 3 {
		t.Fatalf("LastVoteTerm %d (%v), want 3", term, err)
	}
	if cand, err := s.Get([]byte("LastVoteCand")); err != nil || string(cand) != "n2" {
		t.Fatalf("LastVoteCand %q (%v), want n2", cand, err)
	}
}

// boltDataDir is a data dir as an older release left it: a bbolt store
// holding n entries (fillStore).
func boltDataDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	s := open(t, dir, LogStoreBolt, LogStoreBolt)
	fillStore(t, s, n)
	s.Close()
	return dir
}

func open(t *testing.T, dir, want, wantKind string) logStore {
	t.Helper()
	s, kind, err := openLogStore(dir, want, quietLog)
	if err != nil {
		t.Fatalf("open %q: %v", want, err)
	}
	if kind != wantKind {
		s.Close()
		t.Fatalf("open %q on %s opened %s, want %s", want, dir, kind, wantKind)
	}
	return s
}

func TestNewDataDirGetsTheWAL(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, "", LogStoreWAL)
	fillStore(t, s, 50)
	s.Close()
	if exists(filepath.Join(dir, boltFile)) || !exists(filepath.Join(dir, walDir)) {
		t.Fatalf("a new data dir should hold %s/ and no %s", walDir, boltFile)
	}
	// Reopening in the same process works: the WAL's meta database is
	// closed with it (wal.WAL.Close alone leaves its bbolt lock held).
	done := make(chan logStore, 1)
	go func() { done <- open(t, dir, "", LogStoreWAL) }()
	select {
	case s = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("reopening the WAL waits for a lock the closed store still holds")
	}
	defer s.Close()
	checkStore(t, s, 50)
}

func TestBoltDataDirKeepsBoltUnlessAsked(t *testing.T) {
	dir := boltDataDir(t, 20)
	s := open(t, dir, "", LogStoreBolt)
	checkStore(t, s, 20)
	s.Close()
	if exists(filepath.Join(dir, walDir)) {
		t.Fatal("the default choice on a bbolt data dir created a WAL")
	}
}

func TestMigrateBoltToWAL(t *testing.T) {
	dir := boltDataDir(t, 3000)
	s := open(t, dir, LogStoreWAL, LogStoreWAL)
	checkStore(t, s, 3000)
	s.Close()
	if exists(filepath.Join(dir, boltFile)) || !exists(filepath.Join(dir, boltMigrated)) || exists(filepath.Join(dir, walBuilding)) {
		t.Fatalf("after migrating: want %s set aside as %s and no %s", boltFile, boltMigrated, walBuilding)
	}
	// From now on the default is the WAL, and bbolt is refused.
	s = open(t, dir, "", LogStoreWAL)
	checkStore(t, s, 3000)
	s.Close()
	if _, _, err := openLogStore(dir, LogStoreBolt, quietLog); err == nil || !strings.Contains(err.Error(), "holds a WAL log") {
		t.Fatalf("boltdb on a WAL data dir: %v, want a refusal naming the WAL", err)
	}
}

// A migration that died half way left a partial WAL beside raft.db: it is
// thrown away and the copy redone from the untouched bbolt file.
func TestMigrationRedoneAfterACrashDuringTheCopy(t *testing.T) {
	dir := boltDataDir(t, 100)
	partial := open(t, filepath.Join(dir, "scratch"), LogStoreWAL, LogStoreWAL)
	fillStore(t, partial, 7)
	partial.Close()
	if err := os.Rename(filepath.Join(dir, "scratch", walDir), filepath.Join(dir, walBuilding)); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, LogStoreWAL, LogStoreWAL)
	defer s.Close()
	checkStore(t, s, 100)
}

// A migration that died after putting the WAL in place but before setting
// raft.db aside: the WAL is complete and wins; raft.db is set aside now.
func TestMigrationFinishedAfterACrashBeforeTheRename(t *testing.T) {
	dir := boltDataDir(t, 10)
	s := open(t, dir, LogStoreWAL, LogStoreWAL)
	s.Close()
	if err := os.Rename(filepath.Join(dir, boltMigrated), filepath.Join(dir, boltFile)); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, "", LogStoreWAL)
	defer s.Close()
	checkStore(t, s, 10)
	if exists(filepath.Join(dir, boltFile)) {
		t.Fatalf("%s still in place beside a complete WAL", boltFile)
	}
}

func TestUnknownLogStoreRefused(t *testing.T) {
	_, _, err := openLogStore(t.TempDir(), "leveldb", quietLog)
	if err == nil || !strings.Contains(err.Error(), `"leveldb"`) || !strings.Contains(err.Error(), "wal or boltdb") {
		t.Fatalf("unknown store: %v", err)
	}
}

// A node made by an older release (bbolt) and restarted with
// --raft-log-store wal keeps its whole state: the log replayed from the WAL
// rebuilds the FSM, and the node goes on committing.
func TestNodeMigratesItsLogToTheWAL(t *testing.T) {
	addr := freeAddr(t)
	dir := t.TempDir()
	openWith := func(store string) *Node {
		n, err := Open(Options{NodeID: "t1", DataDir: dir, RaftAddr: addr, HTTPAddr: "127.0.0.1:1", HeartbeatTimeout: testHeartbeat,
			Logger: quietLog, LogStore: store,
			SeedConfig: func() (*ConfigCommand, error) { return configCommand(t), nil },
			Fatal:      func(err error) { t.Errorf("fatal: %v", err) }})
		if err != nil {
			t.Fatal(err)
		}
		awaitCond(t, 10*time.Second, "node ready", n.Ready)
		return n
	}
	n := openWith(LogStoreBolt)
	awaitCond(t, 10*time.Second, "own address recorded", func() bool { return n.FSM().Nodes()["t1"].RaftAddr == addr })
	last := n.raft.LastIndex()
	n.Close()
	if !exists(filepath.Join(dir, boltFile)) {
		t.Fatalf("the boltdb node wrote no %s", boltFile)
	}

	n = openWith(LogStoreWAL)
	defer n.Close()
	if !exists(filepath.Join(dir, walDir)) || !exists(filepath.Join(dir, boltMigrated)) {
		t.Fatal("the node did not migrate its log")
	}
	awaitCond(t, 10*time.Second, "the log replayed", func() bool { return n.FSM().Nodes()["t1"].RaftAddr == addr })
	if got := n.raft.LastIndex(); got <= last {
		t.Fatalf("last index %d after the restart, want past %d (the copied log plus the new term's no-op)", got, last)
	}
	err := errors.New("no commit")
	awaitCond(t, 10*time.Second, "a commit after the migration", func() bool {
		err = n.raft.Barrier(time.Second).Error()
		return err == nil
	})
}

// Entries a snapshot compacted away are gone from the WAL as from bbolt,
// even while raft-wal still holds them in its tail segment: the leader then
// sends a lagging follower the snapshot (e2e TestLaggingFollowerInstallsSnapshot).
func TestCompactedEntriesAreNotFound(t *testing.T) {
	for _, kind := range []string{LogStoreWAL, LogStoreBolt} {
		s := open(t, t.TempDir(), kind, kind)
		fillStore(t, s, 50)
		if err := s.DeleteRange(1, 30); err != nil {
			t.Fatal(err)
		}
		var l raft.Log
		if err := s.GetLog(30, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Errorf("%s: entry 30 after compacting 1..30: %v, want raft.ErrLogNotFound", kind, err)
		}
		if err := s.GetLog(31, &l); err != nil || string(l.Data) != "entry 31" {
			t.Errorf("%s: entry 31: %v %q", kind, err, l.Data)
		}
		s.Close()
	}
}

// Raft clears a conflicting suffix of a follower's log (DeleteRange on the
// tail); a node killed after that must still open its log. raft-wal before
// v0.4.1 marked the segment sealed without writing its index block, and the
// node then panicked at start ("sealed segment has no index block",
// hashicorp/raft-wal#31), which the chaos suite hit.
func TestWALOpensAfterATailTruncationAndACrash(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, LogStoreWAL, LogStoreWAL)
	fillStore(t, s, 50)
	if err := s.DeleteRange(48, 50); err != nil {
		t.Fatal(err)
	}
	more := []*raft.Log{}
	for i := uint64(48); i <= 52; i++ {
		more = append(more, &raft.Log{Index: i, Term: 4, Type: raft.LogCommand, Data: []byte(fmt.Sprintf("entry %d", i))})
	}
	if err := s.StoreLogs(more); err != nil {
		t.Fatal(err)
	}
	// A crash: nothing more is written; only the meta database's lock is
	// let go, as the kernel would for a dead process.
	if err := s.(walStore).meta.Close(); err != nil {
		t.Fatal(err)
	}
	s2, _, err := openLogStore(dir, LogStoreWAL, quietLog)
	if err != nil {
		t.Fatalf("reopen after a tail truncation: %v", err)
	}
	defer s2.Close()
	for i := uint64(1); i <= 52; i++ {
		var l raft.Log
		if err := s2.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d after the restart: %v", i, err)
		}
		if want := uint64(3); i >= 48 {
			if l.Term != 4 {
				t.Fatalf("entry %d has term %d, want the rewritten term 4", i, l.Term)
			}
		} else if l.Term != want {
			t.Fatalf("entry %d has term %d, want %d", i, l.Term, want)
		}
	}
}

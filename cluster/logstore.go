package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/migrate"
	bbolt "go.etcd.io/bbolt"
)

// The Raft log and stable store of a data dir (--raft-log-store).
//
// LogStoreWAL is hashicorp/raft-wal: append-only segment files, one write
// and one fsync per batch of entries. LogStoreBolt is raft-boltdb: a B+tree
// in one file, two fsyncs per batch (data pages, then the meta page) and
// page bookkeeping on every write. Under a storm the bolt commit was 18 %
// of the leader's CPU and 25 % of a follower's; the WAL takes about half of
// that (docs/PERFORMANCE.md, "The log store"). A new data dir gets the WAL;
// a data dir that already holds raft.db keeps bbolt until the operator asks
// for the WAL, which then copies the log over once (migrateToWAL).
const (
	LogStoreWAL  = "wal"
	LogStoreBolt = "boltdb"
)

// Files of the two stores inside the data dir.
const (
	boltFile      = "raft.db"
	boltMigrated  = "raft.db.migrated" // what raft.db is renamed to once copied into the WAL
	walDir        = "wal"
	walBuilding   = "wal.migrating" // a WAL being filled from raft.db; never opened as the store
	walSegmentMiB = 64
)

// logStore is what Raft needs from the store: the log and the stable store
// (current term and vote) in one place, as both implementations provide.
type logStore interface {
	raft.LogStore
	raft.StableStore
	io.Closer
}

// walStore closes the WAL's meta database too: wal.WAL.Close leaves it open,
// and its file lock would then stop the same process reopening the dir.
type walStore struct {
	*wal.WAL
	meta *metadb.BoltMetaDB
}

// GetLog refuses entries below FirstIndex, as bbolt does. raft-wal serves
// an entry a head truncation removed as long as its segment is still the
// tail, so a leader would replicate a lagging follower from entries it had
// compacted away instead of sending it the snapshot; harmless for Raft, but
// it made whether a snapshot is installed depend on segment boundaries.
func (s walStore) GetLog(index uint64, l *raft.Log) error {
	first, err := s.WAL.FirstIndex()
	if err != nil {
		return err
	}
	if index < first {
		return raft.ErrLogNotFound
	}
	return s.WAL.GetLog(index, l)
}

func (s walStore) Close() error {
	err := s.WAL.Close()
	return errors.Join(err, s.meta.Close())
}

// OpenLogStore opens the Raft log store of a stopped node's data dir, as
// serve would with the default --raft-log-store, for offline inspection and
// repair (tests use it to plant entries). The caller closes it.
func OpenLogStore(dataDir string) (raft.LogStore, io.Closer, error) {
	s, _, err := openLogStore(dataDir, "", slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, err
	}
	return s, s, nil
}

// openLogStore opens the store want names ("" chooses: the WAL unless the
// data dir already holds a bbolt log) and says which it opened.
func openLogStore(dataDir, want string, log *slog.Logger) (logStore, string, error) {
	hasBolt := exists(filepath.Join(dataDir, boltFile))
	hasWAL := exists(filepath.Join(dataDir, walDir))
	kind := want
	if kind == "" {
		kind = LogStoreWAL
		if hasBolt && !hasWAL {
			kind = LogStoreBolt
		}
	}
	switch kind {
	case LogStoreBolt:
		if hasWAL {
			return nil, "", fmt.Errorf("--raft-log-store %s: data dir %s holds a WAL log (%s/), which bbolt cannot read; keep --raft-log-store %s", LogStoreBolt, dataDir, walDir, LogStoreWAL)
		}
		s, err := openBolt(dataDir)
		return s, kind, err
	case LogStoreWAL:
		if hasBolt && !hasWAL {
			if err := migrateToWAL(dataDir, log); err != nil {
				return nil, "", err
			}
		}
		s, err := openWAL(filepath.Join(dataDir, walDir))
		if err == nil && exists(filepath.Join(dataDir, boltFile)) {
			// A migration that stopped after the WAL was in place but
			// before raft.db was set aside: the WAL is complete.
			err = os.Rename(filepath.Join(dataDir, boltFile), filepath.Join(dataDir, boltMigrated))
			if err != nil {
				s.Close()
				return nil, "", fmt.Errorf("set aside the migrated %s: %w", boltFile, err)
			}
		}
		return s, kind, err
	default:
		return nil, "", fmt.Errorf("--raft-log-store %q: want %s or %s", want, LogStoreWAL, LogStoreBolt)
	}
}

func openBolt(dataDir string) (logStore, error) {
	path := filepath.Join(dataDir, boltFile)
	s, err := raftboltdb.New(raftboltdb.Options{Path: path, BoltOptions: &bbolt.Options{Timeout: storeLockTimeout}})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("data dir %s is in use: %s is locked by another process (is another pagerd serving it?)", dataDir, path)
	}
	if err != nil {
		return nil, fmt.Errorf("open raft store %s: %w", path, err)
	}
	return s, nil
}

func openWAL(dir string) (logStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create raft WAL dir: %w", err)
	}
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir, wal.WithMetaStore(meta), wal.WithSegmentSize(walSegmentMiB<<20))
	if err != nil {
		meta.Close()
		return nil, fmt.Errorf("open raft WAL %s: %w", dir, err)
	}
	return walStore{WAL: w, meta: meta}, nil
}

// migrateToWAL copies a bbolt log and stable store into a new WAL. It
// builds the WAL beside the data (walBuilding) and renames it into place
// only when complete, then sets raft.db aside (kept, not deleted, so an
// operator can go back by hand); a crash at any point leaves either the
// untouched bbolt store or a complete WAL.
func migrateToWAL(dataDir string, log *slog.Logger) error {
	building := filepath.Join(dataDir, walBuilding)
	if err := os.RemoveAll(building); err != nil {
		return fmt.Errorf("remove an unfinished WAL migration: %w", err)
	}
	src, err := openBolt(dataDir)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := openWAL(building)
	if err != nil {
		return err
	}
	first, _ := src.FirstIndex()
	last, _ := src.LastIndex()
	log.Info("copying the Raft log from bbolt to the WAL", "first_index", first, "last_index", last)
	ctx := context.Background()
	err = migrate.CopyLogs(ctx, dst, src, 4<<20, nil)
	if err == nil {
		err = migrate.CopyStable(ctx, dst, src, nil, nil, nil)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy the Raft log from %s to the WAL: %w", boltFile, err)
	}
	if err := os.Rename(building, filepath.Join(dataDir, walDir)); err != nil {
		return fmt.Errorf("put the migrated WAL in place: %w", err)
	}
	log.Info("Raft log now in the WAL; the bbolt file is kept as "+boltMigrated, "entries", last-first+1)
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

//go:build unix

package cluster

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// dataDirLockFile is held with an exclusive flock while a node serves the
// data dir. bbolt locked raft.db itself, with a timeout; the WAL's meta
// database opens bbolt without one, so a second process would wait on it
// silently and forever. The kernel drops the lock when the process dies.
const dataDirLockFile = "LOCK"

// lockDataDir takes the data dir's lock, waiting up to storeLockTimeout for
// a stopping process to let go of it.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, dataDirLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open data dir lock: %w", err)
	}
	deadline := time.Now().Add(storeLockTimeout)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, fmt.Errorf("data dir %s is in use: %s is locked by another process (is another pagerd serving it?)", dir, path)
			}
			return nil, fmt.Errorf("lock data dir %s: %w", dir, err)
		}
		time.Sleep(50 * time.Millisecond) // polling a lock another process holds; flock has no timed wait
	}
}

package cluster

import (
	"bytes"
	"testing"
)

// A snapshot uploaded for restore is outside input. Whatever the bytes,
// validation does not panic, and it agrees with the replicated commit: a
// snapshot that validates is restored, one that does not changes nothing.
func FuzzRestoreSnapshot(f *testing.F) {
	valid := foreignSnapshot(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(bytes.Replace(valid, []byte(`"format":1`), []byte(`"format":2`), 1))
	f.Add(bytes.Replace(valid, []byte(`"id":1,`), []byte(`"id":7,`), 1))
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte("not a snapshot"))
	f.Fuzz(func(t *testing.T, data []byte) {
		verr := ValidateSnapshot(bytes.NewReader(data))
		live := liveFSM(t)
		before := stateBytes(t, live)
		size := len(data)/3 + 1
		if len(data) == 0 {
			size = 1
		}
		chunks, commit := restoreCommands(t, "fz", data, size)
		if len(chunks) == 0 { // an empty upload is one empty piece, as RestoreSnapshot sends it
			chunks = []command{mustCommand(t, TypeRestoreChunk, RestoreChunk{ID: "fz"})}
			commit = mustCommand(t, TypeRestoreCommit, RestoreCommit{ID: "fz", Chunks: 1, Size: 0, SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"})
		}
		for i, c := range chunks {
			applyOne(t, live, uint64(2+i), c)
		}
		res := applyOne(t, live, uint64(2+len(chunks)), commit)
		if (verr == nil) != (res.Err == nil) {
			t.Fatalf("validation says %v, the commit says %v", verr, res.Err)
		}
		if res.Err != nil && !bytes.Equal(before, stateBytes(t, live)) {
			t.Fatal("a refused restore changed the state")
		}
	})
}

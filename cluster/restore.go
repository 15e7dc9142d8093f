package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/reply"
)

// An operator's restore is replicated as ordinary committed commands, not
// with raft.Restore: raft.Restore installs the snapshot on the leader alone
// and then ships it to followers by snapshot install, so a leader killed in
// between leaves one node with the restored state and the others without
// (or a follower looping on an install whose log no longer matches). Here
// the snapshot travels in RestoreChunk commands that only stage bytes, and
// one RestoreCommit command swaps the state in. Raft commits that entry on
// every node or on none, so the restore is all-or-nothing for the cluster.
// The staged bytes are part of the FSM state (and of Raft snapshots), so a
// node that catches up by snapshot install mid-restore holds them too.

// restoreChunkSize is the snapshot bytes carried per RestoreChunk command.
const restoreChunkSize = 1 << 20

// restoreTimeout bounds a whole restore on the leader.
const restoreTimeout = 10 * time.Minute

// RestoreChunk stages one piece of a snapshot being restored. Seq 0 starts a
// new staging area (discarding any other); later pieces must follow in order.
type RestoreChunk struct {
	ID   string `json:"id"`
	Seq  int    `json:"seq"`
	Data []byte `json:"data"`
}

// RestoreCommit replaces the state with the staged snapshot if every piece
// arrived and the digest matches; either way the staging area is emptied.
type RestoreCommit struct {
	ID     string `json:"id"`
	Chunks int    `json:"chunks"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// RestoreAbort empties the staging area of restore ID ("" for any).
type RestoreAbort struct {
	ID string `json:"id"`
}

// restoreStaging is the replicated staging area of a restore in progress.
type restoreStaging struct {
	ID     string   `json:"id"`
	Chunks [][]byte `json:"chunks"`
}

func (s *restoreStaging) size() int {
	n := 0
	for _, c := range s.Chunks {
		n += len(c)
	}
	return n
}

// reader reads the staged pieces in order without copying them.
func (s *restoreStaging) reader() io.Reader {
	rs := make([]io.Reader, len(s.Chunks))
	for i, c := range s.Chunks {
		rs[i] = bytes.NewReader(c)
	}
	return io.MultiReader(rs...)
}

// RestoreApplied is the value a successful RestoreCommit returns.
type RestoreApplied struct {
	Incidents int `json:"incidents"`
	Bytes     int `json:"bytes"`
}

// applyRestoreChunk runs under the FSM lock.
func (f *FSM) applyRestoreChunk(body []byte) Result {
	var c RestoreChunk
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode restore chunk: %w", err)}
	}
	if c.Seq == 0 {
		f.staging = &restoreStaging{ID: c.ID, Chunks: [][]byte{c.Data}}
		return Result{Value: 1}
	}
	if f.staging == nil || f.staging.ID != c.ID || len(f.staging.Chunks) != c.Seq {
		return Result{Err: fmt.Errorf("restore %s: chunk %d out of order (staged: %s); restore aborted", c.ID, c.Seq, f.stagingDesc())}
	}
	f.staging.Chunks = append(f.staging.Chunks, c.Data)
	return Result{Value: len(f.staging.Chunks)}
}

func (f *FSM) stagingDesc() string {
	if f.staging == nil {
		return "none"
	}
	return f.staging.ID + " with " + strconv.Itoa(len(f.staging.Chunks)) + " chunks"
}

// applyRestoreCommit runs under the FSM lock. Everything it checks is
// replicated state, so every node accepts or refuses the commit alike.
// Membership metadata stays the live cluster's: the snapshot may come from
// another cluster or from before a membership change, and forwarding must
// keep reaching the members that exist now.
func (f *FSM) applyRestoreCommit(body []byte) Result {
	var c RestoreCommit
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode restore commit: %w", err)}
	}
	st := f.staging
	if st == nil || st.ID != c.ID {
		return Result{Err: fmt.Errorf("restore %s: nothing staged (staged: %s); restore aborted", c.ID, f.stagingDesc())}
	}
	f.staging = nil
	if len(st.Chunks) != c.Chunks || st.size() != c.Size {
		return Result{Err: fmt.Errorf("restore %s: staged %d chunks, %d bytes; want %d, %d", c.ID, len(st.Chunks), st.size(), c.Chunks, c.Size)}
	}
	sum := sha256.New()
	for _, piece := range st.Chunks {
		sum.Write(piece)
	}
	if hex.EncodeToString(sum.Sum(nil)) != c.SHA256 {
		return Result{Err: fmt.Errorf("restore %s: staged bytes do not match the digest", c.ID)}
	}
	// Read the pieces in place: joining them would hold the snapshot twice.
	h, state, ac, ls, err := decodeSnapshot(st.reader())
	if err != nil {
		return Result{Err: fmt.Errorf("restore %s: %w", c.ID, err)}
	}
	f.learning = ls
	f.incidents = state
	if len(h.Keyring) > 0 { // a keyless snapshot keeps the live key: nothing would make a new one while this leader leads
		f.keyring = reply.Keyring{Keys: h.Keyring}
	}
	seq := f.overrides.Seq
	f.setOverrides(h.Overrides)
	f.overrides.Seq = max(f.overrides.Seq, seq) // ids are never reused
	f.events = h.EventCursors
	f.setContinuity(h.Continuity)
	if h.LastNow.After(f.lastNow) { // recorded time never runs backwards
		f.lastNow = h.LastNow
	}
	if ac != nil {
		f.config.Store(ac)
	}
	return Result{Value: RestoreApplied{Incidents: state.Len(), Bytes: c.Size}}
}

func (f *FSM) applyRestoreAbort(body []byte) Result {
	var a RestoreAbort
	if err := json.Unmarshal(body, &a); err != nil {
		return Result{Err: fmt.Errorf("decode restore abort: %w", err)}
	}
	if f.staging != nil && (a.ID == "" || a.ID == f.staging.ID) {
		f.staging = nil
		return Result{Value: true}
	}
	return Result{Value: false}
}

// RestoreStaged reports whether a restore's pieces are staged but not
// committed (a restore in progress, or one whose leader died).
func (f *FSM) RestoreStaged() bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.staging != nil
}

// decodeSnapshot reads a whole snapshot and decodes every part a restore
// installs: its config, parsed with the environment captured in it, and its
// learning state (kept raw in the header). ValidateSnapshot, the restore
// commit and a Raft restore all take it, so a snapshot that validates is
// one they install (FuzzRestoreSnapshot).
func decodeSnapshot(r io.Reader) (*snapshotHeader, *incident.State, *ActiveConfig, *learning.State, error) {
	h, st, err := readSnapshot(r)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if err := checkSnapshotKeyring(h.Keyring); err != nil {
		return nil, nil, nil, nil, err
	}
	ls, err := learning.Decode(h.Learning)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if h.Config == nil {
		return h, st, nil, ls, nil
	}
	cfg, err := config.ParseReplicated(h.Config.Sources, config.LookupMap(h.Config.Env))
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("snapshot config %s: %w", h.Config.Version, err)
	}
	ac := *h.Config
	ac.Config = cfg
	return h, st, &ac, ls, nil
}

// checkSnapshotKeyring refuses a keyring the keyring command would refuse,
// by the same check: installed, Mint failed for every page, Verify refused
// the tokens already out, and nothing repaired it (ensureKeyring fills only
// an empty ring; a rotation keeps the bad keys, so the command refused it).
// An empty keyring stays allowed: a snapshot from before the first leader
// made one, whose key the leader creates.
func checkSnapshotKeyring(keys []reply.Key) error {
	if len(keys) == 0 {
		return nil
	}
	if err := (reply.Keyring{Keys: keys}).Validate(); err != nil {
		return fmt.Errorf("snapshot keyring: %w", err)
	}
	return nil
}

// RestoreSnapshot replaces the whole cluster's state with the snapshot in
// data, as committed commands (see the top of this file). Leader only. If it
// fails part-way, the staged pieces are dropped and the state is unchanged;
// if this leader dies part-way, the next leader drops them.
func (n *Node) RestoreSnapshot(data []byte) error {
	return n.RestoreSnapshotFrom(bytes.NewReader(data))
}

// RestoreSnapshotFrom is RestoreSnapshot reading the snapshot from r (an
// uploaded file, say) as a stream: it is decoded once to validate it, then
// read again piece by piece into the chunk commands, so the leader never
// holds the whole snapshot beside the replicated staging area.
func (n *Node) RestoreSnapshotFrom(r io.ReadSeeker) error {
	if _, _, _, _, err := decodeSnapshot(r); err != nil {
		return fmt.Errorf("invalid snapshot: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("restore: rewind snapshot: %w", err)
	}
	n.restoreMu.Lock()
	defer n.restoreMu.Unlock()
	if !n.IsLeader() {
		return unavailable("this node is not the leader")
	}
	ctx, cancel := context.WithTimeout(context.Background(), restoreTimeout)
	defer cancel()
	id := n.opts.NodeID + "-" + strconv.FormatInt(n.opts.Clock().UnixNano(), 36)
	sum := sha256.New()
	seq, size := 0, 0
	for {
		piece := make([]byte, restoreChunkSize) // the command keeps it until committed
		k, rerr := io.ReadFull(r, piece)
		if rerr != nil && rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
			n.abortRestore(id)
			return fmt.Errorf("restore: read chunk %d: %w", seq, rerr)
		}
		if k == 0 && seq > 0 {
			break
		}
		sum.Write(piece[:k])
		if _, err := n.Submit(ctx, TypeRestoreChunk, RestoreChunk{ID: id, Seq: seq, Data: piece[:k]}); err != nil {
			n.abortRestore(id)
			return fmt.Errorf("restore: stage chunk %d: %w", seq, err)
		}
		seq, size = seq+1, size+k
		if k < restoreChunkSize {
			break
		}
	}
	v, err := n.Submit(ctx, TypeRestoreCommit, RestoreCommit{ID: id, Chunks: seq, Size: size, SHA256: hex.EncodeToString(sum.Sum(nil))})
	if err != nil {
		n.abortRestore(id)
		return fmt.Errorf("restore: commit: %w", err)
	}
	n.log.Warn("state restored from snapshot", "restore", id, "chunks", seq, "result", v)
	return nil
}

// abortRestore drops staged pieces, best effort: if this node no longer
// leads, the next leader drops them when it takes over.
func (n *Node) abortRestore(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := n.Submit(ctx, TypeRestoreAbort, RestoreAbort{ID: id}); err != nil {
		n.log.Warn("drop staged restore", "restore", id, "err", err)
	}
}

// dropAbandonedRestore runs on a new leader after its barrier: pieces staged
// by a restore whose leader is gone can never be committed by it (its
// request failed with it), so they are dropped. restoreMu keeps a restore
// this node has just started from being dropped.
func (n *Node) dropAbandonedRestore(ctx context.Context) {
	if !n.restoreMu.TryLock() {
		return
	}
	defer n.restoreMu.Unlock()
	if !n.fsm.RestoreStaged() {
		return
	}
	if _, err := n.Submit(ctx, TypeRestoreAbort, RestoreAbort{}); err != nil {
		n.log.Warn("drop an abandoned restore", "err", err)
		return
	}
	n.log.Warn("dropped the staged pieces of a restore whose leader is gone; the state is unchanged")
}

package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// A snapshot is a stream of JSON values, one per line, written and read one
// at a time so that neither the leader writing it nor a node installing it
// holds the whole encoding (format 1 encoded the incident state as one JSON
// value, which encoding/json buffers whole: 702 MiB leader RSS at 100k
// incidents against ~380 MiB on followers):
//
//	snapshotHeader                       format, time, config, members, keyring
//	{"restore_chunk": "<base64>"}        × header.StagingChunks
//	incident state records               incident.Frozen.Encode
//
// Readers take the current format and the previous one (format 1: the
// header line, then the incident state as one value).
const (
	snapshotFormat  = 2
	snapshotFormat1 = 1
)

// snapshotHeader is the first line of a snapshot.
type snapshotHeader struct {
	Format  int                 `json:"format"`
	LastNow time.Time           `json:"last_now"`
	Config  *ActiveConfig       `json:"config"`
	Nodes   map[string]NodeMeta `json:"nodes"`
	Keyring []reply.Key         `json:"keyring,omitempty"`
	// LoginLinks are the console sign-in links not yet used or expired.
	LoginLinks []LoginLink `json:"login_links,omitempty"`
	// AppliedIndex is the FSM's applied index when the snapshot was taken, so
	// a node restored from it (at startup or by snapshot install) reports
	// where its state is instead of 0 until the next command.
	AppliedIndex uint64 `json:"applied_index,omitempty"`
	// Staging is an operator's restore in progress (format 1 only; format
	// 2 names it here and streams its pieces after the header): its pieces
	// are replicated state, so a node installing this snapshot mid-restore
	// can still apply the restore's commit like every other node.
	Staging *restoreStaging `json:"restore_staging,omitempty"`
	// Overrides are the runtime schedule overrides (overrides.go).
	Overrides *overrideState `json:"schedule_overrides,omitempty"`
	// EventCursors are the event stream cursors (eventcursor.go).
	EventCursors  eventCursors `json:"event_cursors,omitempty"`
	StagingID     string       `json:"restore_staging_id,omitempty"`
	StagingChunks int          `json:"restore_staging_chunks,omitempty"`
	// Learning is postmortems, follow-ups and reminders (learning.go).
	Learning json.RawMessage `json:"learning,omitempty"`
	// Maintenance are the ad hoc maintenance windows (maintenance.go).
	Maintenance *maintState `json:"maintenance,omitempty"`
	// Subscribers are status page subscribers and fan-outs (subscribers.go).
	Subscribers *subState `json:"status_subscribers,omitempty"`
	// Continuity is the heartbeat and drill state (continuity.go).
	Continuity *continuityState `json:"continuity,omitempty"`
	// Reviews are the plan reviews (reviews.go).
	Reviews *reviewState `json:"reviews,omitempty"`
}

// stagedChunkRecord is one staged restore piece in a format-2 snapshot.
type stagedChunkRecord struct {
	Chunk []byte `json:"restore_chunk"`
}

// Snapshot implements raft.FSM. It only freezes a view of the state (a
// copy of the incident pointers; later changes copy what they touch), so
// the apply path waits microseconds per thousand incidents, not for the
// encoding; Persist encodes and writes outside the lock.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	nodes := make(map[string]NodeMeta, len(f.nodes))
	for k, v := range f.nodes {
		nodes[k] = v
	}
	h := snapshotHeader{LastNow: f.lastNow, Config: f.config.Load(), Nodes: nodes,
		AppliedIndex: f.appliedIndex.Load(), Keyring: append([]reply.Key(nil), f.keyring.Keys...),
		Overrides: f.snapshotOverrides(), EventCursors: f.snapshotEventCursors(),
		LoginLinks: f.sortedLoginLinks(), Maintenance: f.snapshotMaintenance(), Subscribers: f.snapshotSubscribers(),
		Continuity: f.snapshotContinuity(), Reviews: f.snapshotReviews()}
	lb, err := f.learning.Encode()
	if err != nil {
		return nil, err
	}
	h.Learning = lb
	s := &fsmSnapshot{header: h, state: f.incidents.Freeze(), stats: &f.snapStats,
		dense: f.incidents.Len() == f.incidents.Kept()}
	if f.staging != nil { // pieces already staged never change; later ones are appended past len
		s.stagingID, s.staged = f.staging.ID, f.staging.Chunks[:len(f.staging.Chunks):len(f.staging.Chunks)]
	}
	return s, nil
}

// SetSnapshotWriteFormat makes the next snapshots use format 1 or 2 (0:
// the current one). A rolling upgrade's version gate keeps format 1 while
// a member cannot read format 2, so a lagging old follower can still
// install the leader's snapshot. Format 1 cannot hold a state from which
// retention removed incidents; such a state is written in format 2.
func (f *FSM) SetSnapshotWriteFormat(v int) error {
	if v != 0 && v != snapshotFormat1 && v != snapshotFormat {
		return fmt.Errorf("snapshot format %d: this binary writes %d or %d", v, snapshotFormat1, snapshotFormat)
	}
	f.snapStats.writeFormat.Store(int32(v))
	return nil
}

// SetSnapshotFormatGate makes each snapshot ask gate which format to write
// (Node.Open: format 1 while a member of the previous release cannot read
// format 2). Set before Raft starts; SetSnapshotWriteFormat overrides it.
func (f *FSM) SetSnapshotFormatGate(gate func() int) { f.snapStats.gate = gate }

// format is the format this snapshot is written in: the override, else
// the gate's, else the current; format 1 only for a state it can hold.
func (s *fsmSnapshot) format() int {
	v := int(s.stats.writeFormat.Load())
	if v == 0 && s.stats.gate != nil {
		v = s.stats.gate()
	}
	if v == snapshotFormat1 && s.dense {
		return v
	}
	return snapshotFormat
}

type fsmSnapshot struct {
	header    snapshotHeader
	stagingID string
	staged    [][]byte
	state     *incident.Frozen
	stats     *snapshotStats
	dense     bool // no incident removed: format 1 can hold the state
}

// Persist streams the snapshot to the sink record by record.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now() // metrics only; the state never sees it
	cw := &countingWriter{w: sink}
	if err := s.write(cw); err != nil {
		return errors.Join(fmt.Errorf("write snapshot: %w", err), sink.Cancel())
	}
	s.stats.record(cw.n, time.Since(start), time.Now())
	return sink.Close()
}

func (s *fsmSnapshot) write(w io.Writer) error {
	// The format is chosen here, outside the FSM lock: the gate reads the
	// membership, which takes that lock.
	s.header.Format = s.format()
	staged := s.staged
	if s.stagingID != "" && s.header.Format == snapshotFormat1 {
		s.header.Staging, staged = &restoreStaging{ID: s.stagingID, Chunks: s.staged}, nil
	} else if s.stagingID != "" {
		s.header.StagingID, s.header.StagingChunks = s.stagingID, len(s.staged)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(s.header); err != nil {
		return err
	}
	for _, c := range staged {
		if err := enc.Encode(stagedChunkRecord{Chunk: c}); err != nil {
			return err
		}
	}
	encode := s.state.Encode
	if s.header.Format == snapshotFormat1 {
		encode = s.state.EncodeFormat1
	}
	if err := encode(bw); err != nil {
		return err
	}
	return bw.Flush()
}

func (s *fsmSnapshot) Release() {}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	h, st, ac, ls, err := decodeSnapshot(rc)
	if err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	f.mu.Lock()
	f.learning = ls
	f.incidents, f.lastNow = st, h.LastNow
	f.keyring = reply.Keyring{Keys: h.Keyring}
	f.restoreLoginLinks(h.LoginLinks)
	f.staging = h.Staging
	f.setOverrides(h.Overrides)
	f.events = h.EventCursors
	f.maint = maintState{}
	if h.Maintenance != nil {
		f.maint = *h.Maintenance
	}
	f.restoreSubscribers(h.Subscribers)
	f.setContinuity(h.Continuity)
	f.setReviews(h.Reviews)
	f.nodes = h.Nodes
	f.nodesGen.Add(1)
	if f.nodes == nil {
		f.nodes = map[string]NodeMeta{}
	}
	f.config.Store(ac)
	// Never backwards: an operator's restore of an older backup replaces the
	// state at a new, higher log position, so the index already reached stays.
	if h.AppliedIndex > f.appliedIndex.Load() {
		f.appliedIndex.Store(h.AppliedIndex)
	}
	f.mu.Unlock()
	f.notify(Change{All: true})
	return nil
}

// readSnapshot decodes a snapshot of the current or the previous format,
// one record at a time.
func readSnapshot(r io.Reader) (*snapshotHeader, *incident.State, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return nil, nil, fmt.Errorf("decode snapshot header: %w", err)
	}
	if err := h.checkEntries(); err != nil {
		return nil, nil, fmt.Errorf("decode snapshot header: %w", err)
	}
	switch h.Format {
	case snapshotFormat1:
		st, err := incident.ReadSnapshotFormat1(io.MultiReader(dec.Buffered(), br))
		if err != nil {
			return nil, nil, err
		}
		return &h, st, nil
	case snapshotFormat:
		if h.Staging != nil {
			return nil, nil, errors.New("decode snapshot header: restore_staging belongs to format 1")
		}
		if err := readStaged(dec, &h); err != nil {
			return nil, nil, err
		}
		st, err := incident.DecodeStream(dec)
		if err != nil {
			return nil, nil, err
		}
		return &h, st, nil
	}
	return nil, nil, fmt.Errorf("snapshot format %d is not one this binary reads (%d or %d); upgrade pagerd: %w",
		h.Format, snapshotFormat1, snapshotFormat, errUnknownCommand)
}

// checkEntries refuses null entries in the header's maps of pointers. The
// state keeps each entry as a pointer and reads it without a check (the
// next snapshot copies every heartbeat state, a Raft restore rebuilds the
// subscriber lists, fan-outs are pruned by age), so a hand-edited snapshot
// with one restored fine and then crashed every node.
func (h *snapshotHeader) checkEntries() error {
	if h.Continuity != nil {
		for id, st := range h.Continuity.Heartbeats {
			if st == nil {
				return fmt.Errorf("continuity: heartbeat %q: null", id)
			}
		}
	}
	if h.Subscribers != nil {
		for page, byEmail := range h.Subscribers.Pages {
			for email, sub := range byEmail {
				if sub == nil {
					return fmt.Errorf("status_subscribers: page %q: %q: null", page, email)
				}
			}
		}
		for key, fo := range h.Subscribers.Fanouts {
			if fo == nil {
				return fmt.Errorf("status_subscribers: fan-out %q: null", key)
			}
		}
	}
	return nil
}

// readStaged reads the staged restore pieces that follow a format-2 header.
func readStaged(dec *json.Decoder, h *snapshotHeader) error {
	if h.StagingChunks < 0 || h.StagingChunks > 0 && h.StagingID == "" {
		return fmt.Errorf("decode snapshot header: restore staging %q with %d chunks", h.StagingID, h.StagingChunks)
	}
	if h.StagingID == "" {
		return nil
	}
	h.Staging = &restoreStaging{ID: h.StagingID, Chunks: make([][]byte, 0, min(h.StagingChunks, 1024))}
	for i := range h.StagingChunks {
		var c stagedChunkRecord
		if err := dec.Decode(&c); err != nil {
			return fmt.Errorf("decode staged restore chunk %d: %w", i, err)
		}
		h.Staging.Chunks = append(h.Staging.Chunks, c.Chunk)
	}
	return nil
}

// ValidateSnapshot checks that r holds a snapshot this binary can restore:
// every part decodeSnapshot decodes for a restore, its config and learning
// state included.
func ValidateSnapshot(r io.Reader) error {
	_, _, _, _, err := decodeSnapshot(r)
	return err
}

// snapshotFormatForMembers is the version gate for snapshots: format 2 came
// with the purge command, so a member that does not apply purge (the
// previous release, or a member not yet announced) cannot read it, and this
// node, which may become leader and send it one, writes format 1 meanwhile.
func (n *Node) snapshotFormatForMembers() int {
	if n.raft == nil {
		return snapshotFormat
	}
	if v, _ := n.writableVersion(TypePurge); v < 1 {
		return snapshotFormat1
	}
	return snapshotFormat
}

package cluster

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// ConfigCommand replaces the active config. The leader captures the values of
// the environment variables the sources reference, so every replica expands
// `${NAME}` to the same value whatever its own environment holds.
type ConfigCommand struct {
	Sources []config.Source   `json:"sources"`
	Env     map[string]string `json:"env"`
}

// ActiveConfig is the committed config with its provenance.
type ActiveConfig struct {
	Version   string            `json:"version"`
	AppliedAt time.Time         `json:"applied_at"`
	Sources   []config.Source   `json:"sources"`
	Env       map[string]string `json:"env"`
	Config    *config.Config    `json:"-"`
}

// NodeMeta is what the cluster knows of a member beyond its Raft address.
type NodeMeta struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	// Version is the member's binary version (pagerd version), and Commands
	// the newest version of each command type it applies, by type name: the
	// leader's version gate reads them (gate.go). Both are empty for a member
	// that runs a release from before the registry, which applies version 1
	// of the types it knows (legacyCommands). Older binaries drop these
	// fields when they apply this entry; members announce them again to
	// every new leader, so a view that lost them is refilled.
	Version  string           `json:"version,omitempty"`
	Commands map[string]uint8 `json:"commands,omitempty"`
}

// Equal reports whether two member records are the same.
func (m NodeMeta) Equal(o NodeMeta) bool {
	if m.ID != o.ID || m.RaftAddr != o.RaftAddr || m.HTTPAddr != o.HTTPAddr || m.Version != o.Version ||
		len(m.Commands) != len(o.Commands) {
		return false
	}
	for k, v := range m.Commands {
		if w, ok := o.Commands[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Result is the outcome of one command, handed back to its submitter.
type Result struct {
	Value any
	Err   error
}

// FSM is pagerd's replicated state machine: incidents, the active config and
// member metadata. Apply is deterministic; readers use the Read* methods.
type FSM struct {
	mu        sync.RWMutex
	incidents *incident.State
	nodes     map[string]NodeMeta
	lastNow   time.Time
	keyring   reply.Keyring
	// loginLinks are the unused, unexpired console sign-in links by id.
	loginLinks map[string]LoginLink
	// staging holds the pieces of a restore in progress (restore.go).
	staging *restoreStaging
	// overrides are the runtime schedule overrides (overrides.go);
	// overrideGen counts their changes for the compiled-schedule cache.
	overrides   overrideState
	overrideGen atomic.Uint64
	sched       schedCache
	// events are the event stream cursors (eventcursor.go).
	events eventCursors
	// maint are the ad hoc maintenance windows (maintenance.go).
	maint maintState
	// subs are status page subscribers and fan-outs (subscribers.go).
	subs subState

	// watchers are told which incidents each applied entry touched. They
	// run on Raft's apply goroutine after the lock is released, so they must
	// only record and signal.
	watchMu  sync.Mutex
	watchers map[int]func(Change)
	watchSeq int

	config       atomic.Pointer[ActiveConfig]
	appliedIndex atomic.Uint64
	// fatal stops the process on a log entry this binary cannot apply.
	fatal func(error)
}

// NewFSM returns an empty state machine. fatal is called (and must not return
// normally to Raft) when the log holds a command this binary does not know.
func NewFSM(fatal func(error)) *FSM {
	return &FSM{incidents: incident.NewState(), nodes: map[string]NodeMeta{}, fatal: fatal}
}

// Apply implements raft.FSM. It returns []Result, one per command of the
// batch. The whole entry is decoded first: an entry this binary cannot
// decode stops the node before any of its commands is applied.
func (f *FSM) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	b, err := decodeBatch(l.Data)
	if err != nil {
		f.fatal(fmt.Errorf("apply log index %d: %w", l.Index, err))
		return []Result{{Err: err}}
	}
	results := make([]Result, len(b.Commands))
	var ch Change
	f.mu.Lock()
	if b.Now.After(f.lastNow) {
		f.lastNow = b.Now
	}
	for i := range b.Commands {
		c := &b.Commands[i]
		results[i] = lookup(c.Type).apply(f, b.Now, c.Version, b.bodies[i])
		ch.note(c.Type, results[i])
	}
	f.mu.Unlock()
	f.appliedIndex.Store(l.Index)
	f.notify(ch)
	return results
}

// applyConfig parses the sources with the captured environment. Parsing is
// pure, so every replica accepts or rejects a config alike; the leader
// validated it before committing, so a rejection here means nothing changes.
func (f *FSM) applyConfig(now time.Time, body []byte) Result {
	var cc ConfigCommand
	if err := json.Unmarshal(body, &cc); err != nil {
		return Result{Err: fmt.Errorf("decode config command: %w", err)}
	}
	cfg, err := config.Parse(cc.Sources, config.LookupMap(cc.Env))
	if err != nil {
		return Result{Err: err}
	}
	ac := &ActiveConfig{Version: config.Version(cc.Sources, cc.Env), AppliedAt: now,
		Sources: cc.Sources, Env: cc.Env, Config: cfg}
	f.config.Store(ac)
	return Result{Value: ac}
}

// KeyringCommand replaces the reply-token keyring. The leader generates the
// secrets (replicas never read a random source) and keeps retired keys
// until their NotAfter so tokens already mailed stay valid.
type KeyringCommand struct {
	Keys []reply.Key `json:"keys"`
}

// Keyring is the reply-token keyring (empty until the first leader made one).
func (f *FSM) Keyring() reply.Keyring {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return reply.Keyring{Keys: append([]reply.Key(nil), f.keyring.Keys...)}
}

// Config is the active config, or nil before one is committed.
func (f *FSM) Config() *ActiveConfig { return f.config.Load() }

// AppliedIndex is the index of the last applied log entry.
func (f *FSM) AppliedIndex() uint64 { return f.appliedIndex.Load() }

// LastNow is the latest leader time applied; a new leader never stamps earlier.
func (f *FSM) LastNow() time.Time {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.lastNow
}

// ReadIncidents runs fn with the incident state under the read lock. fn must
// not keep references into the state.
func (f *FSM) ReadIncidents(fn func(*incident.State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.incidents)
}

// Nodes returns the member metadata.
func (f *FSM) Nodes() map[string]NodeMeta {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[string]NodeMeta, len(f.nodes))
	for k, v := range f.nodes {
		out[k] = v
	}
	return out
}

// Node returns the record of member id.
func (f *FSM) Node(id string) (NodeMeta, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	m, ok := f.nodes[id]
	return m, ok
}

// snapshotHeader is the first line of a snapshot; the incident state follows.
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
	// Staging is an operator's restore in progress: its pieces are
	// replicated state, so a node installing this snapshot mid-restore can
	// still apply the restore's commit like every other node.
	Staging *restoreStaging `json:"restore_staging,omitempty"`
	// Overrides are the runtime schedule overrides (overrides.go).
	Overrides *overrideState `json:"schedule_overrides,omitempty"`
	// EventCursors are the event stream cursors (eventcursor.go).
	EventCursors eventCursors `json:"event_cursors,omitempty"`
	// Maintenance are the ad hoc maintenance windows (maintenance.go).
	Maintenance *maintState `json:"maintenance,omitempty"`
	// Subscribers are status page subscribers and fan-outs (subscribers.go).
	Subscribers *subState `json:"status_subscribers,omitempty"`
}

const snapshotFormat = 1

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
	h := snapshotHeader{Format: snapshotFormat, LastNow: f.lastNow, Config: f.config.Load(), Nodes: nodes,
		AppliedIndex: f.appliedIndex.Load(), Keyring: append([]reply.Key(nil), f.keyring.Keys...),
		Overrides: f.snapshotOverrides(), EventCursors: f.snapshotEventCursors(),
		Maintenance: f.snapshotMaintenance(), LoginLinks: f.sortedLoginLinks(), Subscribers: f.snapshotSubscribers()}
	if f.staging != nil { // pieces already staged never change; later ones are appended past len
		h.Staging = &restoreStaging{ID: f.staging.ID, Chunks: f.staging.Chunks[:len(f.staging.Chunks):len(f.staging.Chunks)]}
	}
	return &fsmSnapshot{header: h, state: f.incidents.Freeze()}, nil
}

// Restore implements raft.FSM.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	h, st, err := readSnapshot(rc)
	if err != nil {
		return err
	}
	var ac *ActiveConfig
	if h.Config != nil {
		cfg, err := config.Parse(h.Config.Sources, config.LookupMap(h.Config.Env))
		if err != nil {
			return fmt.Errorf("restore snapshot: config %s: %w", h.Config.Version, err)
		}
		ac = h.Config
		ac.Config = cfg
	}
	f.mu.Lock()
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
	f.nodes = h.Nodes
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

func readSnapshot(r io.Reader) (*snapshotHeader, *incident.State, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, nil, fmt.Errorf("read snapshot header: %w", err)
	}
	var h snapshotHeader
	if err := json.Unmarshal(line, &h); err != nil {
		return nil, nil, fmt.Errorf("decode snapshot header: %w", err)
	}
	if h.Format != snapshotFormat {
		return nil, nil, fmt.Errorf("snapshot format %d is not %d: %w", h.Format, snapshotFormat, errUnknownCommand)
	}
	st, err := incident.ReadSnapshot(br)
	if err != nil {
		return nil, nil, err
	}
	return &h, st, nil
}

// ValidateSnapshot checks that r holds a snapshot this binary can restore,
// its config included.
func ValidateSnapshot(r io.Reader) error {
	h, _, err := readSnapshot(r)
	if err != nil || h.Config == nil {
		return err
	}
	if _, err := config.Parse(h.Config.Sources, config.LookupMap(h.Config.Env)); err != nil {
		return fmt.Errorf("snapshot config %s: %w", h.Config.Version, err)
	}
	return nil
}

type fsmSnapshot struct {
	header snapshotHeader
	state  *incident.Frozen
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriterSize(sink, 1<<20)
	err := json.NewEncoder(w).Encode(s.header)
	if err == nil {
		err = s.state.Encode(w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return errors.Join(fmt.Errorf("write snapshot: %w", err), sink.Cancel())
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

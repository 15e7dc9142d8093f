package cluster

import (
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
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
	// nodesGen counts changes of nodes, for the version gate's cache.
	nodesGen atomic.Uint64
	sched    schedCache
	// events are the event stream cursors (eventcursor.go).
	events eventCursors
	// learning holds postmortems, follow-ups and reminders (learning.go).
	learning *learning.State
	// maint are the ad hoc maintenance windows (maintenance.go).
	maint maintState
	// subs are status page subscribers and fan-outs (subscribers.go).
	subs subState
	// snapStats is what the last snapshot cost (statemetrics.go).
	snapStats snapshotStats
	// cont is the heartbeat and drill state (continuity.go).
	cont continuityState
	// reviews are the plan reviews and first-seen times (reviews.go).
	reviews reviewState

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
	return &FSM{incidents: incident.NewState(), nodes: map[string]NodeMeta{}, learning: learning.NewState(), fatal: fatal}
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
	// Most commands touch an incident: one allocation for the entry's ids
	// instead of growing through 1, 2, 4… for a storm's 64 triggers.
	ch := Change{Incidents: make([]uint64, 0, len(b.Commands))}
	f.mu.Lock()
	if b.Now.After(f.lastNow) {
		f.lastNow = b.Now
	}
	for i := range b.Commands {
		c := &b.Commands[i]
		results[i] = lookup(c.Type).apply(f, b.Now, c.Version, b.bodies[i])
		f.afterCommand(b.Now, results[i])
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
	cfg, err := config.ParseReplicated(cc.Sources, config.LookupMap(cc.Env))
	if err != nil {
		return Result{Err: err}
	}
	ac := &ActiveConfig{Version: config.Version(cc.Sources, cc.Env), AppliedAt: now,
		Sources: cc.Sources, Env: cc.Env, Config: cfg}
	f.config.Store(ac)
	f.noteServicesSeen(now, cfg)
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

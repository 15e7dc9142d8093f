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
	// snapStats is what the last snapshot cost (statemetrics.go).
	snapStats snapshotStats

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

// Apply implements raft.FSM. It returns []Result, one per command of the batch.
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
		results[i] = f.applyCommand(b.Now, &b.Commands[i])
		ch.note(b.Commands[i].Type, results[i])
	}
	f.mu.Unlock()
	f.appliedIndex.Store(l.Index)
	f.notify(ch)
	return results
}

func (f *FSM) applyCommand(now time.Time, c *command) Result {
	switch c.Type {
	case TypeAlertGroup:
		var g incident.AlertGroup
		if err := json.Unmarshal(c.Body, &g); err != nil {
			return Result{Err: fmt.Errorf("decode alert group: %w", err)}
		}
		return Result{Value: f.incidents.ApplyAlertGroup(now, &g)}
	case TypeEvent:
		var e incident.Event
		if err := json.Unmarshal(c.Body, &e); err != nil {
			return Result{Err: fmt.Errorf("decode event: %w", err)}
		}
		e.LogVersion = c.Version
		return Result{Value: f.incidents.ApplyEvent(now, &e)}
	case TypeAction:
		var a incident.Action
		if err := json.Unmarshal(c.Body, &a); err != nil {
			return Result{Err: fmt.Errorf("decode action: %w", err)}
		}
		a.LogVersion = c.Version
		inc, err := f.incidents.ApplyAction(now, &a)
		return Result{Value: inc, Err: err}
	case TypeStepStart:
		var st incident.StepStart
		if err := json.Unmarshal(c.Body, &st); err != nil {
			return Result{Err: fmt.Errorf("decode step start: %w", err)}
		}
		st.LogVersion = c.Version
		inc, err := f.incidents.ApplyStepStart(now, &st)
		return Result{Value: inc, Err: err}
	case TypeDelivery:
		var d incident.Delivery
		if err := json.Unmarshal(c.Body, &d); err != nil {
			return Result{Err: fmt.Errorf("decode delivery: %w", err)}
		}
		return Result{Value: deliveryApplied{n: f.incidents.ApplyDelivery(now, &d), d: &d}}
	case TypeSeverity:
		var sc incident.SeverityChange
		if err := json.Unmarshal(c.Body, &sc); err != nil {
			return Result{Err: fmt.Errorf("decode severity change: %w", err)}
		}
		inc, err := f.incidents.ApplySeverityChange(now, &sc)
		return Result{Value: inc, Err: err}
	case TypeRole:
		var rc incident.RoleChange
		if err := json.Unmarshal(c.Body, &rc); err != nil {
			return Result{Err: fmt.Errorf("decode role change: %w", err)}
		}
		inc, err := f.incidents.ApplyRoleChange(now, &rc)
		return Result{Value: inc, Err: err}
	case TypeRoleNotify:
		var rn incident.RoleNotify
		if err := json.Unmarshal(c.Body, &rn); err != nil {
			return Result{Err: fmt.Errorf("decode role notify: %w", err)}
		}
		inc, err := f.incidents.ApplyRoleNotify(now, &rn)
		return Result{Value: inc, Err: err}
	case TypeSMSOptOut:
		var o incident.SMSOptOut
		if err := json.Unmarshal(c.Body, &o); err != nil {
			return Result{Err: fmt.Errorf("decode sms opt-out: %w", err)}
		}
		return Result{Value: f.incidents.ApplySMSOptOut(now, &o)}
	case TypeKeyring:
		var k KeyringCommand
		if err := json.Unmarshal(c.Body, &k); err != nil {
			return Result{Err: fmt.Errorf("decode keyring: %w", err)}
		}
		kr := reply.Keyring{Keys: k.Keys}
		if err := kr.Validate(); err != nil {
			return Result{Err: fmt.Errorf("keyring: %w", err)}
		}
		f.keyring = kr
		return Result{Value: len(kr.Keys)}
	case TypeConfig:
		return f.applyConfig(now, c.Body)
	case TypeLoginLink:
		return f.applyLoginLink(now, c.Body)
	case TypeLoginUse:
		return f.applyLoginUse(now, c.Body)
	case TypeRestoreChunk:
		return f.applyRestoreChunk(c.Body)
	case TypeRestoreCommit:
		return f.applyRestoreCommit(c.Body)
	case TypeRestoreAbort:
		return f.applyRestoreAbort(c.Body)
	case TypeOverride:
		return f.applyOverride(now, c.Body)
	case TypeEventProgress:
		return f.applyEventProgress(now, c.Body)
	case TypePurge:
		return f.applyPurge(c.Body)
	case TypeNodeMeta, TypeNodeRemove:
		var m NodeMeta
		if err := json.Unmarshal(c.Body, &m); err != nil {
			return Result{Err: fmt.Errorf("decode node meta: %w", err)}
		}
		if c.Type == TypeNodeRemove {
			delete(f.nodes, m.ID)
		} else {
			f.nodes[m.ID] = m
		}
		return Result{Value: m}
	}
	return Result{Err: fmt.Errorf("%w: type %d", errUnknownCommand, c.Type)}
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

// Package cluster replicates pagerd's state with Raft: typed commands, the
// deterministic FSM, group commit, snapshots, membership, and forwarding of
// writes from any node to the leader.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

// Options configure a node.
type Options struct {
	NodeID   string
	DataDir  string
	RaftAddr string // bind and advertise address of the Raft transport
	HTTPAddr string // advertised to peers for forwarding
	// Join lists HTTP URLs of existing members. Ignored when the data dir
	// already holds cluster state.
	Join []string
	// TLS, when set, carries Raft over mutual TLS and signs node-to-node
	// HTTP requests with the node's certificate (transport_tls.go).
	TLS *TLSFiles
	// ClusterSecrets authenticate node-to-node HTTP requests without TLS:
	// the first signs, any verifies (nodeauth.go).
	ClusterSecrets []string
	// SeedConfig returns the config the first leader commits when the cluster
	// has none yet.
	SeedConfig func() (*ConfigCommand, error)

	Logger   *slog.Logger
	Registry prometheus.Registerer
	Clock    func() time.Time // leader clock; time.Now when nil

	// Raft tuning; zero means the package default.
	HeartbeatTimeout  time.Duration
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// RaftLogLevel is the level of the Raft library's own log (trace, debug,
	// info, warn, error); warn when empty.
	RaftLogLevel string

	// Version is this binary's version, shown by GET /v1/cluster.
	Version string

	// FirstSteps, when set, plans escalation step 0 into the ingest
	// commands that may open an incident (firststep.go; the daemon passes
	// escalation.NewFirstStepPlanner()). Without it the engine plans every
	// step, one commit later.
	FirstSteps FirstStepPlanner

	// LogStore is the Raft log store (--raft-log-store): LogStoreWAL,
	// LogStoreBolt, or "" for the WAL unless the data dir already holds a
	// bbolt log (logstore.go).
	LogStore string

	// Fatal is called when the log holds a command this binary cannot apply.
	// Default: log and exit(70), because continuing would diverge.
	Fatal func(error)
}

// Node is one running cluster member.
type Node struct {
	opts      Options
	log       *slog.Logger
	raft      *raft.Raft
	fsm       *FSM
	store     logStore
	dirLock   *os.File // held while serving (datadirlock_unix.go)
	snaps     *raft.FileSnapshotStore
	transport *raft.NetworkTransport
	commits   *commitWatch    // the transport as Raft uses it (catchup.go)
	tls       *tlsSource      // nil without --raft-tls-*
	raftLayer *tlsStreamLayer // the TLS stream layer and its HTTP tunnel; nil without TLS
	tunnelMu  sync.Mutex
	tunnelSrv *http.Server
	batcher   *batcher
	forwarder *forwarder // proxy and ingest channel to the leader (forward.go, ingestfwd.go)

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
	leaderDone   chan struct{}
	// leaderTerm is the running term's routines once established, so a
	// task registered mid-term (OnLeader after Open) starts at once.
	leaderTerm  *leaderTerm
	leaderTasks []LeaderTask

	caughtUp      atomic.Bool
	catchUpTarget atomic.Uint64

	// gate caches the version gate per configuration (gatecache.go).
	gate gateCache
	// restoreMu serialises restores on this leader (restore.go).
	restoreMu sync.Mutex

	stop   context.CancelFunc
	done   sync.WaitGroup
	closed sync.Once
}

// LeaderTask runs while this node is the leader; ctx ends when it stops being.
type LeaderTask func(ctx context.Context)

// Open starts a node: it opens the data dir, starts Raft, and bootstraps or
// joins when the data dir holds no cluster state yet.
func Open(opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Fatal == nil {
		opts.Fatal = func(err error) {
			opts.Logger.Error("cannot apply replicated log; stopping to avoid diverging from the cluster", "err", err)
			os.Exit(70)
		}
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	n := &Node{opts: opts, log: opts.Logger.With("node", opts.NodeID), fsm: NewFSM(opts.Fatal)}
	n.fsm.SetSnapshotFormatGate(n.snapshotFormatForMembers)
	if opts.TLS != nil {
		src, err := newTLSSource(*opts.TLS, func(err error) { n.log.Error("raft TLS", "err", err) })
		if err != nil {
			return nil, err
		}
		n.tls = src
		if opts.Registry != nil {
			opts.Registry.MustRegister(src.refused)
		}
	}
	// The forwarder's HTTP client exists before Raft starts: startRaft may
	// launch joinLoop, which posts the join request with it right away.
	n.forwarder = newForwarder(n)
	if err := n.startRaft(); err != nil {
		n.forwarder.ingest.close()
		n.closeStores()
		return nil, err
	}
	n.batcher = newBatcher(n.raft, n.fsm, opts.Clock, opts.NodeID, opts.Registry)
	if opts.Registry != nil {
		opts.Registry.MustRegister(&raftCollector{n: n}, &stateCollector{f: n.fsm}, &continuityCollector{n: n})
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = cancel
	n.done.Add(3)
	go n.watchLeadership(ctx)
	go n.announceLoop(ctx)
	go n.watchCatchUp(ctx)
	return n, nil
}

// logCacheEntries is the size of the in-memory cache of the newest Raft
// log entries (raft.NewLogCache): a few batches' worth at storm rates.
const logCacheEntries = 512

func (n *Node) startRaft() error {
	var err error
	if n.dirLock, err = lockDataDir(n.opts.DataDir); err != nil {
		return err
	}
	var kind string
	n.store, kind, err = openLogStore(n.opts.DataDir, n.opts.LogStore, n.log)
	if err != nil {
		return err
	}
	n.log.Info("raft log store", "kind", kind)
	level := hclog.Warn
	if n.opts.RaftLogLevel != "" {
		if level = hclog.LevelFromString(n.opts.RaftLogLevel); level == hclog.NoLevel {
			return fmt.Errorf("raft log level %q: want trace, debug, info, warn or error", n.opts.RaftLogLevel)
		}
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: level, Output: os.Stderr})
	n.snaps, err = raft.NewFileSnapshotStoreWithLogger(n.opts.DataDir, 2, hlog)
	if err != nil {
		return fmt.Errorf("open snapshot store: %w", err)
	}
	n.transport, n.raftLayer, err = newRaftTransport(n.opts.RaftAddr, n.tls, hlog, n.log)
	if err != nil {
		return fmt.Errorf("raft transport on %s: %w", n.opts.RaftAddr, err)
	}
	rc := n.raftConfig(hlog)
	hasState, err := raft.HasExistingState(n.store, n.store, n.snaps)
	if err != nil {
		return fmt.Errorf("inspect data dir: %w", err)
	}
	if !hasState && len(n.opts.Join) > 0 && !n.HasNodeCredential() {
		// A joiner must prove it is a member before it holds any state.
		return fmt.Errorf("--join: %w", errNoCredential)
	}
	n.commits = newCommitWatch(n.transport)
	// hashicorp/raft reads the previous entry back on every AppendEntries
	// (for its term) and the leader reads each new entry again to ship it:
	// without a cache every one of those is a read of the store. The
	// cache holds the newest logCacheEntries entries in memory.
	logs, err := raft.NewLogCache(logCacheEntries, n.store)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, logs, n.store, n.snaps, n.commits)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	n.gate.observeConfig(n.raft)
	switch {
	case hasState:
		n.log.Info("restarting from existing cluster state", "data_dir", n.opts.DataDir)
	case len(n.opts.Join) == 0:
		n.log.Info("bootstrapping a new cluster", "raft_addr", n.opts.RaftAddr)
		f := n.raft.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{
			ID: raft.ServerID(n.opts.NodeID), Address: n.transport.LocalAddr(), Suffrage: raft.Voter,
		}}})
		if err := f.Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
			return fmt.Errorf("bootstrap: %w", err)
		}
	default:
		go n.joinLoop()
	}
	return nil
}

// defaultHeartbeatTimeout is Raft's heartbeat and election timeout unless
// --raft-heartbeat-timeout says otherwise.
const defaultHeartbeatTimeout = 2 * time.Second

// storeLockTimeout bounds the wait for the data dir's file lock.
const storeLockTimeout = 2 * time.Second

func (n *Node) raftConfig(hlog hclog.Logger) *raft.Config {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(n.opts.NodeID)
	rc.Logger = hlog
	// 2 s: measured on a loaded 2-core host (load 16-29, docs/operations.md),
	// 500 ms and 1 s both saw 7 needless elections in 40 s, 2 s none in two
	// runs. Failover then takes about 2-4 s. The lease must stay below the
	// heartbeat timeout.
	rc.HeartbeatTimeout = orDuration(n.opts.HeartbeatTimeout, defaultHeartbeatTimeout)
	rc.ElectionTimeout = rc.HeartbeatTimeout
	rc.LeaderLeaseTimeout = rc.HeartbeatTimeout / 2
	rc.CommitTimeout = 5 * time.Millisecond
	rc.MaxAppendEntries = 256
	rc.BatchApplyCh = true
	if n.opts.SnapshotThreshold > 0 {
		rc.SnapshotThreshold = n.opts.SnapshotThreshold
	}
	if n.opts.SnapshotInterval > 0 {
		rc.SnapshotInterval = n.opts.SnapshotInterval
	}
	if n.opts.TrailingLogs > 0 {
		rc.TrailingLogs = n.opts.TrailingLogs
	}
	return rc
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// FSM is the node's state machine, for reads.
func (n *Node) FSM() *FSM { return n.fsm }

// ID is this node's id.
func (n *Node) ID() string { return n.opts.NodeID }

// IsLeader reports whether this node is the Raft leader now.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// Leader returns the current leader's id, or "" when none is known.
func (n *Node) Leader() string {
	_, id := n.raft.LeaderWithID()
	return string(id)
}

// Ready reports whether the node knows a leader, has a committed config and
// has caught up with what the cluster had committed when it started.
func (n *Node) Ready() bool { return n.NotReady() == "" }

// NotReady says why the node is not ready, or "" when it is.
func (n *Node) NotReady() string {
	switch {
	case n.Leader() == "":
		return "no known leader"
	case !n.CaughtUp():
		applied, target := n.CatchUp()
		if target == 0 {
			return "catching up with the cluster: waiting to hear the leader's commit index"
		}
		return fmt.Sprintf("catching up with the cluster: applied %d of %d", applied, target)
	case n.fsm.Config() == nil:
		return "no committed config applied yet"
	}
	return ""
}

// OnLeader registers a task to run whenever this node is the leader. Register
// before leadership can be gained (right after Open).
func (n *Node) OnLeader(t LeaderTask) {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	n.leaderTasks = append(n.leaderTasks, t)
	if n.leaderTerm != nil {
		n.leaderTerm.start(t)
	}
}

// leaderTerm runs the leader routines of one term.
type leaderTerm struct {
	ctx context.Context
	wg  sync.WaitGroup
}

func (lt *leaderTerm) start(t LeaderTask) {
	lt.wg.Add(1)
	go func() { defer lt.wg.Done(); t(lt.ctx) }()
}

// watchLeadership starts the leader-only routines on gaining leadership and
// stops them, waiting until they have returned, on losing it.
func (n *Node) watchLeadership(ctx context.Context) {
	defer n.done.Done()
	ch := n.raft.LeaderCh()
	for {
		select {
		case <-ctx.Done():
			n.stopLeaderTasks()
			return
		case isLeader := <-ch:
			if isLeader {
				n.startLeaderTasks()
			} else {
				n.stopLeaderTasks()
			}
		}
	}
}

func (n *Node) startLeaderTasks() {
	n.stopLeaderTasks()
	n.log.Info("gained leadership; starting leader routines")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	n.leaderMu.Lock()
	n.leaderCancel, n.leaderDone = cancel, done
	n.leaderMu.Unlock()
	go func() {
		defer close(done)
		// Leader routines act on replicated state, so they start only once
		// this leader has applied everything committed before its term.
		if !n.establish(ctx) {
			return
		}
		lt := &leaderTerm{ctx: ctx}
		n.leaderMu.Lock()
		if ctx.Err() == nil {
			n.leaderTerm = lt
			for _, t := range n.leaderTasks {
				lt.start(t)
			}
		}
		n.leaderMu.Unlock()
		<-ctx.Done()
		lt.wg.Wait()
	}()
}

func (n *Node) stopLeaderTasks() {
	n.leaderMu.Lock()
	cancel, done := n.leaderCancel, n.leaderDone
	n.leaderCancel, n.leaderDone, n.leaderTerm = nil, nil, nil
	n.leaderMu.Unlock()
	if cancel == nil {
		return
	}
	n.log.Info("lost leadership; stopping leader routines")
	cancel()
	<-done
}

// establish runs on a new leader: it waits until the log is applied up to its
// term (Barrier), then records its own address and seeds the config if the
// cluster has none.
func (n *Node) establish(ctx context.Context) bool {
	for {
		err := n.raft.Barrier(10 * time.Second).Error()
		if err == nil {
			break
		}
		n.log.Warn("leader barrier failed", "err", err)
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || ctx.Err() != nil {
			return false
		}
	}
	n.dropAbandonedRestore(ctx)
	n.ensureKeyring(ctx)
	self := n.self()
	if rec, ok := n.fsm.Node(self.ID); !ok || !rec.Equal(self) {
		if _, err := n.Submit(ctx, TypeNodeMeta, self); err != nil {
			n.log.Warn("record own address", "err", err)
		}
	}
	if n.fsm.Config() == nil && n.opts.SeedConfig != nil {
		cc, err := n.opts.SeedConfig()
		if err != nil {
			n.log.Error("seed config", "err", err)
			return true
		}
		if _, err := n.Submit(ctx, TypeConfig, cc); err != nil {
			n.log.Error("commit seed config", "err", err)
			return true
		}
		n.log.Info("committed initial config")
	}
	return true
}

// Submit commits one command through the group-commit batcher and returns the
// value its apply produced. Only the leader accepts; elsewhere the error is
// Unavailable (HTTP handlers forward to the leader before calling this).
func (n *Node) Submit(ctx context.Context, t CommandType, body any) (any, error) {
	c, err := n.encodeCommand(t, body)
	if err != nil {
		return nil, err
	}
	return n.batcher.submit(ctx, c)
}

// SubmitAlertGroup implements router.Submitter. The leader stamps its
// paging plan (business hours) into the command.
// On a follower it goes to the leader, which stamps it (ingestfwd.go).
func (n *Node) SubmitAlertGroup(ctx context.Context, g *incident.AlertGroup) (incident.IngestResult, error) {
	if n.forwardsIngest(ctx) {
		return n.forwarder.ingest.alertGroup(ctx, g)
	}
	g.Deferrals = n.pagingPlanFor(g.Service)
	if g.Status == "firing" {
		g.FirstStep = n.firstStepFor(TypeAlertGroup, g.Service, g.GroupKey, g.Policy)
	}
	if g.Status == "resolved" {
		g.Postmortem = n.postmortemSeverities()
	}
	return submitIngest(ctx, n, TypeAlertGroup, g)
}

// SubmitEvent implements router.Submitter, stamping the paging plan.
// On a follower it goes to the leader, which stamps it (ingestfwd.go).
func (n *Node) SubmitEvent(ctx context.Context, e *incident.Event) (incident.IngestResult, error) {
	if n.forwardsIngest(ctx) {
		return n.forwarder.ingest.event(ctx, e)
	}
	if e.Action == incident.ActionTrigger {
		e.Deferrals = n.pagingPlanFor(e.Service)
		e.FirstStep = n.firstStepFor(TypeEvent, e.Service, e.DedupKey, e.Policy)
	}
	if e.Action == incident.ActionResolve {
		e.Postmortem = n.postmortemSeverities()
	}
	return submitIngest(ctx, n, TypeEvent, e)
}

// submitIngest commits an alert group or event. The version gate chooses
// its version: until every member applies the newest, it is written without
// the paging plan (and what else the older version lacks), so older members
// page as they did instead of stopping.
func submitIngest(ctx context.Context, n *Node, t CommandType, body any) (incident.IngestResult, error) {
	v, err := n.Submit(ctx, t, body)
	if err != nil {
		return incident.IngestResult{}, err
	}
	r, _ := v.(incident.IngestResult)
	return r, nil
}

// SubmitAction commits a person's action and returns the incident after it.
// An acknowledgement carries the leader's ack roles (roles.go).
func (n *Node) SubmitAction(ctx context.Context, a *incident.Action) (*incident.Incident, error) {
	if a.Kind == incident.Resolve {
		// The final public update's text (updates.go). Commands without
		// public updates ignore it, and a binary too old to know it cannot
		// have applied an update (type 50 stops it), so no version is needed.
		a.Postmortem = n.postmortemSeverities()
	}
	if a.Kind == incident.Ack && n.isUser(a.By) {
		// Only a person (a configured user, not a token name) takes roles.
		a.AckRoles = n.ackRoles()
	}
	// The version gate writes the roles only once every member applies
	// them (action version ackRolesVersion); before, the ack gives none.
	v, err := n.Submit(ctx, TypeAction, a)
	inc, _ := v.(*incident.Incident) // set with ErrDuplicate too
	return inc, err
}

// ApplyConfig validates sources with this process's environment and commits
// them as the active config.
func (n *Node) ApplyConfig(ctx context.Context, sources []config.Source) (*ActiveConfig, error) {
	cc, err := CaptureConfig(sources, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	v, err := n.Submit(ctx, TypeConfig, cc)
	if err != nil {
		return nil, err
	}
	ac, _ := v.(*ActiveConfig)
	return ac, nil
}

// CaptureConfig validates sources and captures the environment values they
// reference, producing the command every replica can apply alike.
func CaptureConfig(sources []config.Source, lookup func(string) (string, bool)) (*ConfigCommand, error) {
	if _, err := config.Parse(sources, lookup); err != nil {
		return nil, err
	}
	return &ConfigCommand{Sources: sources, Env: config.CaptureEnv(sources, lookup)}, nil
}

// Close shuts the node down gracefully: queued commands get their answers,
// leader routines stop, Raft stops and the stores are closed consistently.
func (n *Node) Close() error {
	var err error
	n.closed.Do(func() {
		n.forwarder.ingest.close()
		n.batcher.close()
		n.stop()
		n.done.Wait()
		err = n.raft.Shutdown().Error()
		n.closeStores()
	})
	return err
}

func (n *Node) closeStores() {
	n.closeTunnel()
	if n.commits != nil {
		n.commits.close()
	}
	if n.transport != nil {
		n.transport.Close()
	}
	if n.store != nil {
		n.store.Close()
	}
	if n.dirLock != nil {
		n.dirLock.Close()
	}
}

// SaveSnapshot writes a snapshot of the current state to w.
func (n *Node) SaveSnapshot(w io.Writer) error {
	if err := n.takeSnapshot(); err != nil {
		return err
	}
	list, err := n.snaps.List()
	if err != nil || len(list) == 0 {
		return fmt.Errorf("list snapshots: %v (found %d)", err, len(list))
	}
	_, rc, err := n.snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("open snapshot: %w", err)
	}
	defer rc.Close()
	if _, err := io.Copy(w, rc); err != nil {
		return fmt.Errorf("copy snapshot: %w", err)
	}
	return nil
}

// takeSnapshot asks Raft for a snapshot of everything applied. Right after a
// membership change Raft refuses until the configuration entry is applied, so
// it first waits for the log to be applied (Barrier) and retries briefly.
func (n *Node) takeSnapshot() error {
	if err := n.raft.Barrier(10 * time.Second).Error(); err != nil {
		return raftError(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := n.raft.Snapshot().Error()
		if err == nil || errors.Is(err, raft.ErrNothingNewToSnapshot) {
			return nil
		}
		if !strings.Contains(err.Error(), "wait until the configuration entry") || time.Now().After(deadline) {
			return fmt.Errorf("take snapshot: %w", err)
		}
		time.Sleep(50 * time.Millisecond) // Raft offers no signal for this; poll briefly
	}
}

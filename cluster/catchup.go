package cluster

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// A node that restarts learns which entries are committed only from the
// leader, and applies them after that: until then its state (its config
// and API tokens among it) is older than the cluster's. So a node is ready,
// and authenticates requests, only once it has applied at least the commit
// index the leader announced when the node first heard from it. Raft caps a
// follower's commit index at its own last log entry, so the leader's own
// figure is read off the AppendEntries requests (commitWatch).

// commitWatch is the Raft transport with one addition: it records the
// highest commit index a leader announced in an AppendEntries request.
type commitWatch struct {
	*raft.NetworkTransport
	out          chan raft.RPC
	stop         chan struct{}
	leaderCommit atomic.Uint64
}

func newCommitWatch(t *raft.NetworkTransport) *commitWatch {
	w := &commitWatch{NetworkTransport: t, out: make(chan raft.RPC), stop: make(chan struct{})}
	go w.relay()
	return w
}

// Consumer implements raft.Transport: Raft reads the relayed RPCs.
func (w *commitWatch) Consumer() <-chan raft.RPC { return w.out }

func (w *commitWatch) relay() {
	in := w.NetworkTransport.Consumer()
	for {
		select {
		case rpc := <-in:
			if ae, ok := rpc.Command.(*raft.AppendEntriesRequest); ok && ae.LeaderCommitIndex > w.leaderCommit.Load() {
				w.leaderCommit.Store(ae.LeaderCommitIndex) // only this goroutine writes
			}
			select {
			case w.out <- rpc:
			case <-w.stop:
				return
			}
		case <-w.stop:
			return
		}
	}
}

func (w *commitWatch) close() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
}

// CaughtUp reports whether this node has applied everything the cluster had
// committed when this node first heard from a leader (or, on a leader, when
// it first led). It stays true afterwards.
func (n *Node) CaughtUp() bool {
	if n.caughtUp.Load() {
		return true
	}
	target := n.catchUpTarget.Load()
	if target == 0 {
		if n.IsLeader() {
			target = n.raft.CommitIndex()
		} else if n.Leader() != "" {
			target = n.commits.leaderCommit.Load()
		}
		if target == 0 {
			return false
		}
		n.catchUpTarget.CompareAndSwap(0, target)
		target = n.catchUpTarget.Load()
	}
	if n.AppliedIndex() < target {
		return false
	}
	if !n.caughtUp.Swap(true) {
		n.log.Info("caught up with the cluster; ready", "commit_index_at_start", target)
	}
	return true
}

// CatchUp is this node's progress towards CaughtUp: its applied index and
// the commit index it must reach (0 while it has not heard from a leader).
func (n *Node) CatchUp() (applied, target uint64) {
	return n.AppliedIndex(), n.catchUpTarget.Load()
}

// watchCatchUp learns the target soon after start (rather than when first
// asked) and logs when the node is caught up. Raft offers no signal for it.
func (n *Node) watchCatchUp(ctx context.Context) {
	defer n.done.Done()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !n.CaughtUp() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// maxAppliedWalk bounds how many log entries AppliedIndex reads.
const maxAppliedWalk = 256

// AppliedIndex is the last log index whose effect this node's state holds.
// The FSM sees only command entries; Raft's own entries after the last
// command (the no-op a new leader writes, membership changes) change
// nothing in it, so they count as applied once Raft has processed them.
func (n *Node) AppliedIndex() uint64 {
	applied := n.fsm.AppliedIndex()
	processed := n.raft.AppliedIndex()
	for i := applied + 1; i <= processed && i <= applied+maxAppliedWalk; i++ {
		var l raft.Log
		// A missing entry was compacted into a snapshot this state holds.
		if err := n.store.GetLog(i, &l); err == nil && l.Type == raft.LogCommand {
			return i - 1
		}
		if i == processed || i == applied+maxAppliedWalk {
			return i
		}
	}
	return applied
}

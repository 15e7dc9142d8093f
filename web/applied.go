package web

import (
	"context"
	"strconv"
	"time"

	"github.com/pagerd/pagerd/cluster"
)

// Read-your-writes. An action commits on the leader, but the redirect that
// follows may be served by a follower that has not applied it yet, and the
// person would see the incident as before their click. The redirect
// carries the leader's applied index (?at=N); a page asked for with it
// waits, briefly, until this node has applied that far.

const maxAppliedWait = 3 * time.Second

// atParam is the index to carry in a redirect after a commit on this node.
func atParam(f *cluster.FSM) string { return "at=" + strconv.FormatUint(f.AppliedIndex(), 10) }

// awaitApplied returns once the FSM has applied index at (or the wait or
// the request ends; the page then shows what this node has).
func awaitApplied(ctx context.Context, f *cluster.FSM, at string) {
	idx, err := strconv.ParseUint(at, 10, 64)
	if err != nil || f.AppliedIndex() >= idx {
		return
	}
	reached := make(chan struct{})
	var once bool
	cancel := f.Watch(func(cluster.Change) {
		if !once && f.AppliedIndex() >= idx {
			once = true
			close(reached)
		}
	})
	defer cancel()
	if f.AppliedIndex() >= idx { // applied between the check and the watch
		return
	}
	t := time.NewTimer(maxAppliedWait)
	defer t.Stop()
	select {
	case <-reached:
	case <-t.C:
	case <-ctx.Done():
	}
}

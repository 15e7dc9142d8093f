package main

import (
	"log/slog"
	"os"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
)

// driftWait bounds how long a starting node waits for its replicated config
// before giving up on comparing it with --config.
const driftWait = 10 * time.Minute

// warnConfigDrift tells the operator when the --config file is not what the
// cluster runs. A node that already holds cluster state (or joins one) keeps
// the replicated config; --config only seeds a new cluster. Without this
// warning an edited file is ignored without a word (issue 11.2).
func warnConfigDrift(node *cluster.Node, sources []config.Source, log *slog.Logger) {
	env := config.CaptureEnv(sources, os.LookupEnv)
	fileVersion := config.Version(sources, env)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(driftWait)
	for !node.Ready() {
		if time.Now().After(deadline) {
			return
		}
		<-tick.C
	}
	ac := node.FSM().Config()
	// Compared by content: the same files under another path (each node
	// has its own, and `serve` may use the embedded example) are no drift.
	if ac == nil || config.Version(unnamed(sources), env) == config.Version(unnamed(ac.Sources), ac.Env) {
		return
	}
	log.Warn("the --config file differs from the cluster's active config; this node runs the active config. "+
		"To run the file, apply it: pagerd config apply PATH",
		"file", sourceNames(sources), "file_version", fileVersion,
		"active_version", ac.Version, "active_applied_at", ac.AppliedAt.UTC().Format(time.RFC3339))
}

func sourceNames(sources []config.Source) []string {
	out := make([]string, len(sources))
	for i, s := range sources {
		out[i] = s.Name
	}
	return out
}

func unnamed(sources []config.Source) []config.Source {
	out := make([]config.Source, len(sources))
	for i, s := range sources {
		out[i] = config.Source{Data: s.Data}
	}
	return out
}

package cluster

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

func openNodeAt(t *testing.T, dir, addr string) *Node {
	t.Helper()
	n, err := Open(Options{NodeID: "t1", DataDir: dir, RaftAddr: addr, HTTPAddr: "127.0.0.1:1", HeartbeatTimeout: testHeartbeat,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		SeedConfig: func() (*ConfigCommand, error) { return configCommand(t), nil },
		Fatal:      func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	awaitCond(t, 10*time.Second, "node ready", n.Ready)
	return n
}

func awaitCond(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A restarted leader writes a no-op entry for its new term, which the FSM
// never sees. The applied index reported counts it: it is the real applied
// index, equal to the last log index once everything is applied.
func TestAppliedIndexCountsNoOpEntries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	n := openNodeAt(t, dir, addr)
	n.Close()
	n = openNodeAt(t, dir, addr)
	defer n.Close()
	awaitCond(t, 10*time.Second, "raft applied everything", func() bool { return n.raft.AppliedIndex() == n.raft.LastIndex() })
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if last := n.raft.LastIndex(); st.AppliedIndex != last || n.FSM().AppliedIndex() >= last {
		t.Fatalf("applied_index %d, last log index %d, FSM's last command %d; want the applied index at the last (no-op) entry",
			st.AppliedIndex, last, n.FSM().AppliedIndex())
	}
}

// testHeartbeat keeps in-process elections quick (the default is 2 s).
const testHeartbeat = 300 * time.Millisecond

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// TestCorruptedCommandBodyStopsTheNode: a committed log entry whose command
// body does not decode strictly (here: a field pagerd does not know, which
// json.Unmarshal would have dropped without a word) stops the real process
// with exit code 70 and a log line naming the entry, instead of being
// recorded as a failed command or applied in part; and it keeps stopping on
// every restart, because nothing of the entry was applied.
func TestCorruptedCommandBodyStopsTheNode(t *testing.T) {
	c := testcluster.Start(t, 1, testcluster.Options{})
	n := c.Nodes[0]
	if code, out := c.Event(n, "trigger", "before-corruption", "fine"); code != 202 {
		t.Fatalf("trigger: %d %s", code, out)
	}
	n.Stop()
	appendCorruptEntry(t, n.DataDir)

	for round := 1; round <= 2; round++ {
		n.Start()
		code, exited := n.WaitExit(60 * time.Second)
		if !exited {
			n.Kill()
			t.Fatalf("round %d: the node kept running past a corrupted entry", round)
		}
		log := n.Log()
		if code != 70 {
			t.Fatalf("round %d: exit code %d, want 70\n%s", round, code, log)
		}
		for _, want := range []string{"cannot apply replicated log", "undecodable command body", "corrupt-1", `unknown field \"colour\"`} {
			if !strings.Contains(log, want) {
				t.Fatalf("round %d: log lacks %q:\n%s", round, want, log)
			}
		}
	}
}

// appendCorruptEntry appends to a stopped node's Raft log an entry of two
// commands: a valid trigger, then a trigger with a field pagerd does not
// know. The one-node cluster commits it as soon as the node leads again.
func appendCorruptEntry(t *testing.T, dataDir string) {
	t.Helper()
	store, closer, err := cluster.OpenLogStore(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	last, err := store.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	var prev raft.Log
	if err := store.GetLog(last, &prev); err != nil {
		t.Fatal(err)
	}
	cmd := func(id, body string) map[string]any {
		return map[string]any{"t": 11, "v": 1, "id": id, "b": json.RawMessage(body)}
	}
	entry, _ := json.Marshal(map[string]any{"now": time.Now().UTC(), "cmds": []any{
		cmd("valid-1", `{"integration":"events","service":"checkout","action":"trigger","dedup_key":"valid","auto_resolve":false,"alert":{"labels":{},"annotations":{"summary":"valid"}}}`),
		cmd("corrupt-1", `{"integration":"events","service":"checkout","action":"trigger","dedup_key":"corrupt","auto_resolve":false,"alert":{"labels":{},"annotations":{"summary":"x"}},"colour":"red"}`),
	}})
	// Byte 0: entry kind batch; byte 1: batch format version (cluster/DESIGN.md).
	data := append([]byte{1, 1}, entry...)
	if err := store.StoreLog(&raft.Log{Index: last + 1, Term: prev.Term, Type: raft.LogCommand, Data: data}); err != nil {
		t.Fatal(err)
	}
}

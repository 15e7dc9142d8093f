package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// bigSnapshot builds a snapshot of a state with n incidents carrying pad
// bytes of annotation each, by applying log entries to a real FSM in this
// process (the log entry framing is the documented on-disk format).
// The snapshot lists members: those of c, so that the kill rounds test the
// restore's atomicity, not which member addresses it keeps.
func bigSnapshot(t *testing.T, c *testcluster.Cluster, cfg string, n, pad int) []byte {
	t.Helper()
	fsm := cluster.NewFSM(func(err error) { t.Fatal(err) })
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	cc := cluster.ConfigCommand{Sources: []config.Source{{Name: "config.yaml", Data: []byte(cfg)}}, Env: map[string]string{}}
	apply := func(index uint64, t8 cluster.CommandType, body any) {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		entry, _ := json.Marshal(map[string]any{"now": now, "cmds": []map[string]any{{"t": t8, "v": 1, "id": "gen", "b": json.RawMessage(b)}}})
		fsm.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: append([]byte{1, 1}, entry...)})
	}
	apply(1, cluster.TypeConfig, cc)
	for _, m := range c.Nodes {
		apply(1, cluster.TypeNodeMeta, cluster.NodeMeta{ID: m.ID, RaftAddr: m.RaftAddr, HTTPAddr: m.HTTPAddr})
	}
	filler := strings.Repeat("x", pad)
	for i := 0; i < n; i++ {
		apply(uint64(i+2), cluster.TypeEvent, incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger,
			DedupKey: fmt.Sprintf("backup-%d", i), Alert: incident.Alert{Severity: "sev2",
				Annotations: map[string]string{"summary": fmt.Sprintf("restored incident %d", i), "details": filler}}})
	}
	s, err := fsm.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var sink memSink
	if err := s.Persist(&sink); err != nil {
		t.Fatal(err)
	}
	return sink.Bytes()
}

type memSink struct{ bytes.Buffer }

func (m *memSink) ID() string    { return "mem" }
func (m *memSink) Cancel() error { return nil }
func (m *memSink) Close() error  { return nil }

// restoreRounds is how many leader kills TestRestoreSurvivesLeaderKill makes:
// 5 by default, more with PAGERD_RESTORE_ROUNDS.
func restoreRounds(t *testing.T) int {
	if s := os.Getenv("PAGERD_RESTORE_ROUNDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("PAGERD_RESTORE_ROUNDS=%q: want a whole number ≥ 1", s)
		}
		return n
	}
	return 5
}

// A restore is all-or-nothing for the whole cluster: the leader is killed
// at several offsets into a restore and restarted; afterwards every node
// holds the same incidents, a new event gets the same incident number on
// every node, and every node keeps applying (none loops on a snapshot).
func TestRestoreSurvivesLeaderKill(t *testing.T) {
	// The default election timeout (not the tests' quick 500ms): on a loaded
	// host 500ms changes leader every few seconds for nothing, and each
	// change fails the restore under way (with 503, changing nothing).
	c := testcluster.Start(t, 3, testcluster.Options{ExtraArgs: []string{"--raft-heartbeat-timeout", "2s"}})
	for i := 0; i < 3; i++ {
		code, body := c.Event(c.Nodes[0], "trigger", fmt.Sprintf("live-%d", i), "live before the restores")
		mustOK(t, "trigger", code, body, 202)
	}
	file := filepath.Join(t.TempDir(), "backup.snap")
	if err := os.WriteFile(file, bigSnapshot(t, c, testcluster.DefaultConfig, 2500, 14000), 0o600); err != nil {
		t.Fatal(err)
	}
	// Round 0 restores undisturbed and measures how long a restore takes.
	full := restoreRetrying(t, c, file)
	checkRestoreRound(t, c, "undisturbed")
	if n := incidentByDedup(t, c, c.Nodes[0], "backup-2499"); n.ID != 2500 {
		t.Fatalf("after the undisturbed restore the last backed-up incident is INC-%d, want INC-2500", n.ID)
	}
	t.Logf("an undisturbed restore of %s took %v", file, full)
	rounds := restoreRounds(t)
	for r := 1; r <= rounds; r++ {
		// Spread the kills over the restore, from the upload to past the
		// commit (a restore under way may take longer than the measured one).
		offset := full * 8 * time.Duration(r) / time.Duration(5*rounds)
		l := c.Leader()
		cmd := exec.Command(testcluster.Binary(t), "snapshot", "restore", file)
		cmd.Env = append(os.Environ(), "PAGERD_SERVER="+l.URL(), "PAGERD_TOKEN="+testcluster.Token)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(offset) // fault injection: the kill lands this far into the restore
		l.Kill()
		cmd.Wait() // its outcome is unknown by design: the leader died under it
		l.Start()
		checkRestoreRound(t, c, fmt.Sprintf("round %d (kill %v in)", r, offset.Round(time.Millisecond)))
	}
}

// restoreRetrying restores file through the leader as an operator would:
// a 503 (leadership changed under the restore, which then changed nothing)
// is retried, up to 5 times. It returns how long the successful try took.
func restoreRetrying(t *testing.T, c *testcluster.Cluster, file string) time.Duration {
	t.Helper()
	for try := 1; ; try++ {
		start := time.Now()
		rc, out := c.Run(c.Leader(), "snapshot", "restore", file)
		if rc == 0 {
			return time.Since(start)
		}
		if !strings.Contains(out, "HTTP 503") || try == 5 {
			t.Fatalf("snapshot restore (try %d): exit %d: %s", try, rc, out)
		}
		t.Logf("snapshot restore (try %d) answered 503, retrying: %s", try, strings.TrimSpace(out))
	}
}

// checkRestoreRound waits for every node to be ready, sends one new event,
// and waits until all nodes agree on the newest incidents (the new one with
// the same number everywhere) and on the applied index.
func checkRestoreRound(t *testing.T, c *testcluster.Cluster, round string) {
	t.Helper()
	for _, n := range c.Nodes {
		c.WaitReady(n)
	}
	key := "after-" + strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(round)
	c.WaitFor(30*time.Second, func() (bool, string) {
		code, body := c.Event(c.Nodes[len(c.Nodes)-1], "trigger", key, "after "+round)
		return code == 202, fmt.Sprintf("%s: trigger: %d %s", round, code, body)
	})
	var newID uint64
	c.WaitFor(60*time.Second, func() (bool, string) {
		var first string
		var firstIdx uint64
		for i, n := range c.Nodes {
			var st testcluster.Status
			if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
				return false, fmt.Sprintf("%s: %s GET /v1/cluster: %d", round, n.ID, code)
			}
			code, body := c.Do(n, http.MethodGet, "/v1/incidents?status=all&limit=20", nil, nil)
			if code != 200 {
				return false, fmt.Sprintf("%s: %s list: %d %s", round, n.ID, code, body)
			}
			var page struct {
				Incidents []struct {
					ID       uint64 `json:"id"`
					DedupKey string `json:"dedup_key"`
				} `json:"incidents"`
			}
			json.Unmarshal(body, &page)
			if len(page.Incidents) == 0 || page.Incidents[0].DedupKey != key {
				return false, fmt.Sprintf("%s: %s's newest incident is not %s: %s", round, n.ID, key, short(body))
			}
			if i == 0 {
				first, firstIdx, newID = string(body), st.AppliedIndex, page.Incidents[0].ID
				continue
			}
			if string(body) != first {
				return false, fmt.Sprintf("%s: %s and %s differ:\n%s\n---\n%s", round, c.Nodes[0].ID, n.ID, short([]byte(first)), short(body))
			}
			if st.AppliedIndex != firstIdx {
				return false, fmt.Sprintf("%s: applied_index %d on %s, %d on %s", round, firstIdx, c.Nodes[0].ID, st.AppliedIndex, n.ID)
			}
		}
		return true, ""
	})
	// INC-2501 means the backup's 2,500 incidents are in place (restored in
	// this round or an earlier one); a higher number, that they are not.
	t.Logf("%s: every node agrees; the next incident is INC-%d", round, newID)
}

func short(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// A snapshot from another cluster lists that cluster's members; restoring it
// must keep the live cluster's member addresses, so a follower forwards a
// write right after the restore instead of answering 503.
func TestRestoreForeignSnapshotKeepsForwarding(t *testing.T) {
	other := testcluster.Start(t, 1, testcluster.Options{})
	code, body := other.Event(other.Nodes[0], "trigger", "foreign-1", "from another cluster")
	mustOK(t, "trigger on the other cluster", code, body, 202)
	file := filepath.Join(t.TempDir(), "foreign.snap")
	if rc, out := other.Run(other.Nodes[0], "snapshot", "save", file); rc != 0 {
		t.Fatalf("snapshot save: exit %d: %s", rc, out)
	}
	other.Nodes[0].Stop() // its addresses in the snapshot now lead nowhere

	c := testcluster.Start(t, 3, testcluster.Options{})
	restoreRetrying(t, c, file)
	f := c.Followers()[0]
	c.WaitFor(15*time.Second, func() (bool, string) {
		code, body := c.Do(f, http.MethodGet, "/v1/incidents?status=all&dedup_key=foreign-1", nil, nil)
		return code == 200 && bytes.Contains(body, []byte(`"foreign-1"`)), fmt.Sprintf("%s has not applied the restore: %d %s", f.ID, code, body)
	})
	code, body = c.Event(f, "trigger", "after-foreign", "sent to a follower right after the restore")
	mustOK(t, "trigger on a follower right after restoring a foreign snapshot", code, body, 202)
	var st testcluster.Status
	c.GetJSON(f, "/v1/cluster", &st)
	for _, m := range st.Nodes {
		if want := map[bool]string{true: "leader", false: "follower"}[m.ID == st.Leader]; m.State != want {
			t.Errorf("member %s reported %q, want %q", m.ID, m.State, want)
		}
		if m.HTTPAddr != nodeByID(c, m.ID).HTTPAddr {
			t.Errorf("member %s listed at %s after the restore, lives at %s", m.ID, m.HTTPAddr, nodeByID(c, m.ID).HTTPAddr)
		}
	}
}

func nodeByID(c *testcluster.Cluster, id string) *testcluster.Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return &testcluster.Node{}
}

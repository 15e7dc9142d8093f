package cluster

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func servers(t *testing.T, n *Node) map[string]raft.Server {
	t.Helper()
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		t.Fatal(err)
	}
	out := map[string]raft.Server{}
	for _, s := range cf.Configuration().Servers {
		out[string(s.ID)] = s
	}
	return out
}

// A second process on the same data dir must not wait for the file lock
// silently: it fails soon, saying the data dir is in use.
func TestSecondOpenOnSameDataDirFails(t *testing.T) {
	dir := t.TempDir()
	n := openNodeAt(t, dir, freeAddr(t))
	defer n.Close()
	errc := make(chan error, 1)
	go func() {
		m, err := Open(Options{NodeID: "t1", DataDir: dir, RaftAddr: freeAddr(t), HTTPAddr: "127.0.0.1:1",
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil {
			m.Close()
		}
		errc <- err
	}()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("second open: %v, want an error saying the data dir is in use", err)
		}
	case <-time.After(storeLockTimeout + 10*time.Second):
		t.Fatal("second open on the same data dir still waiting for the lock")
	}
}

// A join that re-uses a member's id at another address is refused and
// changes nothing; the same join at the same addresses is a no-op success.
func TestJoinRefusesATakenID(t *testing.T) {
	addr := freeAddr(t)
	n := openNodeAt(t, t.TempDir(), addr)
	defer n.Close()
	awaitCond(t, 10*time.Second, "own address recorded", func() bool { return n.FSM().Nodes()["t1"].RaftAddr == addr })
	err := n.Join(context.Background(), JoinRequest{ID: "t1", RaftAddr: "127.0.0.1:9", HTTPAddr: "127.0.0.1:10"})
	if !errors.Is(err, ErrMemberExists) {
		t.Fatalf("join re-using the id t1 elsewhere: %v, want ErrMemberExists", err)
	}
	if got := servers(t, n)["t1"].Address; got != raft.ServerAddress(addr) {
		t.Fatalf("t1 moved to %s by a refused join", got)
	}
	if m := n.FSM().Nodes()["t1"]; m.RaftAddr != addr || m.HTTPAddr != "127.0.0.1:1" {
		t.Fatalf("t1's recorded addresses changed by a refused join: %+v", m)
	}
	if err := n.Join(context.Background(), JoinRequest{ID: "t1", RaftAddr: addr, HTTPAddr: "127.0.0.1:1"}); err != nil {
		t.Fatalf("idempotent re-join at the same addresses: %v", err)
	}
}

// A joiner that never becomes ready does not stay a non-voter forever: the
// join answers 503 and the leader takes it out again.
func TestJoinerThatNeverCatchesUpIsRemoved(t *testing.T) {
	old := joinCatchUpTimeout
	joinCatchUpTimeout = 500 * time.Millisecond
	defer func() { joinCatchUpTimeout = old }()
	n := openNodeAt(t, t.TempDir(), freeAddr(t))
	defer n.Close()
	err := n.Join(context.Background(), JoinRequest{ID: "ghost", RaftAddr: freeAddr(t), HTTPAddr: freeAddr(t)})
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) {
		t.Fatalf("join of a member that never answers: %v, want a retryable error", err)
	}
	if s, ok := servers(t, n)["ghost"]; ok {
		t.Fatalf("ghost still in the configuration as %v", s.Suffrage)
	}
	if _, ok := n.FSM().Nodes()["ghost"]; ok {
		t.Fatal("ghost's addresses still recorded")
	}
}

// GET /v1/cluster reports a member's own Raft state; something else
// answering HTTP at its address is unknown, nothing answering unreachable.
func TestStatusReportsTheMembersOwnState(t *testing.T) {
	n := openNodeAt(t, t.TempDir(), freeAddr(t))
	defer n.Close()
	imposter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"status":"ok"}`) }))
	defer imposter.Close()
	members := map[string]string{"imposter": strings.TrimPrefix(imposter.URL, "http://"), "gone": freeAddr(t)}
	for id, httpAddr := range members {
		if err := n.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(freeAddr(t)), 0, 5*time.Second).Error(); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Submit(context.Background(), TypeNodeMeta, NodeMeta{ID: id, HTTPAddr: httpAddr}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"t1": "leader", "imposter": "unknown", "gone": "unreachable"}
	for _, m := range st.Nodes {
		if m.State != want[m.ID] {
			t.Errorf("%s: state %q, want %q", m.ID, m.State, want[m.ID])
		}
	}
}

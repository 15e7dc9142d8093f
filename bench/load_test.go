package bench

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// The open loop keeps its rate and reuses its connections: a server that
// answers at once needs a handful, not one per request; and each request
// carries a distinct dedup key.
func TestOpenLoopWorkersReusesConnections(t *testing.T) {
	var got atomic.Int64
	keys := make(chan string, 1000)
	s := startLeanServer(t, func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		var b [512]byte
		n, _ := r.Body.Read(b[:])
		select {
		case keys <- string(b[:n]):
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	sum := OpenLoopWorkers(context.Background(), 400, 500*time.Millisecond, 64,
		EventsWorkers(ClientLean, []string{s.URL}, "key", "run", "test"))
	if sum.Errors != 0 || sum.Requests != 200 || got.Load() != 200 {
		t.Fatalf("%d ok, %d errors, server saw %d; want 200 requests at 400/s for 0.5 s", sum.Requests, sum.Errors, got.Load())
	}
	if c := s.conns.Load(); c < 1 || c > 16 {
		t.Errorf("%d connections for 200 paced requests, want a few reused", c)
	}
	if made := sum.Extra["connections"].(int); int64(made) != s.conns.Load() {
		t.Errorf("the loop made %d workers, the server accepted %d connections", made, s.conns.Load())
	}
	close(keys)
	seen := map[string]bool{}
	for k := range keys {
		if seen[k] {
			t.Fatalf("two requests with the same body %q", k)
		}
		seen[k] = true
	}
}

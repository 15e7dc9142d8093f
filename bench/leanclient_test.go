package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// leanServer is a real net/http server counting the connections it accepts.
type leanServer struct {
	*httptest.Server
	conns atomic.Int64
}

func startLeanServer(t *testing.T, h http.HandlerFunc) *leanServer {
	t.Helper()
	s := &leanServer{}
	s.Server = httptest.NewUnstartedServer(h)
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func newLean(t *testing.T, e Endpoint) *LeanConn {
	t.Helper()
	c, err := NewLeanConn(e)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// echo answers 202 with the request body, its length set or chunked (by
// flushing between writes) as the request's X-Chunked asks; it checks what
// the lean client sent.
func echo(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.ContentLength != int64(len(b)) {
			t.Errorf("request: %s %s %v CL %d len %d err %v", r.Method, r.URL, r.Header, r.ContentLength, len(b), err)
		}
		if r.Header.Get("X-Chunked") == "yes" {
			w.WriteHeader(http.StatusAccepted)
			for len(b) > 0 { // several chunks
				n := min(len(b), 1000)
				w.Write(b[:n])
				w.(http.Flusher).Flush()
				b = b[n:]
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
		w.Write(b)
	}
}

func TestLeanClientKeepsOneConnectionAndReadsBothFramings(t *testing.T) {
	s := startLeanServer(t, echo(t))
	for _, chunked := range []string{"no", "yes"} {
		c := newLean(t, Endpoint{URL: s.URL + "/v2/enqueue?x=1", Headers: map[string]string{"X-Chunked": chunked}, Want: 202})
		before := s.conns.Load()
		for i, size := range []int{0, 10, 5000, 70000, 3} {
			body := bytes.Repeat([]byte{byte('a' + i)}, size)
			got, code, err := c.Post(context.Background(), body)
			if err != nil || code != 202 || !bytes.Equal(got, body) {
				t.Fatalf("chunked=%s size %d: code %d err %v, body %d bytes (want %d)", chunked, size, code, err, len(got), size)
			}
		}
		if n := s.conns.Load() - before; n != 1 {
			t.Errorf("chunked=%s: %d connections for 5 requests, want 1 kept alive", chunked, n)
		}
	}
}

func TestLeanClientReconnectsAfterTheServerCloses(t *testing.T) {
	var n atomic.Int64
	s := startLeanServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if n.Add(1)%2 == 0 {
			w.Header().Set("Connection", "close")
		}
		w.WriteHeader(202)
		io.WriteString(w, `{"status":"success"}`)
	})
	c := newLean(t, Endpoint{URL: s.URL + "/v2/enqueue", Want: 202})
	for i := 1; i <= 5; i++ {
		if _, code, err := c.Post(context.Background(), []byte(`{}`)); err != nil || code != 202 {
			t.Fatalf("request %d: %d %v", i, code, err)
		}
		// Honoured at once, not found out by the next request's failure
		// (which the retry below would hide).
		if closed := c.conn == nil; closed != (i%2 == 0) {
			t.Errorf("request %d: connection closed %v, want %v", i, closed, i%2 == 0)
		}
	}
	if got := s.conns.Load(); got != 3 {
		t.Errorf("%d connections for 5 requests with every second answer Connection: close, want 3", got)
	}
	// The server drops the idle kept-alive connection: the next request
	// goes out again on a new one instead of failing.
	s.CloseClientConnections()
	if _, code, err := c.Post(context.Background(), []byte(`{}`)); err != nil || code != 202 {
		t.Fatalf("after the server closed the idle connection: %d %v", code, err)
	}
	if got := s.conns.Load(); got != 4 {
		t.Errorf("%d connections, want 4", got)
	}
}

func TestLeanClientStatusErrorIsPosts(t *testing.T) {
	s := startLeanServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", "2")
		http.Error(w, `{"error":"no leader"}`, http.StatusServiceUnavailable)
	})
	c := newLean(t, Endpoint{URL: s.URL + "/v2/enqueue", Want: 202})
	_, code, err := c.Post(context.Background(), []byte(`{}`))
	_, wantCode, wantErr := Post(context.Background(), s.URL+"/v2/enqueue", []byte(`{}`), nil, 202)
	var se *StatusError
	if !errors.As(err, &se) || code != 503 || wantCode != 503 || !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("lean: %d %#v; net/http Post: %d %#v", code, err, wantCode, wantErr)
	}
	if se.RetryAfter != "2" || se.Body != "{\"error\":\"no leader\"}\n" {
		t.Errorf("StatusError %+v", se)
	}
	// The error answer left the connection usable.
	c.Post(context.Background(), []byte(`{}`))
	if got := s.conns.Load(); got != 2 { // one lean, one net/http
		t.Errorf("%d connections, want 2", got)
	}
}

func TestLeanClientDeadlineAndCancel(t *testing.T) {
	release := make(chan struct{})
	s := startLeanServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Query().Get("stall") != "" {
			<-release
		}
		w.WriteHeader(202)
	})
	defer close(release) // before s.Close: the stalled handlers end
	c := newLean(t, Endpoint{URL: s.URL + "/?stall=1", Want: 202})
	c.SetTimeout(100 * time.Millisecond)
	t0 := time.Now()
	_, code, err := c.Post(context.Background(), []byte(`{}`))
	if code != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stalled server: %d %v, want a deadline error", code, err)
	}
	if el := time.Since(t0); el > 5*time.Second {
		t.Errorf("deadline of 100 ms took %v", el)
	}
	c2 := newLean(t, Endpoint{URL: s.URL + "/?stall=1", Want: 202})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, _, err := c2.Post(ctx, []byte(`{}`)); done <- err }()
	for s.conns.Load() < 2 { // the request is in flight on its connection
		time.Sleep(time.Millisecond) // polling a counter the server sets
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the context did not end the request")
	}
	// A connection whose request failed is not used again: its answer
	// may still arrive and would be read as the next request's.
	if c.conn != nil || c2.conn != nil {
		t.Error("a failed request left its connection open")
	}
}

// A worker's request costs no allocation once its buffers have grown. The
// server runs in another process (this test binary again), so that its
// allocations are not counted with the client's.
func TestLeanClientDoesNotAllocatePerRequest(t *testing.T) {
	url := startHelperServer(t)
	op, release := EventsWorkers(ClientLean, []string{url}, "key", "run", "src")(0)
	defer release()
	ctx := context.Background()
	var i int64
	allocs := testing.AllocsPerRun(200, func() {
		i++
		if _, _, err := op(ctx, i); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("%.1f allocations per request, want 0", allocs)
	}
	// net/http's client, for contrast (the figure the lean one replaces).
	op2, _ := EventsWorkers(ClientNetHTTP, []string{url}, "key", "run", "src")(0)
	t.Logf("allocations per request: lean %.0f, net/http %.0f", allocs, testing.AllocsPerRun(200, func() { i++; op2(ctx, i) }))
}

// startHelperServer runs TestLeanHelperServer in a process of its own and
// returns its base URL; it stops with the test.
func startHelperServer(tb testing.TB) string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeanHelperServer$")
	cmd.Env = append(os.Environ(), "BENCH_LEAN_HELPER_SERVER=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { stdin.Close(); cmd.Wait() }) // it serves until its stdin closes
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		tb.Fatalf("helper server: %v", err)
	}
	return "http://" + strings.TrimSpace(addr)
}

// BenchmarkClientCPU: the bench process's CPU per request of each client,
// 16 closed-loop workers against a server in another process (so only the
// client's CPU is counted); reported as cpu-µs/req.
func BenchmarkClientCPU(b *testing.B) {
	url := startHelperServer(b)
	for _, k := range []ClientKind{ClientLean, ClientNetHTTP} {
		b.Run(string(k), func(b *testing.B) {
			var next atomic.Int64
			ops := EventsWorkers(k, []string{url}, "key", "run", "src")
			cpu0 := processCPUSeconds()
			var wg sync.WaitGroup
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					op, release := ops(w)
					defer release()
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						if _, _, err := op(context.Background(), i); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric((processCPUSeconds()-cpu0)*1e6/float64(b.N), "cpu-µs/req")
		})
	}
}

// TestLeanHelperServer is the server process of the test above.
func TestLeanHelperServer(t *testing.T) {
	if os.Getenv("BENCH_LEAN_HELPER_SERVER") != "1" {
		t.Skip("helper process of TestLeanClientDoesNotAllocatePerRequest")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(202)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"x"}`)
	})}
	go srv.Serve(ln)
	fmt.Println(ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

func TestParseClientKind(t *testing.T) {
	for in, want := range map[string]ClientKind{"": ClientLean, "lean": ClientLean, "nethttp": ClientNetHTTP} {
		if got, err := ParseClientKind(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := ParseClientKind("wrk"); err == nil || !strings.Contains(err.Error(), "wrk") {
		t.Errorf("wrk: %v", err)
	}
}

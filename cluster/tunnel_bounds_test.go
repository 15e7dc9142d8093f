package cluster

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// The tunnel's server is bounded like the API listener: past MaxConns a
// connection is closed at once, and a peer that sends half a request is cut
// off after ReadTimeout instead of holding its goroutine forever.
func TestTunnelServerIsBounded(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv, ln := tunnelServer(h, raw, TunnelOptions{ReadTimeout: 300 * time.Millisecond, WriteTimeout: time.Second, MaxConns: 1})
	if srv.ReadTimeout != 300*time.Millisecond || srv.WriteTimeout != time.Second || srv.IdleTimeout == 0 {
		t.Fatalf("timeouts %v %v %v", srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	slow, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := io.WriteString(slow, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"); err != nil {
		t.Fatal(err)
	}
	// Past the cap: closed without an answer.
	extra, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("connection past the cap was served (%d bytes, %v)", n, err)
	}
	// The half-sent request is cut by the read timeout (the server answers
	// 408 or just closes), well before the test's own deadline.
	start := time.Now()
	slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(bufio.NewReader(slow)); err != nil {
		t.Fatalf("slow connection not closed by the server: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("slow connection held %v", d)
	}
}

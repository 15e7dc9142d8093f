package connlimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer serves one line back per connection until Close.
func echoServer(t *testing.T, opts Options) *Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(ln, opts)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				// What a server does per request: lift the deadline.
				_ = c.SetReadDeadline(time.Time{})
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("echo " + line))
			}()
		}
	}()
	return l
}

func dial(t *testing.T, l *Listener) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func awaitOpen(t *testing.T, l *Listener, normal, overflow int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, o := l.Open()
		if n == normal && o == overflow {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("open connections: %d normal, %d overflow; want %d, %d", n, o, normal, overflow)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection neither answered nor closed: %v", err)
		}
	}
	return string(b)
}

func TestCapsRefuseAndOverflow(t *testing.T) {
	l := echoServer(t, Options{Max: 2, Overflow: 1, OverflowTimeout: 300 * time.Millisecond, Refuse: []byte("busy\n")})
	silent := []net.Conn{dial(t, l), dial(t, l)} // hold both normal slots, send nothing
	awaitOpen(t, l, 2, 0)

	// The overflow slot serves a client that sends at once.
	quick := dial(t, l)
	awaitOpen(t, l, 2, 1)
	quick.Write([]byte("hi\n"))
	if got := readAll(t, quick); got != "echo hi\n" {
		t.Fatalf("overflow connection answered %q, want the echo", got)
	}
	awaitOpen(t, l, 2, 0)

	// A silent overflow connection is cut at its timeout although the
	// server lifted its deadline.
	start := time.Now()
	slow := dial(t, l)
	awaitOpen(t, l, 2, 1)
	// Past both caps: refused at once with the refusal text.
	if got := readAll(t, dial(t, l)); got != "busy\n" {
		t.Fatalf("connection past both caps got %q, want the refusal", got)
	}
	if l.Refused() != 1 {
		t.Fatalf("refused %d, want 1", l.Refused())
	}
	if got := readAll(t, slow); got != "" {
		t.Fatalf("silent overflow connection got %q", got)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("silent overflow connection lived %v, want about 300ms", d)
	}
	awaitOpen(t, l, 2, 0)

	// The normal connections were never cut, and a closed one frees its slot.
	silent[0].Write([]byte("still here\n"))
	if got := readAll(t, silent[0]); got != "echo still here\n" {
		t.Fatalf("normal connection answered %q", got)
	}
	awaitOpen(t, l, 1, 0)
	_ = silent[1]
}

func TestCloseReleasesOnce(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	var released int
	c := &conn{Conn: a, release: func() { released++ }}
	c.Close()
	c.Close()
	if released != 1 {
		t.Fatalf("released %d times, want 1", released)
	}
}

func TestClampKeepsEarlierDeadlines(t *testing.T) {
	limit := time.Now().Add(time.Hour)
	c := &conn{readLimit: limit}
	earlier := time.Now().Add(time.Minute)
	if got := c.clamp(earlier); !got.Equal(earlier) {
		t.Errorf("clamp(earlier) = %v", got)
	}
	if got := c.clamp(time.Time{}); !got.Equal(limit) {
		t.Errorf("clamp(zero) = %v, want the limit", got)
	}
	if got := c.clamp(limit.Add(time.Hour)); !got.Equal(limit) {
		t.Errorf("clamp(later) = %v, want the limit", got)
	}
	normal := &conn{}
	if got := normal.clamp(time.Time{}); !got.IsZero() {
		t.Errorf("normal connection clamp(zero) = %v", got)
	}
}

// TestTriageTakesConnectionsPastBothCaps: past Max and Overflow a connection
// goes to Triage, at most TriageMax at once; past that it is refused.
func TestTriageTakesConnectionsPastBothCaps(t *testing.T) {
	release := make(chan struct{})
	triaged := make(chan struct{}, 10)
	l := echoServer(t, Options{Max: 1, Refuse: []byte("busy\n"), TriageMax: 1, Triage: func(c net.Conn) {
		defer c.Close()
		triaged <- struct{}{}
		<-release
		c.Write([]byte("triaged\n"))
	}})
	dial(t, l) // holds the one normal slot
	awaitOpen(t, l, 1, 0)
	first := dial(t, l)
	select {
	case <-triaged:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection past the cap was not triaged")
	}
	// Triage is full: the next one is refused unread.
	if got := readAll(t, dial(t, l)); got != "busy\n" {
		t.Fatalf("connection past a full triage got %q", got)
	}
	close(release)
	if got := readAll(t, first); got != "triaged\n" {
		t.Fatalf("triaged connection got %q", got)
	}
}

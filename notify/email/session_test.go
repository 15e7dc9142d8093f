package email

import (
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/pagerd/pagerd/config"
)

// relayLog is a go-smtp backend that records, per connection, the messages
// it accepted, and can refuse a second message on one connection (as
// relays limiting messages per session do).
type relayLog struct {
	refuseSecond bool

	mu       sync.Mutex
	conns    []*smtp.Conn
	perConn  map[*smtp.Conn]int
	loggedIn int // sessions started
	ended    int // sessions ended (QUIT or hang-up)
}

func (r *relayLog) NewSession(c *smtp.Conn) (smtp.Session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.perConn == nil {
		r.perConn = map[*smtp.Conn]int{}
	}
	r.conns = append(r.conns, c)
	r.loggedIn++
	return &relaySession{r: r, c: c}, nil
}

func (r *relayLog) messages() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.perConn {
		n += k
	}
	return n
}

func (r *relayLog) endedSessions() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

type relaySession struct {
	r *relayLog
	c *smtp.Conn
}

func (s *relaySession) Reset() {}
func (s *relaySession) Logout() error {
	s.r.mu.Lock()
	s.r.ended++
	s.r.mu.Unlock()
	return nil
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.refuseSecond && s.r.perConn[s.c] > 0 {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages on this connection"}
	}
	return nil
}
func (s *relaySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	if _, err := io.ReadAll(r); err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.perConn[s.c]++
	s.r.mu.Unlock()
	return nil
}

// keepingSender is a sender that keeps its connection for keep and counts
// the connections it opens.
func keepingSender(t *testing.T, addr string, keep time.Duration) (*Sender, *atomic.Int32) {
	t.Helper()
	var dials atomic.Int32
	var d net.Dialer
	s, err := New(config.EmailChannel{SMTP: addr, From: "pagerd@example.com"}, Options{Now: fixedNow, KeepIdle: keep,
		Dial: func(ctx context.Context, network, a string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, a)
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, &dials
}

func TestKeptConnectionCarriesTheNextPages(t *testing.T) {
	relay := &relayLog{}
	s, dials := keepingSender(t, startRelay(t, relay), time.Minute)
	const sends = 4
	for i := 0; i < sends; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if got := dials.Load(); got != 1 {
		t.Fatalf("%d connections for %d sends, want 1 kept connection", got, sends)
	}
	if got := relay.messages(); got != sends {
		t.Fatalf("relay accepted %d messages, want %d", got, sends)
	}
}

func TestSendWithoutKeepIdleClosesEachConnection(t *testing.T) {
	relay := &relayLog{}
	s, dials := keepingSender(t, startRelay(t, relay), 0)
	for i := 0; i < 3; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatal(err)
		}
	}
	if got := dials.Load(); got != 3 {
		t.Fatalf("%d connections for 3 sends without KeepIdle, want 3", got)
	}
	// Each ended with QUIT: the relay saw every session end.
	waitUntil(t, func() bool { return relay.endedSessions() == 3 }, "3 ended sessions")
}

// A relay that hung up on the kept connection: the page goes out over a
// fresh one, once.
func TestDroppedKeptConnectionFallsBackToAFreshOne(t *testing.T) {
	relay := &relayLog{}
	s, dials := keepingSender(t, startRelay(t, relay), time.Minute)
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	relay.mu.Lock()
	first := relay.conns[0]
	relay.mu.Unlock()
	_ = first.Close()
	waitUntil(t, func() bool { return relay.endedSessions() == 1 }, "the relay to drop the session")
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatalf("send after the relay hung up: %v", err)
	}
	if got, msgs := dials.Load(), relay.messages(); got != 2 || msgs != 2 {
		t.Fatalf("%d connections, %d messages; want 2 and 2", got, msgs)
	}
}

// A relay that takes one message per connection answers the second MAIL
// FROM with 421: the message goes over a fresh connection, not back to
// the engine as a failure.
func TestRefusedMailOnKeptConnectionRetriesFresh(t *testing.T) {
	relay := &relayLog{refuseSecond: true}
	s, dials := keepingSender(t, startRelay(t, relay), time.Minute)
	for i := 0; i < 3; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if got, msgs := dials.Load(), relay.messages(); got != 3 || msgs != 3 {
		t.Fatalf("%d connections, %d messages; want 3 and 3", got, msgs)
	}
}

// An idle kept connection is closed (with QUIT) after KeepIdle; the next
// send dials again.
func TestKeptConnectionExpires(t *testing.T) {
	relay := &relayLog{}
	s, dials := keepingSender(t, startRelay(t, relay), 50*time.Millisecond)
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return relay.endedSessions() == 1 }, "the idle session to end")
	if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if got := dials.Load(); got != 2 {
		t.Fatalf("%d connections, want 2 (the first expired)", got)
	}
}

// Pages sent at once use a connection each; afterwards at most
// maxIdleSessions stay open.
func TestConcurrentSendsKeepAtMostMaxIdle(t *testing.T) {
	relay := &relayLog{}
	s, _ := keepingSender(t, startRelay(t, relay), time.Minute)
	const sends = 6
	var wg sync.WaitGroup
	errs := make(chan error, sends)
	for i := 0; i < sends; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Send(sendCtx(t), testMessage())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := relay.messages(); got != sends {
		t.Fatalf("%d messages, want %d", got, sends)
	}
	s.idleMu.Lock()
	kept := len(s.idle)
	s.idleMu.Unlock()
	if kept > maxIdleSessions {
		t.Fatalf("%d connections kept, at most %d", kept, maxIdleSessions)
	}
	relay.mu.Lock()
	opened := relay.loggedIn
	relay.mu.Unlock()
	waitUntil(t, func() bool { return relay.endedSessions() == opened-kept }, "the connections beyond the kept ones to end")
}

// waitUntil polls cond (the relay runs in other goroutines) for at most
// 5 s.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A real relay (aiosmtpd) takes several pages over one kept connection,
// each stored as its own message.
func TestKeptConnectionToAiosmtpd(t *testing.T) {
	srv := startAiosmtpd(t)
	s, dials := keepingSender(t, srv.addr, time.Minute)
	for i := 0; i < 3; i++ {
		if _, err := s.Send(sendCtx(t), testMessage()); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if got, msgs := dials.Load(), len(srv.messages(t)); got != 1 || msgs != 3 {
		t.Fatalf("%d connections, %d stored messages; want 1 and 3", got, msgs)
	}
}

// startRelay serves be with go-smtp's server on a loopback port.
func startRelay(t *testing.T, be smtp.Backend) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return l.Addr().String()
}

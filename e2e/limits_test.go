package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// slowConn is a client that sent the headers of a large POST and then
// nothing (issue 10.6).
type slowConn struct {
	path     string
	answer   string        // the status line it got, if any
	closedAt time.Duration // since the test's start; 0 while open
}

// TestSlowClientsAreCutWhileOthersAreServed opens more slow connections than
// the caps allow against a real pagerd, and shows that the ones past the caps
// get a quick 503 and /healthz is still answered, that a well-behaved ingest
// and the SMTP listener are served while the slow ones still hold every
// normal slot, and that the slow ones are answered 408 and closed at
// --http-read-timeout.
func TestSlowClientsAreCutWhileOthersAreServed(t *testing.T) {
	const (
		maxConns, overflow = 20, 10
		slowCount          = 60
		readTimeout        = 15 * time.Second
		overflowTimeout    = 4 * time.Second
	)
	cfg := testcluster.DefaultConfig + `channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@pager.example.com", reply_domain: "reply.example.com"}
`
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: cfg, ExtraArgs: []string{
		"--http-max-conns", fmt.Sprint(maxConns), "--http-overflow-conns", fmt.Sprint(overflow),
		"--http-overflow-timeout", overflowTimeout.String(), "--http-read-timeout", readTimeout.String()}})
	n := c.Nodes[0]

	start := time.Now()
	var mu sync.Mutex
	var wg sync.WaitGroup
	slow := make([]*slowConn, slowCount)
	for i := range slow {
		s := &slowConn{path: "/v2/enqueue"}
		if i%2 == 1 {
			s.path = "/v1/sms/twilio"
		}
		slow[i] = s
		conn, err := net.Dial("tcp", n.HTTPAddr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
			"X-Twilio-Signature: c2lnbmF0dXJl\r\nContent-Length: 1000000\r\n\r\n", s.path, n.HTTPAddr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn.SetReadDeadline(time.Now().Add(readTimeout + 30*time.Second))
			r := bufio.NewReader(conn)
			line, _ := r.ReadString('\n')
			_, _ = io.Copy(io.Discard, r) // until the server closes it
			mu.Lock()
			s.answer, s.closedAt = strings.TrimSpace(line), time.Since(start)
			mu.Unlock()
		}()
	}
	snapshot := func() (refused, open int) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range slow {
			switch {
			case s.closedAt == 0:
				open++
			case strings.HasPrefix(s.answer, "HTTP/1.1 503"):
				refused++
			}
		}
		return refused, open
	}
	testcluster.WaitFor(t, 5*time.Second, func() (bool, string) {
		refused, _ := snapshot()
		return refused >= slowCount-maxConns-overflow, fmt.Sprintf("%d of %d slow connections refused with 503", refused, slowCount)
	})

	// Fresh connections, as a health checker and a sender would open them.
	fresh := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	enqueue := func() (*http.Response, string, error) {
		body := `{"routing_key":"` + testcluster.EventsKey + `","event_action":"trigger","dedup_key":"during-cap",` +
			`"payload":{"summary":"sent while the cap is hit","source":"e2e","severity":"critical"}}`
		resp, err := fresh.Post(n.URL()+"/v2/enqueue", "application/json", strings.NewReader(body))
		if err != nil {
			return nil, "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b), nil
	}

	// Every normal and overflow slot is held: /healthz is still answered,
	// and an ingest gets a quick 503 that Alertmanager and PagerDuty
	// clients retry.
	resp, err := fresh.Get(n.URL() + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /healthz with every slot held: %v %v", err, resp)
	}
	resp.Body.Close()
	asked := time.Now()
	resp, body, err := enqueue()
	if err != nil || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"error"`) {
		t.Fatalf("ingest with every slot held: %v %v %s; want a quick 503 with Retry-After", err, resp, body)
	}
	if d := time.Since(asked); d > time.Second {
		t.Errorf("the 503 took %v", d)
	}
	if _, open := snapshot(); open < maxConns+overflow-2 {
		t.Fatalf("only %d slow connections open when /healthz and the 503 were answered: the caps were not full", open)
	}

	// Once the slow overflow connections are cut (--http-overflow-timeout),
	// a well-behaved ingest succeeds while the normal slots are still held.
	var ingested time.Duration
	testcluster.WaitFor(t, 3*overflowTimeout, func() (bool, string) {
		resp, body, err := enqueue()
		if err != nil {
			return false, "POST /v2/enqueue: " + err.Error()
		}
		ingested = time.Since(start)
		return resp.StatusCode == 202, fmt.Sprintf("POST /v2/enqueue: %d %s", resp.StatusCode, body)
	})
	smtpConn, err := net.DialTimeout("tcp", n.SMTPAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	smtpConn.SetReadDeadline(time.Now().Add(5 * time.Second))
	greeting, _ := bufio.NewReader(smtpConn).ReadString('\n')
	smtpConn.Close()
	if !strings.HasPrefix(greeting, "220 ") {
		t.Errorf("SMTP greeting while the HTTP cap is hit: %q", greeting)
	}
	_, stillOpen := snapshot()
	if stillOpen < maxConns-2 { // the test client's keep-alive connections may hold a slot or two
		t.Fatalf("only %d slow connections still open when the ingest (%v) was served; it was not served while the cap was hit",
			stillOpen, ingested)
	}
	t.Logf("ingest served at %v while %d slow connections held the normal slots", ingested, stillOpen)

	// Every slow connection is closed by --http-read-timeout; the ones that
	// held a normal slot were answered 408.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(readTimeout + 20*time.Second):
		_, open := snapshot()
		t.Fatalf("%d slow connections still open %v after the start", open, time.Since(start))
	}
	early, late := 0, 0 // 408s: cut in overflow, cut at the read timeout
	for i, s := range slow {
		switch {
		case strings.HasPrefix(s.answer, "HTTP/1.1 408") && s.closedAt < readTimeout-time.Second:
			early++
		case strings.HasPrefix(s.answer, "HTTP/1.1 408"):
			late++
		case strings.HasPrefix(s.answer, "HTTP/1.1 503"):
			// refused past the caps
		default:
			t.Errorf("slow connection %d (%s) answered %q", i, s.path, s.answer)
		}
	}
	if early > overflow || late < maxConns-2 {
		t.Errorf("408 answers: %d before the read timeout (want at most the %d overflow slots), %d at it (want about %d, the normal slots)",
			early, overflow, late, maxConns)
	}
	code, metrics := c.Do(n, http.MethodGet, "/metrics", nil, nil)
	if code != 200 || !strings.Contains(string(metrics), "pagerd_http_connections_refused_total ") {
		t.Errorf("/metrics lacks pagerd_http_connections_refused_total: %d", code)
	}
	var inc struct{ Status string }
	if code := c.GetJSON(n, "/v1/incidents/1", &inc); code != 200 || inc.Status != "triggered" {
		t.Errorf("the incident ingested during the cap: %d %+v", code, inc)
	}
}

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/webhook"
)

// receiverScript is a separate HTTP receiver process (python3's
// http.server). It logs every POST (headers and body) as one JSON line and
// answers 503 with Retry-After: 1 to the first one when argv[3] is "503",
// 200 otherwise, after sleeping argv[4] seconds.
const receiverScript = `
import json, sys, threading, time
from http.server import HTTPServer, BaseHTTPRequestHandler
log = open(sys.argv[2], "a", buffering=1)
lock = threading.Lock()
count = [0]
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            count[0] += 1
            status = 503 if count[0] == 1 and sys.argv[3] == "503" else 200
        time.sleep(float(sys.argv[4]))
        with lock:
            log.write(json.dumps({"status": status, "delivery": self.headers.get("X-Pagerd-Delivery"),
                "ts": self.headers.get("X-Pagerd-Timestamp"), "sig": self.headers.get("X-Pagerd-Signature"),
                "body": body.decode()}) + "\n")
        self.send_response(status)
        if status == 503:
            self.send_header("Retry-After", "1")
        self.end_headers()
    def log_message(self, *a):
        pass
srv = HTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
srv.serve_forever()
`

type received struct {
	Status   int    `json:"status"`
	Delivery string `json:"delivery"`
	TS       string `json:"ts"`
	Sig      string `json:"sig"`
	Body     string `json:"body"`
}

// startReceiver runs the receiver process and returns its URL and a reader
// of what it got so far.
func startReceiver(t *testing.T, first503 bool, delay string) (string, func() []received) {
	t.Helper()
	dir := t.TempDir()
	script, portFile, logFile := filepath.Join(dir, "recv.py"), filepath.Join(dir, "port"), filepath.Join(dir, "log.jsonl")
	if err := os.WriteFile(script, []byte(receiverScript), 0o600); err != nil {
		t.Fatal(err)
	}
	mode := "ok"
	if first503 {
		mode = "503"
	}
	cmd := exec.Command("python3", script, portFile, logFile, mode, delay)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start python3 receiver (a missing python3 is a failure): %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var port string
	testcluster.WaitFor(t, 10*time.Second, func() (bool, string) {
		b, err := os.ReadFile(portFile)
		port = string(b)
		return err == nil && port != "", "receiver port file"
	})
	read := func() []received {
		f, err := os.Open(logFile)
		if err != nil {
			return nil
		}
		defer f.Close()
		var out []received
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r received
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				out = append(out, r)
			}
		}
		return out
	}
	return "http://127.0.0.1:" + port + "/pagerd", read
}

type streamEvent struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Event     string `json:"event"`
	Seq       int    `json:"seq"`
	Actor     string `json:"actor"`
	Message   string `json:"message"`
	BridgeURL string `json:"bridge_url"`
	Incident  struct {
		ID     uint64 `json:"id"`
		Key    string `json:"key"`
		Status string `json:"status"`
	} `json:"incident"`
}

// Spec §5.1 events_to through a real node and a real receiver process: every
// timeline entry of the incident (trigger, page, ack, severity change, note,
// resolve) arrives once, in order, signed like a page, carrying the bridge
// URL; the first delivery's 503 is retried.
func TestIncidentEventsReachChatWebhook(t *testing.T) {
	url, got := startReceiver(t, true, "0")
	cfg := `
timezone: UTC
api_tokens: [{name: admin, token: "test-admin-token"}]
users: [{id: alice, email: alice@example.com, notify: [{via: email}]}]
policies:
  - id: web
    steps: [{notify: [user:alice], escalate_after: 1h}]
services:
  - id: checkout
    policy: web
    events_to: [webhook:chatops]
    bridge_url: https://meet.example.com/checkout
  - {id: quiet, policy: web}
integrations:
  - {name: events, key: "test-events-key", service: checkout}
  - {name: quiet, key: "test-quiet-key", service: quiet}
channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@example.com"}
  webhooks: [{id: chatops, url: "` + url + `", secret: "chat-secret"}]
`
	c := testcluster.Start(t, 1, testcluster.Options{Config: cfg})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "quiet-1", "test-quiet-key") // a service without events_to: nothing sent
	pgTrigger(t, c, n, "chat-1", testcluster.EventsKey)
	inc := pgIncident(t, c, n, "chat-1")
	c.WaitFor(20*time.Second, func() (bool, string) {
		inc = pgIncident(t, c, n, "chat-1")
		return len(inc.Notifications) > 0, "the page"
	})
	for _, args := range [][]string{{"ack", inc.Key, "--as", "alice"}, {"severity", inc.Key, "sev2"},
		{"role", inc.Key, "tech_lead", "alice"}, {"note", inc.Key, "rolled back"}, {"resolve", inc.Key}} {
		if code, out := c.Run(n, args...); code != 0 {
			t.Fatalf("pagerd %v: %d %s", args, code, out)
		}
	}

	// Every entry of the final timeline arrives, in order.
	var events []streamEvent
	c.WaitFor(30*time.Second, func() (bool, string) {
		inc = pgIncident(t, c, n, "chat-1")
		events = events[:0]
		for _, r := range got() {
			var e streamEvent
			if r.Status == 200 && json.Unmarshal([]byte(r.Body), &e) == nil {
				events = append(events, e)
			}
		}
		return len(events) >= len(inc.Timeline) && inc.Status == "resolved",
			fmt.Sprintf("%d events delivered of %d timeline entries (%s)", len(events), len(inc.Timeline), inc.Status)
	})
	all := got()
	if len(all) < 2 || all[0].Status != 503 || all[1].Delivery != all[0].Delivery {
		t.Fatalf("the first delivery's 503 was not retried with the same delivery id: %+v", all[:min(2, len(all))])
	}
	for i, r := range all {
		if !webhook.Verify("chat-secret", r.TS, []byte(r.Body), r.Sig) {
			t.Errorf("delivery %d (%s): bad signature", i, r.Delivery)
		}
	}
	var types []string
	for i, e := range events {
		if e.Incident.ID != inc.ID {
			t.Fatalf("event %d is for incident %d: a service without events_to was streamed", i, e.Incident.ID)
		}
		if e.Seq != i+1 || e.ID != fmt.Sprintf("e%d-%d", inc.ID, i+1) || e.Type != webhook.EventIncident ||
			e.Event != inc.Timeline[i].Type || e.BridgeURL != "https://meet.example.com/checkout" {
			t.Errorf("event %d: %+v; want seq %d of type %s", i, e, i+1, inc.Timeline[i].Type)
		}
		types = append(types, e.Event)
	}
	if len(events) != len(inc.Timeline) {
		t.Errorf("%d events for %d timeline entries: %v", len(events), len(inc.Timeline), types)
	}
	joined := strings.Join(types, ",")
	techLead := false
	for _, e := range events {
		techLead = techLead || e.Event == "role_assigned" && strings.Contains(e.Message, "tech_lead") && strings.Contains(e.Message, "alice")
	}
	if !techLead {
		t.Errorf("no role_assigned event for tech_lead to alice in %s", joined)
	}
	for _, want := range []string{"triggered", "step", "acknowledged", "severity_changed", "role_assigned", "note", "resolved"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no %s event in %s", want, joined)
		}
	}
	if strings.Index(joined, "triggered") > strings.Index(joined, "acknowledged") || strings.Index(joined, "acknowledged") > strings.Index(joined, "resolved") {
		t.Errorf("events out of order: %s", joined)
	}
}

// A leader change in the middle of an incident's stream: the new leader
// resumes from the replicated cursor, so every timeline entry arrives, in
// order, and at most the one in flight at the kill arrives twice.
func TestIncidentEventsSurviveLeaderKill(t *testing.T) {
	url, got := startReceiver(t, false, "0.2")
	cfg := `
timezone: UTC
api_tokens: [{name: admin, token: "test-admin-token"}]
users: [{id: alice, email: alice@example.com, notify: [{via: email}]}]
policies:
  - id: web
    steps: [{notify: [user:alice], escalate_after: 1h}]
services: [{id: checkout, policy: web, events_to: [webhook:chatops]}]
integrations: [{name: events, key: "test-events-key", service: checkout}]
channels:
  email: {smtp: "127.0.0.1:1", from: "pagerd@example.com"}
  webhooks: [{id: chatops, url: "` + url + `", secret: "chat-secret"}]
`
	c := testcluster.Start(t, 3, testcluster.Options{Config: cfg})
	leader := c.Leader()
	pgTrigger(t, c, leader, "kill-1", testcluster.EventsKey)
	inc := pgIncident(t, c, leader, "kill-1")
	for i := 0; i < 6; i++ {
		if code, out := c.Run(leader, "note", inc.Key, fmt.Sprintf("note %d", i)); code != 0 {
			t.Fatalf("note: %d %s", code, out)
		}
	}
	// Kill the leader once a few events are through and more are pending.
	c.WaitFor(20*time.Second, func() (bool, string) { return len(got()) >= 2, fmt.Sprintf("%d delivered", len(got())) })
	leader.Kill()
	var next *testcluster.Node
	c.WaitFor(30*time.Second, func() (bool, string) {
		next = c.Leader()
		return next != nil && next != leader, "a new leader"
	})
	if code, out := c.Run(next, "resolve", inc.Key); code != 0 {
		t.Fatalf("resolve on the new leader: %d %s", code, out)
	}
	var seqs []int
	c.WaitFor(60*time.Second, func() (bool, string) {
		inc = pgIncident(t, c, next, "kill-1")
		seqs = seqs[:0]
		last := 0
		for _, r := range got() {
			var e streamEvent
			if json.Unmarshal([]byte(r.Body), &e) == nil && e.Incident.ID == inc.ID {
				seqs = append(seqs, e.Seq)
				last = max(last, e.Seq)
			}
		}
		return last == len(inc.Timeline) && inc.Status == "resolved", fmt.Sprintf("delivered up to %d of %d (%v)", last, len(inc.Timeline), seqs)
	})
	dups := 0
	for i, s := range seqs {
		want := i + 1 - dups
		switch {
		case s == want:
		case s == want-1 && i > 0:
			dups++ // the entry in flight at the kill, again
		default:
			t.Fatalf("event %d has seq %d, want %d: %v", i, s, want, seqs)
		}
	}
	if dups > 1 {
		t.Errorf("%d repeated events, want at most the one in flight: %v", dups, seqs)
	}
	for i, r := range got() {
		if !webhook.Verify("chat-secret", r.TS, []byte(r.Body), r.Sig) {
			t.Errorf("delivery %d: bad signature", i)
		}
	}
}

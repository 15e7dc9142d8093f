// Package chaos is pagerd's fault-injection suite: three real node processes,
// a driver streaming Events v2 triggers and acknowledgements through random
// nodes, and a nemesis that kills (kill -9) and restarts nodes and cuts one
// node off from the others with a TCP proxy in front of each Raft port. A
// checker then proves that nothing acknowledged was lost and that paging held:
// no page after a committed acknowledgement (except one already in flight),
// every due page sent to unacknowledged incidents, no step paged by two nodes.
//
//	go test ./chaos                           # short run, about a minute
//	go test ./chaos -chaos.long               # ten minutes (or PAGERD_CHAOS_LONG=1)
//	go test ./chaos -chaos.duration 3m -chaos.seed 42
package chaos

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

var (
	longRun  = flag.Bool("chaos.long", false, "run the long chaos run (10 minutes of faults); also PAGERD_CHAOS_LONG=1")
	duration = flag.Duration("chaos.duration", 0, "time under faults (default 35s, long 10m)")
	seedFlag = flag.Uint64("chaos.seed", 0, "seed of the driver and nemesis (default: from the clock, printed)")
)

// escalateAfter is the step length of the chaos policy: two steps, repeated
// once, so an unacknowledged incident is paged at +0, +3s, +6s and +9s.
const escalateAfter = 3 * time.Second

const chaosConfig = `
timezone: UTC
api_tokens:
  - {name: admin, token: "test-admin-token"}
users:
  - {id: alice, name: Alice, email: alice@example.com, notify: [{via: email, after: 0m}]}
  - {id: bob, name: Bob, email: bob@example.com, notify: [{via: email, after: 0m}]}
policies:
  - id: chaos
    repeat: 1
    steps:
      - {notify: [user:alice], escalate_after: 3s}
      - {notify: [user:bob], escalate_after: 3s}
services:
  - {id: checkout, name: Checkout API, policy: chaos}
integrations:
  - name: events
    key: "test-events-key"
    service: checkout
channels:
  email:
    smtp: "127.0.0.1:9"
    from: "pagerd@example.com"
    reply_domain: "pager.example.com"
  flood_control: {max: 100000, per: 1m}
`

func TestChaos(t *testing.T) {
	d := *duration
	long := *longRun || os.Getenv("PAGERD_CHAOS_LONG") == "1"
	if d == 0 {
		d = 35 * time.Second
		if long {
			d = 10 * time.Minute
		}
	}
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos: %v under faults, seed %d (rerun with -chaos.seed %d)", d, seed, seed)

	c := testcluster.Start(t, 3, testcluster.Options{Config: chaosConfig, ExtraArgs: []string{"--dev"}})
	rn := c.ProxyRaft()
	t.Logf("raft traffic now goes through proxies: %s %s %s", rn.ProxyAddr("n1"), rn.ProxyAddr("n2"), rn.ProxyAddr("n3"))

	box := newCollector(c)
	h := &history{}
	drv := startDriver(c, seed, box)
	stopPoll := box.pollEvery(250 * time.Millisecond)
	nemesis(t, c, rn, box, h, rand.New(rand.NewPCG(seed, 2)), d)
	drv.stop()
	lastWrite := time.Now()

	// Heal everything and let escalation finish for every incident still
	// unacknowledged (its last page is due 3 steps after its trigger).
	rn.Heal()
	for _, n := range c.Nodes {
		if !n.Running() {
			n.Start()
			box.restarted(n)
		}
	}
	for _, n := range c.Nodes {
		c.WaitReady(n)
	}
	leader := c.Leader()
	c.WaitFor(3*escalateAfter+60*time.Second, func() (bool, string) {
		busy, err := escalating(c, leader)
		if err != nil {
			return false, err.Error()
		}
		return busy == 0, fmt.Sprintf("%d unacknowledged incidents still escalating", busy)
	})
	state := waitConverged(t, c, 60*time.Second)
	stopPoll()
	for _, n := range c.Nodes {
		box.collect(n)
	}
	t.Logf("quiet after %v of faults and %v of settling", d, time.Since(lastWrite).Round(time.Second))

	res := check(t, c, leader, drv, box, h, state)
	res.report(t)
	if res.lost > 0 || res.duplicates > 0 || res.neverSent > 0 || res.ackLost > 0 || res.doubleSent > 0 || res.pagedAfterAck > 0 || res.missedDue > 0 ||
		res.dupSteps > 0 || res.unexplainedUnseen > 0 || len(drv.bad) > 0 || res.dropped > 0 {
		t.Errorf("chaos checker failed (seed %d); counts above", seed)
	}
	if drv.triggered() < 50 {
		t.Errorf("only %d triggers were acknowledged: the run proved little", drv.triggered())
	}
}

// ---- driver ----------------------------------------------------------------

type driver struct {
	c      *testcluster.Cluster
	box    *collector
	client *http.Client
	quit   chan struct{}
	wg     sync.WaitGroup
	seq    atomic.Int64

	mu       sync.Mutex
	trig     map[string]time.Time // dedup key → when its trigger was answered 202
	ackd     map[string]time.Time // dedup key → when its acknowledge was answered 202
	pending  []string             // triggered, not yet acknowledged (candidates)
	unknown  int                  // transport errors: outcome unknown
	refused  int                  // 503 with Retry-After
	bad      []string             // anything else
	triggers int
	ackTries int
}

func startDriver(c *testcluster.Cluster, seed uint64, box *collector) *driver {
	d := &driver{c: c, box: box, client: &http.Client{Timeout: 10 * time.Second}, quit: make(chan struct{}),
		trig: map[string]time.Time{}, ackd: map[string]time.Time{}}
	for w := 0; w < 4; w++ {
		d.wg.Add(1)
		go d.work(rand.New(rand.NewPCG(seed, uint64(w)+10)))
	}
	return d
}

func (d *driver) stop() { close(d.quit); d.wg.Wait() }

func (d *driver) triggered() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.trig) }

func (d *driver) work(rng *rand.Rand) {
	defer d.wg.Done()
	for {
		select {
		case <-d.quit:
			return
		case <-time.After(time.Duration(60+rng.IntN(80)) * time.Millisecond): // the driver's pace
		}
		n := d.c.Nodes[rng.IntN(len(d.c.Nodes))]
		if !n.Running() {
			continue
		}
		d.mu.Lock()
		ack := ""
		if len(d.pending) > 0 && rng.IntN(100) < 35 {
			i := rng.IntN(len(d.pending))
			ack = d.pending[i]
			d.pending[i] = d.pending[len(d.pending)-1]
			d.pending = d.pending[:len(d.pending)-1]
		}
		d.mu.Unlock()
		var body []byte
		key := ack
		if ack != "" {
			body, _ = json.Marshal(map[string]any{"routing_key": testcluster.EventsKey, "event_action": "acknowledge", "dedup_key": ack})
		} else {
			key = fmt.Sprintf("chaos-%05d", d.seq.Add(1))
			body, _ = json.Marshal(map[string]any{"routing_key": testcluster.EventsKey, "event_action": "trigger", "dedup_key": key,
				"payload": map[string]any{"summary": "chaos " + key, "source": "chaos", "severity": "critical"}})
		}
		resp, err := d.client.Post(n.URL()+"/v2/enqueue", "application/json", bytes.NewReader(body))
		code, retry, text := 0, "", ""
		if err != nil {
			text = err.Error()
		} else {
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			resp.Body.Close()
			code, retry, text = resp.StatusCode, resp.Header.Get("Retry-After"), b.String()
		}
		at := time.Now()
		d.mu.Lock()
		switch {
		case code == 202 && ack != "":
			d.ackd[key] = at
		case code == 202:
			d.trig[key] = at
			d.pending = append(d.pending, key)
		case code == 503 && retry != "":
			d.refused++
			if ack != "" {
				d.pending = append(d.pending, ack) // try again later
			}
		case code == 0:
			d.unknown++
			if ack != "" {
				d.pending = append(d.pending, ack)
			}
		default:
			d.bad = append(d.bad, fmt.Sprintf("%s %s via %s: %d %s", map[bool]string{true: "ack", false: "trigger"}[ack != ""], key, n.ID, code, text))
		}
		d.mu.Unlock()
	}
}

// ---- nemesis ---------------------------------------------------------------

type fault struct {
	kind     string // kill | isolate
	node     string
	from, to time.Time
}

type history struct {
	mu     sync.Mutex
	faults []fault
}

func (h *history) add(f fault) { h.mu.Lock(); h.faults = append(h.faults, f); h.mu.Unlock() }

// leadershipLost reports whether node lost leadership (was killed or cut
// off) within [at-before, at+after].
func (h *history) leadershipLost(node string, at time.Time, before, after time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.faults {
		if f.node == node && !f.from.Before(at.Add(-before)) && !f.from.After(at.Add(after)) {
			return true
		}
	}
	return false
}

func (h *history) anyKill(at time.Time, before, after time.Duration) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range h.faults {
		if f.kind == "kill" && !f.from.Before(at.Add(-before)) && !f.from.After(at.Add(after)) {
			return true
		}
	}
	return false
}

// nemesis injects one fault at a time until d has passed: kill -9 of a random
// node or of the leader (restarted 1-3 s later), or cutting a random node or
// the leader off from the others (healed 1.5-3.5 s later).
func nemesis(t *testing.T, c *testcluster.Cluster, rn *testcluster.RaftNet, box *collector, h *history, rng *rand.Rand, d time.Duration) {
	end := time.Now().Add(d)
	counts := map[string]int{}
	for time.Now().Before(end) {
		time.Sleep(time.Duration(800+rng.IntN(1200)) * time.Millisecond) // the nemesis's pace
		kind := []string{"kill", "kill-leader", "isolate", "isolate-leader"}[rng.IntN(4)]
		var victim *testcluster.Node
		if strings.HasSuffix(kind, "leader") {
			victim = leaderOrNil(c)
		}
		if victim == nil {
			victim = c.Nodes[rng.IntN(len(c.Nodes))]
		}
		counts[kind]++
		from := time.Now()
		if strings.HasPrefix(kind, "kill") {
			box.collect(victim) // what it sent so far; a kill loses its in-memory outbox
			victim.Kill()
			hold := time.Duration(1000+rng.IntN(2000)) * time.Millisecond
			time.Sleep(hold) // the node stays down this long, by design
			victim.Start()
			box.restarted(victim)
			h.add(fault{kind: "kill", node: victim.ID, from: from, to: time.Now()})
			t.Logf("%s nemesis: kill -9 %s, down %v", from.Format("15:04:05.000"), victim.ID, hold)
		} else {
			rn.Isolate(victim)
			hold := time.Duration(1500+rng.IntN(2000)) * time.Millisecond
			time.Sleep(hold) // the partition lasts this long, by design
			rn.Heal()
			h.add(fault{kind: "isolate", node: victim.ID, from: from, to: time.Now()})
			t.Logf("%s nemesis: cut %s off for %v", from.Format("15:04:05.000"), victim.ID, hold)
		}
	}
	t.Logf("nemesis: %v; proxies refused %d connections", counts, rn.Refused())
}

// leaderOrNil asks the running nodes who leads, without failing the test.
func leaderOrNil(c *testcluster.Cluster) *testcluster.Node {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		var st testcluster.Status
		if c.GetJSON(n, "/v1/cluster", &st) != 200 {
			continue
		}
		for _, m := range c.Nodes {
			if m.ID == st.Leader && m.Running() {
				return m
			}
		}
	}
	return nil
}

// ---- outbox collection -----------------------------------------------------

// message is one entry of GET /dev/outbox?format=json.
type message struct {
	Seq           uint64    `json:"seq"`
	ID            string    `json:"id"`
	Channel       string    `json:"channel"`
	To            string    `json:"to"`
	User          string    `json:"user"`
	Incidents     []string  `json:"incidents"`
	Notifications []string  `json:"notifications"`
	Step          int       `json:"step"`
	Loop          int       `json:"loop"`
	Summary       bool      `json:"summary"`
	Node          string    `json:"node"`
	At            time.Time `json:"at"`
}

// collector keeps every message any node's outbox ever showed. An outbox
// lives in memory, so it is read every 250 ms and right before each kill.
type collector struct {
	c       *testcluster.Cluster
	mu      sync.Mutex
	boot    map[string]int
	seen    map[string]bool
	msgs    []message
	dropped uint64
	reads   int
}

func newCollector(c *testcluster.Cluster) *collector {
	return &collector{c: c, boot: map[string]int{}, seen: map[string]bool{}}
}

func (b *collector) restarted(n *testcluster.Node) { b.mu.Lock(); b.boot[n.ID]++; b.mu.Unlock() }

func (b *collector) collect(n *testcluster.Node) {
	if !n.Running() {
		return
	}
	b.mu.Lock()
	boot := b.boot[n.ID]
	b.mu.Unlock()
	code, body := b.c.Do(n, http.MethodGet, "/dev/outbox?format=json", nil, nil)
	if code != 200 {
		return
	}
	var box struct {
		Node     string    `json:"node"`
		Dropped  uint64    `json:"dropped"`
		Messages []message `json:"messages"`
	}
	if json.Unmarshal(body, &box) != nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.boot[n.ID] != boot {
		return // restarted meanwhile: this answer may be the new process's; it is read again
	}
	b.reads++
	b.dropped += box.Dropped
	for _, m := range box.Messages {
		k := fmt.Sprintf("%s/%d/%d", n.ID, boot, m.Seq)
		if !b.seen[k] {
			b.seen[k] = true
			if m.Node == "" {
				m.Node = n.ID
			}
			b.msgs = append(b.msgs, m)
		}
	}
}

func (b *collector) pollEvery(d time.Duration) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(d):
			}
			for _, n := range b.c.Nodes {
				b.collect(n)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// ---- state -----------------------------------------------------------------

type notification struct {
	ID      string     `json:"id"`
	User    string     `json:"user"`
	Channel string     `json:"channel"`
	Step    int        `json:"step"`
	Loop    int        `json:"loop"`
	Status  string     `json:"status"`
	DueAt   time.Time  `json:"due_at"`
	SentAt  *time.Time `json:"sent_at"`
}

type incidentView struct {
	ID             uint64     `json:"id"`
	Key            string     `json:"key"`
	Status         string     `json:"status"`
	DedupKey       string     `json:"dedup_key"`
	CreatedAt      time.Time  `json:"created_at"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	Escalation     *struct {
		Step      int        `json:"step"`
		Loop      int        `json:"loop"`
		NextAt    *time.Time `json:"next_at"`
		Exhausted bool       `json:"exhausted"`
	} `json:"escalation"`
	Notifications []notification `json:"notifications"`
}

// listAll reads every incident on n (list form), following cursors.
func listAll(c *testcluster.Cluster, n *testcluster.Node, status string) ([]incidentView, string, error) {
	var out []incidentView
	var raw bytes.Buffer
	cursor := ""
	for {
		path := "/v1/incidents?status=" + status + "&limit=1000"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, body := c.Do(n, http.MethodGet, path, nil, nil)
		if code != 200 {
			return nil, "", fmt.Errorf("%s GET %s: %d %s", n.ID, path, code, body)
		}
		var page struct {
			Incidents []json.RawMessage `json:"incidents"`
			Next      string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, "", err
		}
		for _, item := range page.Incidents {
			var v incidentView
			if err := json.Unmarshal(item, &v); err != nil {
				return nil, "", err
			}
			out = append(out, v)
			json.Compact(&raw, item)
			raw.WriteByte('\n')
		}
		if page.Next == "" || len(page.Incidents) == 0 {
			return out, raw.String(), nil
		}
		cursor = page.Next
	}
}

// escalating counts unacknowledged incidents whose policy has not run out.
func escalating(c *testcluster.Cluster, n *testcluster.Node) (int, error) {
	items, _, err := listAll(c, n, "triggered")
	if err != nil {
		return 0, err
	}
	busy := 0
	for _, inc := range items {
		if inc.Escalation == nil || !inc.Escalation.Exhausted {
			busy++
		}
	}
	return busy, nil
}

// waitConverged waits until every node lists the same incidents at the same
// applied index, and returns that list.
func waitConverged(t *testing.T, c *testcluster.Cluster, timeout time.Duration) []incidentView {
	t.Helper()
	var result []incidentView
	c.WaitFor(timeout, func() (bool, string) {
		var firstRaw string
		var firstIdx uint64
		for i, n := range c.Nodes {
			var st testcluster.Status
			if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
				return false, fmt.Sprintf("%s GET /v1/cluster: %d", n.ID, code)
			}
			items, raw, err := listAll(c, n, "all")
			if err != nil {
				return false, err.Error()
			}
			if i == 0 {
				firstRaw, firstIdx, result = raw, st.AppliedIndex, items
				continue
			}
			if raw != firstRaw || st.AppliedIndex != firstIdx {
				return false, fmt.Sprintf("%s differs from n1 (applied %d vs %d)", n.ID, st.AppliedIndex, firstIdx)
			}
		}
		return true, ""
	})
	return result
}

// ---- checker ---------------------------------------------------------------

type result struct {
	triggers, acks, refused, unknown       int
	incidents, lost, duplicates, neverSent int
	ackLost                                int
	pagingChecked                          bool
	messages, pages                        int
	dueChecked, missedDue                  int
	maxDelay                               time.Duration
	maxDelayAt                             string
	pagedAfterAck, inFlightAfterAck        int
	doubleSent, resentInFlight             int
	dupSteps                               int
	unseen, unexplainedUnseen              int
	dropped                                uint64
	outboxReads                            int
	examples                               []string
}

func (r *result) example(format string, args ...any) {
	if len(r.examples) < 15 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

func check(t *testing.T, c *testcluster.Cluster, leader *testcluster.Node, d *driver, box *collector, h *history, state []incidentView) *result {
	t.Helper()
	r := &result{}
	d.mu.Lock()
	trig, ackd := d.trig, d.ackd
	r.triggers, r.acks, r.refused, r.unknown = len(trig), len(ackd), d.refused, d.unknown
	for _, b := range d.bad {
		t.Errorf("answer neither 202 nor 503 with Retry-After: %s", b)
	}
	d.mu.Unlock()

	// 1. Every trigger answered 202 is exactly one incident on every node;
	// every acknowledgement answered 202 holds on every node.
	for _, n := range c.Nodes {
		items, _, err := listAll(c, n, "all")
		if err != nil {
			t.Fatal(err)
		}
		byKey := map[string][]incidentView{}
		for _, inc := range items {
			byKey[inc.DedupKey] = append(byKey[inc.DedupKey], inc)
		}
		r.incidents = len(items)
		for k, incs := range byKey {
			i, err := strconv.Atoi(strings.TrimPrefix(k, "chaos-"))
			if err != nil || i < 1 || int64(i) > d.seq.Load() {
				r.neverSent += len(incs)
				r.example("%s: incident %s with dedup_key %q that was never sent", n.ID, incs[0].Key, k)
			}
		}
		for k := range trig {
			switch len(byKey[k]) {
			case 1:
			case 0:
				r.lost++
				r.example("%s: acknowledged trigger %s is missing", n.ID, k)
			default:
				r.duplicates++
				r.example("%s: trigger %s has %d incidents", n.ID, k, len(byKey[k]))
			}
		}
		for k := range ackd {
			if incs := byKey[k]; len(incs) != 1 || incs[0].Status != "acknowledged" {
				r.ackLost++
				r.example("%s: acknowledged ack of %s does not hold: %+v", n.ID, k, incs)
			}
		}
	}

	// 2. Paging, from the converged state and every outbox message seen.
	box.mu.Lock()
	msgs := append([]message(nil), box.msgs...)
	r.dropped, r.outboxReads = box.dropped, box.reads
	box.mu.Unlock()
	r.messages = len(msgs)
	detail := map[string]*incidentView{}
	notif := map[string]*notification{}
	notifInc := map[string]*incidentView{}
	for _, s := range state {
		var inc incidentView
		if code := c.GetJSON(leader, "/v1/incidents/"+strconv.FormatUint(s.ID, 10), &inc); code != 200 {
			t.Fatalf("GET incident %d: %d", s.ID, code)
		}
		detail[inc.Key] = &inc
		for i := range inc.Notifications {
			nt := &inc.Notifications[i]
			notif[nt.ID] = nt
			notifInc[nt.ID] = &inc
		}
	}
	r.pagingChecked = len(notif) > 0 || len(msgs) > 0
	if !r.pagingChecked {
		return r
	}
	// Which notification each message delivered, by which node, when.
	type send struct {
		node string
		at   time.Time
	}
	sends := map[string][]send{}
	for _, m := range msgs {
		ids := m.Notifications
		if len(ids) == 0 {
			ids = []string{m.ID}
		}
		for _, id := range ids {
			sends[id] = append(sends[id], send{m.Node, m.At})
			r.pages++
		}
	}
	for id, ss := range sends {
		sort.Slice(ss, func(i, j int) bool { return ss[i].at.Before(ss[j].at) })
		nt, inc := notif[id], notifInc[id]
		if nt == nil {
			r.example("outbox message for unknown notification %s", id)
			continue
		}
		// No step paged by two nodes (or twice by one), except a resend of
		// a page in flight when its sender lost leadership (spec §4).
		if len(ss) > 1 {
			if h.leadershipLost(ss[0].node, ss[0].at, time.Second, 3*time.Second) {
				r.resentInFlight++
			} else {
				r.doubleSent++
				r.example("%s of %s sent %d times: %+v", id, inc.Key, len(ss), ss)
			}
		}
		// No page after the acknowledgement was committed, unless it was
		// already due (queued, in flight) before that.
		if inc.AcknowledgedAt != nil && ss[0].at.After(*inc.AcknowledgedAt) {
			if nt.DueAt.Before(*inc.AcknowledgedAt) {
				r.inFlightAfterAck++
			} else {
				r.pagedAfterAck++
				r.example("%s of %s (due %s) sent at %s after the ack at %s", id, inc.Key,
					nt.DueAt.Format("15:04:05.000"), ss[0].at.Format("15:04:05.000"), inc.AcknowledgedAt.Format("15:04:05.000"))
			}
		}
	}
	for _, inc := range detail {
		steps := map[string]int{}
		for _, nt := range inc.Notifications {
			steps[fmt.Sprintf("%d/%d/%s/%s", nt.Step, nt.Loop, nt.User, nt.Channel)]++
			if nt.Status == "sent" && len(sends[nt.ID]) == 0 {
				r.unseen++
				// Its sender was killed before the outbox was read again.
				if nt.SentAt == nil || !h.anyKill(*nt.SentAt, time.Second, 2*time.Second) {
					r.unexplainedUnseen++
					r.example("%s of %s is sent per the state but in no outbox", nt.ID, inc.Key)
				}
			}
		}
		for k, v := range steps {
			if v > 1 {
				r.dupSteps++
				r.example("%s: step %s has %d notifications", inc.Key, k, v)
			}
		}
		if inc.Status != "triggered" {
			continue
		}
		// Every page of an unacknowledged incident came due and went out.
		// Step 0 is due at the trigger, each later step escalateAfter after
		// the previous one started (its notification's due time): the delay
		// past due includes a step started late for want of a leader.
		due := inc.CreatedAt
		for _, want := range []struct{ step, loop int }{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			r.dueChecked++
			var got *notification
			for i := range inc.Notifications {
				if nt := &inc.Notifications[i]; nt.Step == want.step && nt.Loop == want.loop {
					got = nt
				}
			}
			if got == nil || got.Status != "sent" {
				r.missedDue++
				r.example("%s: page for step %d loop %d not sent: %+v", inc.Key, want.step, want.loop, got)
				break
			}
			if ss := sends[got.ID]; len(ss) > 0 {
				if late := ss[0].at.Sub(due); late > r.maxDelay {
					r.maxDelay, r.maxDelayAt = late, fmt.Sprintf("%s step %d loop %d", inc.Key, want.step, want.loop)
				}
			}
			due = got.DueAt.Add(escalateAfter)
		}
	}
	return r
}

func (r *result) report(t *testing.T) {
	t.Logf("driver: %d triggers and %d acknowledgements answered 202, %d answered 503, %d outcome unknown (node went down)",
		r.triggers, r.acks, r.refused, r.unknown)
	t.Logf("ingest: %d incidents per node; lost = %d, duplicated = %d, never sent = %d, acknowledgements not held = %d",
		r.incidents, r.lost, r.duplicates, r.neverSent, r.ackLost)
	if !r.pagingChecked {
		t.Logf("paging: no notifications in the state and no outbox messages: escalation not active, paging checks skipped")
	} else {
		t.Logf("paging: %d outbox messages (%d pages) from %d outbox reads, %d dropped by the outboxes", r.messages, r.pages, r.outboxReads, r.dropped)
		t.Logf("paging: due pages of unacknowledged incidents checked %d, missed %d, largest delay past due %v (%s)",
			r.dueChecked, r.missedDue, r.maxDelay.Round(time.Millisecond), r.maxDelayAt)
		t.Logf("paging: paged after the acknowledgement committed = %d (plus %d already in flight, allowed)", r.pagedAfterAck, r.inFlightAfterAck)
		t.Logf("paging: double-sent steps = %d (plus %d resent after the sender lost leadership mid-send, allowed by spec §4); steps with two notifications = %d",
			r.doubleSent, r.resentInFlight, r.dupSteps)
		t.Logf("paging: sent per the state but in no outbox read = %d (%d not explained by a kill right after sending)", r.unseen, r.unexplainedUnseen)
	}
	for _, e := range r.examples {
		t.Logf("  e.g. %s", e)
	}
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/webhook"
)

// previousRelease is the commit the rolling upgrade starts from: the
// replicated core before the command registry and the version gate (the
// last commit before the command formats changed: alert links, apply-rules
// versions, ack deadlines, flood-control holds, restore commands).
const previousRelease = "8114ae146c01f47497dc702d3731e6d328e15f36"

const upgradeConfig = `
timezone: UTC
api_tokens: [{name: admin, token: "test-admin-token"}]
users: [{id: alice, email: alice@example.com, notify: []}]
policies:
  - id: hook
    steps: [{notify: [webhook:chat], escalate_after: 1h}]
services: [{id: checkout, policy: hook}]
integrations: [{name: events, key: "test-events-key", service: checkout}]
channels:
  webhooks: [{id: chat, url: "%s/hook", secret: "hook-secret"}]
`

// TestRollingUpgradeUnderLoad: a 3-node cluster of the previous release takes
// Events v2 triggers and acknowledgements continuously while each node in
// turn is stopped and restarted as the new build. No acknowledged write is
// lost, no page goes out twice, the old members keep applying what a new
// leader writes, and the new command versions (event version 2 and up: the
// apply-rules version, under which a trigger retitles its open incident)
// are written only once the third node runs the new build.
func TestRollingUpgradeUnderLoad(t *testing.T) {
	oldBin := testcluster.BuildAt(t, previousRelease)
	newBin := testcluster.Binary(t)
	pages := newPageCounter(t)
	c := testcluster.Start(t, 3, testcluster.Options{Binary: oldBin, Config: fmt.Sprintf(upgradeConfig, pages.srv.URL)})
	awaitVoters(t, c)
	load := startEventLoad(c)

	upgrade := func(n *testcluster.Node) {
		t.Helper()
		n.Stop()
		n.UseBinary(newBin)
		n.Start()
		c.WaitReady(n)
		load.await(t, 20) // writes go on with the upgraded member in
	}
	leader := c.Leader()
	var followers []*testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			followers = append(followers, n)
		}
	}
	first, last := followers[0], followers[1]

	// 1: a follower. It applies what the old leader writes.
	upgrade(first)
	// 2: the leader. Then make sure a new-build node leads while the last
	// old member runs: if that member won the election, bounce it (same
	// old build) so one of the two upgraded nodes takes over.
	upgrade(leader)
	if l := c.Leader(); l == last {
		last.Stop()
		c.WaitFor(30*time.Second, func() (bool, string) {
			l := c.Leader()
			return l != last, "leader " + l.ID
		})
		last.Start()
		c.WaitReady(last)
	}
	newLeader := c.Leader()
	load.await(t, 20)
	awaitAnnounced(t, c, newLeader, first.ID, leader.ID)
	// The gate is closed: the new leader writes event version 1 (rules
	// version 0: a second trigger does not retitle), the old member applies
	// it, and a command version 1 cannot express is refused naming it.
	assertGate(t, c, newLeader, 1)
	probeRetitle(t, c, newLeader, last, "probe-mixed", false)
	assertRestoreRefused(t, c, newLeader, last.ID)
	status := clusterStatusCLI(t, newBin, newLeader)
	if !strings.Contains(status, "(before the version gate: all at 1)") || !strings.Contains(status, "leader writes: all at 1; held back: ") || !strings.Contains(status, "restore_chunk") {
		t.Fatalf("pagerd cluster status with an old member:\n%s", status)
	}
	if code, exited := last.WaitExit(10 * time.Millisecond); exited {
		t.Fatalf("old member %s stopped (exit %d) applying what the new leader wrote:\n%s", last.ID, code, last.Log())
	}

	// 3: the last old member. Only now does the gate open.
	upgrade(last)
	c.WaitFor(30*time.Second, func() (bool, string) {
		var st upgradeStatus
		c.GetJSON(c.Leader(), "/v1/cluster", &st)
		return maps.Equal(st.CommandVersions, cluster.CommandVersions()), fmt.Sprintf("leader writes %v", st.CommandVersions)
	})
	probeRetitle(t, c, c.Leader(), c.Leader(), "probe-upgraded", true)
	load.await(t, 20)
	load.stop()

	var st upgradeStatus
	if code := c.GetJSON(c.Leader(), "/v1/cluster", &st); code != 200 {
		t.Fatalf("GET /v1/cluster: %d", code)
	}
	for _, m := range st.Nodes {
		if !maps.Equal(m.Commands, cluster.AnnouncedVersions()) || m.Version == "" {
			t.Fatalf("member %s after the upgrade: version %q commands %v", m.ID, m.Version, m.Commands)
		}
	}
	status = clusterStatusCLI(t, newBin, c.Leader())
	newest := newestVersionsLine(t)
	if strings.Count(status, newest) != len(c.Nodes)+1 || strings.Contains(status, "before the version gate") {
		t.Fatalf("pagerd cluster status after the upgrade (want %q for %d members and the leader's writes):\n%s", newest, len(c.Nodes), status)
	}
	load.verify(t, c)
	pages.verify(t, c)
}

// clusterStatusCLI runs `pagerd cluster status` of bin against node n.
func clusterStatusCLI(t *testing.T, bin string, n *testcluster.Node) string {
	t.Helper()
	cmd := exec.Command(bin, "cluster", "status")
	cmd.Env = append(os.Environ(), "PAGERD_SERVER="+n.URL(), "PAGERD_TOKEN="+testcluster.Token)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("pagerd cluster status: %v\n%s", err, out)
	}
	return string(out)
}

// awaitVoters waits until the leader lists every node as a voter: Start
// returns once they are listed, a joiner may still be a non-voter.
func awaitVoters(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	c.WaitFor(60*time.Second, func() (bool, string) {
		var st testcluster.Status
		if code := c.GetJSON(c.Leader(), "/v1/cluster", &st); code != 200 {
			return false, fmt.Sprintf("GET /v1/cluster: %d", code)
		}
		voters := 0
		for _, m := range st.Nodes {
			if m.Suffrage == "voter" {
				voters++
			}
		}
		return voters == len(c.Nodes), fmt.Sprintf("%d of %d voters", voters, len(c.Nodes))
	})
}

// awaitAnnounced waits until the leader's member list shows the versions of
// the upgraded members (each announces them to a new leader within about a
// second).
func awaitAnnounced(t *testing.T, c *testcluster.Cluster, leader *testcluster.Node, ids ...string) {
	t.Helper()
	c.WaitFor(30*time.Second, func() (bool, string) {
		var st upgradeStatus
		if code := c.GetJSON(leader, "/v1/cluster", &st); code != 200 {
			return false, fmt.Sprintf("GET /v1/cluster: %d", code)
		}
		for _, id := range ids {
			for _, m := range st.Nodes {
				if m.ID == id && !maps.Equal(m.Commands, cluster.AnnouncedVersions()) {
					return false, fmt.Sprintf("%s has not announced its versions: %v", id, m.Commands)
				}
			}
		}
		return true, ""
	})
}

// eventLoad sends Events v2 triggers, and acknowledgements of keys already
// triggered, round robin to every node, and remembers what was acknowledged
// (202) so that none of it may be lost.
type eventLoad struct {
	c    *testcluster.Cluster
	done chan struct{}
	wg   sync.WaitGroup

	mu        sync.Mutex
	triggered []string // keys whose trigger was answered 202
	acked     []string // keys whose acknowledge was answered 202
	refused   int
}

func startEventLoad(c *testcluster.Cluster) *eventLoad {
	l := &eventLoad{c: c, done: make(chan struct{})}
	l.wg.Add(1)
	go l.run()
	return l
}

func (l *eventLoad) run() {
	defer l.wg.Done()
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; ; i++ {
		select {
		case <-l.done:
			return
		case <-time.After(15 * time.Millisecond): // a steady, modest rate on a shared host
		}
		n := l.c.Nodes[i%len(l.c.Nodes)]
		action, key := "trigger", fmt.Sprintf("up-%d", i)
		l.mu.Lock()
		if i%3 == 2 && len(l.triggered) > len(l.acked) {
			action, key = "acknowledge", l.triggered[len(l.acked)]
		}
		l.mu.Unlock()
		if sendEvent(client, n, action, key) {
			l.mu.Lock()
			if action == "trigger" {
				l.triggered = append(l.triggered, key)
			} else {
				l.acked = append(l.acked, key)
			}
			l.mu.Unlock()
		} else {
			l.mu.Lock()
			l.refused++
			l.mu.Unlock()
		}
	}
}

// sendEvent posts one event; true when it was answered 202 (acknowledged).
func sendEvent(client *http.Client, n *testcluster.Node, action, key string) bool {
	ev := map[string]any{"routing_key": testcluster.EventsKey, "event_action": action, "dedup_key": key}
	if action == "trigger" {
		ev["payload"] = map[string]any{"summary": "upgrade load " + key, "source": "load", "severity": "critical"}
	}
	b, _ := json.Marshal(ev)
	resp, err := client.Post(n.URL()+"/v2/enqueue", "application/json", bytes.NewReader(b))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusAccepted
}

// await waits until k more writes were acknowledged: the cluster takes
// writes again after a restart.
func (l *eventLoad) await(t *testing.T, k int) {
	t.Helper()
	l.mu.Lock()
	want := len(l.triggered) + len(l.acked) + k
	l.mu.Unlock()
	testcluster.WaitFor(t, 60*time.Second, func() (bool, string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		got := len(l.triggered) + len(l.acked)
		return got >= want, fmt.Sprintf("%d of %d writes acknowledged (%d refused)", got, want, l.refused)
	})
}

func (l *eventLoad) stop() { close(l.done); l.wg.Wait() }

// verify checks every node holds every acknowledged trigger as an incident,
// acknowledged when its acknowledgement was acknowledged.
func (l *eventLoad) verify(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	t.Logf("load: %d triggers and %d acknowledgements acknowledged, %d refused or unanswered", len(l.triggered), len(l.acked), l.refused)
	acked := map[string]bool{}
	for _, k := range l.acked {
		acked[k] = true
	}
	for _, n := range c.Nodes {
		var byKey map[string]*incident.Incident
		c.WaitFor(30*time.Second, func() (bool, string) {
			byKey = allIncidents(t, c, n)
			for _, k := range l.triggered {
				inc := byKey[k]
				if inc == nil {
					return false, fmt.Sprintf("%s: acknowledged trigger %s lost", n.ID, k)
				}
				if acked[k] && inc.Status != incident.Acknowledged {
					return false, fmt.Sprintf("%s: acknowledged ack of %s lost: %s", n.ID, k, inc.Status)
				}
			}
			return true, ""
		})
	}
}

func allIncidents(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) map[string]*incident.Incident {
	t.Helper()
	out := map[string]*incident.Incident{}
	cursor := ""
	for {
		q := url.Values{"status": {"all"}, "limit": {"1000"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var l amIncidentList
		if code := c.GetJSON(n, "/v1/incidents?"+q.Encode(), &l); code != http.StatusOK {
			t.Fatalf("%s GET /v1/incidents: %d", n.ID, code)
		}
		for _, inc := range l.Incidents {
			out[inc.DedupKey] = inc
		}
		if l.Next == "" {
			return out
		}
		cursor = l.Next
	}
}

// upgradeStatus is the part of GET /v1/cluster the upgrade test reads.
type upgradeStatus struct {
	Leader          string           `json:"leader"`
	CommandVersions map[string]uint8 `json:"command_versions"`
	Nodes           []struct {
		ID       string           `json:"id"`
		Version  string           `json:"version"`
		Commands map[string]uint8 `json:"commands"`
	} `json:"nodes"`
}

// newestVersionsLine is how `pagerd cluster status` shows the command
// versions of this build (cmd/pagerd commandVersionsLine): the types past
// version 1 as name=version in name order, then ", others 1". Derived from
// the registry, so a new command version does not break the test.
func newestVersionsLine(t *testing.T) string {
	t.Helper()
	var newer []string
	for name, v := range cluster.CommandVersions() {
		if v > 1 {
			newer = append(newer, fmt.Sprintf("%s=%d", name, v))
		}
	}
	if len(newer) == 0 {
		t.Fatal("every command type of this build is at version 1: the upgrade would show no new version")
	}
	sort.Strings(newer)
	return strings.Join(newer, " ") + ", others 1"
}

// assertGate: while a member of the previous release runs, the leader
// writes event and alert_group at version want and no type past it,
// whatever newer versions this build applies.
func assertGate(t *testing.T, c *testcluster.Cluster, leader *testcluster.Node, want uint8) {
	t.Helper()
	var st upgradeStatus
	if code := c.GetJSON(leader, "/v1/cluster", &st); code != 200 {
		t.Fatalf("GET /v1/cluster: %d", code)
	}
	if st.CommandVersions["event"] != want || st.CommandVersions["alert_group"] != want {
		t.Fatalf("leader %s writes %v; want event and alert_group at version %d", leader.ID, st.CommandVersions, want)
	}
	for name, newest := range cluster.CommandVersions() {
		if got := st.CommandVersions[name]; got > want {
			t.Fatalf("leader %s writes %s version %d (this build's newest: %d) while a member applies only %d", leader.ID, name, got, newest, want)
		}
	}
}

// probeRetitle triggers key twice with different summaries through leader
// and reads the incident on reader: with event version 2 or later (rules version 1)
// the open incident takes the second summary, with version 1 it keeps the
// first, as the previous release applied it.
func probeRetitle(t *testing.T, c *testcluster.Cluster, leader, reader *testcluster.Node, key string, retitled bool) {
	t.Helper()
	for _, summary := range []string{"first " + key, "second " + key} {
		body := fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":%q,"source":"probe","severity":"critical"}}`,
			testcluster.EventsKey, key, summary)
		if code, out := c.Do(leader, http.MethodPost, "/v2/enqueue", []byte(body), nil); code != http.StatusAccepted {
			t.Fatalf("probe %s: %d %s", key, code, out)
		}
	}
	want := "first " + key
	if retitled {
		want = "second " + key
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		list := amListIncidents(t, c, reader, "all", key)
		if len(list) != 1 {
			return false, fmt.Sprintf("%s: %d incidents for %s", reader.ID, len(list), key)
		}
		return list[0].Title == want, fmt.Sprintf("%s: title %q, want %q", reader.ID, list[0].Title, want)
	})
}

// assertRestoreRefused: the restore commands are new; while a member runs
// the previous release the leader refuses a restore with 503, naming it.
func assertRestoreRefused(t *testing.T, c *testcluster.Cluster, leader *testcluster.Node, oldID string) {
	t.Helper()
	code, snap := c.Do(leader, http.MethodGet, "/v1/snapshot", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /v1/snapshot: %d %s", code, snap)
	}
	code, out := c.Do(leader, http.MethodPut, "/v1/snapshot", snap, map[string]string{"Content-Type": "application/octet-stream"})
	if code != http.StatusServiceUnavailable || !strings.Contains(string(out), "still to upgrade: "+oldID) {
		t.Fatalf("restore with an old member: %d %s; want 503 naming %s", code, out, oldID)
	}
}

// pageCounter is the webhook receiver of the pages: it counts deliveries
// by delivery id (the notification id), so a page sent twice shows.
type pageCounter struct {
	srv *httptest.Server
	mu  sync.Mutex
	n   map[string]int
	at  map[string][]time.Time // arrival of each delivery, by delivery id
}

func newPageCounter(t *testing.T) *pageCounter {
	p := &pageCounter{n: map[string]int{}, at: map[string][]time.Time{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(webhook.HeaderDelivery)
		p.mu.Lock()
		p.n[id]++
		p.at[id] = append(p.at[id], time.Now())
		p.mu.Unlock()
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *pageCounter) verify(t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.n) == 0 {
		t.Fatal("no page went out during the upgrade")
	}
	gained := leadershipGains(c)
	resent := 0
	for id, k := range p.n {
		switch {
		case k == 2 && gainedBetween(gained, p.at[id][0], p.at[id][1]):
			// Spec §4: a leader change may resend the one page that was in
			// flight when its sender stopped leading (a node is stopped for
			// its upgrade, or an election under load), never more.
			resent++
		case k > 1:
			t.Errorf("page %s went out %d times (at %v; leaders gained at %v)", id, k, p.at[id], gained)
		}
	}
	t.Logf("%d pages, each once (%d resent once across a leader change, allowed)", len(p.n), resent)
}

// leadershipGains reads, from every node's log, when it became leader.
func leadershipGains(c *testcluster.Cluster) []time.Time {
	var out []time.Time
	for _, n := range c.Nodes {
		for _, line := range strings.Split(n.Log(), "\n") {
			if !strings.Contains(line, "gained leadership") {
				continue
			}
			ts, _, _ := strings.Cut(strings.TrimPrefix(line, "time="), " ")
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				out = append(out, at)
			}
		}
	}
	return out
}

// gainedBetween: a leader was elected after the first delivery and at most
// shortly after the second (log and receiver clocks are the same machine's).
func gainedBetween(gained []time.Time, first, second time.Time) bool {
	for _, g := range gained {
		if g.After(first.Add(-100*time.Millisecond)) && g.Before(second.Add(100*time.Millisecond)) {
			return true
		}
	}
	return false
}

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// incidentView is the part of an incident the cluster tests reason about.
type incidentView struct {
	ID       uint64 `json:"id"`
	Key      string `json:"key"`
	Title    string `json:"title"`
	Service  string `json:"service"`
	Status   string `json:"status"`
	DedupKey string `json:"dedup_key"`
}

// incidentList is every incident a node holds, read page by page.
type incidentList struct {
	Raw   string // the concatenated, compacted items: equal on converged nodes
	Items []incidentView
	Pages int
}

// listAll reads GET /v1/incidents?status=all on n, following `next` cursors.
// It returns an error instead of failing so it can be polled inside WaitFor.
func listAll(c *testcluster.Cluster, n *testcluster.Node, limit int) (*incidentList, error) {
	out := &incidentList{}
	var raw bytes.Buffer
	cursor := ""
	seen := map[uint64]bool{}
	for {
		path := "/v1/incidents?status=all&limit=" + strconv.Itoa(limit)
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		code, body := c.Do(n, http.MethodGet, path, nil, nil)
		if code != 200 {
			return nil, fmt.Errorf("%s GET %s: %d %s", n.ID, path, code, body)
		}
		var page struct {
			Incidents []json.RawMessage `json:"incidents"`
			Next      string            `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, fmt.Errorf("%s GET %s: %v: %s", n.ID, path, err, body)
		}
		out.Pages++
		if len(page.Incidents) > limit {
			return nil, fmt.Errorf("%s GET %s: %d items, more than limit %d", n.ID, path, len(page.Incidents), limit)
		}
		for _, item := range page.Incidents {
			var v incidentView
			if err := json.Unmarshal(item, &v); err != nil {
				return nil, fmt.Errorf("%s: decode incident: %v: %s", n.ID, err, item)
			}
			if seen[v.ID] {
				return nil, fmt.Errorf("%s: incident %d listed twice across pages", n.ID, v.ID)
			}
			if k := len(out.Items); k > 0 && out.Items[k-1].ID < v.ID {
				return nil, fmt.Errorf("%s: list not newest first: %d before %d", n.ID, out.Items[k-1].ID, v.ID)
			}
			seen[v.ID] = true
			out.Items = append(out.Items, v)
			if err := json.Compact(&raw, item); err != nil {
				return nil, err
			}
			raw.WriteByte('\n')
		}
		if page.Next == "" {
			break
		}
		if len(page.Incidents) == 0 {
			return nil, fmt.Errorf("%s: empty page with next cursor %q", n.ID, page.Next)
		}
		cursor = page.Next
	}
	out.Raw = raw.String()
	return out, nil
}

func running(c *testcluster.Cluster) []*testcluster.Node {
	var out []*testcluster.Node
	for _, n := range c.Nodes {
		if n.Running() {
			out = append(out, n)
		}
	}
	return out
}

// waitConverged waits until every running node lists the same incidents and
// reports the same applied index, and returns that list.
func waitConverged(t *testing.T, c *testcluster.Cluster, timeout time.Duration) *incidentList {
	t.Helper()
	var result *incidentList
	c.WaitFor(timeout, func() (bool, string) {
		var first *incidentList
		var firstIdx uint64
		var firstID string
		for i, n := range running(c) {
			var st testcluster.Status
			if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
				return false, fmt.Sprintf("%s GET /v1/cluster: %d", n.ID, code)
			}
			l, err := listAll(c, n, 1000)
			if err != nil {
				return false, err.Error()
			}
			if i == 0 {
				first, firstIdx, firstID = l, st.AppliedIndex, n.ID
				continue
			}
			if l.Raw != first.Raw {
				return false, fmt.Sprintf("%s holds %d incidents, %s holds %d (or they differ)",
					firstID, len(first.Items), n.ID, len(l.Items))
			}
			if st.AppliedIndex != firstIdx {
				return false, fmt.Sprintf("applied_index: %d on %s, %d on %s", firstIdx, firstID, st.AppliedIndex, n.ID)
			}
		}
		result = first
		return true, ""
	})
	return result
}

// eventRetrying posts an Events v2 event as a real sender does: a 503 with
// Retry-After (the documented answer while the cluster elects a leader) is
// retried after the time it names, for up to 30 s; anything else is final.
func eventRetrying(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, action, key, summary string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := c.Event(n, action, key, summary)
		if code != http.StatusServiceUnavailable || time.Now().After(deadline) {
			mustOK(t, action+" "+key, code, body, 202)
			return
		}
		time.Sleep(time.Second) // the Retry-After pagerd sends (1 s)
	}
}

func mustOK(t *testing.T, what string, code int, body []byte, want int) {
	t.Helper()
	if code != want {
		t.Fatalf("%s: got %d, want %d: %s", what, code, want, body)
	}
}

func incidentByDedup(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, key string) incidentView {
	t.Helper()
	var page struct {
		Incidents []incidentView `json:"incidents"`
	}
	if code := c.GetJSON(n, "/v1/incidents?status=all&dedup_key="+key, &page); code != 200 {
		t.Fatalf("%s: list dedup_key=%s: %d", n.ID, key, code)
	}
	if len(page.Incidents) != 1 {
		t.Fatalf("%s: dedup_key=%s: %d incidents, want 1: %+v", n.ID, key, len(page.Incidents), page.Incidents)
	}
	return page.Incidents[0]
}

// TestForwardingFromFollower sends every kind of write to a follower: an
// Events v2 trigger, an Alertmanager webhook, an ack, a note and a config
// change. Each must succeed and become visible on every node.
func TestForwardingFromFollower(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	leader := c.Leader()
	f := c.Followers()[0]
	t.Logf("leader %s, writing via follower %s", leader.ID, f.ID)

	code, body := c.Event(f, "trigger", "fwd-1", "forwarded trigger")
	mustOK(t, "trigger via follower", code, body, 202)
	var ans struct{ Status, DedupKey string }
	if err := json.Unmarshal(body, &ans); err != nil || ans.Status != "success" {
		t.Fatalf("trigger answer: %v %s", err, body)
	}

	am := `{"version":"4","status":"firing","receiver":"pagerd","groupKey":"{}:{alertname=\"Fwd\"}",
	  "groupLabels":{"alertname":"Fwd"},"commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",
	  "alerts":[{"status":"firing","labels":{"alertname":"Fwd","service":"payments"},"annotations":{"summary":"fwd am"},
	  "startsAt":"2026-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aaaa000000000001"}]}`
	code, body = c.Do(f, http.MethodPost, "/v1/ingest/alertmanager", []byte(am),
		map[string]string{"Authorization": "Bearer " + testcluster.PrometheusKey, "Content-Type": "application/json"})
	mustOK(t, "alertmanager via follower", code, body, 202)

	// Both incidents are visible on every node.
	waitConverged(t, c, 10*time.Second)
	var inc incidentView
	for _, n := range c.Nodes {
		inc = incidentByDedup(t, c, n, "fwd-1")
		if inc.Status != "triggered" || inc.Service != "checkout" {
			t.Fatalf("%s: fwd-1 is %+v", n.ID, inc)
		}
		var page struct{ Incidents []incidentView }
		c.GetJSON(n, "/v1/incidents?status=all&service=payments", &page)
		if len(page.Incidents) != 1 || page.Incidents[0].Title == "" {
			t.Fatalf("%s: alertmanager incident for payments: %+v", n.ID, page.Incidents)
		}
	}

	// Ack and a note via the follower: answered with the new state, visible everywhere.
	code, body = c.Do(f, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/ack", inc.ID), []byte(`{"by":"alice","note":"on it"}`), nil)
	mustOK(t, "ack via follower", code, body, 200)
	var acked struct {
		Status         string `json:"status"`
		AcknowledgedBy string `json:"acknowledged_by"`
	}
	json.Unmarshal(body, &acked)
	if acked.Status != "acknowledged" || acked.AcknowledgedBy != "alice" {
		t.Fatalf("ack answer: %s", body)
	}
	code, body = c.Do(f, http.MethodPost, fmt.Sprintf("/v1/incidents/INC-%d/notes", inc.ID), []byte(`{"by":"alice","note":"forwarded note"}`), nil)
	mustOK(t, "note via follower", code, body, 200)
	waitConverged(t, c, 10*time.Second)
	for _, n := range c.Nodes {
		var full struct {
			Status         string `json:"status"`
			AcknowledgedBy string `json:"acknowledged_by"`
			Timeline       []struct{ Type, Actor, Message string }
		}
		if code := c.GetJSON(n, fmt.Sprintf("/v1/incidents/%d", inc.ID), &full); code != 200 {
			t.Fatalf("%s: GET incident: %d", n.ID, code)
		}
		if full.Status != "acknowledged" || full.AcknowledgedBy != "alice" {
			t.Fatalf("%s: after ack: %+v", n.ID, full)
		}
		if !strings.Contains(fmt.Sprint(full.Timeline), "forwarded note") {
			t.Fatalf("%s: note missing from timeline: %+v", n.ID, full.Timeline)
		}
	}

	// A config change via the follower: every node switches to the same version.
	var before struct{ Version string }
	c.GetJSON(f, "/v1/config", &before)
	newCfg := strings.Replace(testcluster.DefaultConfig, "users:\n",
		"users:\n  - {id: bob, name: Bob, email: bob@example.com, phone: \"+31612345002\"}\n", 1)
	code, body = c.Do(f, http.MethodPut, "/v1/config", []byte(newCfg), map[string]string{"Content-Type": "application/yaml"})
	mustOK(t, "PUT /v1/config via follower", code, body, 200)
	var put struct{ Version string }
	if err := json.Unmarshal(body, &put); err != nil || !strings.HasPrefix(put.Version, "sha256:") || put.Version == before.Version {
		t.Fatalf("PUT /v1/config answer: %s (version before %s)", body, before.Version)
	}
	c.WaitFor(10*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			var got struct{ Version, YAML string }
			if code := c.GetJSON(n, "/v1/config", &got); code != 200 {
				return false, fmt.Sprintf("%s GET /v1/config: %d", n.ID, code)
			}
			if got.Version != put.Version || !strings.Contains(got.YAML, "bob@example.com") {
				return false, fmt.Sprintf("%s config version %s, want %s", n.ID, got.Version, put.Version)
			}
		}
		return true, ""
	})
}

// eventPoster is a bare Events v2 client that also returns headers, so the
// writer can check Retry-After.
type eventPoster struct{ client *http.Client }

func (p *eventPoster) trigger(n *testcluster.Node, key string) (int, http.Header, string) {
	ev := map[string]any{"routing_key": testcluster.EventsKey, "event_action": "trigger", "dedup_key": key,
		"payload": map[string]any{"summary": "load " + key, "source": "e2e", "severity": "error"}}
	b, _ := json.Marshal(ev)
	resp, err := p.client.Post(n.URL()+"/v2/enqueue", "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header, buf.String()
}

// loadWriter sends Events v2 triggers with distinct dedup keys round-robin to
// the nodes not marked down, from a few goroutines, until stopped, out of
// events (a bounded count) or out of time. It records every key answered 202
// and every answer that is neither 202 nor 503 with Retry-After.
type loadWriter struct {
	c         *testcluster.Cluster
	prefix    string
	maxEvents int64
	down      []atomic.Bool // never read Node state from the writers
	phase     atomic.Int32  // bumped by the test at each disruption
	seq       atomic.Int64
	stop      chan struct{}
	stopOnce  sync.Once
	wg        sync.WaitGroup

	mu       sync.Mutex
	acked    []string
	perPhase map[int32]int
	unknown  []string // transport errors from a node being stopped: outcome unknown
	bad      []string
	count503 int
}

func startWriters(c *testcluster.Cluster, prefix string, workers int, maxEvents int64, limit time.Duration) *loadWriter {
	w := &loadWriter{c: c, prefix: prefix, maxEvents: maxEvents, down: make([]atomic.Bool, len(c.Nodes)),
		stop: make(chan struct{}), perPhase: map[int32]int{}}
	poster := &eventPoster{client: &http.Client{Timeout: 15 * time.Second}}
	deadline := time.Now().Add(limit)
	for range workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for {
				select {
				case <-w.stop:
					return
				default:
				}
				i := w.seq.Add(1)
				if i > maxEvents || time.Now().After(deadline) {
					return
				}
				target := int(i) % len(c.Nodes)
				for w.down[target].Load() {
					target = (target + 1) % len(c.Nodes)
				}
				n := c.Nodes[target]
				key := fmt.Sprintf("%s-%05d", prefix, i)
				phase := w.phase.Load()
				code, hdr, body := poster.trigger(n, key)
				w.mu.Lock()
				switch {
				case code == 202:
					w.acked = append(w.acked, key)
					w.perPhase[phase]++
				case code == 503 && hdr.Get("Retry-After") != "":
					w.count503++
					if s, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || s < 1 {
						w.bad = append(w.bad, fmt.Sprintf("%s via %s: 503 with Retry-After %q", key, n.ID, hdr.Get("Retry-After")))
					}
				case code == 0 && w.down[target].Load():
					w.unknown = append(w.unknown, key)
				default:
					w.bad = append(w.bad, fmt.Sprintf("%s via %s: %d Retry-After=%q %s", key, n.ID, code, hdr.Get("Retry-After"), body))
				}
				w.mu.Unlock()
				if code != 202 {
					// Client pacing after a refusal (Retry-After asks for 1s;
					// a short pause keeps the stream going), not synchronisation.
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	return w
}

// ackedIn is the number of 202s for writes sent during phase p.
func (w *loadWriter) ackedIn(p int32) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.perPhase[p]
}

// markDown makes the writers skip node i, and starts a new phase.
func (w *loadWriter) markDown(i int, down bool) int32 {
	w.down[i].Store(down)
	return w.phase.Add(1)
}

// finish stops the writers, reports answers that break the 503 rule, and
// returns the acknowledged keys.
func (w *loadWriter) finish(t *testing.T) []string {
	t.Helper()
	first := false
	w.stopOnce.Do(func() { close(w.stop); first = true })
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !first {
		return append([]string(nil), w.acked...)
	}
	t.Logf("%s writes: %d sent, %d acknowledged %v by phase, %d answered 503, %d unknown (in flight to a node going down)",
		w.prefix, min(w.seq.Load(), w.maxEvents), len(w.acked), w.perPhase, w.count503, len(w.unknown))
	if len(w.bad) > 0 {
		t.Errorf("%d answers were neither 202 nor 503 with Retry-After; first ones:\n%s", len(w.bad), strings.Join(w.bad[:min(len(w.bad), 10)], "\n"))
	}
	return append([]string(nil), w.acked...)
}

// sent reports whether key was sent by this writer.
func (w *loadWriter) sent(key string) bool {
	i, err := strconv.ParseInt(strings.TrimPrefix(key, w.prefix+"-"), 10, 64)
	return strings.HasPrefix(key, w.prefix+"-") && err == nil && i >= 1 && i <= min(w.seq.Load(), w.maxEvents)
}

// checkAcked asserts on every node that each acknowledged key has exactly one
// incident and that no incident of this writer's prefix was never sent.
func checkAcked(t *testing.T, c *testcluster.Cluster, w *loadWriter, acked []string, want *incidentList, pageLimit int) {
	t.Helper()
	for _, n := range c.Nodes {
		l, err := listAll(c, n, pageLimit)
		if err != nil {
			t.Fatal(err)
		}
		if want != nil && l.Raw != want.Raw {
			t.Errorf("%s: paged list differs from the converged list", n.ID)
		}
		perKey := map[string]int{}
		for _, inc := range l.Items {
			perKey[inc.DedupKey]++
			if strings.HasPrefix(inc.DedupKey, w.prefix+"-") && !w.sent(inc.DedupKey) {
				t.Errorf("%s: incident %s with dedup_key %q that was never sent", n.ID, inc.Key, inc.DedupKey)
			}
		}
		lost := 0
		for _, k := range acked {
			if perKey[k] != 1 {
				lost++
				if lost <= 10 {
					t.Errorf("%s: acknowledged key %s has %d incidents, want exactly 1", n.ID, k, perKey[k])
				}
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d of %d acknowledged writes lost or duplicated", n.ID, lost, len(acked))
		}
		t.Logf("%s: %d incidents in %d pages; %d acknowledged keys present once", n.ID, len(l.Items), l.Pages, len(acked)-lost)
		// The dedup_key filter agrees, for a sample.
		for i := 0; i < len(acked); i += len(acked)/10 + 1 {
			incidentByDedup(t, c, n, acked[i])
		}
	}
}

func indexOf(c *testcluster.Cluster, n *testcluster.Node) int {
	for i, m := range c.Nodes {
		if m == n {
			return i
		}
	}
	return -1
}

// TestLeaderKillLosesNoAcknowledgedWrite kills the leader with SIGKILL in the
// middle of a stream of writes sent round-robin to every node. Every trigger
// answered 202 must exist exactly once on every node afterwards; every other
// answer must be 503 with Retry-After (never a 4xx); the survivors must keep
// accepting writes; and the killed node must rejoin from its data dir without
// re-bootstrapping.
func TestLeaderKillLosesNoAcknowledgedWrite(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	var before testcluster.Status
	if code := c.GetJSON(c.Nodes[0], "/v1/cluster", &before); code != 200 {
		t.Fatalf("GET /v1/cluster: %d", code)
	}
	victim := c.Leader()

	w := startWriters(c, "kill", 4, 1200, 15*time.Second)
	defer w.finish(t)
	c.WaitFor(10*time.Second, func() (bool, string) {
		return w.ackedIn(0) >= 80, fmt.Sprintf("%d acknowledged before the kill", w.ackedIn(0))
	})
	t.Logf("killing leader %s after %d acknowledged writes", victim.ID, w.ackedIn(0))
	afterKill := w.markDown(indexOf(c, victim), true)
	killAt := time.Now()
	victim.Kill()

	newLeader := c.Leader()
	if newLeader == victim {
		t.Fatalf("killed node %s still named leader", victim.ID)
	}
	t.Logf("new leader %s after %v", newLeader.ID, time.Since(killAt).Round(time.Millisecond))
	c.WaitFor(10*time.Second, func() (bool, string) {
		return w.ackedIn(afterKill) >= 100, fmt.Sprintf("%d acknowledged after the kill", w.ackedIn(afterKill))
	})
	acked := w.finish(t)

	// The term moved on: a real election happened.
	var mid testcluster.Status
	c.GetJSON(newLeader, "/v1/cluster", &mid)
	if mid.Term <= before.Term {
		t.Errorf("term %d after the kill, %d before: no new election?", mid.Term, before.Term)
	}

	// Restart the killed node from its data dir; it must not bootstrap again.
	logBefore := len(victim.Log())
	victim.Start()
	c.WaitReady(victim)
	final := waitConverged(t, c, 30*time.Second)
	newLog := victim.Log()[logBefore:]
	if !strings.Contains(newLog, "restarting from existing cluster state") || strings.Contains(newLog, "bootstrapping a new cluster") {
		t.Errorf("%s did not restart from its existing state; its log since restart:\n%s", victim.ID, newLog)
	}
	for _, n := range c.Nodes {
		var st testcluster.Status
		if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
			t.Fatalf("%s GET /v1/cluster: %d", n.ID, code)
		}
		if len(st.Nodes) != 3 {
			t.Errorf("%s: %d members after restart, want 3: %+v", n.ID, len(st.Nodes), st.Nodes)
		}
		for i, m := range st.Nodes {
			if i < len(before.Nodes) && (m.ID != before.Nodes[i].ID || m.RaftAddr != before.Nodes[i].RaftAddr || m.Suffrage != "voter") {
				t.Errorf("%s: member %d is %+v, before the kill %+v", n.ID, i, m, before.Nodes[i])
			}
		}
		if st.Leader != newLeader.ID && st.Term == mid.Term {
			t.Errorf("%s names leader %q in term %d, others %q", n.ID, st.Leader, st.Term, newLeader.ID)
		}
	}

	// Every acknowledged key is present exactly once on every node; nothing
	// appears that was never sent. Paging (limit 64) is exercised on the way.
	checkAcked(t, c, w, acked, final, 64)
}

// TestSnapshotSaveRestoreRoundTrip saves a snapshot with the CLI, changes
// incidents and config, restores the file with the CLI, and expects every node
// to hold exactly the saved state again.
func TestSnapshotSaveRestoreRoundTrip(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	f := c.Followers()[0]
	for i := 1; i <= 5; i++ {
		code, body := c.Event(f, "trigger", fmt.Sprintf("snap-%d", i), fmt.Sprintf("snapshot test %d", i))
		mustOK(t, "trigger", code, body, 202)
	}
	code, body := c.Event(f, "resolve", "snap-2", "")
	mustOK(t, "resolve snap-2", code, body, 202)
	saved := waitConverged(t, c, 10*time.Second)
	savedDetail := map[uint64]string{}
	for _, inc := range saved.Items {
		_, b := c.Do(f, http.MethodGet, fmt.Sprintf("/v1/incidents/%d", inc.ID), nil, nil)
		savedDetail[inc.ID] = string(b)
	}
	var savedCfg struct{ Version string }
	c.GetJSON(f, "/v1/config", &savedCfg)

	file := filepath.Join(t.TempDir(), "backup.snap")
	rc, out := c.Run(f, "snapshot", "save", file)
	if rc != 0 {
		t.Fatalf("pagerd snapshot save: exit %d: %s", rc, out)
	}
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		t.Fatalf("snapshot file: %v", err)
	}

	// Change state: ack one, resolve one, create more, change the config.
	snap1 := incidentByDedup(t, c, f, "snap-1")
	code, body = c.Do(f, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/ack", snap1.ID), nil, nil)
	mustOK(t, "ack", code, body, 200)
	code, body = c.Do(f, http.MethodPost, fmt.Sprintf("/v1/incidents/%d/resolve", incidentByDedup(t, c, f, "snap-3").ID), nil, nil)
	mustOK(t, "resolve", code, body, 200)
	for i := 6; i <= 9; i++ {
		code, body := c.Event(f, "trigger", fmt.Sprintf("snap-%d", i), "after the save")
		mustOK(t, "trigger", code, body, 202)
	}
	newCfg := strings.Replace(testcluster.DefaultConfig, "  - {id: payments, name: Payments}\n",
		"  - {id: payments, name: Payments}\n  - {id: search, name: Search}\n", 1)
	code, body = c.Do(f, http.MethodPut, "/v1/config", []byte(newCfg), nil)
	mustOK(t, "PUT /v1/config", code, body, 200)
	changed := waitConverged(t, c, 10*time.Second)
	if changed.Raw == saved.Raw {
		t.Fatal("state did not change after the save; the test would prove nothing")
	}

	// Restore through the other follower: PUT /v1/snapshot is forwarded too.
	rc, out = c.Run(c.Followers()[1], "snapshot", "restore", file)
	if rc != 0 {
		t.Fatalf("pagerd snapshot restore: exit %d: %s", rc, out)
	}
	restored := waitConverged(t, c, 15*time.Second)
	if restored.Raw != saved.Raw {
		t.Fatalf("state after restore differs from the saved one:\nsaved:\n%s\nrestored:\n%s", saved.Raw, restored.Raw)
	}
	for _, n := range c.Nodes {
		for id, want := range savedDetail {
			_, got := c.Do(n, http.MethodGet, fmt.Sprintf("/v1/incidents/%d", id), nil, nil)
			if string(got) != want {
				t.Errorf("%s: INC-%d after restore:\n%s\nsaved:\n%s", n.ID, id, got, want)
			}
		}
		var cfg struct{ Version string }
		c.GetJSON(n, "/v1/config", &cfg)
		if cfg.Version != savedCfg.Version {
			t.Errorf("%s: config version %s after restore, saved %s", n.ID, cfg.Version, savedCfg.Version)
		}
	}
	// The restored cluster keeps working: a new trigger gets a fresh incident.
	code, body = c.Event(f, "trigger", "snap-after", "after restore")
	mustOK(t, "trigger after restore", code, body, 202)
	final := waitConverged(t, c, 10*time.Second)
	if len(final.Items) != len(saved.Items)+1 || final.Items[0].DedupKey != "snap-after" || final.Items[0].ID <= saved.Items[0].ID {
		t.Errorf("after restore and one trigger: %d incidents (saved %d), newest %+v", len(final.Items), len(saved.Items), final.Items[0])
	}
}

var compactRe = regexp.MustCompile(`compacting logs: from=(\d+) to=(\d+)`)

// TestLaggingFollowerInstallsSnapshot stops a follower, writes enough that the
// others snapshot and compact their logs past what it holds, and restarts it:
// it can only catch up by installing a snapshot, and must end with the full
// state.
func TestLaggingFollowerInstallsSnapshot(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{ExtraArgs: []string{
		"--raft-snapshot-threshold", "16", "--raft-snapshot-interval", "200ms", "--raft-trailing-logs", "8",
		"--raft-log-level", "info",
	}})
	leader := c.Leader()
	// Every write retries a 503 as a sender would: on a loaded host the
	// leader may step down once during the test, which is not what it tests.
	for i := 1; i <= 10; i++ {
		eventRetrying(t, c, leader, "trigger", fmt.Sprintf("lag-early-%d", i), "before the follower stops")
	}
	waitConverged(t, c, 10*time.Second)
	lagger := c.Followers()[0]
	var lagSt testcluster.Status
	c.GetJSON(lagger, "/v1/cluster", &lagSt)
	lagger.Kill()
	t.Logf("killed follower %s at applied index %d", lagger.ID, lagSt.AppliedIndex)

	others := running(c)
	logStarts := map[string]int{}
	for _, n := range others {
		logStarts[n.ID] = len(n.Log())
	}
	for i := 1; i <= 200; i++ {
		eventRetrying(t, c, others[i%2], "trigger", fmt.Sprintf("lag-%03d", i), "while the follower is down")
	}
	// Both others (so whichever leads now) compact their logs past
	// everything the lagger has.
	c.WaitFor(15*time.Second, func() (bool, string) {
		for _, n := range others {
			compacted := false
			for _, m := range compactRe.FindAllStringSubmatch(n.Log()[logStarts[n.ID]:], -1) {
				if to, _ := strconv.ParseUint(m[2], 10, 64); to > lagSt.AppliedIndex+16 {
					compacted = true
				}
			}
			if !compacted {
				return false, fmt.Sprintf("%s has not compacted its log past index %d", n.ID, lagSt.AppliedIndex+16)
			}
		}
		return true, ""
	})

	logStart := len(lagger.Log())
	lagger.Start()
	c.WaitReady(lagger)
	final := waitConverged(t, c, 30*time.Second)
	if len(final.Items) != 210 {
		t.Errorf("converged on %d incidents, want 210", len(final.Items))
	}
	lagLog := lagger.Log()[logStart:]
	if !strings.Contains(lagLog, "Installed remote snapshot") {
		t.Errorf("%s caught up without installing a snapshot; its log since restart:\n%s", lagger.ID, lagLog)
	}
	// The caught-up node serves the full state itself.
	byKey := map[string]bool{}
	l, err := listAll(c, lagger, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range l.Items {
		byKey[inc.DedupKey] = true
	}
	for i := 1; i <= 200; i++ {
		if k := fmt.Sprintf("lag-%03d", i); !byKey[k] {
			t.Errorf("%s lacks %s", lagger.ID, k)
		}
	}
	// And it takes part in further writes.
	eventRetrying(t, c, lagger, "trigger", "lag-final", "after catch-up")
	waitConverged(t, c, 10*time.Second)
}

// ownProcess runs node n's process outside testcluster (same binary, config,
// data dir and addresses as testcluster.Node.Start), so the test can read the
// real exit status: testcluster's Node.ExitCode cannot, because Stop and Kill
// drop the process state before it can be read.
type ownProcess struct {
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

func startOwn(t *testing.T, c *testcluster.Cluster, n *testcluster.Node) *ownProcess {
	t.Helper()
	p := &ownProcess{logPath: filepath.Join(t.TempDir(), n.ID+"-own.log"), exited: make(chan struct{})}
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(testcluster.Binary(t), "serve", "--config", c.ConfigPath(), "--data-dir", n.DataDir,
		"--node-id", n.ID, "--http-addr", n.HTTPAddr, "--raft-addr", n.RaftAddr, "--raft-heartbeat-timeout", "500ms")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("--- log of %s (own process) ---\n%s", n.ID, b)
		}
	})
	return p
}

// terminate sends SIGTERM and returns the exit status.
func (p *ownProcess) terminate(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

func (p *ownProcess) log() string { b, _ := os.ReadFile(p.logPath); return string(b) }

// TestGracefulStop stops the leader with SIGTERM, restarts it from its data
// dir and stops it again (exit status 0, clean log), then stops and restarts
// the whole cluster: state survives intact throughout.
func TestGracefulStop(t *testing.T) {
	c := testcluster.Start(t, 3, testcluster.Options{})
	for i := 1; i <= 20; i++ {
		code, body := c.Event(c.Nodes[i%3], "trigger", fmt.Sprintf("term-%d", i), "graceful")
		mustOK(t, "trigger", code, body, 202)
	}
	inc := incidentByDedup(t, c, c.Nodes[0], "term-7")
	code, body := c.Do(c.Nodes[1], http.MethodPost, fmt.Sprintf("/v1/incidents/%d/ack", inc.ID), []byte(`{"by":"alice"}`), nil)
	mustOK(t, "ack", code, body, 200)
	waitConverged(t, c, 10*time.Second)

	// SIGTERM the leader while writes stream in: it shuts down cleanly,
	// in-flight writes get a 202 that holds or a 503, and the others carry on.
	leader := c.Leader()
	w := startWriters(c, "stop", 2, 600, 15*time.Second)
	defer w.finish(t)
	c.WaitFor(10*time.Second, func() (bool, string) {
		return w.ackedIn(0) >= 30, fmt.Sprintf("%d acknowledged before the stop", w.ackedIn(0))
	})
	afterStop := w.markDown(indexOf(c, leader), true)
	leader.Stop()
	if l := leader.Log(); !strings.Contains(l, "signal=terminated") || !strings.Contains(l, "stopped cleanly") {
		t.Fatalf("%s did not shut down cleanly on SIGTERM; log:\n%s", leader.ID, l)
	}
	nl := c.Leader()
	c.WaitFor(10*time.Second, func() (bool, string) {
		return w.ackedIn(afterStop) >= 30, fmt.Sprintf("%d acknowledged after the stop", w.ackedIn(afterStop))
	})
	acked := w.finish(t)
	code, body = c.Event(nl, "trigger", "term-while-down", "graceful")
	mustOK(t, "trigger with the old leader stopped", code, body, 202)
	wantCount := 21 + len(acked)

	// Restart it from its data dir (as a process whose exit status we can
	// read): it catches up, then SIGTERM makes it exit 0.
	own := startOwn(t, c, leader)
	c.WaitReady(leader)
	c.WaitFor(20*time.Second, func() (bool, string) {
		a, err := listAll(c, leader, 1000)
		if err != nil {
			return false, err.Error()
		}
		b, err := listAll(c, nl, 1000)
		if err != nil {
			return false, err.Error()
		}
		return a.Raw == b.Raw && len(a.Items) >= wantCount, fmt.Sprintf("%s holds %d incidents, leader %s %d", leader.ID, len(a.Items), nl.ID, len(b.Items))
	})
	if code := own.terminate(t); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM, want 0; log:\n%s", leader.ID, code, own.log())
	}
	if !strings.Contains(own.log(), "stopped cleanly") {
		t.Errorf("%s: no clean stop in its log:\n%s", leader.ID, own.log())
	}
	leader.Start()
	c.WaitReady(leader)
	want := waitConverged(t, c, 20*time.Second)
	checkAcked(t, c, w, acked, want, 1000)

	// Whole-cluster stop and start: every node stops cleanly and comes back
	// with its state from disk.
	for _, n := range append(c.Followers(), c.Leader()) {
		before := strings.Count(n.Log(), "stopped cleanly")
		n.Stop()
		if strings.Count(n.Log(), "stopped cleanly") != before+1 {
			t.Fatalf("%s did not stop cleanly; log:\n%s", n.ID, n.Log())
		}
	}
	for _, n := range c.Nodes {
		n.Start()
	}
	for _, n := range c.Nodes {
		c.WaitReady(n)
	}
	got := waitConverged(t, c, 20*time.Second)
	if got.Raw != want.Raw {
		t.Fatalf("state after a full restart differs:\nbefore:\n%s\nafter:\n%s", want.Raw, got.Raw)
	}
	if inc := incidentByDedup(t, c, c.Nodes[2], "term-7"); inc.Status != "acknowledged" {
		t.Fatalf("term-7 is %s after restart, want acknowledged", inc.Status)
	}
	code, body = c.Event(c.Nodes[0], "trigger", "term-after", "after restart")
	mustOK(t, "trigger after a full restart", code, body, 202)
}

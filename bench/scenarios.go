package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// EventsOp sends Events v2 triggers with distinct dedup keys, round-robin
// over urls, through net/http (Post): for the open-loop half-rate run and
// the scale load, whose requests are not tied to a worker. Closed-loop
// rates use EventsWorkers.
func EventsOp(urls []string, run string) Op {
	return func(ctx context.Context, i int64) (int, int, error) {
		url := urls[int(i)%len(urls)] + "/v2/enqueue"
		_, code, err := Post(ctx, url, EventTrigger(EventsKey, run+"-"+strconv.FormatInt(i, 10), "bench"), nil, http.StatusAccepted)
		return 1, code, err
	}
}

// FailoverRound is one kill -9 of the leader under a write stream.
type FailoverRound struct {
	Killed        string  `json:"killed"`
	NewLeader     string  `json:"new_leader"`
	ElectionMs    float64 `json:"election_ms"`      // kill → a survivor names a new leader
	WriteGapMs    float64 `json:"write_gap_ms"`     // kill → first 202 for a write sent after the kill
	LongestStall  float64 `json:"longest_stall_ms"` // longest time without any 202 around the kill
	Acked         int     `json:"acked"`
	Refused       int     `json:"refused"`                              // 503s and transport errors (retried)
	OverdueKillMs float64 `json:"overdue_page_after_kill_ms,omitempty"` // kill → overdue page at the SMTP server
	OverdueDueMs  float64 `json:"overdue_page_after_due_ms,omitempty"`  // its due time → at the SMTP server
	OverdueNote   string  `json:"overdue_note,omitempty"`
}

// Failover kills the leader `rounds` times under a stream of writes from
// `writers` clients that send to the surviving nodes round-robin and retry
// after 10 ms on a refusal (not after Retry-After: the gap measured is the
// cluster's, not a client's back-off). With mail set, each round also
// measures an overdue page: a paging incident whose step 1 falls due 200 ms
// after the kill.
func Failover(ctx context.Context, c *Cluster, rounds, writers int, mail *MailWatcher, logf func(string, ...any)) ([]FailoverRound, error) {
	var out []FailoverRound
	for r := 0; r < rounds; r++ {
		leader, err := c.Leader(ctx, 30*time.Second)
		if err != nil {
			return out, err
		}
		var survivors []string
		for _, n := range c.Nodes {
			if n != leader && n.Running() {
				survivors = append(survivors, n.URL())
			}
		}
		round := FailoverRound{Killed: leader.ID}

		var overdue *overduePage
		if mail != nil {
			overdue, err = prepareOverdue(ctx, c, leader, mail, r)
			if err != nil {
				round.OverdueNote = err.Error()
				overdue = nil
			}
		}

		type done struct{ sent, at time.Time }
		var mu sync.Mutex
		var oks []done
		var refused atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var seq atomic.Int64
		run := fmt.Sprintf("failover-%d-%d", time.Now().UnixNano(), r)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					i := seq.Add(1)
					t0 := time.Now()
					_, _, err := Post(ctx, survivors[int(i)%len(survivors)]+"/v2/enqueue",
						EventTrigger(EventsKey, run+"-"+strconv.FormatInt(i, 10), "bench"), nil, http.StatusAccepted)
					if err != nil {
						refused.Add(1)
						time.Sleep(10 * time.Millisecond) // client pacing after a refusal
						continue
					}
					mu.Lock()
					oks = append(oks, done{t0, time.Now()})
					mu.Unlock()
				}
			}()
		}
		count := func() int { mu.Lock(); defer mu.Unlock(); return len(oks) }
		if err := WaitFor(ctx, 20*time.Second, func() (bool, string) { return count() >= 50, fmt.Sprintf("%d writes before the kill", count()) }); err != nil {
			close(stop)
			wg.Wait()
			return out, err
		}
		if overdue != nil {
			// Kill 200 ms before the next step falls due: it becomes due
			// while the cluster has no leader.
			if wait := time.Until(overdue.due.Add(-200 * time.Millisecond)); wait > 0 {
				time.Sleep(wait) // waiting for a wall-clock instant, by design
			}
		}
		killAt := time.Now()
		leader.Kill()
		var newLeader *Node
		err = WaitFor(ctx, 30*time.Second, func() (bool, string) {
			for _, n := range c.Nodes {
				if !n.Running() {
					continue
				}
				var st Status
				if _, err := GetJSON(ctx, n.URL()+"/v1/cluster", c.Token(), &st); err == nil && st.Leader != "" && st.Leader != leader.ID {
					for _, m := range c.Nodes {
						if m.ID == st.Leader {
							newLeader = m
						}
					}
					return true, ""
				}
			}
			return false, "no new leader"
		})
		if err == nil {
			round.ElectionMs = ms(time.Since(killAt))
			round.NewLeader = newLeader.ID
		}
		err = WaitFor(ctx, 30*time.Second, func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			for _, d := range oks {
				if d.sent.After(killAt) {
					return true, ""
				}
			}
			return false, "no write acknowledged since the kill"
		})
		if err != nil {
			close(stop)
			wg.Wait()
			return out, err
		}
		// Let the stream run briefly on the new leader, then stop it.
		target := count() + 50
		WaitFor(ctx, 10*time.Second, func() (bool, string) { return count() >= target, "" })
		close(stop)
		wg.Wait()
		first := time.Time{}
		prev := time.Time{}
		for _, d := range oks {
			if d.sent.After(killAt) && (first.IsZero() || d.at.Before(first)) {
				first = d.at
			}
		}
		sortTimes(oks, func(d done) time.Time { return d.at })
		for _, d := range oks {
			if !prev.IsZero() && d.at.Sub(prev) > time.Duration(round.LongestStall*float64(time.Millisecond)) {
				round.LongestStall = ms(d.at.Sub(prev))
			}
			prev = d.at
		}
		round.WriteGapMs = ms(first.Sub(killAt))
		round.Acked, round.Refused = len(oks), int(refused.Load())
		if overdue != nil {
			m, err := mail.Await(ctx, 30*time.Second, overdue.match)
			if err != nil {
				round.OverdueNote = "overdue page not seen: " + err.Error()
			} else {
				round.OverdueKillMs = ms(m.Received.Sub(killAt))
				round.OverdueDueMs = ms(m.Received.Sub(overdue.due))
			}
		}
		if logf != nil {
			logf("failover round %d: killed %s, new leader %s after %.0f ms, writes again after %.0f ms, longest stall %.0f ms %s",
				r+1, round.Killed, round.NewLeader, round.ElectionMs, round.WriteGapMs, round.LongestStall, round.OverdueNote)
		}
		out = append(out, round)
		// Bring the victim back and let it catch up before the next round.
		if err := leader.Start(); err != nil {
			return out, err
		}
		if err := leader.WaitReady(ctx, 60*time.Second); err != nil {
			return out, err
		}
		if err := c.WaitCaughtUp(ctx, 60*time.Second); err != nil {
			return out, err
		}
	}
	return out, nil
}

func sortTimes[T any](s []T, key func(T) time.Time) {
	// insertion sort is fine for the few thousand samples of a round
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]).Before(key(s[j-1])); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// WaitCaughtUp waits until every running node reports the same applied index.
func (c *Cluster) WaitCaughtUp(ctx context.Context, timeout time.Duration) error {
	return WaitFor(ctx, timeout, func() (bool, string) {
		var idx []string
		var first uint64
		same := true
		for i, n := range c.Nodes {
			if !n.Running() {
				continue
			}
			a, err := n.AppliedIndex(ctx)
			if err != nil {
				return false, err.Error()
			}
			if i == 0 || first == 0 {
				first = a
			}
			same = same && a == first
			idx = append(idx, fmt.Sprintf("%s=%d", n.ID, a))
		}
		return same, "applied indexes " + strings.Join(idx, " ")
	})
}

// Incident is the part of GET /v1/incidents/{id} the bench reads.
type Incident struct {
	ID         uint64 `json:"id"`
	Key        string `json:"key"`
	Status     string `json:"status"`
	DedupKey   string `json:"dedup_key"`
	CreatedAt  time.Time
	Escalation *struct {
		Policy string     `json:"policy"`
		Step   int        `json:"step"`
		Loop   int        `json:"loop"`
		NextAt *time.Time `json:"next_at"`
	} `json:"escalation"`
	Notifications []struct {
		ID      string     `json:"id"`
		User    string     `json:"user"`
		Channel string     `json:"channel"`
		Step    int        `json:"step"`
		Loop    int        `json:"loop"`
		Status  string     `json:"status"`
		SentAt  *time.Time `json:"sent_at"`
	} `json:"notifications"`
}

// TriggerPaging sends an Events v2 trigger that routes to paging service
// p<k> and returns the incident it opened.
func TriggerPaging(ctx context.Context, c *Cluster, n *Node, k int, dedup string) (*Incident, time.Time, error) {
	t0 := time.Now()
	if err := postPaging(ctx, n, k, dedup); err != nil {
		return nil, t0, err
	}
	// A follower answers reads from its own applied state, which may lag
	// the commit that answered 202 by a moment.
	var page struct{ Incidents []Incident }
	err := WaitFor(ctx, 10*time.Second, func() (bool, string) {
		if _, err := GetJSON(ctx, n.URL()+"/v1/incidents?status=all&dedup_key="+dedup, c.Token(), &page); err != nil {
			return false, err.Error()
		}
		return len(page.Incidents) == 1, fmt.Sprintf("dedup_key %s: %d incidents on %s", dedup, len(page.Incidents), n.ID)
	})
	if err != nil {
		return nil, t0, err
	}
	return &page.Incidents[0], t0, nil
}

// acknowledgePaging acknowledges incident id through the API (200 after
// its commit).
func acknowledgePaging(ctx context.Context, c *Cluster, leader *Node, id uint64) error {
	url := leader.URL() + "/v1/incidents/" + strconv.FormatUint(id, 10) + "/ack"
	if _, _, err := Post(ctx, url, []byte(`{"by":"bench"}`), map[string]string{"Authorization": "Bearer " + c.Token()}, http.StatusOK); err != nil {
		return fmt.Errorf("acknowledge incident %d: %w", id, err)
	}
	return nil
}

// postPaging sends the Events v2 trigger of TriggerPaging.
func postPaging(ctx context.Context, n *Node, k int, dedup string) error {
	body := []byte(fmt.Sprintf(`{"routing_key":%q,"event_action":"trigger","dedup_key":%q,"payload":{"summary":%q,"source":"p%d","severity":"critical"}}`,
		PagingKey, dedup, pagingSummary(dedup), k))
	_, _, err := Post(ctx, n.URL()+"/v2/enqueue", body, nil, http.StatusAccepted)
	return err
}

// pagingSummary is the trigger's summary, the end of its page's Subject.
func pagingSummary(dedup string) string { return "page test " + dedup }

type overduePage struct {
	due   time.Time
	match func(Mail) bool
}

// prepareOverdue opens a paging incident, waits for its step-0 page and
// reads when step 1 falls due.
func prepareOverdue(ctx context.Context, c *Cluster, leader *Node, mail *MailWatcher, round int) (*overduePage, error) {
	k := round % PagingUsers
	inc, _, err := TriggerPaging(ctx, c, leader, k, fmt.Sprintf("overdue-%d-%d", time.Now().UnixNano(), round))
	if err != nil {
		return nil, err
	}
	if _, err := mail.Await(ctx, 10*time.Second, func(m Mail) bool {
		return m.Incident == inc.Key && strings.Contains(m.To, fmt.Sprintf("u%d@", k))
	}); err != nil {
		return nil, fmt.Errorf("no step-0 page for %s (is the escalation engine wired into serve?): %v", inc.Key, err)
	}
	var full Incident
	if _, err := GetJSON(ctx, leader.URL()+"/v1/incidents/"+strconv.FormatUint(inc.ID, 10), c.Token(), &full); err != nil {
		return nil, err
	}
	if full.Escalation == nil || full.Escalation.NextAt == nil {
		return nil, fmt.Errorf("%s has no escalation.next_at", inc.Key)
	}
	if time.Until(*full.Escalation.NextAt) < 300*time.Millisecond {
		return nil, fmt.Errorf("%s: step 1 falls due too soon (%v) to kill the leader before it", inc.Key, full.Escalation.NextAt)
	}
	key, who := inc.Key, fmt.Sprintf("v%d@", k)
	return &overduePage{due: *full.Escalation.NextAt, match: func(m Mail) bool { return m.Incident == key && strings.Contains(m.To, who) }}, nil
}

// AlertToPage triggers n paging incidents one after another and measures
// from the POST to the page's arrival at the SMTP server (its Maildir
// file's modification time). While a sample runs the bench only watches
// the Maildir: it matches the page by the trigger's summary in the
// Subject, and reads the incident from the API afterwards (a poll of the
// API during the sample would add its own HTTP work on these two cores to
// what is measured). Before the next trigger it waits for the page's
// outcome to be committed and acknowledges the incident, so each sample
// starts on a quiet cluster (low load: one page in flight, no step 1 of an
// earlier incident falling due during it).
func AlertToPage(ctx context.Context, c *Cluster, mail *MailWatcher, n int) (Summary, error) {
	rec := NewRecorder()
	rec.Begin(time.Now())
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	leader, err := c.Leader(ctx, 10*time.Second)
	if err != nil {
		return rec.Summary(), err
	}
	for i := 0; i < n; i++ {
		k := i % PagingUsers
		node := c.Nodes[i%len(c.Nodes)]
		dedup := fmt.Sprintf("a2p-%s-%d", run, i)
		t0 := time.Now()
		if err := postPaging(ctx, node, k, dedup); err != nil {
			return rec.Summary(), err
		}
		who, title := fmt.Sprintf("u%d@", k), pagingSummary(dedup)
		m, err := mail.Await(ctx, 15*time.Second, func(m Mail) bool { return strings.HasSuffix(m.Subject, title) && strings.Contains(m.To, who) })
		if err != nil {
			return rec.Summary(), fmt.Errorf("no page for %s (is the escalation engine wired into serve?): %v", dedup, err)
		}
		rec.OK(m.Received.Sub(t0), 1)
		id, err := awaitPageRecorded(ctx, c, leader, dedup, m.Incident)
		if err != nil {
			return rec.Summary(), err
		}
		// Acknowledged, the incident does not escalate to step 1 (due
		// after ConfigOptions.EscalateAfter) while later samples run.
		if err := acknowledgePaging(ctx, c, leader, id); err != nil {
			return rec.Summary(), err
		}
	}
	rec.End(time.Now())
	return rec.Summary(), nil
}

// awaitPageRecorded checks that the page seen is the one of the incident
// the trigger with dedup opened, waits until its outcome is committed and
// returns the incident's id.
func awaitPageRecorded(ctx context.Context, c *Cluster, leader *Node, dedup, key string) (uint64, error) {
	var page struct{ Incidents []Incident }
	var id uint64
	err := WaitFor(ctx, 10*time.Second, func() (bool, string) {
		if _, err := GetJSON(ctx, leader.URL()+"/v1/incidents?status=all&dedup_key="+dedup, c.Token(), &page); err != nil {
			return false, err.Error()
		}
		if len(page.Incidents) != 1 {
			return false, fmt.Sprintf("dedup_key %s: %d incidents", dedup, len(page.Incidents))
		}
		inc := page.Incidents[0]
		if inc.Key != key {
			return false, fmt.Sprintf("dedup_key %s opened %s, but the page names %s", dedup, inc.Key, key)
		}
		// The list leaves the notifications out.
		var full Incident
		if _, err := GetJSON(ctx, leader.URL()+"/v1/incidents/"+strconv.FormatUint(inc.ID, 10), c.Token(), &full); err != nil {
			return false, err.Error()
		}
		for _, n := range full.Notifications {
			if n.Step == 0 && n.Status == "sent" {
				id = inc.ID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%s: step-0 page not recorded as sent", inc.Key)
	})
	return id, err
}

// ScaleResult is the 100k-incident measurement.
type ScaleResult struct {
	Incidents   int              `json:"incidents"`
	Schedules   int              `json:"schedules"`
	LoadSeconds float64          `json:"load_seconds"`
	LoadRate    float64          `json:"load_events_per_s"`
	Leader      string           `json:"leader"`
	RSSMiB      map[string]int64 `json:"rss_mib"`
	PeakRSSMiB  map[string]int64 `json:"peak_rss_mib"`
	// Memory is each node's breakdown after the snapshot (when RSSMiB is
	// read); MemoryLoaded the same once the load is applied everywhere,
	// before the snapshot.
	Memory       map[string]NodeMemory `json:"memory"`
	MemoryLoaded map[string]NodeMemory `json:"memory_loaded"`
	// MemorySettled is read after Settle seconds without writes.
	MemorySettled   map[string]NodeMemory `json:"memory_settled,omitempty"`
	SettleSeconds   float64               `json:"settle_seconds,omitempty"`
	SnapshotBytes   int64                 `json:"snapshot_bytes"`
	SnapshotSaveMs  float64               `json:"snapshot_save_ms"`
	InstallMs       float64               `json:"fresh_node_install_and_serve_ms"`
	InstalledSnap   bool                  `json:"fresh_node_installed_snapshot"`
	RestartMs       float64               `json:"restart_ms"`
	RestartedNode   string                `json:"restarted_node"`
	FreshNodeRSSMiB int64                 `json:"fresh_node_rss_mib"`
}

// ScaleOptions shape a scale run.
type ScaleOptions struct {
	Incidents, Schedules, Concurrency int
	Logf                              func(string, ...any)
	ProfileDir                        string        // heap profiles of every node after the snapshot (needs ClusterOptions.Pprof)
	Settle                            time.Duration // quiet time before the settled memory reading (0: none)
}

// Scale loads `incidents` open incidents into c (a cluster whose config has
// the schedules), then measures memory, snapshot size, a fresh node's
// install-and-serve time and a kill -9 restart time.
func Scale(ctx context.Context, c *Cluster, o ScaleOptions) (*ScaleResult, error) {
	incidents, conc, logf := o.Incidents, o.Concurrency, o.Logf
	res := &ScaleResult{Incidents: incidents, Schedules: o.Schedules, RSSMiB: map[string]int64{}, PeakRSSMiB: map[string]int64{}}
	leader, err := c.Leader(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	res.Leader = leader.ID
	urls := []string{leader.URL()}
	var next, failed atomic.Int64
	t0 := time.Now()
	var wg sync.WaitGroup
	run := "scale-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	op := EventsOp(urls, run)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(incidents) {
					return
				}
				for attempt := 0; ; attempt++ {
					if _, _, err := op(ctx, i); err == nil {
						break
					} else if attempt > 50 || ctx.Err() != nil {
						failed.Add(1)
						break
					}
					time.Sleep(50 * time.Millisecond) // retry pacing
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("%d of %d scale writes failed", f, incidents)
	}
	res.LoadSeconds = round(time.Since(t0).Seconds(), 1)
	res.LoadRate = round(float64(incidents)/time.Since(t0).Seconds(), 0)
	if logf != nil {
		logf("scale: %d incidents loaded in %.1fs", incidents, res.LoadSeconds)
	}
	if err := c.WaitCaughtUp(ctx, 120*time.Second); err != nil {
		return nil, err
	}
	if res.MemoryLoaded, err = c.memoryOfAll(ctx); err != nil {
		return nil, err
	}
	// Snapshot through the API (the leader takes a fresh one and streams it).
	t1 := time.Now()
	code, snap, err := Get(ctx, leader.URL()+"/v1/snapshot", c.Token())
	if err != nil || code != 200 {
		return nil, fmt.Errorf("GET /v1/snapshot: %d %v", code, err)
	}
	res.SnapshotSaveMs = ms(time.Since(t1))
	res.SnapshotBytes = int64(len(snap))
	snap = nil
	if res.Memory, err = c.memoryOfAll(ctx); err != nil {
		return nil, err
	}
	for id, m := range res.Memory {
		res.RSSMiB[id], res.PeakRSSMiB[id] = m.RSSMiB, m.PeakMiB
	}
	if o.ProfileDir != "" {
		c.saveHeapProfiles(ctx, o.ProfileDir, "snapshot", leader, logf)
	}
	if o.Settle > 0 {
		if o.ProfileDir != "" {
			defer c.saveQuietAllocs(ctx, o.ProfileDir, leader, o.Settle, logf)()
		}
		select {
		case <-time.After(o.Settle): // a quiet period is the measurement, not a synchronisation
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if res.MemorySettled, err = c.memoryOfAll(ctx); err != nil {
			return nil, err
		}
		res.SettleSeconds = o.Settle.Seconds()
		if o.ProfileDir != "" {
			c.saveHeapProfiles(ctx, o.ProfileDir, "settled", leader, logf)
		}
	}
	want, err := leader.AppliedIndex(ctx)
	if err != nil {
		return nil, err
	}
	var newest struct{ Incidents []Incident }
	if _, err := GetJSON(ctx, leader.URL()+"/v1/incidents?status=all&limit=1", c.Token(), &newest); err != nil || len(newest.Incidents) == 0 {
		return nil, fmt.Errorf("newest incident on the leader: %v", err)
	}
	newestID := newest.Incidents[0].ID
	serves := func(n *Node) (bool, string) {
		a, err := n.AppliedIndex(ctx)
		if err != nil || a < want {
			return false, fmt.Sprintf("%s applied %d, want %d (%v)", n.ID, a, want, err)
		}
		var one Incident
		if _, err := GetJSON(ctx, n.URL()+"/v1/incidents/"+strconv.FormatUint(newestID, 10), c.Token(), &one); err != nil {
			return false, err.Error()
		}
		return true, ""
	}

	// A fresh node joins: the leader's log was compacted by the snapshot
	// (it keeps 16 trailing entries), so it must install the snapshot.
	t2 := time.Now()
	// (The scale cluster runs with --raft-log-level info, so the fresh
	// node's log says whether it installed the snapshot.)
	fresh, err := c.AddNode()
	if err != nil {
		return nil, err
	}
	if err := WaitFor(ctx, 120*time.Second, func() (bool, string) { return serves(fresh) }); err != nil {
		return nil, fmt.Errorf("fresh node: %w", err)
	}
	res.InstallMs = ms(time.Since(t2))
	res.InstalledSnap = strings.Contains(fresh.Log(), "Installed remote snapshot")
	if rss, _, err := fresh.Memory(); err == nil {
		res.FreshNodeRSSMiB = rss >> 20
	}
	if logf != nil {
		logf("scale: fresh node %s serving after %.0f ms", fresh.ID, res.InstallMs)
	}

	// Restart a follower after kill -9.
	var victim *Node
	for _, n := range c.Nodes {
		if n != leader && n != fresh {
			victim = n
			break
		}
	}
	victim.Kill()
	want, _ = leader.AppliedIndex(ctx)
	t3 := time.Now()
	if err := victim.Start(); err != nil {
		return nil, err
	}
	if err := WaitFor(ctx, 120*time.Second, func() (bool, string) {
		if code, _ := GetJSON(ctx, victim.URL()+"/readyz", "", nil); code != 200 {
			return false, "not ready"
		}
		return serves(victim)
	}); err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	res.RestartMs = ms(time.Since(t3))
	res.RestartedNode = victim.ID
	return res, nil
}

// FetchProfile saves a CPU profile of `seconds` from a pprof address.
func FetchProfile(ctx context.Context, addr string, seconds int, path string) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds), nil)
	resp, err := (&http.Client{Timeout: time.Duration(seconds+30) * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New("pprof: " + resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// JSON encodes v indented.
func JSON(v any) []byte { b, _ := json.MarshalIndent(v, "", "  "); return b }

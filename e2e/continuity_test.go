package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/internal/testcluster"
)

// ctConfig is pgConfig with checkout as a tier-1 service (continuity
// manager bob, owner carol), a drill and a heartbeat (due hourly, so it
// stays quiet unless a test shortens it); extra is appended.
func ctConfig(smtp, ackWithin, extra string) string {
	base := fmt.Sprintf(pgConfig, "1h", smtp, "http://127.0.0.1:1")
	base = strings.Replace(base, "  - {id: checkout, name: Checkout API, policy: two-step}", `  - id: checkout
    name: Checkout API
    policy: two-step
    criticality: tier1
    rto: 1h
    rpo: 5m
    runbook: https://wiki.example.com/runbooks/checkout
    continuity_plan: https://wiki.example.com/continuity/checkout
    owner: carol
    continuity_manager: bob`, 1)
	return base + fmt.Sprintf(`drills:
  - id: checkout-drill
    service: checkout
    cron: "0 10 * * 2"
    pass: {ack_within: %s, recover_within: rto}
heartbeats:
  - {id: backup, service: checkout, key: "hb-secret", every: 1h, grace: 1m, severity: sev2, title: "Backup did not report"}
`, ackWithin) + extra
}

func ctRun(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, drill string) cluster.DrillRun {
	t.Helper()
	code, out := c.Do(n, http.MethodPost, "/v1/drills/"+drill+"/run", nil, nil)
	if code != http.StatusAccepted {
		t.Fatalf("run drill: %d %s", code, out)
	}
	var run cluster.DrillRun
	if err := json.Unmarshal(out, &run); err != nil {
		t.Fatal(err)
	}
	return run
}

func ctRuns(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, drill string) []cluster.DrillRun {
	t.Helper()
	var l struct {
		Runs []cluster.DrillRun `json:"runs"`
	}
	if code := c.GetJSON(n, "/v1/drills/"+drill+"/runs", &l); code != http.StatusOK {
		t.Fatalf("drill runs: %d", code)
	}
	return l.Runs
}

func ctAwaitRun(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, drill, id string, done func(cluster.DrillRun) bool) cluster.DrillRun {
	t.Helper()
	var got cluster.DrillRun
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, r := range ctRuns(t, c, n, drill) {
			if r.ID == id {
				got = r
				return done(r), fmt.Sprintf("run %+v", r)
			}
		}
		return false, "run " + id + " not listed"
	})
	return got
}

// TestDrillPassesOnRealNode: a drill pages the on-call person by mail with
// [DRILL] in the subject; an ack after 2 s and a resolve after 4 s pass
// against ack_within 5m and the service's rto, and the result goes to the
// continuity manager and the owner.
func TestDrillPassesOnRealNode(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: ctConfig(box.addr, "5m", "")})
	n := c.Nodes[0]
	run := ctRun(t, c, n, "checkout-drill")
	if run.Status != cluster.DrillRunning || run.Incident == "" {
		t.Fatalf("run %+v", run)
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if strings.Contains(m.header.Get("Subject"), "[DRILL] Checkout API") && strings.Contains(m.header.Get("To"), "alice@example.com") {
				return true, ""
			}
		}
		return false, "no [DRILL] page to alice yet"
	})
	inc := pgIncident(t, c, n, "drill:"+run.ID)
	if inc.Drill == nil || inc.Drill.ID != "checkout-drill" || inc.Drill.Run != run.ID {
		t.Fatalf("incident drill field %+v", inc.Drill)
	}
	time.Sleep(time.Until(run.StartedAt.Add(2 * time.Second))) // the scenario: alice answers after 2 s
	if code, out := c.Do(n, http.MethodPost, "/v1/incidents/"+inc.Key+"/ack", []byte(`{"by":"alice"}`), nil); code != http.StatusOK {
		t.Fatalf("ack: %d %s", code, out)
	}
	time.Sleep(time.Until(run.StartedAt.Add(4 * time.Second))) // and recovers after 4 s
	if code, out := c.Do(n, http.MethodPost, "/v1/incidents/"+inc.Key+"/resolve", []byte(`{"by":"alice"}`), nil); code != http.StatusOK {
		t.Fatalf("resolve: %d %s", code, out)
	}
	got := ctAwaitRun(t, c, n, "checkout-drill", run.ID, func(r cluster.DrillRun) bool { return r.Report == "sent" })
	if got.Status != cluster.DrillPassed || got.AckedBy != "alice" || got.AckChannel != "api" || got.StepReached != 1 {
		t.Fatalf("result %+v", got)
	}
	if tta := *got.TimeToAckSeconds; tta < 2 || tta > 3.5 {
		t.Errorf("time to ack %.1fs, want about 2", tta)
	}
	if ttr := *got.TimeToResolveSeconds; ttr < 4 || ttr > 5.5 {
		t.Errorf("time to resolve %.1fs, want about 4", ttr)
	}
	var to []string
	for _, m := range box.messages(t) {
		if strings.Contains(m.header.Get("Subject"), "[DRILL] Checkout API: PASSED") {
			to = append(to, m.header.Get("To"))
			if !strings.Contains(m.body, "https://wiki.example.com/continuity/checkout") || !strings.Contains(m.body, "by alice via api") {
				t.Errorf("report body:\n%s", m.body)
			}
		}
	}
	if all := strings.Join(to, ","); len(to) != 2 || !strings.Contains(all, "bob@") || !strings.Contains(all, "carol@") {
		t.Errorf("result mail went to %v, want bob (continuity manager) and carol (owner)", to)
	}
	// The page carries the runbook and the plan.
	for _, m := range box.messages(t) {
		if strings.Contains(m.header.Get("Subject"), "[DRILL] Checkout API") && strings.Contains(m.header.Get("To"), "alice@") {
			for _, want := range []string{"https://wiki.example.com/runbooks/checkout", "https://wiki.example.com/continuity/checkout"} {
				if !strings.Contains(m.body, want) {
					t.Errorf("page lacks %s:\n%s", want, m.body)
				}
			}
		}
	}
	code, out := c.Run(n, "drill", "runs", "checkout-drill")
	if code != 0 || !strings.Contains(out, "passed") || !strings.Contains(out, run.ID) {
		t.Errorf("pagerd drill runs: %d %s", code, out)
	}
	// The catalogue shows the service with its last drill.
	var svc struct {
		Criticality, RTO, Runbook, Owner string
		Manager                          string `json:"continuity_manager"`
		Continuity                       struct {
			LastDrill *cluster.DrillRun `json:"last_drill"`
		}
	}
	if code := c.GetJSON(n, "/v1/services/checkout", &svc); code != http.StatusOK {
		t.Fatalf("GET /v1/services/checkout: %d", code)
	}
	if svc.Criticality != "tier1" || svc.RTO != "1h" || svc.Owner != "carol" || svc.Manager != "bob" ||
		svc.Continuity.LastDrill == nil || svc.Continuity.LastDrill.Status != cluster.DrillPassed {
		t.Errorf("service %+v", svc)
	}
	code, out = c.Run(n, "services")
	if code != 0 || !strings.Contains(out, "tier1") || !strings.Contains(out, "passed") || !strings.Contains(out, "backup:up") {
		t.Errorf("pagerd services: %d %s", code, out)
	}
}

// TestDrillFailsWithoutAck: nobody answers within ack_within; the run fails
// at that deadline, with the reason.
func TestDrillFailsWithoutAck(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: ctConfig(box.addr, "3s", "")})
	n := c.Nodes[0]
	code, out := c.Run(n, "drill", "run", "checkout-drill")
	if code != 0 {
		t.Fatalf("pagerd drill run: %d %s", code, out)
	}
	var runs []cluster.DrillRun
	c.WaitFor(20*time.Second, func() (bool, string) {
		runs = ctRuns(t, c, n, "checkout-drill")
		return len(runs) == 1 && runs[0].Status == cluster.DrillFailed, fmt.Sprintf("runs %+v", runs)
	})
	r := runs[0]
	if r.Reason != "not acknowledged within 3s" || r.FinishedAt == nil {
		t.Fatalf("result %+v", r)
	}
	if late := r.FinishedAt.Sub(r.StartedAt); late < 3*time.Second || late > 6*time.Second {
		t.Errorf("failed %v after the start, want at the 3 s deadline", late)
	}
}

// TestDrillSkippedDuringRealSev1: a real sev1 on the service skips the run.
func TestDrillSkippedDuringRealSev1(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: ctConfig(box.addr, "5m", "")})
	n := c.Nodes[0]
	pgTrigger(t, c, n, "real-outage", testcluster.EventsKey) // severity critical: sev1
	run := ctRun(t, c, n, "checkout-drill")
	if run.Status != cluster.DrillSkipped || !strings.Contains(run.Reason, "real sev1 incident (INC-1)") || run.Incident != "" {
		t.Fatalf("run %+v, want skipped because of INC-1", run)
	}
	if l := amListIncidents(t, c, n, "all", ""); len(l) != 1 {
		t.Fatalf("%d incidents, want only the real one", len(l))
	}
}

// TestDrillBadInput: unknown drill and heartbeat ids are 404.
func TestContinuityUnknownIDs(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 1, testcluster.Options{Config: ctConfig(box.addr, "5m", "")})
	n := c.Nodes[0]
	for _, p := range []string{"/v1/drills/nope/run", "/v1/heartbeats/nope"} {
		if code, out := c.Do(n, http.MethodPost, p, nil, nil); code != http.StatusNotFound || !strings.Contains(string(out), `"error"`) {
			t.Errorf("POST %s: %d %s", p, code, out)
		}
	}
	if code, _ := c.Do(n, http.MethodGet, "/v1/drills/nope/runs", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET runs of unknown drill: %d", code)
	}
	if code, _ := c.Do(n, http.MethodGet, "/v1/services/nope", nil, nil); code != http.StatusNotFound {
		t.Errorf("GET unknown service: %d", code)
	}
}

type ctHeartbeat struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	LastPingAt *time.Time `json:"last_ping_at"`
	Incident   string     `json:"incident"`
}

func ctHeartbeatState(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, id string) ctHeartbeat {
	t.Helper()
	var l struct {
		Heartbeats []ctHeartbeat `json:"heartbeats"`
	}
	if code := c.GetJSON(n, "/v1/heartbeats", &l); code != http.StatusOK {
		t.Fatalf("heartbeats: %d", code)
	}
	for _, h := range l.Heartbeats {
		if h.ID == id {
			return h
		}
	}
	t.Fatalf("heartbeat %s not listed", id)
	return ctHeartbeat{}
}

func ctPing(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, path, key string) (int, []byte) {
	t.Helper()
	return c.Do(n, http.MethodPost, path, nil, map[string]string{"Authorization": "Bearer " + key})
}

// TestHeartbeatDeadline: every 3s + grace 2s opens the incident about 5 s
// after the last ping, never before; the next ping resolves it. A wrong key
// is 401 and records nothing.
func TestHeartbeatDeadline(t *testing.T) {
	box := pgStartSMTP(t)
	cfg := strings.Replace(ctConfig(box.addr, "5m", ""), "every: 1h, grace: 1m", "every: 3s, grace: 2s", 1)
	c := testcluster.Start(t, 1, testcluster.Options{Config: cfg})
	n := c.Nodes[0]
	if code, out := ctPing(t, c, n, "/v1/heartbeats/backup", "hb-secret"); code != http.StatusAccepted {
		t.Fatalf("ping: %d %s", code, out)
	}
	hb := ctHeartbeatState(t, c, n, "backup")
	if hb.State != "up" || hb.LastPingAt == nil {
		t.Fatalf("after a ping: %+v", hb)
	}
	last := *hb.LastPingAt
	// A wrong key, the API token, or none: 401, and the last ping stays.
	for _, key := range []string{"wrong", testcluster.Token, ""} {
		if code, out := ctPing(t, c, n, "/v1/heartbeats/backup", key); code != http.StatusUnauthorized || !strings.Contains(string(out), `"error"`) {
			t.Errorf("ping with key %q: %d %s", key, code, out)
		}
	}
	if got := ctHeartbeatState(t, c, n, "backup"); !got.LastPingAt.Equal(last) {
		t.Fatalf("a refused ping moved last_ping_at to %v", got.LastPingAt)
	}
	var opened time.Time
	c.WaitFor(20*time.Second, func() (bool, string) {
		l := amListIncidents(t, c, n, "all", "heartbeat:backup")
		if len(l) == 0 {
			if time.Since(last) > 5*time.Second+3*time.Second {
				return false, "no incident 8 s after the last ping"
			}
			return false, "no heartbeat incident yet"
		}
		opened = l[0].CreatedAt
		return true, ""
	})
	after := opened.Sub(last)
	t.Logf("heartbeat incident opened %v after the last ping", after.Round(time.Millisecond))
	if after < 5*time.Second {
		t.Fatalf("opened %v after the last ping, before every+grace (5s)", after)
	}
	if after > 7*time.Second {
		t.Errorf("opened %v after the last ping, want about 5s", after)
	}
	inc := pgIncident(t, c, n, "heartbeat:backup")
	if inc.Title != "Backup did not report" || inc.Service != "checkout" || inc.Severity != "sev2" {
		t.Errorf("incident %s %s %s", inc.Title, inc.Service, inc.Severity)
	}
	if h := ctHeartbeatState(t, c, n, "backup"); h.State != "down" || h.Incident != inc.Key {
		t.Errorf("while down: %+v", h)
	}
	if code, out := c.Run(n, "heartbeats"); code != 0 || !strings.Contains(out, "down") || !strings.Contains(out, inc.Key) {
		t.Errorf("pagerd heartbeats: %d %s", code, out)
	}
	// The key may also be in the path. The ping resolves the incident.
	if code, out := ctPing(t, c, n, "/v1/heartbeats/backup/hb-secret", ""); code != http.StatusAccepted {
		t.Fatalf("ping by path: %d %s", code, out)
	}
	if inc := pgIncident(t, c, n, "heartbeat:backup"); inc.Status != "resolved" {
		t.Fatalf("after the ping the incident is %s", inc.Status)
	}
	// /fail opens it at once.
	if code, out := ctPing(t, c, n, "/v1/heartbeats/backup/fail", "hb-secret"); code != http.StatusAccepted {
		t.Fatalf("fail: %d %s", code, out)
	}
	if l := amListIncidents(t, c, n, "triggered", "heartbeat:backup"); len(l) != 1 {
		t.Fatalf("after /fail: %d open heartbeat incidents", len(l))
	}
}

// TestDrillRunsOnceAcrossLeaderKill: three real nodes, a drill due 2 s
// after the leader is killed with SIGKILL. The new leader runs it, once:
// one run, one incident, one page.
func TestDrillRunsOnceAcrossLeaderKill(t *testing.T) {
	box := pgStartSMTP(t)
	c := testcluster.Start(t, 3, testcluster.Options{Config: ctConfig(box.addr, "5m", "")})
	due := time.Now().UTC().Truncate(time.Minute).Add(time.Minute)
	if time.Until(due) < 15*time.Second {
		due = due.Add(time.Minute)
	}
	cfg := strings.Replace(ctConfig(box.addr, "5m", ""), `cron: "0 10 * * 2"`, fmt.Sprintf(`cron: "%d %d * * *"`, due.Minute(), due.Hour()), 1)
	leader := c.Leader()
	if code, out := c.Do(leader, http.MethodPut, "/v1/config", []byte(cfg), nil); code != http.StatusOK {
		t.Fatalf("apply config: %d %s", code, out)
	}
	time.Sleep(time.Until(due.Add(-2 * time.Second))) // the scenario's clock
	if runs := ctRuns(t, c, leader, "checkout-drill"); len(runs) != 0 {
		t.Fatalf("ran before it was due: %+v", runs)
	}
	leader.Kill()
	var survivor *testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			survivor = n
		}
	}
	id := cluster.DrillRunID("checkout-drill", due)
	run := ctAwaitRun(t, c, survivor, "checkout-drill", id, func(r cluster.DrillRun) bool { return r.Status == cluster.DrillRunning })
	t.Logf("run %s started %v after it was due", run.ID, run.StartedAt.Sub(due).Round(time.Millisecond))
	if run.StartedAt.Before(due) {
		t.Fatalf("started %v before it was due", due.Sub(run.StartedAt))
	}
	c.WaitFor(30*time.Second, func() (bool, string) {
		n := 0
		for _, m := range box.messages(t) {
			if strings.Contains(m.header.Get("Subject"), "[DRILL]") {
				n++
			}
		}
		return n >= 1, "no drill page yet"
	})
	// Give a doubled run every chance to show: another full pass of the
	// new leader's routines and of the old leader's would-be successor.
	time.Sleep(3 * time.Second) // observation window for something that must not happen
	if runs := ctRuns(t, c, survivor, "checkout-drill"); len(runs) != 1 {
		t.Fatalf("runs %+v, want exactly one", runs)
	}
	if l := amListIncidents(t, c, survivor, "all", "drill:"+id); len(l) != 1 {
		t.Fatalf("%d drill incidents, want one", len(l))
	}
	pages := 0
	for _, m := range box.messages(t) {
		if strings.Contains(m.header.Get("Subject"), "[DRILL]") {
			pages++
		}
	}
	if pages != 1 {
		t.Fatalf("%d drill pages, want one (alice, step 1)", pages)
	}
}

// TestWatchdogHeartbeatWithRealAlertmanager: a real Alertmanager repeats an
// always-firing Watchdog alert to pagerd; every webhook pings the
// heartbeat and opens no incident. When Alertmanager stops, the heartbeat
// opens its incident every + grace after the last webhook.
func TestWatchdogHeartbeatWithRealAlertmanager(t *testing.T) {
	amBin := amRequirePeerBinary(t, "prometheus-alertmanager")
	amtoolBin := amRequirePeerBinary(t, "amtool")
	box := pgStartSMTP(t)
	extra := fmt.Sprintf(`  - id: watchdog
    service: checkout
    alertmanager: {integration: prometheus, matchers: ['alertname="Watchdog"']}
    every: 3s
    grace: 2s
`)
	cfg := strings.Replace(ctConfig(box.addr, "5m", extra), "integrations:\n", fmt.Sprintf("integrations:\n  - {name: prometheus, key: %q, service: checkout}\n", testcluster.PrometheusKey), 1)
	c := testcluster.Start(t, 1, testcluster.Options{Config: cfg})
	n := c.Nodes[0]
	amCfg := fmt.Sprintf(`route:
  receiver: pagerd
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1s
receivers:
  - name: pagerd
    webhook_configs:
      - url: %q
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: %q
`, n.URL()+"/v1/ingest/alertmanager", testcluster.PrometheusKey)
	am := amStartAlertmanagerConfig(t, amBin, testcluster.FreePort(t), amCfg)
	out, err := exec.Command(amtoolBin, "--alertmanager.url="+am.url, "--no-version-check", "alert", "add",
		"alertname=Watchdog", "severity=none", "--annotation=summary=the alerting pipeline works").CombinedOutput()
	if err != nil {
		t.Fatalf("amtool: %v\n%s", err, out)
	}
	var first time.Time
	c.WaitFor(20*time.Second, func() (bool, string) {
		h := ctHeartbeatState(t, c, n, "watchdog")
		if h.LastPingAt == nil {
			return false, "no Watchdog ping yet"
		}
		first = *h.LastPingAt
		return true, ""
	})
	// Longer than every + grace: Alertmanager's repeats keep it up.
	time.Sleep(8 * time.Second) // the observation window the heartbeat must survive
	h := ctHeartbeatState(t, c, n, "watchdog")
	if h.State == "down" || !h.LastPingAt.After(first.Add(5*time.Second)) {
		t.Fatalf("after 8 s of Watchdog repeats: %+v (first ping %v)", h, first)
	}
	for _, inc := range amListIncidents(t, c, n, "all", "") {
		if inc.DedupKey != "heartbeat:backup" { // never pinged, but not due for an hour
			t.Fatalf("the Watchdog opened an incident: %s", amDescribe(inc))
		}
	}
	am.kill()
	last := *ctHeartbeatState(t, c, n, "watchdog").LastPingAt
	var inc time.Time
	c.WaitFor(20*time.Second, func() (bool, string) {
		l := amListIncidents(t, c, n, "all", "heartbeat:watchdog")
		if len(l) == 0 {
			return false, "no watchdog incident yet"
		}
		inc = l[0].CreatedAt
		return true, ""
	})
	if got := ctHeartbeatState(t, c, n, "watchdog"); got.LastPingAt.After(last) {
		last = *got.LastPingAt // a webhook in flight when it was killed
	}
	if d := inc.Sub(last); d < 5*time.Second || d > 8*time.Second {
		t.Errorf("incident opened %v after the last Watchdog webhook, want about 5s", d)
	}
}

// TestHeartbeatSurvivesElection: a job pings a follower every 500 ms while
// the leader is killed. Pings during the election are 503 (never a 4xx, so
// the job retries), and the heartbeat is never declared down: a new leader
// waits grace before judging it.
func TestHeartbeatSurvivesElection(t *testing.T) {
	box := pgStartSMTP(t)
	cfg := strings.Replace(ctConfig(box.addr, "5m", ""), "every: 1h, grace: 1m", "every: 3s, grace: 2s", 1)
	c := testcluster.Start(t, 3, testcluster.Options{Config: cfg})
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes {
		if n != leader {
			follower = n
		}
	}
	codes := map[int]int{}
	ping := func() {
		code, _ := ctPing(t, c, follower, "/v1/heartbeats/backup", "hb-secret")
		codes[code]++
	}
	for range 4 {
		ping()
		time.Sleep(500 * time.Millisecond) // the job's ping interval
	}
	leader.Kill()
	end := time.Now().Add(12 * time.Second)
	for time.Now().Before(end) {
		ping()
		time.Sleep(500 * time.Millisecond) // the job's ping interval
	}
	t.Logf("ping answers: %v", codes)
	for code, n := range codes {
		if code != http.StatusAccepted && code != http.StatusServiceUnavailable && code != 0 {
			t.Errorf("%d pings answered %d; want 202, or 503 during the election", n, code)
		}
	}
	if codes[http.StatusAccepted] < 10 {
		t.Errorf("only %d pings accepted", codes[http.StatusAccepted])
	}
	if l := amListIncidents(t, c, follower, "all", "heartbeat:backup"); len(l) != 0 {
		t.Fatalf("the election paged a false alarm: %s", amDescribeAll(l))
	}
}

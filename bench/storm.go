package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pagerd/pagerd/internal/testcluster"
)

// The storm scenario of issue 18: every trigger opens an incident that pages
// one person, on pagerd and on an Alertmanager doing the analogous job.
const (
	StormKey       = "bench-storm-key" // Events v2 → service "storm"
	StormPagerdC   = 64                // closed-loop workers over all nodes
	StormAMWorkers = 16                // workers posting to Alertmanager
)

// StormConfig is the storm's pagerd config: one user paged by email at once
// by the first step of the storm service's policy, default flood control.
// The nodes run with --dev, so pages go to the in-memory outbox and no
// provider is timed.
func StormConfig() string {
	return "timezone: UTC\napi_tokens:\n  - {name: admin, token: \"" + Token + "\"}\n" +
		"  - {name: harness, token: \"" + testcluster.Token + "\"}\n" +
		"users:\n  - {id: oncall, name: On Call, email: oncall@bench.example, notify: [{via: email, after: 0m}]}\n" +
		"policies:\n  - id: storm\n    steps:\n      - {notify: [user:oncall], escalate_after: 1h}\n" +
		"services:\n  - {id: storm, name: Storm, policy: storm}\n" +
		"integrations:\n  - {name: storm, key: \"" + StormKey + "\", service: storm}\n" +
		// --dev keeps the messages in memory; the channel must still exist.
		"channels:\n  email:\n    smtp: \"127.0.0.1:1\"\n    from: \"pagerd@bench.example\"\n"
}

// StormAlertmanagerConfig groups by alertname and instance, so every alert of
// the storm is its own group, notified after a 1 s group_wait to a webhook.
func StormAlertmanagerConfig(webhookURL string) string {
	return "route:\n  receiver: sink\n  group_by: [alertname, instance]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 4h\n" +
		"receivers:\n  - name: sink\n    webhook_configs:\n      - url: \"" + webhookURL + "\"\n        send_resolved: false\n"
}

// StormRun is one run of one side.
type StormRun struct {
	System string `json:"system"` // pagerd | alertmanager
	Summary
	// PagesPerSec: pages recorded during the run per second. pagerd: pages
	// sent plus pages held for a flood-control summary (both committed),
	// from pagerd_notifications_total{outcome="sent"} and
	// pagerd_flood_holds_total summed over the nodes. Alertmanager: alerts
	// delivered to the webhook receiver.
	PagesPerSec float64 `json:"pages_per_s"`
	// Backlog: accepted incidents (alerts) not yet recorded as paged when
	// the run ended.
	Backlog int `json:"backlog_at_end"`
	// CPUPerIncidentMs: server CPU time (all nodes) per accepted incident.
	CPUPerIncidentMs float64 `json:"cpu_ms_per_incident"`
}

// StormResult is the alternating runs and their means.
type StormResult struct {
	Runs        []StormRun `json:"runs"`
	PagerdRate  float64    `json:"pagerd_incidents_per_s"`
	AMRate      float64    `json:"alertmanager_alerts_per_s"`
	Ratio       float64    `json:"ratio"`
	PagerdPages float64    `json:"pagerd_pages_per_s"`
	AMPages     float64    `json:"alertmanager_pages_per_s"`
	// Client is the HTTP client both sides' workers used (lean unless
	// -client nethttp), and the ClientCPU fields the bench process's CPU
	// per request it cost, mean of the runs (each run's is in its
	// summary). Alertmanager's includes the bench's webhook receiver.
	Client          ClientKind `json:"client"`
	PagerdClientCPU float64    `json:"pagerd_client_cpu_us_per_request"`
	AMClientCPU     float64    `json:"alertmanager_client_cpu_us_per_request"`
}

// StormOptions shape the storm runs.
type StormOptions struct {
	Bin              string
	Dir              string
	Rounds           int // pairs of runs: am, pagerd, am, pagerd, ...
	Warmup, Duration time.Duration
	ServeArgs        []string
	Client           ClientKind // of both sides' workers (default lean)
	Logf             func(string, ...any)
	// ProfileDir: save each node's CPU profile of the measured window and
	// its allocations since start (the binary must serve pprof: BuildPagerd
	// with pprof) as storm-r<round>-<leader|follower>-<node>-{cpu,allocs}.pprof.
	ProfileDir string
}

// Storm alternates Alertmanager and pagerd runs, each with fresh processes
// and data and the other side stopped, and reports the ratio of the means.
func Storm(ctx context.Context, o StormOptions) (*StormResult, error) {
	if o.Client == "" {
		o.Client = ClientLean
	}
	res := &StormResult{Client: o.Client}
	var pRate, aRate, pPages, aPages, pClient, aClient float64
	for r := 0; r < o.Rounds; r++ {
		am, err := stormAlertmanager(ctx, filepath.Join(o.Dir, fmt.Sprintf("am%d", r)), o)
		if err != nil {
			return res, fmt.Errorf("storm alertmanager run %d: %w", r+1, err)
		}
		res.Runs = append(res.Runs, *am)
		o.Logf("storm alertmanager run %d: %.0f alerts/s, %.0f pages/s, cpu %.3f ms/alert, client cpu %.1f µs/request (%s)",
			r+1, am.EvPerSec, am.PagesPerSec, am.CPUPerIncidentMs, am.ClientCPUus, o.Client)
		pg, err := stormPagerd(ctx, filepath.Join(o.Dir, fmt.Sprintf("pagerd%d", r)), r, o)
		if err != nil {
			return res, fmt.Errorf("storm pagerd run %d: %w", r+1, err)
		}
		res.Runs = append(res.Runs, *pg)
		o.Logf("storm pagerd run %d: %.0f incidents/s, %.0f pages/s (backlog %d), cpu %.3f ms/incident, client cpu %.1f µs/request (%s), errors %d %s",
			r+1, pg.EvPerSec, pg.PagesPerSec, pg.Backlog, pg.CPUPerIncidentMs, pg.ClientCPUus, o.Client, pg.Errors, pg.FirstError)
		aRate, aPages, aClient = aRate+am.EvPerSec, aPages+am.PagesPerSec, aClient+am.ClientCPUus
		pRate, pPages, pClient = pRate+pg.EvPerSec, pPages+pg.PagesPerSec, pClient+pg.ClientCPUus
	}
	n := float64(o.Rounds)
	res.PagerdRate, res.AMRate = round(pRate/n, 1), round(aRate/n, 1)
	res.PagerdPages, res.AMPages = round(pPages/n, 1), round(aPages/n, 1)
	res.PagerdClientCPU, res.AMClientCPU = round(pClient/n, 1), round(aClient/n, 1)
	if aRate > 0 {
		res.Ratio = round(pRate/aRate, 2)
	}
	return res, nil
}

func stormPagerd(ctx context.Context, dir string, roundNo int, o StormOptions) (*StormRun, error) {
	cl, err := StartCluster(ctx, ClusterOptions{Bin: o.Bin, Dir: dir, Nodes: 3, Config: StormConfig(), Token: Token,
		ExtraArgs: append([]string{"--dev"}, o.ServeArgs...), Pprof: o.ProfileDir != ""})
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var urls []string
	var leader *Node
	err = WaitFor(ctx, 30*time.Second, func() (bool, string) {
		leader, err = cl.Leader(ctx, 10*time.Second)
		if err != nil {
			return false, err.Error()
		}
		_, _, err = Post(ctx, leader.URL()+"/v2/enqueue", EventTrigger(StormKey, "storm-warm-up", "storm"), nil, http.StatusAccepted)
		return err == nil, fmt.Sprint("warm-up write: ", err)
	})
	if err != nil {
		return nil, err
	}
	for _, n := range cl.Nodes {
		urls = append(urls, n.URL())
	}
	profiled := cl.profileStorm(ctx, leader, roundNo, o)
	pages0 := cl.pagesRecorded(ctx)
	cpu0 := cl.serverCPU()
	run := "storm-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	var accepted atomic.Int64 // over the whole window, warm-up included
	s := ClosedLoopWorkers(ctx, StormPagerdC, o.Warmup, o.Duration,
		countAccepted(EventsWorkers(o.Client, urls, StormKey, run, "storm"), &accepted))
	cpu := cl.serverCPU() - cpu0
	pages := cl.pagesRecorded(ctx) - pages0
	profiled()
	window := (o.Warmup + o.Duration).Seconds()
	out := &StormRun{System: "pagerd", Summary: s, PagesPerSec: round(pages/window, 1)}
	out.finish(accepted.Load(), pages, cpu)
	return out, nil
}

// countAccepted counts the operations of ops that succeed.
func countAccepted(ops WorkerOps, n *atomic.Int64) WorkerOps {
	return func(w int) (Op, func()) {
		op, release := ops(w)
		return func(ctx context.Context, i int64) (int, int, error) {
			items, code, err := op(ctx, i)
			if err == nil {
				n.Add(1)
			}
			return items, code, err
		}, release
	}
}

// finish fills in the backlog and CPU per incident from the requests
// accepted over the whole window (warm-up included), the pages recorded in
// it and the server CPU seconds it took.
func (r *StormRun) finish(accepted int64, pages, cpu float64) {
	r.Backlog = max(0, int(accepted)-int(pages))
	if accepted > 0 {
		r.CPUPerIncidentMs = round(cpu*1000/float64(accepted), 3)
	}
}

// profileStorm starts each node's CPU profile of the storm window; the
// returned func waits for them and saves the allocation profiles.
func (c *Cluster) profileStorm(ctx context.Context, leader *Node, roundNo int, o StormOptions) func() {
	if o.ProfileDir == "" {
		return func() {}
	}
	os.MkdirAll(o.ProfileDir, 0o755)
	var wg sync.WaitGroup
	name := func(n *Node, kind string) string {
		role := "follower"
		if n == leader {
			role = "leader"
		}
		return filepath.Join(o.ProfileDir, fmt.Sprintf("storm-r%d-%s-%s-%s.pprof", roundNo+1, role, n.ID, kind))
	}
	for _, n := range c.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := FetchProfile(ctx, n.PprofAddr(), max(1, int((o.Warmup+o.Duration).Seconds())), name(n, "cpu")); err != nil {
				o.Logf("storm profile %s: %v", n.ID, err)
			}
		}()
	}
	return func() {
		wg.Wait()
		for _, n := range c.Nodes {
			code, body, err := Get(ctx, "http://"+n.PprofAddr()+"/debug/pprof/allocs", "")
			if err == nil && code == http.StatusOK {
				err = os.WriteFile(name(n, "allocs"), body, 0o644)
			}
			if err != nil {
				o.Logf("storm allocs profile %s: %v", n.ID, err)
			}
		}
	}
}

// serverCPU is the CPU seconds all nodes have used.
func (c *Cluster) serverCPU() float64 {
	var sum float64
	for _, n := range c.Nodes {
		sum += n.CPUSeconds()
	}
	return sum
}

// pagesRecorded sums, over the nodes, the pages sent and the pages held
// for a summary (a node counts what it did as leader).
func (c *Cluster) pagesRecorded(ctx context.Context) float64 {
	var sum float64
	for _, n := range c.Nodes {
		code, body, err := Get(ctx, n.URL()+"/metrics", c.Token())
		if err != nil || code != http.StatusOK {
			continue
		}
		sum += metricSum(string(body), "pagerd_notifications_total", `outcome="sent"`) + metricSum(string(body), "pagerd_flood_holds_total", "")
	}
	return sum
}

// metricSum adds the samples of a Prometheus text exposition metric whose
// labels contain match.
func metricSum(text, name, match string) float64 {
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != '{' && line[len(name)] != ' ') {
			continue
		}
		if match != "" && !strings.Contains(line, match) {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

func stormAlertmanager(ctx context.Context, dir string, o StormOptions) (*StormRun, error) {
	sink, err := startWebhookSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	am, err := StartAlertmanagerConfig(ctx, dir, StormAlertmanagerConfig(sink.URL))
	if err != nil {
		return nil, err
	}
	defer am.Close()
	url := "http://" + am.Addr
	run := "storm-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	cpu0, pages0 := am.CPUSeconds(), sink.alerts.Load()
	var accepted atomic.Int64
	s := ClosedLoopWorkers(ctx, StormAMWorkers, o.Warmup, o.Duration,
		countAccepted(AlertmanagerWorkers(o.Client, url, run, 1, "storm"), &accepted))
	cpu, pages := am.CPUSeconds()-cpu0, sink.alerts.Load()-pages0
	window := (o.Warmup + o.Duration).Seconds()
	out := &StormRun{System: "alertmanager", Summary: s, PagesPerSec: round(float64(pages)/window, 1)}
	out.finish(accepted.Load(), float64(pages), cpu)
	return out, nil
}

// webhookSink is the Alertmanager storm's receiver: it answers 200 and
// counts the alerts notified to it.
type webhookSink struct {
	URL    string
	srv    *http.Server
	alerts atomic.Int64
}

func startWebhookSink() (*webhookSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &webhookSink{URL: "http://" + ln.Addr().String() + "/hook"}
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Alerts []json.RawMessage `json:"alerts"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &msg) == nil {
			s.alerts.Add(int64(len(msg.Alerts)))
		}
		w.WriteHeader(http.StatusOK)
	})}
	go s.srv.Serve(ln)
	return s, nil
}

func (s *webhookSink) Close() { s.srv.Close() }

// Command pagerd-bench measures pagerd on loopback: ingest throughput and
// latency (Events v2 single events and Alertmanager webhook batches at several
// concurrencies), the same alerts sent to a real Prometheus Alertmanager for a
// side-by-side rate, latency at half the maximum rate, alert-to-page latency
// to a real SMTP server, the failover gap after kill -9 of the leader, and a
// scale run (open incidents, schedules, memory, snapshot, install, restart).
//
//	go run ./cmd/pagerd-bench -short          # about a minute; scripts/test runs it
//	go run ./cmd/pagerd-bench                 # the figures of docs/PERFORMANCE.md
//	go run ./cmd/pagerd-bench -json out.json  # also write the report as JSON
//	go run ./cmd/pagerd-bench -storm -client nethttp  # closed-loop workers on Go's net/http (default: the lean client)
//
// It prints a table and, with -json, the same report as JSON. It exits 1 when a
// measurement fails (a write lost, a peer missing) and, with -check, when a
// target is missed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pagerd/pagerd/bench"
)

type options struct {
	nodes                    int
	urls                     string
	short, check, keep       bool
	duration, warmup         time.Duration
	halfDuration             time.Duration
	concurrency              string
	batch                    int
	skip                     string
	jsonOut, pprofDir, bin   string
	failoverRounds, a2pCount int
	scaleIncidents           int
	scaleSchedules           int
	scaleSettle              time.Duration
	serveArgs                string
	storm                    bool
	stormRounds              int
	stormDuration            time.Duration
	client                   string
}

func main() {
	var o options
	flag.IntVar(&o.nodes, "nodes", 3, "pagerd nodes to start on loopback")
	flag.StringVar(&o.urls, "urls", "", "comma-separated base URLs of a running cluster to measure instead (ingest and Alertmanager runs only; its config must have the bench keys, see bench.Config)")
	flag.BoolVar(&o.short, "short", false, "short run (about a minute): shorter points, 1 failover round, 10k-incident scale run")
	flag.DurationVar(&o.duration, "duration", 0, "measured time per ingest point (default 8s, -short 1.5s)")
	flag.DurationVar(&o.warmup, "warmup", 0, "unmeasured warm-up per ingest point (default 1s, -short 300ms)")
	flag.DurationVar(&o.halfDuration, "half-duration", 0, "length of the open-loop run at half the maximum rate (default 10s, -short 3s)")
	flag.StringVar(&o.concurrency, "concurrency", "1,16,128", "closed-loop client counts")
	flag.IntVar(&o.batch, "batch", 10, "alerts per Alertmanager webhook / POST /api/v2/alerts batch")
	flag.StringVar(&o.skip, "skip", "", "comma-separated parts to skip: ingest,am,half,page,failover,storm,scale")
	flag.StringVar(&o.jsonOut, "json", "", "also write the report as JSON to this file (- for stdout)")
	flag.StringVar(&o.pprofDir, "pprof", "", "save CPU profiles of the leader under the c=128 ingest load (and, for the storm, CPU and allocation profiles of every node; for the scale run, heap profiles of every node after the snapshot and once settled, and the allocations made while quiet) into this directory")
	flag.StringVar(&o.bin, "pagerd", "", "pagerd binary to run (default: build ./cmd/pagerd)")
	flag.IntVar(&o.failoverRounds, "failover-rounds", 0, "leader kills (default 5, -short 1)")
	flag.IntVar(&o.a2pCount, "pages", 0, "alert-to-page samples (default 200, -short 10)")
	flag.IntVar(&o.scaleIncidents, "scale-incidents", 0, "open incidents of the scale run (default 100000, -short 10000)")
	flag.IntVar(&o.scaleSchedules, "scale-schedules", 1000, "schedules of the scale run")
	flag.DurationVar(&o.scaleSettle, "scale-settle", 0, "scale: quiet time after the snapshot before memory is read again as \"settled\" (default 45s, -short 15s)")
	flag.StringVar(&o.serveArgs, "serve-args", "", "extra flags for every `pagerd serve` of the main, storm and scale clusters, space-separated (e.g. \"--raft-snapshot-threshold 100000\")")
	flag.BoolVar(&o.storm, "storm", false, "run only the storm scenario (issue 18): alternating Alertmanager and pagerd runs where every alert pages")
	flag.IntVar(&o.stormRounds, "storm-rounds", 0, "storm: pairs of runs am, pagerd (default 2, -short 1)")
	flag.DurationVar(&o.stormDuration, "storm-duration", 0, "storm: measured time per run (default 8s, -short 2s)")
	flag.StringVar(&o.client, "client", "lean", "HTTP client of the closed-loop workers of both systems (ingest points, Alertmanager baseline, storm): lean (one keep-alive connection per worker, no allocations per request) or nethttp (Go's net/http, the bench's client before, to compare what the generator costs)")
	flag.BoolVar(&o.check, "check", false, "exit 1 when a target is missed")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (data dirs, logs)")
	flag.Parse()
	if o.pprofDir != "" && o.bin != "" {
		// Profiles come from a hook compiled into the binary the bench
		// builds; a given binary has none, and every fetch would fail.
		fmt.Fprintln(os.Stderr, "pagerd-bench: -pprof needs the binary the bench builds (with its pprof hook); drop -pagerd")
		os.Exit(2)
	}
	def := func(v *time.Duration, full, short time.Duration) {
		if *v == 0 {
			*v = map[bool]time.Duration{false: full, true: short}[o.short]
		}
	}
	defInt := func(v *int, full, short int) {
		if *v == 0 {
			*v = map[bool]int{false: full, true: short}[o.short]
		}
	}
	def(&o.duration, 8*time.Second, 1500*time.Millisecond)
	def(&o.warmup, time.Second, 300*time.Millisecond)
	def(&o.halfDuration, 10*time.Second, 3*time.Second)
	defInt(&o.failoverRounds, 5, 1)
	defInt(&o.a2pCount, 200, 10)
	defInt(&o.scaleIncidents, 100000, 10000)
	defInt(&o.stormRounds, 2, 1)
	def(&o.scaleSettle, 45*time.Second, 15*time.Second)
	def(&o.stormDuration, 8*time.Second, 2*time.Second)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, o)
	if rep != nil {
		rep.WriteTable(os.Stdout)
		if o.jsonOut != "" {
			b := append(bench.JSON(rep), '\n')
			if o.jsonOut == "-" {
				os.Stdout.Write(b)
			} else if werr := os.WriteFile(o.jsonOut, b, 0o644); werr != nil {
				fmt.Fprintln(os.Stderr, "pagerd-bench:", werr)
				os.Exit(1)
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pagerd-bench:", err)
		os.Exit(1)
	}
	if o.check {
		for _, t := range rep.Targets {
			if !t.Met {
				fmt.Fprintln(os.Stderr, "pagerd-bench: target missed:", t.Name)
				os.Exit(1)
			}
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) (*bench.Report, error) {
	client, err := bench.ParseClientKind(o.client)
	if err != nil {
		return nil, fmt.Errorf("-client: %w", err)
	}
	skip := map[string]bool{}
	for _, s := range strings.Split(o.skip, ",") {
		skip[strings.TrimSpace(s)] = s != ""
	}
	var levels []int
	for _, s := range strings.Split(o.concurrency, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return nil, fmt.Errorf("-concurrency: bad value %q", s)
		}
		levels = append(levels, c)
	}
	work, err := os.MkdirTemp("", "pagerd-bench-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		logf("work directory %s (kept)", work)
	} else {
		defer os.RemoveAll(work)
	}
	if o.storm {
		for _, part := range []string{"ingest", "am", "half", "page", "failover", "scale"} {
			skip[part] = true
		}
	}
	rep := &bench.Report{StartedAt: time.Now().UTC(), Command: strings.Join(os.Args, " "), Nodes: o.nodes, Client: string(client)}
	rep.Machine = bench.DescribeMachine(work, 200)
	logf("machine: %d cores, %.1f GiB, fsync p50 %.2f ms", rep.Machine.Cores, rep.Machine.MemoryGiB, rep.Machine.FsyncP50ms)

	var urls []string
	var cl *bench.Cluster
	var smtp *bench.SMTPServer
	var mail *bench.MailWatcher
	var leaderPprof string
	if o.urls != "" {
		urls = strings.Split(o.urls, ",")
		rep.Nodes = len(urls)
	} else if o.storm {
		urls = []string{""}
	} else {
		bin := o.bin
		if bin == "" {
			logf("building ./cmd/pagerd")
			if bin, err = bench.BuildPagerd(work, o.pprofDir != ""); err != nil {
				return nil, err
			}
		}
		if !skip["page"] || !skip["failover"] {
			if smtp, err = bench.StartSMTP(ctx, filepath.Join(work, "smtp")); err != nil {
				return nil, err
			}
			defer smtp.Close()
			mail = smtp.Watch()
		}
		smtpAddr := ""
		if smtp != nil {
			smtpAddr = smtp.Addr
		}
		logf("starting %d pagerd nodes", o.nodes)
		cl, err = bench.StartCluster(ctx, bench.ClusterOptions{Bin: bin, Dir: filepath.Join(work, "cluster"), Nodes: o.nodes,
			Config: bench.Config(bench.ConfigOptions{SMTP: smtpAddr}), Token: bench.Token, Pprof: o.pprofDir != "",
			ExtraArgs: strings.Fields(o.serveArgs)})
		if err != nil {
			return nil, err
		}
		defer cl.Close()
		// The first leader may hand over once the joiners are promoted: wait
		// until a write through the named leader succeeds.
		var leader *bench.Node
		err = bench.WaitFor(ctx, 30*time.Second, func() (bool, string) {
			if leader, err = cl.Leader(ctx, 10*time.Second); err != nil {
				return false, err.Error()
			}
			_, _, err := bench.Post(ctx, leader.URL()+"/v2/enqueue", bench.EventTrigger(bench.EventsKey, "warm-up", "bench"), nil, 202)
			return err == nil, fmt.Sprint("warm-up write: ", err)
		})
		if err != nil {
			return nil, err
		}
		urls = []string{leader.URL()}
		leaderPprof = leader.PprofAddr()
		for _, n := range cl.Nodes {
			if n != leader {
				urls = append(urls, n.URL())
			}
		}
	}
	leaderURL := []string{urls[0]}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	maxOf := func(kind, system string) float64 {
		best := 0.0
		for _, r := range rep.Ingest {
			if r.Kind == kind && r.System == system && r.Target != "all nodes" && r.EvPerSec > best {
				best = r.EvPerSec
			}
		}
		return best
	}
	profile := func(name string, d time.Duration) func() {
		if o.pprofDir == "" || leaderPprof == "" {
			return func() {}
		}
		os.MkdirAll(o.pprofDir, 0o755)
		path := filepath.Join(o.pprofDir, name+".pprof")
		done := make(chan error, 1)
		go func() { done <- bench.FetchProfile(ctx, leaderPprof, max(1, int(d.Seconds())), path) }()
		return func() {
			if err := <-done; err != nil {
				logf("profile %s: %v", name, err)
				return
			}
			rep.Profiles = append(rep.Profiles, path)
		}
	}

	if !skip["ingest"] {
		for _, c := range levels {
			var wait func()
			if c == levels[len(levels)-1] {
				wait = profile("leader-events-c"+strconv.Itoa(c), o.warmup+o.duration)
			}
			meter := bench.MeterCPU(cl)
			s := bench.ClosedLoopWorkers(ctx, c, o.warmup, o.duration, bench.EventsWorkers(client, leaderURL, bench.EventsKey, run+"-ev"+strconv.Itoa(c), "bench"))
			s.Extra = map[string]any{"cpu_cores": meter.Cores()}
			if wait != nil {
				wait()
			}
			rep.Ingest = append(rep.Ingest, bench.Row{System: "pagerd", Kind: "events_v2", Target: "leader", Batch: 1, Concurrency: c, Summary: s})
			logf("pagerd events v2 c=%d: %.0f events/s p99 %.1f ms errors %d %s cpu %v, client cpu %.1f µs/request", c, s.EvPerSec, s.P99ms, s.Errors, s.FirstError, s.Extra["cpu_cores"], s.ClientCPUus)
		}
		if !skip["half"] {
			if top := maxOf("events_v2", "pagerd"); top > 0 {
				rate := top / 2
				wait := profile("leader-half-rate", o.halfDuration)
				// The same client as the closed-loop point it halves: with
				// net/http here the generator alone took ~0.4 of a core at
				// the rate the lean client's maximum gave.
				s := bench.OpenLoopWorkers(ctx, rate, o.halfDuration, 512, bench.EventsWorkers(client, leaderURL, bench.EventsKey, run+"-half", "bench"))
				wait()
				rep.HalfRate = &bench.Row{System: "pagerd", Kind: "events_v2", Target: "leader", Batch: 1, Summary: s}
				logf("pagerd at half the maximum rate (%.0f/s): p99 %.1f ms errors %d, client cpu %.1f µs/request", rate, s.P99ms, s.Errors, s.ClientCPUus)
			}
		}
		if len(urls) > 1 {
			c := levels[len(levels)-1]
			meter := bench.MeterCPU(cl)
			s := bench.ClosedLoopWorkers(ctx, c, o.warmup, o.duration, bench.EventsWorkers(client, urls, bench.EventsKey, run+"-evall", "bench"))
			s.Extra = map[string]any{"cpu_cores": meter.Cores()}
			rep.Ingest = append(rep.Ingest, bench.Row{System: "pagerd", Kind: "events_v2", Target: "all nodes", Batch: 1, Concurrency: c, Summary: s})
			logf("pagerd events v2 via all nodes c=%d: %.0f events/s p99 %.1f ms errors %d %s, client cpu %.1f µs/request", c, s.EvPerSec, s.P99ms, s.Errors, s.FirstError, s.ClientCPUus)
		}
		for _, c := range levels {
			var wait func()
			if c == levels[len(levels)-1] {
				wait = profile("leader-webhook-c"+strconv.Itoa(c), o.warmup+o.duration)
			}
			meter := bench.MeterCPU(cl)
			s := bench.ClosedLoopWorkers(ctx, c, o.warmup, o.duration, bench.WebhookWorkers(client, leaderURL, run+"-wh"+strconv.Itoa(c), o.batch))
			s.Extra = map[string]any{"cpu_cores": meter.Cores()}
			if wait != nil {
				wait()
			}
			rep.Ingest = append(rep.Ingest, bench.Row{System: "pagerd", Kind: "webhook_batch", Target: "leader", Batch: o.batch, Concurrency: c, Summary: s})
			logf("pagerd webhook batch of %d c=%d: %.0f events/s p99 %.1f ms errors %d, client cpu %.1f µs/request", o.batch, c, s.EvPerSec, s.P99ms, s.Errors, s.ClientCPUus)
		}
	}

	if !skip["am"] {
		am, err := bench.StartAlertmanager(ctx, filepath.Join(work, "alertmanager"))
		if err != nil {
			return rep, err
		}
		rep.Alertmanager = bench.AlertmanagerVersion()
		amURL := "http://" + am.Addr
		for _, batch := range []int{1, o.batch} {
			for _, c := range levels {
				meter, amCPU := bench.MeterCPU(nil), am.CPUSeconds()
				s := bench.ClosedLoopWorkers(ctx, c, o.warmup, o.duration, bench.AlertmanagerWorkers(client, amURL, fmt.Sprintf("%s-am%d-%d", run, batch, c), batch, "bench"))
				cores := meter.Cores()
				cores["alertmanager"] = roundTo((am.CPUSeconds()-amCPU)/(o.warmup+o.duration).Seconds(), 2)
				s.Extra = map[string]any{"cpu_cores": cores}
				rep.Ingest = append(rep.Ingest, bench.Row{System: "alertmanager", Kind: "api_v2_alerts", Target: "alertmanager", Batch: batch, Concurrency: c, Summary: s})
				logf("alertmanager POST /api/v2/alerts batch %d c=%d: %.0f alerts/s p99 %.1f ms errors %d, client cpu %.1f µs/request", batch, c, s.EvPerSec, s.P99ms, s.Errors, s.ClientCPUus)
			}
		}
		am.Close()
		amSingle, amBatch := 0.0, 0.0
		for _, r := range rep.Ingest {
			if r.System == "alertmanager" && r.Batch == 1 && r.EvPerSec > amSingle {
				amSingle = r.EvPerSec
			}
			if r.System == "alertmanager" && r.Batch == o.batch && r.EvPerSec > amBatch {
				amBatch = r.EvPerSec
			}
		}
		pSingle, pBatch := maxOf("events_v2", "pagerd"), maxOf("webhook_batch", "pagerd")
		rep.Comparison = map[string]any{"pagerd_events_per_s": pSingle, "alertmanager_alerts_per_s": amSingle,
			"pagerd_batch_events_per_s": pBatch, "alertmanager_batch_alerts_per_s": amBatch}
		if amSingle > 0 {
			rep.Comparison["ratio"] = roundTo(pSingle/amSingle, 2)
		}
		if amBatch > 0 {
			rep.Comparison["batch_ratio"] = roundTo(pBatch/amBatch, 2)
		}
	}

	if cl != nil && !skip["page"] {
		s, err := bench.AlertToPage(ctx, cl, mail, o.a2pCount)
		if err != nil {
			rep.PagingNote = "alert-to-page not measured: " + err.Error()
			logf("%s", rep.PagingNote)
		} else {
			rep.AlertToPage = &s
			logf("alert-to-page: p50 %.1f ms p90 %.1f ms p99 %.1f ms", s.P50ms, s.P90ms, s.P99ms)
		}
	}

	if cl != nil && !skip["failover"] {
		var m *bench.MailWatcher
		if rep.AlertToPage != nil {
			m = mail
		}
		rounds, err := bench.Failover(ctx, cl, o.failoverRounds, 8, m, logf)
		rep.Failover = rounds
		if err != nil {
			return rep, fmt.Errorf("failover: %w", err)
		}
		if m == nil && rep.PagingNote == "" {
			rep.PagingNote = "overdue page not measured (paging skipped)"
		}
	}
	if cl != nil {
		cl.Close()
	}

	if o.urls == "" && !skip["storm"] {
		bin := o.bin
		if bin == "" {
			bin = filepath.Join(work, "pagerd")
			if _, err := os.Stat(bin); err != nil {
				logf("building ./cmd/pagerd")
				if bin, err = bench.BuildPagerd(work, o.pprofDir != ""); err != nil {
					return rep, err
				}
			}
		}
		logf("storm: %d rounds of Alertmanager then pagerd, %v each", o.stormRounds, o.stormDuration)
		res, err := bench.Storm(ctx, bench.StormOptions{Bin: bin, Dir: filepath.Join(work, "storm"), Rounds: o.stormRounds,
			Warmup: o.warmup, Duration: o.stormDuration, ServeArgs: strings.Fields(o.serveArgs), Client: client, Logf: logf, ProfileDir: o.pprofDir})
		rep.Storm = res
		if err != nil {
			return rep, fmt.Errorf("storm: %w", err)
		}
	}

	if o.urls == "" && !skip["scale"] {
		bin := o.bin
		if bin == "" {
			bin = filepath.Join(work, "pagerd")
		}
		logf("scale: %d incidents, %d schedules", o.scaleIncidents, o.scaleSchedules)
		sc, err := bench.StartCluster(ctx, bench.ClusterOptions{Bin: bin, Dir: filepath.Join(work, "scale"), Nodes: o.nodes,
			Config: bench.Config(bench.ConfigOptions{Schedules: o.scaleSchedules}), Token: bench.Token,
			ExtraArgs: append([]string{"--raft-trailing-logs", "16", "--raft-log-level", "info"}, strings.Fields(o.serveArgs)...), Pprof: o.pprofDir != ""})
		if err != nil {
			return rep, fmt.Errorf("scale cluster: %w", err)
		}
		defer sc.Close()
		res, err := bench.Scale(ctx, sc, bench.ScaleOptions{Incidents: o.scaleIncidents, Schedules: o.scaleSchedules,
			Concurrency: 64, Logf: logf, ProfileDir: o.pprofDir, Settle: o.scaleSettle})
		if err != nil {
			return rep, fmt.Errorf("scale: %w", err)
		}
		rep.Scale = res
		sc.Close()
	}
	rep.Targets = targets(rep)
	return rep, nil
}

func roundTo(v float64, places int) float64 {
	p := 1.0
	for range places {
		p *= 10
	}
	return float64(int64(v*p+0.5)) / p
}

func targets(r *bench.Report) []bench.Target {
	var out []bench.Target
	if v, ok := r.Comparison["ratio"].(float64); ok {
		out = append(out, bench.Target{Name: "ingest vs Alertmanager (single events)", Goal: ">= 3x",
			Value: fmt.Sprintf("%.2fx (%.0f vs %.0f/s)", v, r.Comparison["pagerd_events_per_s"], r.Comparison["alertmanager_alerts_per_s"]), Met: v >= 3})
	}
	if v, ok := r.Comparison["batch_ratio"].(float64); ok {
		out = append(out, bench.Target{Name: "ingest vs Alertmanager (batches)", Goal: ">= 3x",
			Value: fmt.Sprintf("%.2fx (%.0f vs %.0f/s)", v, r.Comparison["pagerd_batch_events_per_s"], r.Comparison["alertmanager_batch_alerts_per_s"]), Met: v >= 3})
	}
	best := 0.0
	for _, row := range r.Ingest {
		if row.System == "pagerd" && row.Kind == "events_v2" && row.EvPerSec > best {
			best = row.EvPerSec
		}
	}
	if best > 0 {
		out = append(out, bench.Target{Name: "ingest rate (design: 10x GoAlert's ~320/s)", Goal: ">= 3200 events/s",
			Value: fmt.Sprintf("%.0f events/s", best), Met: best >= 3200})
	}
	if h := r.HalfRate; h != nil {
		out = append(out, bench.Target{Name: "p99 ingest latency at half the max rate", Goal: "<= 50 ms",
			Value: fmt.Sprintf("%.1f ms at %.0f/s", h.P99ms, h.Extra["target_rate"]), Met: h.P99ms <= 50 && h.Errors == 0})
	}
	if a := r.AlertToPage; a != nil {
		out = append(out, bench.Target{Name: "alert-to-page p99 (design)", Goal: "<= 100 ms", Value: fmt.Sprintf("%.1f ms", a.P99ms), Met: a.P99ms <= 100})
		out = append(out, bench.Target{Name: "alert-to-page p99 at low load (issue 18)", Goal: "<= 5 ms",
			Value: fmt.Sprintf("%.1f ms (%d pages)", a.P99ms, a.Requests), Met: a.P99ms <= 5})
	} else if r.PagingNote != "" {
		out = append(out, bench.Target{Name: "alert-to-page p99 (design)", Goal: "<= 100 ms", Value: "not measured", Met: false, Note: "paging unavailable"})
	}
	for i, f := range r.Failover {
		out = append(out, bench.Target{Name: fmt.Sprintf("failover %d: writes succeed again", i+1), Goal: "(reported)",
			Value: fmt.Sprintf("%.0f ms", f.WriteGapMs), Met: f.WriteGapMs > 0})
	}
	if s := r.Storm; s != nil {
		out = append(out, bench.Target{Name: "storm: pagerd vs Alertmanager, every alert pages (issue 18)", Goal: ">= 3x",
			Value: fmt.Sprintf("%.2fx (%.0f vs %.0f/s; pages recorded %.0f vs %.0f/s)", s.Ratio, s.PagerdRate, s.AMRate, s.PagerdPages, s.AMPages),
			Met:   s.Ratio >= 3})
	}
	if s := r.Scale; s != nil {
		var worst int64
		for _, v := range s.PeakRSSMiB {
			worst = max(worst, v)
		}
		out = append(out,
			bench.Target{Name: fmt.Sprintf("memory per node at %d incidents", s.Incidents), Goal: "<= 1024 MiB", Value: fmt.Sprintf("peak %d MiB", worst), Met: worst <= 1024},
			leaderMemoryTarget(s),
			bench.Target{Name: "fresh node installs snapshot and serves", Goal: "<= 10 s", Value: fmt.Sprintf("%.1f s", s.InstallMs/1000), Met: s.InstallMs <= 10000 && s.InstalledSnap},
			bench.Target{Name: "restart after kill -9 and serve", Goal: "<= 10 s", Value: fmt.Sprintf("%.1f s", s.RestartMs/1000), Met: s.RestartMs <= 10000})
	}
	return out
}

// leaderMemoryTarget is issue 12's "leader memory at 100k incidents within
// 10 % of a follower's", on the nodes' anonymous memory once they were quiet
// for -scale-settle (RSS minus file-backed pages such as bbolt's mmap of
// raft.db, which the kernel can drop; see docs/PERFORMANCE.md).
func leaderMemoryTarget(s *bench.ScaleResult) bench.Target {
	t := bench.Target{Name: "leader memory vs followers' (anonymous RSS, settled)", Goal: "<= 1.10x"}
	l, f, ratio, ok := s.LeaderMemoryRatio(s.MemorySettled)
	if !ok {
		t.Value, t.Note = "not measured", "no settled reading (-scale-settle 0?)"
		return t
	}
	t.Value = fmt.Sprintf("%.2fx (leader %.0f MiB, followers %.0f MiB)", ratio, l, f)
	t.Met = ratio <= 1.10
	if s.Incidents < 100000 {
		// The goal is set at 100,000 incidents; on a small state the
		// return's fixed margin (16 MiB) weighs more than 10 %.
		t.Goal, t.Met = "(reported; goal <= 1.10x at 100000)", true
	}
	return t
}

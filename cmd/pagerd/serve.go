package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/configs"
	"github.com/pagerd/pagerd/continuity"
	"github.com/pagerd/pagerd/escalation"
	"github.com/pagerd/pagerd/events"
	"github.com/pagerd/pagerd/notify/channels"
	"github.com/pagerd/pagerd/notify/email"
	"github.com/pagerd/pagerd/notify/outbox"
	"github.com/pagerd/pagerd/reply/smshook"
	"github.com/pagerd/pagerd/router"
	"github.com/pagerd/pagerd/status"
	"github.com/pagerd/pagerd/web"
)

const defaultConfigPath = "configs/example.yaml"

type serveFlags struct {
	config, dataDir, nodeID, httpAddr, raftAddr, smtpAddr, join string
	smtpCert, smtpKey                                           string
	security                                                    securityFlags
	bootstrap, dev, memoryReturn                                bool
	logLevel, logFormat, raftLogLevel, raftLogStore             string
	snapshotThreshold, trailingLogs                             uint64
	snapshotInterval, heartbeat                                 time.Duration
	listen                                                      listenFlags
	statusMailRate                                              float64
}

func runServe(args []string, stdout, stderr io.Writer) error {
	host, _ := os.Hostname()
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&f.config, "config", defaultConfigPath, "YAML file, or a directory whose *.yaml files are one config")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "Raft log, stable store and snapshots")
	fs.StringVar(&f.nodeID, "node-id", host, "unique node id, stable across restarts")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:8080", "API, ingest, inbound SMS webhook, metrics")
	fs.StringVar(&f.raftAddr, "raft-addr", "127.0.0.1:7000", "Raft transport")
	fs.StringVar(&f.smtpAddr, "smtp-addr", "", "inbound SMTP for email replies (empty: off)")
	fs.StringVar(&f.smtpCert, "smtp-tls-cert", "", "PEM certificate for STARTTLS on --smtp-addr (with --smtp-tls-key)")
	fs.StringVar(&f.smtpKey, "smtp-tls-key", "", "PEM private key for STARTTLS on --smtp-addr")
	fs.BoolVar(&f.bootstrap, "bootstrap", false, "start a new cluster with this node as its only voter")
	fs.StringVar(&f.join, "join", "", "comma-separated HTTP addresses of existing members")
	fs.BoolVar(&f.dev, "dev", false, "development outbox: keep emails, SMS and webhooks in memory at /dev/outbox instead of sending them")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug | info | warn | error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text | json")
	fs.Uint64Var(&f.snapshotThreshold, "raft-snapshot-threshold", 0, "log entries between snapshots (0: default 8192)")
	fs.DurationVar(&f.snapshotInterval, "raft-snapshot-interval", 0, "how often to check whether to snapshot (0: default 2m)")
	fs.Uint64Var(&f.trailingLogs, "raft-trailing-logs", 0, "log entries kept after a snapshot (0: default 10240)")
	fs.DurationVar(&f.heartbeat, "raft-heartbeat-timeout", 0, "Raft heartbeat and election timeout (0: default 2s)")
	fs.StringVar(&f.raftLogStore, "raft-log-store", "", "Raft log store: wal | boltdb (empty: wal, or boltdb for a data dir that already holds raft.db; wal on such a dir copies its log over once)")
	fs.StringVar(&f.raftLogLevel, "raft-log-level", "warn", "level of the Raft library's log: debug | info | warn | error")
	fs.BoolVar(&f.memoryReturn, "idle-memory-return", true, "when the node is quiet after a burst, collect and give the unused heap back to the OS (docs/operations.md, \"Memory\")")
	fs.Float64Var(&f.statusMailRate, "status-mail-rate", status.DefaultRate, "status page subscriber mails per second (confirmations and updates; separate from paging)")
	addListenFlags(fs, &f.listen)
	addSecurityFlags(fs, &f.security)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := f.listen.check(); err != nil {
		return err
	}
	if f.bootstrap && f.join != "" {
		return usagef("--bootstrap and --join exclude each other")
	}
	if err := f.security.check(); err != nil {
		return err
	}
	log := newLogger(stderr, f.logLevel, f.logFormat)
	sources, err := readServeConfig(f.config, f.dev, log)
	if err != nil {
		return err
	}
	return serve(f, sources, log)
}

// readServeConfig reads and validates the seed config. The default path falls
// back to the example embedded in the binary, so `pagerd serve` runs anywhere.
// A config that would leave the API open is refused (auth: none only with
// --dev), as PUT /v1/config refuses it.
func readServeConfig(path string, dev bool, log *slog.Logger) ([]config.Source, error) {
	sources, err := config.ReadSources(path)
	if err != nil && path == defaultConfigPath && errors.Is(err, os.ErrNotExist) {
		log.Info("no configs/example.yaml here; using the embedded example config")
		sources = []config.Source{{Name: "embedded:configs/example.yaml", Data: configs.Example}}
		err = nil
	}
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	cfg, err := config.Parse(sources, os.LookupEnv)
	if err == nil {
		err = cfg.CheckAccess(dev)
	}
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return sources, nil
}

func serve(f serveFlags, sources []config.Source, log *slog.Logger) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(goCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	memCtx, stopMem := context.WithCancel(context.Background())
	defer stopMem()
	startMemoryReturn(memCtx, f.memoryReturn, reg, log)
	secrets, err := f.security.clusterSecrets(os.Getenv)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	if len(secrets) == 0 && f.security.tlsFiles() == nil && f.dev {
		// --dev stays a one-liner on loopback: a fixed, public secret.
		secrets = []string{devClusterSecret}
		log.Warn("development mode: nodes authenticate each other with a built-in, public cluster secret; set " + clusterSecretEnv + " or --raft-tls-* for a real cluster")
	}
	node, err := cluster.Open(cluster.Options{
		NodeID: f.nodeID, DataDir: f.dataDir, RaftAddr: f.raftAddr, HTTPAddr: f.httpAddr,
		Join: splitList(f.join), TLS: f.security.tlsFiles(), ClusterSecrets: secrets,
		SeedConfig: func() (*cluster.ConfigCommand, error) { return cluster.CaptureConfig(sources, os.LookupEnv) },
		Logger:     log, Registry: reg,
		HeartbeatTimeout: f.heartbeat, SnapshotThreshold: f.snapshotThreshold,
		SnapshotInterval: f.snapshotInterval, TrailingLogs: f.trailingLogs, RaftLogLevel: f.raftLogLevel,
		LogStore: f.raftLogStore, Version: nodeVersion(),
		// The leader plans escalation step 0 into each trigger that opens
		// an incident: its page is recorded in the trigger's own commit.
		FirstSteps: escalation.NewFirstStepPlanner(),
	})
	if err != nil {
		return err
	}
	activeConfig := func() *config.Config {
		if ac := node.FSM().Config(); ac != nil {
			return ac.Config
		}
		return nil
	}
	ingest := router.NewHandler(activeConfig, node, router.Options{Registerer: reg, Logger: log})
	mux := http.NewServeMux()
	mux.Handle("/", api.New(api.Options{Node: node, Ingest: ingest, Gatherer: reg, Registry: reg, Logger: log, Dev: f.dev}))
	go warnConfigDrift(node, sources, log)
	seed, err := config.Parse(sources, os.LookupEnv)
	if err != nil {
		node.Close()
		return err
	}
	tlsConfig, err := loadTLS(f.smtpCert, f.smtpKey)
	if err != nil {
		node.Close()
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	replies, err := startReplies(node, activeConfig, seed, f.smtpAddr, f.dev, f.httpAddr, tlsConfig, f.listen.smtpMaxConns, reg, log)
	if err != nil {
		node.Close()
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	defer replies.close()
	mux.Handle(smshook.Path, replies.smsHandler())
	// The pager's email sender keeps its relay connection between pages:
	// a page goes out without a connect, greeting and EHLO first.
	var senders escalation.Senders = &channels.Providers{Email: email.Options{KeepIdle: email.DefaultKeepIdle}}
	if f.dev {
		box := outbox.New(outbox.Options{Node: f.nodeID, EmailFrom: seed.Channels.Email.From, Reply: replies.devReply})
		senders = channels.Outbox{Outbox: box}
		replies.devBox = box
		mux.Handle("/dev/", box.Handler())
		log.Warn("development mode: pages are kept at /dev/outbox, not sent", "url", "http://"+f.httpAddr+"/dev/outbox")
	}
	// The web console (issue 17): /ui/ on every node; GET / opens it.
	mux.Handle("/ui/", web.New(web.Options{Node: node, Mailer: senders, Logger: log, Dev: f.dev, DevURL: "http://" + f.httpAddr}))
	mux.HandleFunc("GET /{$}", web.RedirectRoot)
	engine := escalation.New(escalation.Options{Store: node, Senders: senders, Logger: log, Registry: reg, IsLeader: node.IsLeader})
	node.OnLeader(engine.Run)
	// services[].events_to: incident timelines to webhooks, also leader-only.
	node.OnLeader(events.New(events.Options{Store: node, Senders: senders, Logger: log}).Run)
	node.OnLeader(cluster.NewRetention(node, nil, reg).Run)
	// Status pages (any node, from replicated state) and the leader's
	// subscriber mailer (its own rate and concurrency, apart from paging).
	statusPages := status.New(status.Options{Node: node, Logger: log})
	defer statusPages.Close()
	mux.Handle("/status/", statusPages)
	node.OnLeader(status.NewMailer(status.MailerOptions{Node: node, Logger: log, Rate: f.statusMailRate,
		BaseURL: func() string { return "http://" + f.httpAddr }}).Run)
	// Follow-up and postmortem reminders, also leader-only (reminders.go).
	startReminders(node, replies.devBox, log)
	// Heartbeat deadlines, drill schedules and results, also leader-only.
	node.OnLeader(continuity.New(continuity.Options{Store: node, Senders: senders, Logger: log}).Run)
	var handler http.Handler = mux
	// With --raft-tls-*, members send each other's API requests through
	// the Raft port's TLS (cluster/tunnel.go).
	// The tunnel's server is bounded like the API listener, and the long
	// requests get the same longer deadline there.
	node.ServeTunnel(longRequests(handler, f.listen.longTimeout, log), cluster.TunnelOptions{
		ReadTimeout: f.listen.readTimeout, WriteTimeout: f.listen.writeTimeout, MaxConns: f.listen.maxConns})
	srv, ln, err := listenHTTP(f.httpAddr, handler, f.listen, reg, log)
	if err != nil {
		node.Close()
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("pagerd serving", "node", f.nodeID, "http", ln.Addr().String(), "raft", f.raftAddr, "data_dir", f.dataDir)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-errc:
		log.Error("http server stopped", "err", err)
	}
	return shutdown(srv, node, log)
}

// shutdown stops accepting requests, lets in-flight ones finish (their commits
// included), then stops Raft and closes the stores so the data dir is clean.
func shutdown(srv *http.Server, node *cluster.Node, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := node.Close(); err != nil {
		return fmt.Errorf("stop raft: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

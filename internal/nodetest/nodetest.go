// Package nodetest runs one real pagerd node in-process for package tests:
// a single-node Raft cluster (real hashicorp/raft, real raft-wal log in a temp
// dir, Raft transport on loopback), the real router and the real HTTP API
// behind an httptest server. Nothing is faked; it is the smallest real
// backing the API has, for tests that do not need separate processes
// (internal/testcluster runs those).
package nodetest

import (
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/api"
	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/router"
)

// Token is the admin API token of the configs tests pass (as in
// internal/testcluster.DefaultConfig).
const Token = "test-admin-token"

// Options shape the node.
type Options struct {
	// Config is the seed YAML (required).
	Config string
	// Now is the API's clock for "now" defaults (on-call, shifts, calendar);
	// time.Now when nil. The leader stamps commands with the real clock.
	Now func() time.Time
	// Clock is the leader's clock, which stamps commands (expiry of console
	// sign-in links, for one); time.Now when nil.
	Clock func() time.Time
	// HTTPAddr is where the API listens (host:port); a free loopback port
	// when empty. Tests of clients that start before the node set it.
	HTTPAddr string
}

// Node is a running single-node cluster and its API.
type Node struct {
	*cluster.Node
	// URL is the API's base URL, e.g. http://127.0.0.1:41234.
	URL string
}

// Start opens the node, waits until it leads with the seed config applied,
// and stops it when the test ends.
func Start(t testing.TB, o Options) *Node {
	t.Helper()
	sources := []config.Source{{Name: "test.yaml", Data: []byte(o.Config)}}
	seed, err := cluster.CaptureConfig(sources, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("seed config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := ln.Addr().String()
	ln.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	srv := httptest.NewUnstartedServer(nil)
	if o.HTTPAddr != "" {
		l, err := net.Listen("tcp", o.HTTPAddr)
		if err != nil {
			t.Fatalf("listen on %s: %v", o.HTTPAddr, err)
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	node, err := cluster.Open(cluster.Options{
		NodeID: "t1", DataDir: t.TempDir(), RaftAddr: raftAddr, HTTPAddr: srv.Listener.Addr().String(),
		SeedConfig: func() (*cluster.ConfigCommand, error) { return seed, nil },
		Logger:     log, Registry: reg, HeartbeatTimeout: 200 * time.Millisecond,
		Fatal: func(err error) { t.Errorf("node fatal: %v", err) }, Clock: o.Clock,
	})
	if err != nil {
		t.Fatalf("open node: %v", err)
	}
	active := func() *config.Config {
		if ac := node.FSM().Config(); ac != nil {
			return ac.Config
		}
		return nil
	}
	ingest := router.NewHandler(active, node, router.Options{Registerer: reg, Logger: log})
	srv.Config.Handler = api.New(api.Options{Node: node, Ingest: ingest, Gatherer: reg, Registry: reg, Logger: log, Now: o.Now})
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		node.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for !node.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("single node did not become ready within 15s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Node{Node: node, URL: srv.URL}
}

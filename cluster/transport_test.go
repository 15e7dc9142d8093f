package cluster

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"log/slog"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagerd/pagerd/internal/testpki"
)

func tlsFixture(t *testing.T, ca *testpki.CA, name string) *tlsSource {
	t.Helper()
	f := ca.WriteNode(t, t.TempDir(), name)
	src, err := newTLSSource(TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.CA}, func(err error) { t.Log(err) })
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func testLayer(t *testing.T, src *tlsSource) *tlsStreamLayer {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newTLSStreamLayer(raw, raw.Addr(), src, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { l.Close() })
	return l
}

// echo serves every connection ln accepts by echoing it.
func echo(ln net.Listener) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
}

func refusedCount(src *tlsSource) float64 {
	var m dto.Metric
	src.refused.Write(&m)
	return m.GetCounter().GetValue()
}

// TestTLSStreamLayerMembersOnly: two holders of certificates from the
// cluster CA talk; a dialler with a certificate from another CA, or with none
// (plain TCP, as the Raft TCP transport dials), never gets a byte through,
// and each refusal is counted.
func TestTLSStreamLayerMembersOnly(t *testing.T) {
	ca := testpki.NewCA(t, "cluster-ca")
	server := testLayer(t, tlsFixture(t, ca, "n1"))
	member := testLayer(t, tlsFixture(t, ca, "n2"))
	echo(server)

	c, err := member.Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second)
	if err != nil {
		t.Fatalf("member dial: %v", err)
	}
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("member echo: %q %v", buf, err)
	}
	c.Close()

	// Another CA: the server refuses the client's certificate, and the
	// client refuses the server's.
	stranger := testLayer(t, tlsFixture(t, testpki.NewCA(t, "other-ca"), "n4"))
	if c, err := stranger.Dial(raft.ServerAddress(server.Addr().String()), 5*time.Second); err == nil {
		// TLS 1.3: the client may finish before the server has judged its
		// certificate; the server's refusal then shows on the first read.
		c.Write([]byte("vote"))
		if _, err := io.ReadFull(c, buf); err == nil {
			t.Fatal("a stranger's connection was echoed")
		}
		c.Close()
	}
	waitFor(t, func() bool { return refusedCount(server.src) == 1 }, "one refusal counted")

	// Plain TCP with a Raft-looking first byte: the handshake fails.
	raw, err := net.Dial("tcp", server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80})
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(raw, buf); err == nil {
		t.Fatal("plain TCP got an answer from the TLS listener")
	}
	raw.Close()
	waitFor(t, func() bool { return refusedCount(server.src) == 2 }, "two refusals counted")

	// The member dialling a stranger's listener refuses it too.
	if _, err := member.Dial(raft.ServerAddress(stranger.Addr().String()), 5*time.Second); err == nil || !strings.Contains(err.Error(), "cluster CA") {
		t.Fatalf("member dialling a stranger: %v, want refusal naming the cluster CA", err)
	}

	// The HTTP tunnel: a member's tunnel connection reaches the tunnel
	// listener, not Raft.
	echo(server.tunnel)
	tc, err := member.DialTunnel(context.Background(), server.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte("GET /"))
	buf = make([]byte, 5)
	if _, err := io.ReadFull(tc, buf); err != nil || string(buf) != "GET /" {
		t.Fatalf("tunnel echo: %q %v (the tunnel byte must not reach the handler)", buf, err)
	}
	tc.Close()
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSSourceRefusesWrongFiles: a certificate from another CA than the one
// given, or a partial set of files, stops the node at start.
func TestTLSSourceRefusesWrongFiles(t *testing.T) {
	ca, other := testpki.NewCA(t, "cluster-ca"), testpki.NewCA(t, "other-ca")
	f := ca.WriteNode(t, t.TempDir(), "n1")
	g := other.WriteNode(t, t.TempDir(), "n1")
	if _, err := newTLSSource(TLSFiles{Cert: f.Cert, Key: f.Key, CA: g.CA}, nil); err == nil || !strings.Contains(err.Error(), "not accepted by the cluster CA") {
		t.Fatalf("cert of another CA: %v", err)
	}
	if _, err := newTLSSource(TLSFiles{Cert: f.Cert, Key: g.Key, CA: f.CA}, nil); err == nil {
		t.Fatal("a key that does not match the certificate was accepted")
	}
	if _, err := newTLSSource(TLSFiles{Cert: f.Cert, CA: f.CA}, nil); err == nil {
		t.Fatal("a missing key was accepted")
	}
}

// TestTLSSourceReloadsRenewedCertificate: a certificate replaced on disk
// (renewal, or the move to a new CA) is used without a restart.
func TestTLSSourceReloadsRenewedCertificate(t *testing.T) {
	ca := testpki.NewCA(t, "cluster-ca")
	dir := t.TempDir()
	f := ca.WriteNode(t, dir, "n1")
	src, err := newTLSSource(TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.CA}, func(err error) { t.Log(err) })
	if err != nil {
		t.Fatal(err)
	}
	before := src.get().leaf.SerialNumber
	ca.WriteNode(t, dir, "n1") // same paths, new certificate
	src.mu.Lock()
	src.checked = time.Time{} // skip the once-a-second wait
	src.mu.Unlock()
	if after := src.get().leaf.SerialNumber; after.Cmp(before) == 0 {
		t.Fatal("the renewed certificate was not loaded")
	}
}

// TestRaftOverTLSTransport: Raft's own NetworkTransport over the layer
// carries a RequestVote between members, and a plain TCP transport's
// RequestVote to the same port fails.
func TestRaftOverTLSTransport(t *testing.T) {
	ca := testpki.NewCA(t, "cluster-ca")
	hlog := hclog.NewNullLogger()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if _, _, err := newRaftTransport("0.0.0.0:0", tlsFixture(t, ca, "n1"), hlog, log); err == nil {
		t.Fatal("0.0.0.0 is not an address peers can reach; want an error")
	}
	a, _, err := newRaftTransport("127.0.0.1:0", tlsFixture(t, ca, "n1"), hlog, log)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(string(a.LocalAddr()), ":0") {
		t.Fatalf("advertised %s, want the port taken", a.LocalAddr())
	}
	a.Close()
	srv := testLayer(t, tlsFixture(t, ca, "n1"))
	server := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: srv, MaxPool: 2, Timeout: 5 * time.Second, Logger: hlog})
	defer server.Close()
	go func() {
		for rpc := range server.Consumer() {
			rpc.Respond(&raft.RequestVoteResponse{Term: 7, Granted: false}, nil)
		}
	}()
	cli := testLayer(t, tlsFixture(t, ca, "n2"))
	client := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: cli, MaxPool: 2, Timeout: 5 * time.Second, Logger: hlog})
	defer client.Close()
	var resp raft.RequestVoteResponse
	req := &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax}, Term: 9}
	if err := client.RequestVote("n1", server.LocalAddr(), req, &resp); err != nil || resp.Term != 7 {
		t.Fatalf("member RequestVote: %+v %v", resp, err)
	}
	plain, err := raft.NewTCPTransportWithLogger("127.0.0.1:0", nil, 2, 2*time.Second, hlog)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.RequestVote("n1", server.LocalAddr(), req, &resp); err == nil {
		t.Fatal("a plain TCP RequestVote was answered by the TLS transport")
	}
}

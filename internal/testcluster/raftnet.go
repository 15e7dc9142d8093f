package testcluster

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// RaftNet is a TCP proxy in front of every node's Raft port, so a test can
// cut a node off from the others (a network partition) without touching the
// processes. ProxyRaft re-points the cluster's Raft configuration at the
// proxies through the public join API (a join with a known id, a new
// raft_addr and "readdress": true moves that member) and restarts each node once, so
// every Raft connection between nodes goes through a proxy from then on,
// across later restarts too.
//
// A proxy learns which node opened a connection from the first RPC on it:
// every Raft RPC carries the sender's own (real) Raft address in its header.
type RaftNet struct {
	t        testing.TB
	c        *Cluster
	mu       sync.Mutex
	isolated map[string]bool   // node ids cut off from every other node
	byAddr   map[string]string // real Raft address → node id
	proxies  []*raftProxy
	refused  int
}

type raftProxy struct {
	net   *RaftNet
	node  *Node
	ln    net.Listener
	mu    sync.Mutex
	conns map[*proxyConn]struct{}
}

type proxyConn struct {
	from, to string
	in, out  net.Conn
}

// ProxyRaft starts a proxy for every node and moves the cluster onto them.
// It returns once every node's view of the membership lists the proxies.
func (c *Cluster) ProxyRaft() *RaftNet {
	c.t.Helper()
	rn := &RaftNet{t: c.t, c: c, isolated: map[string]bool{}, byAddr: map[string]string{}}
	for _, n := range c.Nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.t.Fatal(err)
		}
		p := &raftProxy{net: rn, node: n, ln: ln, conns: map[*proxyConn]struct{}{}}
		rn.byAddr[n.RaftAddr] = n.ID
		rn.proxies = append(rn.proxies, p)
		go p.accept()
	}
	c.t.Cleanup(rn.close)
	// A joiner's own join loop may still be running (Start returns once the
	// leader lists it); its join would set the real address again.
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, n := range c.Nodes[1:] {
			if !strings.Contains(n.Log(), "joined cluster") {
				return false, n.ID + " has not finished joining"
			}
		}
		return true, ""
	})
	for _, p := range rn.proxies {
		body, _ := json.Marshal(map[string]any{"id": p.node.ID, "raft_addr": p.ln.Addr().String(), "http_addr": p.node.HTTPAddr, "readdress": true})
		c.WaitFor(60*time.Second, func() (bool, string) {
			code, b := c.Do(c.Leader(), http.MethodPost, "/v1/cluster/join", body, map[string]string{"Content-Type": "application/json"})
			return code == 200, fmt.Sprintf("re-point %s at its proxy: %d %s", p.node.ID, code, b)
		})
	}
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			var st Status
			if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 {
				return false, fmt.Sprintf("%s GET /v1/cluster: %d", n.ID, code)
			}
			for _, m := range st.Nodes {
				if want := rn.ProxyAddr(m.ID); m.RaftAddr != want || m.Suffrage != "voter" {
					return false, fmt.Sprintf("%s lists %s at %s (%s), want %s", n.ID, m.ID, m.RaftAddr, m.Suffrage, want)
				}
			}
		}
		return true, ""
	})
	// Raft keeps connections it opened before the change (its replication
	// pipeline to a follower survives an address update), so restart every
	// node once: from then on every connection is opened to a proxy.
	for _, n := range c.Nodes {
		n.Stop()
		n.Start()
		c.WaitReady(n)
	}
	c.WaitFor(30*time.Second, func() (bool, string) {
		for _, n := range c.Nodes {
			var st Status
			if code := c.GetJSON(n, "/v1/cluster", &st); code != 200 || st.Leader == "" {
				return false, fmt.Sprintf("%s GET /v1/cluster: %d, leader %q", n.ID, code, st.Leader)
			}
		}
		return true, ""
	})
	return rn
}

// ProxyAddr is the address the cluster reaches node id's Raft port at.
func (rn *RaftNet) ProxyAddr(id string) string {
	for _, p := range rn.proxies {
		if p.node.ID == id {
			return p.ln.Addr().String()
		}
	}
	return ""
}

// Isolate cuts node n off from every other node, both ways, and drops the
// connections it has.
func (rn *RaftNet) Isolate(n *Node) {
	rn.mu.Lock()
	rn.isolated[n.ID] = true
	rn.mu.Unlock()
	for _, p := range rn.proxies {
		p.drop(func(pc *proxyConn) bool { return pc.from == n.ID || pc.to == n.ID })
	}
}

// Heal reconnects every node.
func (rn *RaftNet) Heal() {
	rn.mu.Lock()
	rn.isolated = map[string]bool{}
	rn.mu.Unlock()
}

// Refused is how many connections the proxies refused because of a cut.
func (rn *RaftNet) Refused() int { rn.mu.Lock(); defer rn.mu.Unlock(); return rn.refused }

func (rn *RaftNet) allowed(from, to string) bool {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	ok := !rn.isolated[to] && (from == "" || !rn.isolated[from])
	if !ok {
		rn.refused++
	}
	return ok
}

func (rn *RaftNet) close() {
	for _, p := range rn.proxies {
		p.ln.Close()
		p.drop(func(*proxyConn) bool { return true })
	}
}

func (p *raftProxy) drop(match func(*proxyConn) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pc := range p.conns {
		if match(pc) {
			pc.in.Close()
			pc.out.Close()
			delete(p.conns, pc)
		}
	}
}

func (p *raftProxy) accept() {
	for {
		conn, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(conn)
	}
}

// serve reads the start of the first RPC to learn the sender, then relays
// the connection to the node's real Raft port unless a cut forbids it.
func (p *raftProxy) serve(in net.Conn) {
	var head []byte
	from := ""
	buf := make([]byte, 4096)
	in.SetReadDeadline(time.Now().Add(5 * time.Second))
	for from == "" && len(head) < 8192 {
		k, err := in.Read(buf)
		head = append(head, buf[:k]...)
		from = p.net.sender(head)
		if err != nil {
			break
		}
	}
	in.SetReadDeadline(time.Time{})
	if len(head) == 0 || !p.net.allowed(from, p.node.ID) {
		in.Close()
		return
	}
	out, err := net.DialTimeout("tcp", p.node.RaftAddr, 2*time.Second)
	if err != nil {
		in.Close()
		return
	}
	if _, err := out.Write(head); err != nil {
		in.Close()
		out.Close()
		return
	}
	pc := &proxyConn{from: from, to: p.node.ID, in: in, out: out}
	p.mu.Lock()
	p.conns[pc] = struct{}{}
	p.mu.Unlock()
	// A cut that began while this connection was being set up drops it.
	if !p.net.allowed(from, p.node.ID) {
		p.drop(func(c *proxyConn) bool { return c == pc })
		return
	}
	done := make(chan struct{}, 2)
	go func() { io.Copy(out, in); out.Close(); done <- struct{}{} }()
	go func() { io.Copy(in, out); in.Close(); done <- struct{}{} }()
	<-done
	<-done
	p.drop(func(c *proxyConn) bool { return c == pc })
}

// sender finds which node's real Raft address appears in the bytes.
func (rn *RaftNet) sender(head []byte) string {
	for addr, id := range rn.byAddr {
		if bytes.Contains(head, []byte(addr)) {
			return id
		}
	}
	return ""
}

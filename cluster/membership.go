package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
)

// JoinRequest asks the cluster to add a voter (POST /v1/cluster/join).
type JoinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	// Readdress moves an existing member to new addresses. Without it, a
	// join that re-uses a member's id with other addresses is refused: a
	// second machine started with the same --node-id must not take over.
	Readdress bool `json:"readdress,omitempty"`
	// Version and Commands are the joiner's binary version and the newest
	// version of each command type it applies (NodeMeta); absent from
	// releases before the version gate.
	Version  string           `json:"version,omitempty"`
	Commands map[string]uint8 `json:"commands,omitempty"`
}

// joinMeta is the member record a join writes. A join without versions (an
// operator's, or a member of the previous release) keeps the versions the
// member announced before: only the member itself tells them.
func (n *Node) joinMeta(r JoinRequest) NodeMeta {
	m := NodeMeta{ID: r.ID, RaftAddr: r.RaftAddr, HTTPAddr: r.HTTPAddr, Version: r.Version, Commands: r.Commands}
	if m.Commands == nil {
		if old, ok := n.fsm.Node(r.ID); ok {
			m.Version, m.Commands = old.Version, old.Commands
		}
	}
	return m
}

// ErrMemberExists refuses a join that re-uses a member's id elsewhere.
var ErrMemberExists = errors.New("node id already a member")

// joinCatchUpTimeout is how long a new member has to catch up before the
// leader takes it out again (it retries its join while it runs).
var joinCatchUpTimeout = 20 * time.Second

// Join adds a voter and records its HTTP address. A repeated join of a
// member at the same addresses succeeds without change. Leader only.
func (n *Node) Join(ctx context.Context, req JoinRequest) error {
	if req.ID == "" || req.RaftAddr == "" {
		return fmt.Errorf("join: id and raft_addr are required")
	}
	if !n.IsLeader() {
		return unavailable("this node is not the leader")
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raftError(err)
	}
	meta := n.joinMeta(req)
	suffrage, present := raft.ServerSuffrage(0), false
	for _, s := range cf.Configuration().Servers {
		if s.ID != raft.ServerID(req.ID) {
			continue
		}
		old, known := n.fsm.Nodes()[req.ID]
		moved := s.Address != raft.ServerAddress(req.RaftAddr) || (known && old.HTTPAddr != "" && old.HTTPAddr != req.HTTPAddr)
		if moved && !req.Readdress {
			return fmt.Errorf("%w: %q is at raft %s, http %s; remove it first (pagerd cluster remove %s) or send readdress to move it",
				ErrMemberExists, req.ID, s.Address, old.HTTPAddr, req.ID)
		}
		suffrage, present = s.Suffrage, !moved
	}
	if present && suffrage == raft.Voter {
		if rec, ok := n.fsm.Node(req.ID); ok && rec.Equal(meta) {
			return nil
		}
		_, err := n.Submit(ctx, TypeNodeMeta, meta)
		return err
	}
	// A new member joins as a non-voter and is promoted once it has caught up:
	// a voter that cannot answer yet would cost the leader its quorum (a
	// one-node cluster growing to two needs both) and make it step down.
	if !present {
		n.log.Info("adding non-voter", "id", req.ID, "raft_addr", req.RaftAddr)
		if err := n.raft.AddNonvoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, 10*time.Second).Error(); err != nil {
			return raftError(err)
		}
	}
	if _, err := n.Submit(ctx, TypeNodeMeta, meta); err != nil {
		return err
	}
	if !n.awaitReady(ctx, req.HTTPAddr, joinCatchUpTimeout) {
		// Do not keep a member that may never come: take it out again. A
		// joiner that is only slow retries and resumes from what it has.
		n.dropUnreadyJoiner(req.ID)
		return unavailable("new member " + req.ID + " did not catch up within " + joinCatchUpTimeout.String() + "; removed, retry the join")
	}
	n.log.Info("promoting to voter", "id", req.ID)
	if err := n.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, 10*time.Second).Error(); err != nil {
		return raftError(err)
	}
	return nil
}

// dropUnreadyJoiner removes a non-voter that never became ready. A voter
// is left alone (it was promoted meanwhile by a concurrent join).
func (n *Node) dropUnreadyJoiner(id string) {
	cf := n.raft.GetConfiguration()
	if cf.Error() != nil {
		return
	}
	for _, s := range cf.Configuration().Servers {
		if s.ID == raft.ServerID(id) && s.Suffrage == raft.Nonvoter {
			n.log.Warn("new member did not catch up in time; removing it", "id", id, "timeout", joinCatchUpTimeout)
			if err := n.Remove(context.Background(), id); err != nil {
				n.log.Warn("remove a member that did not catch up", "id", id, "err", err)
			}
		}
	}
}

// awaitReady polls a member's /readyz: it answers 200 once it knows the leader
// and has applied the replicated config, i.e. it has received the log.
func (n *Node) awaitReady(ctx context.Context, httpAddr string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, normalizeURL(httpAddr)+"/readyz", nil)
		if resp, err := n.forwarder.client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
}

// ErrUnknownNode is returned by Remove for an id that is not a member.
var ErrUnknownNode = fmt.Errorf("unknown node")

// Remove takes a member out of the cluster. Leader only.
func (n *Node) Remove(ctx context.Context, id string) error {
	if !n.IsLeader() {
		return unavailable("this node is not the leader")
	}
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return raftError(err)
	}
	found := false
	for _, s := range cf.Configuration().Servers {
		found = found || s.ID == raft.ServerID(id)
	}
	if !found {
		return fmt.Errorf("%w %q", ErrUnknownNode, id)
	}
	if err := n.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
		return raftError(err)
	}
	_, err := n.Submit(ctx, TypeNodeRemove, NodeMeta{ID: id})
	return err
}

// joinLoop asks the given members to add this node until one accepts. A
// member running a release from before the version gate refuses the version
// fields (400, unknown field), so it is then asked without them; this node
// announces its versions to a later leader (announceLoop).
func (n *Node) joinLoop() {
	self := n.self()
	req := JoinRequest{ID: self.ID, RaftAddr: self.RaftAddr, HTTPAddr: self.HTTPAddr, Version: self.Version, Commands: self.Commands}
	legacy := JoinRequest{ID: self.ID, RaftAddr: self.RaftAddr, HTTPAddr: self.HTTPAddr}
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		for _, u := range n.opts.Join {
			err := n.postJoin(u, req)
			if refusedAsUnknown(err) {
				err = n.postJoin(u, legacy)
			}
			if err == nil {
				n.log.Info("joined cluster", "via", u)
				return
			}
			n.log.Warn("join attempt failed", "via", u, "attempt", attempt, "err", err)
		}
		if n.raft.State() == raft.Shutdown {
			return
		}
		time.Sleep(delay) // backoff between join attempts; nothing to await
		delay = min(2*delay, 5*time.Second)
	}
}

func (n *Node) postJoin(base string, jr JoinRequest) error {
	body, err := json.Marshal(jr)
	if err != nil {
		return fmt.Errorf("encode join request: %w", err)
	}
	req, err := n.NodeRequest(context.Background(), http.MethodPost, base, "/v1/cluster/join", body)
	if err != nil {
		return err
	}
	resp, err := n.forwarder.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return &joinError{status: resp.StatusCode, msg: strings.TrimSpace(string(msg))}
	}
	return nil
}

func normalizeURL(s string) string {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return s
	}
	return "http://" + s
}

// MemberStatus is one member as GET /v1/cluster shows it.
type MemberStatus struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	HTTPAddr string `json:"http_addr"`
	Suffrage string `json:"suffrage"`
	// State is the member's own Raft state (leader, follower, candidate), or
	// unreachable (no answer), or unknown (an answer, but not a pagerd
	// member by that id).
	State string `json:"state"`
	// Version is the member's binary version and Commands the newest
	// version of each command type it applies, as it announced them; both
	// empty for a member running a release from before the version gate.
	Version  string           `json:"version,omitempty"`
	Commands map[string]uint8 `json:"commands,omitempty"`
}

// Status is GET /v1/cluster.
type Status struct {
	Leader       string         `json:"leader"`
	Term         uint64         `json:"term"`
	AppliedIndex uint64         `json:"applied_index"`
	Nodes        []MemberStatus `json:"nodes"`
	// CommandVersions is the version of each command type the leader
	// writes now: the newest every member applies (the version gate).
	CommandVersions map[string]uint8 `json:"command_versions"`
}

// Status reports membership as this node sees it. Each member's liveness is
// probed on its /healthz with a short timeout.
func (n *Node) Status(ctx context.Context) (*Status, error) {
	cf := n.raft.GetConfiguration()
	if err := cf.Error(); err != nil {
		return nil, raftError(err)
	}
	term, _ := strconv.ParseUint(n.raft.Stats()["term"], 10, 64)
	st := &Status{Leader: n.Leader(), Term: term, AppliedIndex: n.AppliedIndex(), CommandVersions: n.GateVersions()}
	meta := n.fsm.Nodes()
	var wg sync.WaitGroup
	for _, s := range cf.Configuration().Servers {
		rec := meta[string(s.ID)]
		m := MemberStatus{ID: string(s.ID), RaftAddr: string(s.Address), HTTPAddr: rec.HTTPAddr,
			Suffrage: strings.ToLower(s.Suffrage.String()), Version: rec.Version, Commands: rec.Commands}
		if m.ID == n.opts.NodeID { // this node's own, even before its record is committed
			m.Version, m.Commands = n.opts.Version, AnnouncedVersions()
		}
		st.Nodes = append(st.Nodes, m)
	}
	for i := range st.Nodes {
		m := &st.Nodes[i]
		switch {
		case m.ID == st.Leader:
			m.State = "leader"
		case m.ID == n.opts.NodeID:
			m.State = strings.ToLower(n.raft.State().String())
		default:
			wg.Add(1)
			go func() { defer wg.Done(); m.State = n.probe(ctx, m.ID, m.HTTPAddr) }()
		}
	}
	wg.Wait()
	sort.Slice(st.Nodes, func(i, j int) bool { return st.Nodes[i].ID < st.Nodes[j].ID })
	return st, nil
}

// probe asks a member for its own Raft state on its /readyz (which answers
// with it whether ready or not). Only a pagerd answering with the expected
// node id counts; anything else answering HTTP is "unknown".
func (n *Node) probe(ctx context.Context, id, httpAddr string) string {
	if httpAddr == "" {
		return "unknown"
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, normalizeURL(httpAddr)+"/readyz", nil)
	resp, err := n.forwarder.client.Do(req)
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var rz struct {
		Node      string `json:"node"`
		RaftState string `json:"raft_state"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&rz) != nil || rz.Node != id || !knownRaftState(rz.RaftState) {
		return "unknown"
	}
	return rz.RaftState
}

func knownRaftState(s string) bool {
	switch s {
	case "follower", "candidate", "leader", "shutdown":
		return true
	}
	return false
}

// RaftState is this node's Raft state in lower case: follower, candidate,
// leader or shutdown.
func (n *Node) RaftState() string { return strings.ToLower(n.raft.State().String()) }

// raftCollector exports Raft's state, term and indexes as metrics.
type raftCollector struct{ n *Node }

var (
	descRaftState   = prometheus.NewDesc("pagerd_raft_state", "1 for the Raft state this node is in.", []string{"state"}, nil)
	descRaftTerm    = prometheus.NewDesc("pagerd_raft_term", "Current Raft term.", nil, nil)
	descRaftApplied = prometheus.NewDesc("pagerd_raft_applied_index", "Last log index applied to the state machine.", nil, nil)
	descRaftCommit  = prometheus.NewDesc("pagerd_raft_commit_index", "Last log index known committed.", nil, nil)
	descRaftPeers   = prometheus.NewDesc("pagerd_raft_peers", "Voters in the Raft configuration.", nil, nil)
)

func (c *raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRaftState, descRaftTerm, descRaftApplied, descRaftCommit, descRaftPeers} {
		ch <- d
	}
}

func (c *raftCollector) Collect(ch chan<- prometheus.Metric) {
	stats := c.n.raft.Stats()
	cur := c.n.raft.State()
	for _, s := range []raft.RaftState{raft.Follower, raft.Candidate, raft.Leader, raft.Shutdown} {
		v := 0.0
		if s == cur {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descRaftState, prometheus.GaugeValue, v, strings.ToLower(s.String()))
	}
	num := func(k string) float64 { f, _ := strconv.ParseFloat(stats[k], 64); return f }
	ch <- prometheus.MustNewConstMetric(descRaftTerm, prometheus.GaugeValue, num("term"))
	ch <- prometheus.MustNewConstMetric(descRaftApplied, prometheus.GaugeValue, float64(c.n.AppliedIndex()))
	ch <- prometheus.MustNewConstMetric(descRaftCommit, prometheus.GaugeValue, num("commit_index"))
	ch <- prometheus.MustNewConstMetric(descRaftPeers, prometheus.GaugeValue, num("num_peers")+1)
}

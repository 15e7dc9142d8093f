package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/raft"
)

// The version gate, as Consul's and Nomad's ServersMeetMinimumVersion: the
// leader writes a command version only when every member of the Raft
// configuration (voter or not: each applies the log) applies it, so a
// rolling upgrade never hands an older member an entry it cannot apply.
// Until then the leader writes the older version the command can be
// expressed in (commandSpec.downgrade), or refuses the command with
// Unavailable (HTTP 503) naming the members still to upgrade. Members
// announce the versions they apply in their metadata (NodeMeta.Commands).

// legacyCommands is what a member that announced no command versions
// applies: the previous release (commit 8114ae1 of this repository, the
// replicated core before the registry) applied version 1 of these types
// and no other; severity changes, restores, schedule overrides, event
// stream progress and console login links came later.
var legacyCommands = map[CommandType]uint8{
	TypeAlertGroup: 1, TypeEvent: 1, TypeAction: 1, TypeStepStart: 1, TypeDelivery: 1, TypeSMSOptOut: 1,
	TypeConfig: 1, TypeNodeMeta: 1, TypeNodeRemove: 1, TypeKeyring: 1,
}

// gateRetryAfter is the Retry-After of a command the gate refuses: an
// upgrade takes minutes, not seconds.
const gateRetryAfter = 30 * time.Second

// memberCommandVersion is the newest version of t that member m applies.
func memberCommandVersion(m NodeMeta, known bool, t CommandType) uint8 {
	if !known || m.Commands == nil {
		return legacyCommands[t]
	}
	return m.Commands[t.String()]
}

// writableVersion is the newest version of t that every member applies,
// and the members that do not apply this binary's newest version of t.
// Every submit asks, so the answer is cached until the Raft configuration
// or a member's record changes (gateCache).
func (n *Node) writableVersion(t CommandType) (uint8, []string) {
	gen, now := n.fsm.nodesGen.Load(), time.Now()
	if v, lagging, ok := n.gate.fresh(gen, now, t); ok {
		return v, lagging
	}
	// Read the generation before the configuration: a change observed
	// in between leaves the cache stale-marked, never wrongly fresh.
	cfg := n.gate.cfgGen.Load()
	servers := n.raft.GetConfiguration().Configuration().Servers
	if v, lagging, ok := n.gate.get(servers, gen, cfg, now, t); ok {
		return v, lagging
	}
	var others []string
	for _, s := range servers {
		if id := string(s.ID); id != n.opts.NodeID {
			others = append(others, id)
		}
	}
	v, lagging := gateVersion(t, others, n.fsm.Node)
	n.gate.put(servers, gen, cfg, now, t, v, lagging)
	return v, lagging
}

// gateVersion is writableVersion for the members others (this node aside:
// it applies what it writes) whose records record returns.
func gateVersion(t CommandType, others []string, record func(id string) (NodeMeta, bool)) (uint8, []string) {
	newest := lookup(t).version
	v := newest
	var lagging []string
	for _, id := range others {
		m, known := record(id)
		have := memberCommandVersion(m, known, t)
		if have < newest {
			lagging = append(lagging, id)
		}
		v = min(v, have)
	}
	sort.Strings(lagging)
	return v, lagging
}

// encodeCommand encodes body as the newest version of t every member
// applies: the leader's side of the version gate.
func (n *Node) encodeCommand(t CommandType, body any) (command, error) {
	if lookup(t) == nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, errUnknownCommand)
	}
	v, lagging := n.writableVersion(t)
	return gatedEncode(t, v, lagging, body, encodePooled)
}

// gatedCommand encodes body as version v of t: as it is when v is this
// binary's newest, else downgraded, else refused with Unavailable naming
// the members still to upgrade.
func gatedCommand(t CommandType, v uint8, lagging []string, body any) (command, error) {
	return gatedEncode(t, v, lagging, body, encodeCommand)
}

// gatedEncode is gatedCommand with the body written by encode (the
// leader's batcher takes pooled bodies: encodePooled).
func gatedEncode(t CommandType, v uint8, lagging []string, body any,
	encode func(CommandType, uint8, any) (command, error)) (command, error) {
	s := lookup(t)
	if v < s.version {
		ok := false
		if v > 0 && s.downgrade != nil {
			body, ok = s.downgrade(body, v)
		}
		if !ok {
			return command{}, &Unavailable{After: gateRetryAfter, Reason: fmt.Sprintf(
				"%s version %d needs every cluster member to run a release that applies it; still to upgrade: %s",
				t, s.version, strings.Join(lagging, ", "))}
		}
	}
	return encode(t, v, body)
}

// GateVersions is the version of each command type the leader writes now,
// by type name (GET /v1/cluster shows it as command_versions).
func (n *Node) GateVersions() map[string]uint8 {
	out := map[string]uint8{}
	for _, t := range commandTypes() {
		v, _ := n.writableVersion(t)
		out[t.String()] = v
	}
	return out
}

// self is this node's membership record.
func (n *Node) self() NodeMeta {
	return NodeMeta{ID: n.opts.NodeID, RaftAddr: string(n.transport.LocalAddr()), HTTPAddr: n.opts.HTTPAddr,
		Version: n.opts.Version, Commands: AnnouncedVersions()}
}

// AnnouncedVersions is what this binary announces in its member record:
// the newest version of each command type (CommandVersions) and of each
// node-to-node protocol the others check before they use it (so far the
// ingest forwarding channel, ingestfwd.go). Protocol names are never
// command type names (TestProtocolNamesAreNotCommandTypes); the version
// gate looks up command types only, so a protocol name is ignored there,
// also by older binaries.
func AnnouncedVersions() map[string]uint8 {
	out := CommandVersions()
	out[ingestForwardProtocol] = ingestForwardVersion
	return out
}

// announceLoop tells each new leader this member's record, versions
// included, through the join endpoint (a join of a present voter only
// records its metadata). A restarted member with an upgraded binary is
// thereby known to apply the new versions, and a leader whose view of the
// versions was lost (an older binary dropped the fields it did not know)
// learns them again.
func (n *Node) announceLoop(ctx context.Context) {
	defer n.done.Done()
	told := ""
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		leader := n.Leader()
		if leader == "" || leader == n.opts.NodeID || (leader == told && n.recordCurrent()) {
			continue
		}
		raftAddr, member := n.configuredAddr()
		m, ok := n.fsm.Node(leader)
		if !member || !ok || m.HTTPAddr == "" {
			continue
		}
		// The Raft address as the configuration has it, not this node's
		// own: a join with another address would move the member there
		// (an operator or a test may have pointed it at a proxy).
		self := n.self()
		req := JoinRequest{ID: self.ID, RaftAddr: raftAddr, HTTPAddr: self.HTTPAddr, Version: self.Version, Commands: self.Commands}
		if err := n.postJoin(m.HTTPAddr, req); err != nil {
			n.log.Debug("announce versions to the leader", "leader", leader, "err", err)
			continue
		}
		told = leader
	}
}

// recordCurrent reports whether the committed record of this node carries
// its current versions (a join without them may have replaced it).
func (n *Node) recordCurrent() bool {
	rec, ok := n.fsm.Node(n.opts.NodeID)
	self := n.self()
	return ok && rec.Version == self.Version && NodeMeta{ID: rec.ID, Commands: rec.Commands}.Equal(NodeMeta{ID: self.ID, Commands: self.Commands})
}

// configuredAddr is this node's Raft address in the Raft configuration;
// false while it is not a member (a node still joining announces itself
// through its join).
func (n *Node) configuredAddr() (string, bool) {
	for _, s := range n.raft.GetConfiguration().Configuration().Servers {
		if s.ID == raft.ServerID(n.opts.NodeID) {
			return string(s.Address), true
		}
	}
	return "", false
}

// joinError is a join request the member answered with an HTTP error.
type joinError struct {
	status int
	msg    string
}

func (e *joinError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.msg)
}

// refusedAsUnknown reports whether err is a 400 answer: a member running a
// release from before the version fields refuses them as unknown fields.
func refusedAsUnknown(err error) bool {
	var je *joinError
	return errors.As(err, &je) && je.status == http.StatusBadRequest
}

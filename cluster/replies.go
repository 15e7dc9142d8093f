package cluster

import "net/http"

// What the reply backend (package reply/nodebackend) needs from a node to
// forward a reply to the leader's HTTP API like any other write. The backend
// itself lives there: the cluster replicates and forwards, it does not know
// the incident API's routes and bodies.

// DuplicateHeader marks an action answer as a retried reply that had
// already acted (its DedupID was known).
const DuplicateHeader = "X-Pagerd-Duplicate"

// LeaderAPI is where and how to reach the current leader's HTTP API: its
// base URL ("" while there is no leader) and the headers a forwarded request
// carries (this node's API token, and the forwarded mark that stops a
// request from being forwarded again if leadership moved meanwhile).
func (n *Node) LeaderAPI() (baseURL string, headers http.Header) {
	leader := n.Leader()
	addr := n.fsm.Nodes()[leader].HTTPAddr
	if leader == "" || addr == "" {
		return "", nil
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+n.opts.JoinToken)
	h.Set(forwardedHeader, n.opts.NodeID)
	return normalizeURL(addr), h
}

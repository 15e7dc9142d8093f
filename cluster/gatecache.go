package cluster

import (
	"slices"
	"sync"

	"github.com/hashicorp/raft"
)

// gateCache remembers the version gate's answers for one Raft configuration
// and one generation of member records (FSM.nodesGen): the gate runs on
// every submit, and without the cache each one walks the members and takes
// the FSM's read lock once per member, contending with apply under load.
type gateCache struct {
	mu      sync.Mutex
	servers []raft.Server
	gen     uint64
	answers map[CommandType]gateAnswer
}

type gateAnswer struct {
	version uint8
	lagging []string
}

// get returns the cached answer for t when servers and gen are what it was
// computed for.
func (c *gateCache) get(servers []raft.Server, gen uint64, t CommandType) (uint8, []string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || c.gen != gen || !slices.Equal(c.servers, servers) {
		return 0, nil, false
	}
	a, ok := c.answers[t]
	return a.version, a.lagging, ok
}

// put records the answer for t, dropping answers for another configuration
// or generation.
func (c *gateCache) put(servers []raft.Server, gen uint64, t CommandType, v uint8, lagging []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || c.gen != gen || !slices.Equal(c.servers, servers) {
		c.servers, c.gen, c.answers = slices.Clone(servers), gen, map[CommandType]gateAnswer{}
	}
	c.answers[t] = gateAnswer{version: v, lagging: lagging}
}

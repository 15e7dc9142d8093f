package cluster

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// gateCache remembers the version gate's answers for one Raft configuration
// and one generation of member records (FSM.nodesGen). The gate runs on
// every submit; without the cache each one copied the Raft configuration
// (GetConfiguration) and walked the members under the FSM's read lock,
// contending with apply in a storm.
//
// The configuration is not even read while nothing suggests it changed:
// Raft reports every peer added or removed on the leader and every
// leadership change to an observer (observeConfig), which bumps cfgGen.
// As a safety net against a change no observation reported, the
// configuration is read again at least every gateRecheck.
type gateCache struct {
	cfgGen atomic.Uint64

	mu      sync.Mutex
	servers []raft.Server
	gen     uint64
	seenCfg uint64    // cfgGen when servers was last read
	checked time.Time // when servers was last read
	answers map[CommandType]gateAnswer
}

// gateRecheck bounds how long the cache trusts that no observation means
// no configuration change.
const gateRecheck = time.Second

type gateAnswer struct {
	version uint8
	lagging []string
}

// observeConfig registers the Raft observer that invalidates the cache.
// The filter runs inline where Raft makes the observation and sends
// nothing on the channel, so no observation can be dropped.
func (c *gateCache) observeConfig(r *raft.Raft) {
	r.RegisterObserver(raft.NewObserver(make(chan raft.Observation, 1), false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.PeerObservation, raft.LeaderObservation:
			c.cfgGen.Add(1)
		}
		return false
	}))
}

// fresh returns the answer for t without reading the configuration when no
// observation and no member record changed since it was last read.
func (c *gateCache) fresh(gen uint64, now time.Time, t CommandType) (uint8, []string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || c.gen != gen || c.seenCfg != c.cfgGen.Load() || now.Sub(c.checked) >= gateRecheck {
		return 0, nil, false
	}
	a, ok := c.answers[t]
	return a.version, a.lagging, ok
}

// get returns the cached answer for t when servers (just read, at cfgGen
// cfg) and gen are what it was computed for.
func (c *gateCache) get(servers []raft.Server, gen, cfg uint64, now time.Time, t CommandType) (uint8, []string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || c.gen != gen || !slices.Equal(c.servers, servers) {
		return 0, nil, false
	}
	c.seenCfg, c.checked = cfg, now
	a, ok := c.answers[t]
	return a.version, a.lagging, ok
}

// put records the answer for t, dropping answers for another configuration
// or generation.
func (c *gateCache) put(servers []raft.Server, gen, cfg uint64, now time.Time, t CommandType, v uint8, lagging []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || c.gen != gen || !slices.Equal(c.servers, servers) {
		c.servers, c.gen, c.answers = slices.Clone(servers), gen, map[CommandType]gateAnswer{}
	}
	c.seenCfg, c.checked = cfg, now
	c.answers[t] = gateAnswer{version: v, lagging: lagging}
}

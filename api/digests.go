package api

import (
	"crypto/rand"
	"sync"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
)

// digestCache computes the secret digests of GET /v1/config once per active
// config: each digest costs config.DigestIterations rounds on purpose. The
// salt is random per node and config, so two answers never give an attacker
// a shared table.
type digestCache struct {
	mu      sync.Mutex
	cfg     *cluster.ActiveConfig
	digests map[string]string
}

func (c *digestCache) get(ac *cluster.ActiveConfig) map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == ac && c.digests != nil {
		return c.digests
	}
	salt := make([]byte, 16)
	rand.Read(salt)
	out := map[string]string{}
	for name, v := range config.Secrets(ac.Config) {
		out[name] = config.DigestSecret(salt, v)
	}
	c.cfg, c.digests = ac, out
	return out
}

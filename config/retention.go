package config

import "time"

// Retention bounds how long the replicated state keeps finished incidents.
type Retention struct {
	// Resolved is how long a resolved incident is kept after it was
	// resolved; the leader then removes it (cluster retention sweep).
	// Zero or absent means DefaultRetentionResolved.
	Resolved Duration `yaml:"resolved"`
}

// DefaultRetentionResolved keeps resolved incidents for 180 days: two
// quarters of reports, and a bounded state for a pager that runs for years.
const DefaultRetentionResolved = Duration(180 * 24 * time.Hour)

// minRetentionResolved refuses a retention so short that an incident could
// vanish before anyone exported it or read its timeline.
const minRetentionResolved = Duration(time.Hour)

// ResolvedRetention is retention.resolved with the default applied.
func (c *Config) ResolvedRetention() time.Duration {
	if c == nil || c.Retention.Resolved <= 0 {
		return DefaultRetentionResolved.D()
	}
	return c.Retention.Resolved.D()
}

func (v *validator) checkRetention() {
	if r := v.cfg.Retention.Resolved; r != 0 && r < minRetentionResolved {
		v.add("retention.resolved", "must be at least %s (absent means the default, 180d)", minRetentionResolved.D())
	}
}

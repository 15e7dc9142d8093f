package schedule

import (
	"maps"
	"slices"
	"time"
)

// Override is a runtime override (spec §5.3 POST /v1/schedules/{id}/overrides):
// replicated state rather than config, with its bounds already resolved to
// instants by the leader that accepted it.
type Override struct {
	From, To       time.Time
	User, Replaces string
}

// WithOverrides returns a set in which the schedules named in extra also
// apply those overrides, after the config's own and in the order given
// (spec: "applied on top of the config's overrides"). s is not changed; the
// result shares everything else with it, so the cost is one copy of each
// touched schedule. Ids that are not schedules (a schedule removed from the
// config since) are ignored, as are overrides whose to is not after from.
func (s *Set) WithOverrides(extra map[string][]Override) *Set {
	if s == nil || len(extra) == 0 {
		return s
	}
	out := &Set{schedules: maps.Clone(s.schedules), rotations: s.rotations, ids: s.ids, broken: s.broken}
	for id, list := range extra {
		c, ok := s.schedules[id]
		if !ok || len(list) == 0 {
			continue
		}
		cp := *c
		cp.overrides = slices.Clip(slices.Clone(c.overrides))
		for _, o := range list {
			from, to := ceilSecond(o.From), ceilSecond(o.To)
			if to <= from || o.User == "" {
				continue
			}
			cp.overrides = append(cp.overrides, override{from: from, to: to, user: o.User, replaces: o.Replaces})
		}
		out.schedules[id] = &cp
	}
	return out
}

// ceilSecond is t in Unix seconds, rounded up: compiled bounds are whole
// seconds, and a bound inside a second takes effect from the next one.
func ceilSecond(t time.Time) int64 {
	sec := t.Unix()
	if t.Nanosecond() != 0 {
		sec++
	}
	return sec
}

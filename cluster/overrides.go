package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// Runtime schedule overrides (spec §5.3): "someone is ill tonight" without
// editing YAML. They are replicated state beside the config: the leader
// resolves their times to instants and commits an override command; apply
// assigns the id from a replicated sequence and stamps the batch time, so
// every replica holds the same list. The compiled schedules every reader
// uses (API, escalation, calendar) are the config's with these on top.

// RuntimeOverride is one override made through the API or CLI.
type RuntimeOverride struct {
	ID        string    `json:"id"` // "O7", assigned in apply
	Schedule  string    `json:"schedule"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	User      string    `json:"user"`
	Replaces  string    `json:"replaces,omitempty"`
	By        string    `json:"by,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// OverrideCommand adds or deletes a runtime override.
type OverrideCommand struct {
	Op string `json:"op"` // add | delete
	// Override is the override to add (ID and CreatedAt are set in apply),
	// or, for delete, names it by Schedule and ID.
	Override RuntimeOverride `json:"override"`
}

// Override command operations.
const (
	OverrideAdd    = "add"
	OverrideDelete = "delete"
)

// Bounds of the runtime override list. Overrides that ended more than
// overrideKeep ago are dropped on the next override command (the calendar
// feed shows 30 days back, so they stay while it can show them); at most
// maxOverridesPerSchedule are live per schedule.
const (
	overrideKeep            = 35 * 24 * time.Hour
	maxOverridesPerSchedule = 200
)

// overrideState is the replicated list, in id order.
type overrideState struct {
	Seq  uint64            `json:"seq"`
	List []RuntimeOverride `json:"list"`
}

// overrideError is a refusal of an override request; it unwraps to
// incident.ErrInvalid (400) or incident.ErrNotFound (404) so the API maps
// it like any other refused command, with only its own message.
type overrideError struct {
	msg  string
	kind error
}

func (e *overrideError) Error() string { return e.msg }
func (e *overrideError) Unwrap() error { return e.kind }

func invalidOverride(format string, a ...any) error {
	return &overrideError{msg: fmt.Sprintf(format, a...), kind: incident.ErrInvalid}
}

func unknownOverride(format string, a ...any) error {
	return &overrideError{msg: fmt.Sprintf(format, a...), kind: incident.ErrNotFound}
}

// ValidateOverride checks an override to add against cfg the way the config
// checks its own overrides: a known schedule (not found otherwise), a known
// user and replaces, from before to. The leader runs it before committing
// and apply runs it again against the replicated config, so a config
// change in between refuses the command on every replica alike.
func ValidateOverride(cfg *config.Config, o *RuntimeOverride) error {
	if cfg == nil {
		return unknownOverride("no config committed yet")
	}
	if !slices.ContainsFunc(cfg.Schedules, func(s config.Schedule) bool { return s.ID == o.Schedule }) {
		return unknownOverride("no schedule %q (runtime overrides apply to schedules, not rotations)", o.Schedule)
	}
	known := func(id string) bool {
		return slices.ContainsFunc(cfg.Users, func(u config.User) bool { return u.ID == id })
	}
	switch {
	case o.User == "":
		return invalidOverride("user: required")
	case !known(o.User):
		return invalidOverride("user: unknown user %q", o.User)
	case o.Replaces != "" && !known(o.Replaces):
		return invalidOverride("replaces: unknown user %q", o.Replaces)
	case o.From.IsZero():
		return invalidOverride("from: required")
	case o.To.IsZero():
		return invalidOverride("to: required")
	case !o.To.After(o.From):
		return invalidOverride("to: must be after from")
	case o.From.Year() < 1 || o.To.Year() > 9999:
		return invalidOverride("from, to: must lie in years 1..9999")
	}
	return nil
}

// applyOverride runs under the FSM lock.
func (f *FSM) applyOverride(now time.Time, body []byte) Result {
	var c OverrideCommand
	if err := json.Unmarshal(body, &c); err != nil {
		return Result{Err: fmt.Errorf("decode override command: %w", err)}
	}
	f.pruneOverrides(now)
	switch c.Op {
	case OverrideAdd:
		return f.addOverride(now, c.Override)
	case OverrideDelete:
		return f.deleteOverride(c.Override.Schedule, c.Override.ID)
	}
	return Result{Err: invalidOverride("op: want add or delete, got %q", c.Op)}
}

func (f *FSM) addOverride(now time.Time, o RuntimeOverride) Result {
	var cfg *config.Config
	if ac := f.config.Load(); ac != nil {
		cfg = ac.Config
	}
	if err := ValidateOverride(cfg, &o); err != nil {
		return Result{Err: err}
	}
	live := 0
	for _, x := range f.overrides.List {
		if x.Schedule == o.Schedule {
			live++
		}
	}
	if live >= maxOverridesPerSchedule {
		return Result{Err: invalidOverride("schedule %q already has %d runtime overrides; delete some first", o.Schedule, live)}
	}
	f.overrides.Seq++
	o.ID, o.CreatedAt = "O"+strconv.FormatUint(f.overrides.Seq, 10), now
	f.overrides.List = append(f.overrides.List, o)
	f.overrideGen.Add(1)
	return Result{Value: o}
}

func (f *FSM) deleteOverride(sched, id string) Result {
	k := slices.IndexFunc(f.overrides.List, func(o RuntimeOverride) bool { return o.ID == id && o.Schedule == sched })
	if k < 0 {
		return Result{Err: unknownOverride("schedule %q has no runtime override %q", sched, id)}
	}
	o := f.overrides.List[k]
	f.overrides.List = slices.Delete(f.overrides.List, k, k+1)
	f.overrideGen.Add(1)
	return Result{Value: o}
}

// pruneOverrides drops overrides that ended more than overrideKeep before
// the stamped time, so the list does not grow forever.
func (f *FSM) pruneOverrides(now time.Time) {
	cut := now.Add(-overrideKeep)
	n := len(f.overrides.List)
	f.overrides.List = slices.DeleteFunc(f.overrides.List, func(o RuntimeOverride) bool { return o.To.Before(cut) })
	if len(f.overrides.List) != n {
		f.overrideGen.Add(1)
	}
}

// setOverrides replaces the list (snapshot restore); under the FSM lock.
func (f *FSM) setOverrides(s *overrideState) {
	f.overrides = overrideState{}
	if s != nil {
		f.overrides = *s
	}
	f.overrideGen.Add(1)
}

// snapshotOverrides copies the list for a snapshot; under the FSM lock.
func (f *FSM) snapshotOverrides() *overrideState {
	if f.overrides.Seq == 0 {
		return nil
	}
	return &overrideState{Seq: f.overrides.Seq, List: slices.Clone(f.overrides.List)}
}

// Overrides lists the runtime overrides of schedule (all when ""), in the
// order they were made.
func (f *FSM) Overrides(sched string) []RuntimeOverride {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := []RuntimeOverride{}
	for _, o := range f.overrides.List {
		if sched == "" || o.Schedule == sched {
			out = append(out, o)
		}
	}
	return out
}

// schedCache holds the compiled schedules: the config's, compiled once per
// config, and those with the runtime overrides on top, once per change.
type schedCache struct {
	mu      sync.Mutex
	ac      *ActiveConfig
	base    *schedule.Set
	baseErr error
	gen     uint64
	set     *schedule.Set
}

// errNoConfig: nothing to compile yet.
var errNoConfig = errors.New("no config committed yet")

// Schedules returns the active config's schedules with the runtime overrides
// applied, and a version that changes whenever either does. Every reader
// (API on-call, shifts, calendar; the leader's step planning) uses this.
func (f *FSM) Schedules() (*schedule.Set, string, error) {
	ac := f.config.Load()
	if ac == nil {
		return nil, "", errNoConfig
	}
	c := &f.sched
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := f.overrideGen.Load()
	if c.ac != ac {
		c.ac, c.set = ac, nil
		c.base, c.baseErr = schedule.Compile(ac.Config)
		// Only a replicated config an earlier release admitted can hold
		// one (config.ParseReplicated); it answers 409 alone.
		for id, err := range c.base.Broken() {
			slog.Warn("schedule or rotation of the active config does not compile; it answers an error, the others work",
				"id", id, "config_version", ac.Version, "err", err)
		}
	}
	version := ac.Version + "+o" + strconv.FormatUint(gen, 10)
	if c.baseErr != nil {
		return nil, version, c.baseErr
	}
	if c.set == nil || c.gen != gen {
		c.set, c.gen = c.base.WithOverrides(f.runtimeOverrides()), gen
	}
	return c.set, version, nil
}

func (f *FSM) runtimeOverrides() map[string][]schedule.Override {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := map[string][]schedule.Override{}
	for _, o := range f.overrides.List {
		out[o.Schedule] = append(out[o.Schedule], schedule.Override{From: o.From, To: o.To, User: o.User, Replaces: o.Replaces})
	}
	return out
}

// AddOverride validates o against the active config and commits it; the
// answer is the override as applied (with its id).
func (n *Node) AddOverride(ctx context.Context, o RuntimeOverride) (RuntimeOverride, error) {
	if ac := n.fsm.Config(); ac != nil {
		if err := ValidateOverride(ac.Config, &o); err != nil {
			return RuntimeOverride{}, err
		}
	}
	o.ID, o.CreatedAt = "", time.Time{}
	v, err := n.Submit(ctx, TypeOverride, OverrideCommand{Op: OverrideAdd, Override: o})
	if err != nil {
		return RuntimeOverride{}, err
	}
	got, _ := v.(RuntimeOverride)
	return got, nil
}

// DeleteOverride removes runtime override id of schedule sched.
func (n *Node) DeleteOverride(ctx context.Context, sched, id string) (RuntimeOverride, error) {
	v, err := n.Submit(ctx, TypeOverride, OverrideCommand{Op: OverrideDelete, Override: RuntimeOverride{Schedule: sched, ID: id}})
	if err != nil {
		return RuntimeOverride{}, err
	}
	got, _ := v.(RuntimeOverride)
	return got, nil
}

// Schedules is the FSM's compiled schedules with runtime overrides; the
// escalation engine plans steps with it.
func (n *Node) Schedules() (*schedule.Set, string, error) { return n.fsm.Schedules() }

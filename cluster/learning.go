package cluster

import (
	"context"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
)

// Learning from incidents (spec §5, issue 15): postmortems, follow-ups and
// the record of reminders sent, replicated beside the incidents. The
// commands are applied by package learning; this file wires them into the
// FSM and gives the node its submit and read methods.

var learningNames = map[CommandType]string{
	TypePostmortem:      "postmortem",
	TypeFollowupAdd:     "followup_add",
	TypeFollowupPatch:   "followup_patch",
	TypeReminderQueue:   "reminder_queue",
	TypeReminderOutcome: "reminder_outcome",
}

func init() {
	registry[TypePostmortem] = spec("postmortem", 1, func(f *FSM, now time.Time, c *learning.PostmortemCommand) Result {
		p, err := f.learning.ApplyPostmortem(now, f.activeConfig(), f.incidents, c)
		return Result{Value: p, Err: err}
	})
	registry[TypeFollowupAdd] = spec("followup_add", 1, func(f *FSM, now time.Time, c *learning.FollowupAdd) Result {
		fu, err := f.learning.ApplyFollowupAdd(now, f.activeConfig(), f.incidents, c)
		return Result{Value: fu, Err: err}
	})
	registry[TypeFollowupPatch] = spec("followup_patch", 1, func(f *FSM, now time.Time, c *learning.FollowupPatch) Result {
		fu, err := f.learning.ApplyFollowupPatch(now, f.activeConfig(), f.incidents, c)
		return Result{Value: fu, Err: err}
	})
	registry[TypeReminderQueue] = spec("reminder_queue", 1, func(f *FSM, now time.Time, c *learning.ReminderQueue) Result {
		recs, err := f.learning.ApplyReminderQueue(now, c)
		return Result{Value: recs, Err: err}
	})
	registry[TypeReminderOutcome] = spec("reminder_outcome", 1, func(f *FSM, now time.Time, c *learning.ReminderOutcome) Result {
		n, err := f.learning.ApplyReminderOutcome(now, c)
		return Result{Value: n, Err: err}
	})
}

func (f *FSM) activeConfig() *config.Config {
	if ac := f.config.Load(); ac != nil {
		return ac.Config
	}
	return nil
}

// afterCommand runs under the FSM lock after each command: a resolve in
// this batch of an incident whose severity requires a postmortem creates
// its draft (learning.State.OnResolved), in the same apply, so every
// replica has it at the same log index.
func (f *FSM) afterCommand(now time.Time, r Result) {
	var id uint64
	switch v := r.Value.(type) {
	case incident.IngestResult:
		id = v.Incident
	case *incident.Incident:
		if v != nil {
			id = v.ID
		}
	}
	if id == 0 || r.Err != nil {
		return
	}
	if at, ok := f.incidents.ResolvedAt(id); !ok || !at.Equal(now) {
		return
	}
	if inc, ok := f.incidents.Get(id); ok {
		f.learning.OnResolved(now, f.activeConfig(), f.incidents, inc)
	}
}

// ReadLearning runs fn with the learning state under the read lock; fn
// must not keep references into it.
func (f *FSM) ReadLearning(fn func(*learning.State)) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	fn(f.learning)
}

// PutPostmortem commits a postmortem edit (or a creation by hand).
func (n *Node) PutPostmortem(ctx context.Context, c *learning.PostmortemCommand) (learning.Postmortem, error) {
	v, err := n.Submit(ctx, TypePostmortem, c)
	p, _ := v.(learning.Postmortem)
	return p, err
}

// AddFollowup commits a new follow-up; the answer carries its id.
func (n *Node) AddFollowup(ctx context.Context, c *learning.FollowupAdd) (learning.Followup, error) {
	v, err := n.Submit(ctx, TypeFollowupAdd, c)
	fu, _ := v.(learning.Followup)
	return fu, err
}

// PatchFollowup commits a follow-up change.
func (n *Node) PatchFollowup(ctx context.Context, c *learning.FollowupPatch) (learning.Followup, error) {
	v, err := n.Submit(ctx, TypeFollowupPatch, c)
	fu, _ := v.(learning.Followup)
	return fu, err
}

// QueueReminders records reminders before they are sent.
func (n *Node) QueueReminders(ctx context.Context, q *learning.ReminderQueue) error {
	_, err := n.Submit(ctx, TypeReminderQueue, q)
	return err
}

// ReminderOutcome records how a reminder mail went.
func (n *Node) ReminderOutcome(ctx context.Context, o *learning.ReminderOutcome) error {
	_, err := n.Submit(ctx, TypeReminderOutcome, o)
	return err
}

// Now is the leader's clock, never before the last applied time.
func (n *Node) Now() time.Time {
	now := n.opts.Clock()
	if last := n.fsm.LastNow(); last.After(now) {
		now = last
	}
	return now
}

package escalation

import (
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// work is what reconcile does for one incident at now, decided without
// side effects. reconcile acts on it; collect decides it first on the live
// incident (under the state's read lock) and copies only an incident that
// has work: the rest only arm their timer at wake, which is all reconcile
// would have done with them. Both read the same decision, so a skipped
// incident is exactly one reconcile would have left alone
// (TestSkippedIncidentsAreThoseReconcileLeavesAlone). In a storm about half
// the changes the engine sees are of this kind: an incident's hold record
// or its summary's outcome applied (issue 18).
type work struct {
	// step is the reason of a step to start ("" none, or one is in flight).
	step string
	// remind: a status update reminder to commit for remindDue, the
	// remindSent-th (none is in flight).
	remind     bool
	remindDue  time.Time
	remindSent int
	// role is a role page or instructions to commit (none in flight).
	role *incident.RoleNotify
	// send: a queued notification is due and not in flight (deliver would
	// send, hold or fail it).
	send bool
	// wake is when the incident next needs a look (zero: on a change).
	wake time.Time
}

// idle: nothing to do but arm the timer.
func (w *work) idle() bool {
	return w.step == "" && !w.remind && w.role == nil && !w.send
}

// pending decides reconcile's work for inc at now.
func (t *term) pending(inc *incident.Incident, cfg *config.Config, set *schedule.Set, now time.Time) work {
	var w work
	reason, wake := due(inc, cfg, now)
	remindAt, remindDue, sent, remindable := t.nextReminder(inc, cfg)
	t.mu.Lock()
	stepBusy := t.busy[inc.ID] || t.stepFails[inc.ID] >= maxStepCommitAttempts
	roleBusy := t.roleBusy[inc.ID]
	remindBusy := t.reminding[inc.ID]
	for i := range inc.Notifications {
		n := &inc.Notifications[i]
		if n.Status != incident.NotifyQueued {
			continue
		}
		if n.DueAt.After(now) {
			wake = earliest(wake, n.DueAt)
			continue
		}
		if !t.inflight[n.ID] {
			w.send = true
		}
	}
	t.mu.Unlock()
	if reason != "" && !stepBusy {
		w.step = reason
	}
	if remindable {
		if remindAt.After(now) {
			wake = earliest(wake, remindAt)
		} else if !remindBusy {
			w.remind, w.remindDue, w.remindSent = true, remindDue, sent
		}
	}
	if !roleBusy {
		w.role = roleWork(inc, cfg, set, now)
	}
	w.wake = wake
	return w
}

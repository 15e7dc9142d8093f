package escalation

import (
	"context"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

// reminderMem is the harness store with reminder commits, as
// *cluster.Node has them.
type reminderMem struct{ *memStore }

func (s reminderMem) SubmitUpdateReminder(_ context.Context, r *incident.UpdateReminder) (*incident.Incident, error) {
	s.mu.Lock()
	inc, err := s.st.ApplyUpdateReminder(s.clock.Now(), r)
	s.mu.Unlock()
	if err == nil {
		s.changed(r.Incident)
	}
	return inc, err
}

func newReminderHarness(t *testing.T) *harness {
	h := newHarness(t, "")
	h.eng.opts.Store = reminderMem{h.store}
	h.newTerm()
	return h
}

// smsUpdate posts what an SMS "1u TEXT" from bob asks for, with the next
// deadline the leader stamps (cluster.Node.SubmitUpdate: now + update_every).
func (h *harness) smsUpdate(id uint64, body string) {
	h.t.Helper()
	cmd, err := reply.ParseSMS(body)
	if err != nil || cmd.Action != reply.ActionUpdate {
		h.t.Fatalf("ParseSMS(%q) = %+v, %v", body, cmd, err)
	}
	now := h.clock.Now()
	next := now.Add(h.store.cfg.SeverityPolicyOf("sev1").UpdateEvery.D())
	h.store.mu.Lock()
	_, err = h.store.st.ApplyUpdatePost(now, &incident.UpdatePost{Incident: id, Audience: cmd.Audience, Phase: incident.PhaseIdentified,
		Message: cmd.Text, By: "bob", Channel: "sms", NextUpdateAt: &next})
	h.store.mu.Unlock()
	if err != nil {
		h.t.Fatal(err)
	}
	h.store.changed(id)
}

// TestUpdateCadencePagesAtDeadline is the cadence acceptance on a fake
// clock: a sev1 (update_every 30m by default) with no update reminds at
// 30 m, not before; a new leader does not repeat it; an SMS update answers
// it and sets the next deadline 30 m later.
func TestUpdateCadencePagesAtDeadline(t *testing.T) {
	h := newReminderHarness(t)
	id := h.triggerSev("db-down", "sev1")
	h.runUntil(time.Minute)
	h.expectSent("0s email bob step0 loop0 INC-1")
	h.act(id, incident.Ack)
	h.runUntil(30*time.Minute - time.Second)
	h.expectSent()
	h.runUntil(30 * time.Minute)
	h.expectSent("30m0s email bob step-1 loop0 INC-1")
	h.timelineHas(id, incident.EntryUpdateOverdue, "reminding the current escalation targets: bob")
	if ov := h.incident(id).UpdateOverdue; ov == nil || ov.Reminders != 1 || !ov.Due.Equal(t0.Add(30*time.Minute)) {
		t.Fatalf("overdue state %+v", ov)
	}
	// A new leader rebuilds its timers from the replicated deadline and
	// count: nothing is repeated.
	h.newTerm()
	h.runUntil(31 * time.Minute)
	h.expectSent()
	h.clock.set(t0.Add(35 * time.Minute))
	h.smsUpdate(id, "1u Rolled back the bad deploy")
	inc := h.incident(id)
	if inc.NextUpdateAt == nil || !inc.NextUpdateAt.Equal(t0.Add(65*time.Minute)) || inc.UpdateOverdue != nil || inc.Updates[0].Message != "Rolled back the bad deploy" {
		t.Fatalf("after the SMS update: next %v overdue %+v updates %+v", inc.NextUpdateAt, inc.UpdateOverdue, inc.Updates)
	}
	h.runUntil(65*time.Minute - time.Second)
	h.expectSent() // no repeat at 45m: the update answered the reminder
	h.runUntil(65 * time.Minute)
	h.expectSent("1h5m0s email bob step-1 loop0 INC-1")
}

// An unacknowledged reminder repeats every 15 minutes; acknowledging it
// silences it until the deadline after.
func TestUpdateReminderRepeatsUntilAcked(t *testing.T) {
	h := newReminderHarness(t)
	id := h.triggerSev("db-down", "sev1")
	h.runUntil(time.Minute)
	h.act(id, incident.Ack)
	h.rec.take()
	h.runUntil(45 * time.Minute)
	h.expectSent("30m0s email bob step-1 loop0 INC-1", "45m0s email bob step-1 loop0 INC-1")
	h.act(id, incident.Ack) // the incident is acknowledged: this acks the reminder
	if ov := h.incident(id).UpdateOverdue; ov == nil || ov.AckedAt == nil {
		t.Fatalf("reminder not silenced: %+v", ov)
	}
	h.runUntil(60*time.Minute - time.Second)
	h.expectSent()
	h.runUntil(60 * time.Minute)
	h.expectSent("1h0m0s email bob step-1 loop0 INC-1")
}

// The acceptance's first half with roles: a sev1 whose comms manager is
// alice reminds alice at 30 m (by her rules: SMS at once, email 2 m later),
// not before and not the escalation targets; an incident manager alone is
// reminded when there is no comms manager.
func TestUpdateReminderPagesTheCommsManager(t *testing.T) {
	h := newReminderHarness(t)
	id := h.triggerSev("db-down", "sev1")
	h.runUntil(time.Minute)
	h.rec.take()
	h.act(id, incident.Ack)
	h.store.mu.Lock()
	_, err := h.store.st.ApplyRoleChange(h.clock.Now(), &incident.RoleChange{Incident: id, Role: "comms_manager", User: "alice", By: "alice"})
	h.store.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	h.store.changed(id)
	h.runUntil(30*time.Minute - time.Second)
	h.expectSent()
	h.runUntil(33 * time.Minute)
	h.expectSent("30m0s sms alice step-1 loop0 INC-1", "32m0s email alice step-1 loop0 INC-1")
	h.timelineHas(id, incident.EntryUpdateOverdue, "reminding the comms manager: alice")
}

package incident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUpdatePostAndRefusals(t *testing.T) {
	s := NewState()
	res := s.ApplyAlertGroup(t0, clone(t, group("checkout", keyA, "firing", alert("a", "firing", "sev1"))))
	id := res.Incident
	before := snapshotOf(t, s)
	bad := []struct {
		up   UpdatePost
		want error
		msg  string
	}{
		{UpdatePost{Incident: id, Audience: "everyone", Phase: PhaseIdentified, Message: "x"}, ErrInvalid, "audience:"},
		{UpdatePost{Incident: id, Audience: AudienceInternal, Phase: "fixing", Message: "x"}, ErrInvalid, "phase: unknown phase"},
		{UpdatePost{Incident: id, Audience: AudienceInternal, Phase: PhaseIdentified, Message: " "}, ErrInvalid, "message: required"},
		{UpdatePost{Incident: id, Audience: AudienceInternal, Phase: PhaseIdentified, Message: "x", Components: map[string]string{"api": "fine"}}, ErrInvalid, "components.api: unknown status"},
		{UpdatePost{Incident: id, Audience: AudiencePublic, Phase: PhaseIdentified, Message: "x", By: "bob", Channel: "sms"}, ErrConflict, "bob holds neither role"},
	}
	for _, b := range bad {
		if _, err := s.ApplyUpdatePost(at(1), &b.up); !errors.Is(err, b.want) || !strings.Contains(err.Error(), b.msg) {
			t.Fatalf("%+v: err %v, want %v containing %q", b.up, err, b.want, b.msg)
		}
	}
	if after := snapshotOf(t, s); after != before {
		t.Fatal("a refused update changed the state")
	}
	next := at(1800)
	inc, err := s.ApplyUpdatePost(at(2), &UpdatePost{Incident: id, Audience: AudienceInternal, Phase: PhaseIdentified,
		Message: "bad deploy", By: "alice", Channel: "sms", NextUpdateAt: &next})
	if err != nil {
		t.Fatal(err)
	}
	if inc.Phase != PhaseIdentified || len(inc.Updates) != 1 || inc.Updates[0].ID != "INC-1-U1" || !inc.NextUpdateAt.Equal(next) {
		t.Fatalf("after internal update: phase %s updates %+v next %v", inc.Phase, inc.Updates, inc.NextUpdateAt)
	}
	if last := inc.Timeline[len(inc.Timeline)-1]; last.Type != EntryUpdatePosted || last.Actor != "alice" || !strings.Contains(last.Message, "bad deploy") {
		t.Fatalf("timeline %+v", last)
	}
	inc, err = s.ApplyUpdatePost(at(3), &UpdatePost{Incident: id, Audience: AudiencePublic, Phase: PhaseMonitoring,
		Message: "fix rolled out", By: "ci", ByToken: true, Components: map[string]string{"api": ComponentPartialOutage}})
	if err != nil || len(inc.Updates) != 2 || !inc.HadPublicUpdate() {
		t.Fatalf("token's public update: %v %+v", err, inc)
	}
	// mitigated_at: the first update in phase monitoring (the internal
	// "identified" one before it did not set it).
	if inc.MitigatedAt == nil || !inc.MitigatedAt.Equal(at(3)) {
		t.Fatalf("mitigated_at %v, want %s", inc.MitigatedAt, at(3))
	}
	// Resolve: the last public update was not "resolved", so pagerd posts one.
	inc, err = s.ApplyAction(at(4), &Action{Incident: id, Kind: Resolve, By: "alice", Postmortem: []string{"sev1", "sev2"}})
	if err != nil {
		t.Fatal(err)
	}
	final := inc.Updates[len(inc.Updates)-1]
	if len(inc.Updates) != 3 || !final.Auto || final.Phase != PhaseResolved || !final.Public() ||
		final.Message != "Service restored; a postmortem will follow." || final.Components["api"] != ComponentOperational {
		t.Fatalf("final update %+v", final)
	}
	if _, err := s.ApplyUpdatePost(at(5), &UpdatePost{Incident: id, Audience: AudienceInternal, Phase: PhaseResolved, Message: "x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("update to a resolved incident: %v", err)
	}
}

// A resolve posts no final update when there was no public one, or when a
// person's last public update already said resolved.
func TestFinalUpdateOnlyWhenNeeded(t *testing.T) {
	s := NewState()
	a := s.ApplyAlertGroup(t0, clone(t, group("checkout", keyA, "firing", alert("a", "firing", "sev3")))).Incident
	b := s.ApplyAlertGroup(t0, clone(t, group("checkout", "other", "firing", alert("b", "firing", "sev3")))).Incident
	if _, err := s.ApplyUpdatePost(at(1), &UpdatePost{Incident: b, Audience: AudiencePublic, Phase: PhaseResolved, Message: "all good", ByToken: true}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{a, b} {
		inc, err := s.ApplyAction(at(2), &Action{Incident: id, Kind: Resolve, By: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range inc.Updates {
			if u.Auto {
				t.Fatalf("%s got a final update %+v", inc.Key, u)
			}
		}
	}
}

// A source's resolve posts the final update too, with the leader's
// postmortem list deciding the text.
func TestFinalUpdateOnSourceResolve(t *testing.T) {
	s := NewState()
	g := group("checkout", keyA, "firing", alert("a", "firing", "sev3"))
	g.AutoResolve = true
	id := s.ApplyAlertGroup(t0, clone(t, g)).Incident
	if _, err := s.ApplyUpdatePost(at(1), &UpdatePost{Incident: id, Audience: AudiencePublic, Phase: PhaseInvestigating, Message: "looking", ByToken: true}); err != nil {
		t.Fatal(err)
	}
	r := group("checkout", keyA, "resolved", alert("a", "resolved", "sev3"))
	r.AutoResolve, r.Postmortem = true, []string{"sev1", "sev2"}
	s.ApplyAlertGroup(at(2), clone(t, r))
	inc := mustGet(t, s, id)
	if inc.Status != Resolved || len(inc.Updates) != 2 || inc.Updates[1].Message != "Service restored." || !inc.Updates[1].Auto {
		t.Fatalf("after the source's resolve: %s %+v", inc.Status, inc.Updates)
	}
}

// A reminder applies once per planned count, never before its deadline,
// and not after an update moved the deadline.
func TestUpdateReminderStaleness(t *testing.T) {
	s := NewState()
	id := s.ApplyAlertGroup(t0, clone(t, group("checkout", keyA, "firing", alert("a", "firing", "sev1")))).Incident
	due := at(1800)
	r := &UpdateReminder{Incident: id, Due: due, Message: "overdue",
		Notifications: []Notification{{ID: "u1", User: "bob", Channel: ChannelEmail, To: "bob@example.com", DueAt: due}}}
	if _, err := s.ApplyUpdateReminder(at(1799), r); !errors.Is(err, ErrStale) {
		t.Fatalf("early reminder: %v", err)
	}
	inc, err := s.ApplyUpdateReminder(due, r)
	if err != nil || inc.UpdateOverdue.Reminders != 1 || inc.Notifications[0].Kind != KindUpdateOverdue || inc.Notifications[0].Status != NotifyQueued {
		t.Fatalf("reminder: %v %+v", err, inc)
	}
	if _, err := s.ApplyUpdateReminder(at(1801), r); !errors.Is(err, ErrStale) {
		t.Fatalf("the same plan twice (a second leader): %v", err)
	}
	if at, d, sent, ok := NextReminder(mustGet(t, s, id), 30*time.Minute, 15*time.Minute); !ok || !at.Equal(due.Add(15*time.Minute)) || !d.Equal(due) || sent != 1 {
		t.Fatalf("next reminder %v %v %d %v", at, d, sent, ok)
	}
	next := at(3700)
	if _, err := s.ApplyUpdatePost(at(1900), &UpdatePost{Incident: id, Audience: AudienceInternal, Phase: PhaseIdentified, Message: "x", NextUpdateAt: &next}); err != nil {
		t.Fatal(err)
	}
	r.ExpectReminders = 1
	if _, err := s.ApplyUpdateReminder(at(2700), r); !errors.Is(err, ErrStale) {
		t.Fatalf("reminder after an update: %v", err)
	}
}

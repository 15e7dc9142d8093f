package incident

import (
	"errors"
	"testing"
)

// One holder per role; a handover is one change; the first acknowledger
// takes the severity's roles without a from; refusals change nothing.
func TestRoleChanges(t *testing.T) {
	s := NewState()
	g := group("checkout", keyA, "firing", alert("a", "firing", "sev1"))
	g.Policy = "web"
	id := s.ApplyAlertGroup(t0, clone(t, g)).Incident

	// The acknowledger takes comms_manager (stamped: sev1 lists it with no
	// from), never a role of another severity, and never one that is held.
	if _, err := s.ApplyRoleChange(at(1), &RoleChange{Incident: id, Role: "incident_manager", User: "carol", By: "carol", Channel: "sms"}); err != nil {
		t.Fatal(err)
	}
	ackRoles := map[string][]string{"sev1": {"comms_manager", "incident_manager"}, "sev2": {"tech_lead"}}
	inc, err := s.ApplyAction(at(2), &Action{Incident: id, Kind: Ack, By: "alice", AckRoles: ackRoles})
	if err != nil || inc.Roles["comms_manager"] != "alice" || inc.Roles["incident_manager"] != "carol" || inc.Roles["tech_lead"] != "" {
		t.Fatalf("after ack: %v %v", err, inc.Roles)
	}

	// Handover: one entry, from carol to bob; carol holds nothing after.
	inc, err = s.ApplyRoleChange(at(3), &RoleChange{Incident: id, Role: "incident_manager", User: "bob", By: "carol", Note: "shift ends", DedupID: "sms:SM9"})
	if err != nil || inc.Roles["incident_manager"] != "bob" || len(inc.Roles) != 2 {
		t.Fatalf("handover: %v %v", err, inc.Roles)
	}
	e := inc.Timeline[len(inc.Timeline)-1]
	if e.Type != EntryRoleAssigned || e.Role != "incident_manager" || e.From != "carol" || e.To != "bob" || e.Actor != "carol" || e.Note != "shift ends" {
		t.Fatalf("entry %+v", e)
	}
	before := snapshotOf(t, s)
	// A retried reply acts once; the same holder again records nothing.
	if _, err := s.ApplyRoleChange(at(4), &RoleChange{Incident: id, Role: "incident_manager", User: "bob", DedupID: "sms:SM9"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("retry: %v", err)
	}
	if _, err := s.ApplyRoleChange(at(4), &RoleChange{Incident: id, Role: "incident_manager", User: "bob", By: "bob"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyRoleChange(at(4), &RoleChange{Incident: 99, Role: "tech_lead", User: "bob"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
	if _, err := s.ApplyRoleChange(at(4), &RoleChange{Incident: id, User: "bob"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no role: %v", err)
	}
	if snapshotOf(t, s) != before {
		t.Fatal("a refused or repeated change changed the state")
	}

	// Release.
	inc, _ = s.ApplyRoleChange(at(5), &RoleChange{Incident: id, Role: "comms_manager", By: "alice"})
	if _, held := inc.Roles["comms_manager"]; held || inc.Timeline[len(inc.Timeline)-1].Type != EntryRoleReleased {
		t.Fatalf("release: %v", inc.Roles)
	}
	s.ApplyAction(at(6), &Action{Incident: id, Kind: Resolve, By: "bob"})
	if _, err := s.ApplyRoleChange(at(7), &RoleChange{Incident: id, Role: "tech_lead", User: "bob"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("resolved: %v", err)
	}
}

// Role notifications survive an ack and are cancelled by resolve; a role
// page is recorded once.
func TestRoleNotifyApply(t *testing.T) {
	s := NewState()
	g := group("checkout", keyA, "firing", alert("a", "firing", "sev1"))
	g.Policy = "web"
	id := s.ApplyAlertGroup(t0, clone(t, g)).Incident
	page := &RoleNotify{Incident: id, Kind: KindRolePage, Role: "incident_manager", Message: "paging",
		Notifications: []Notification{{ID: "n1-r1-0", User: "carol", Channel: ChannelSMS, To: "+31600000003", DueAt: at(1)}}}
	inc, err := s.ApplyRoleNotify(at(1), page)
	if err != nil || inc.Notifications[0].Kind != KindRolePage || inc.Notifications[0].ReplyCode != 1 || inc.Notifications[0].Status != NotifyQueued {
		t.Fatalf("role page: %v %+v", err, inc)
	}
	if _, err := s.ApplyRoleNotify(at(2), page); !errors.Is(err, ErrStale) {
		t.Fatalf("second page of the role: %v", err)
	}
	inc, _ = s.ApplyAction(at(3), &Action{Incident: id, Kind: Ack, By: "alice"})
	if inc.Notifications[0].Status != NotifyQueued {
		t.Fatalf("an ack cancelled the role page: %+v", inc.Notifications[0])
	}
	if _, err := s.ApplyRoleNotify(at(4), &RoleNotify{Incident: id, Kind: KindRoleInstructions, Role: "incident_manager", User: "carol"}); !errors.Is(err, ErrStale) {
		t.Fatalf("instructions to a non-holder: %v", err)
	}
	inc, _ = s.ApplyAction(at(5), &Action{Incident: id, Kind: Resolve, By: "alice"})
	if inc.Notifications[0].Status != NotifyCancelled {
		t.Fatalf("resolve left the role page queued: %+v", inc.Notifications[0])
	}
}

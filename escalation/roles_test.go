package escalation

import (
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Roles (issue 13.3) on the fake clock: a sev1 pages the incident manager's
// from target beside the service's policy, an ack of the incident leaves
// that page going, the role's taker gets its instructions, and a handover
// is one change.

const rolesYAML = `
roles:
  - id: incident_manager
    from: rotation:primary
    instructions: "Own the incident: delegate, decide, keep updates flowing."
`

// triggerSev1Phoneless opens a sev1 on phoneless (its policy pages bob by
// email); alice is on the primary rotation, the incident manager's from.
func roleHarness(t *testing.T) (*harness, uint64) {
	h := newHarness(t, rolesYAML)
	id := h.triggerSev("db-down", "sev1")
	return h, id
}

func (h *harness) changeRole(id uint64, role, user, by string) {
	h.t.Helper()
	h.store.mu.Lock()
	_, err := h.store.st.ApplyRoleChange(h.clock.Now(), &incident.RoleChange{Incident: id, Role: role, User: user, By: by, Channel: "sms"})
	h.store.mu.Unlock()
	if err != nil {
		h.t.Fatal(err)
	}
	h.store.changed(id)
}

func (h *harness) ackAs(id uint64, user string) {
	h.t.Helper()
	h.store.mu.Lock()
	_, err := h.store.st.ApplyAction(h.clock.Now(), &incident.Action{Incident: id, Kind: incident.Ack, By: user,
		Channel: "email", AckRoles: h.store.cfg.AckRoles()})
	h.store.mu.Unlock()
	if err != nil {
		h.t.Fatal(err)
	}
	h.store.changed(id)
}

func notificationsOf(inc *incident.Incident, kind string) []incident.Notification {
	var out []incident.Notification
	for _, n := range inc.Notifications {
		if n.Kind == kind {
			out = append(out, n)
		}
	}
	return out
}

func TestSev1PagesTheIncidentManagerRotation(t *testing.T) {
	h, id := roleHarness(t)
	h.runUntil(0)
	// bob by the service's policy; alice (primary rotation) for the role:
	// SMS at once, email after 2m, as her rules say.
	h.expectSent("0s email bob step0 loop0 INC-1", "0s sms alice step0 loop0 INC-1")
	h.timelineHas(id, incident.EntryRolePaged, "sev1 needs Incident Manager: paging rotation:primary: alice (sms now, email at +2m0s)")
	pages := notificationsOf(h.incident(id), incident.KindRolePage)
	if len(pages) != 2 || pages[0].Role != "incident_manager" || pages[0].ReplyCode == 0 {
		t.Fatalf("role pages = %+v", pages)
	}

	// bob acknowledges the incident at 1m: he takes comms_manager (no
	// from), and alice's role page keeps going (the role is still empty).
	h.runUntil(time.Minute)
	h.ackAs(id, "bob")
	h.runUntil(2 * time.Minute)
	h.expectSent("2m0s email alice step0 loop0 INC-1")
	inc := h.incident(id)
	if inc.Roles["comms_manager"] != "bob" || inc.Roles["incident_manager"] != "" {
		t.Fatalf("roles after bob's ack = %v", inc.Roles)
	}

	// alice takes the role (her SMS 3im): the instructions go to her first
	// channel (SMS), once.
	h.runUntil(3 * time.Minute)
	h.changeRole(id, "incident_manager", "alice", "alice")
	h.runUntil(4 * time.Minute)
	h.expectSent("3m0s sms alice step0 loop0 INC-1")
	brief := notificationsOf(h.incident(id), incident.KindRoleInstructions)
	if len(brief) != 1 || brief[0].User != "alice" || brief[0].Channel != "sms" || brief[0].Status != incident.NotifySent {
		t.Fatalf("instructions = %+v", brief)
	}

	// A handover to bob: one change, then bob's instructions by email.
	h.changeRole(id, "incident_manager", "bob", "alice")
	h.runUntil(5 * time.Minute)
	h.expectSent("4m0s email bob step0 loop0 INC-1")
	inc = h.incident(id)
	if inc.Roles["incident_manager"] != "bob" {
		t.Fatalf("roles after handover = %v", inc.Roles)
	}
	h.timelineHas(id, incident.EntryRoleAssigned, "incident_manager: alice takes the role via sms")
	h.timelineHas(id, incident.EntryRoleAssigned, "incident_manager handed over from alice to bob via sms")

	// Nothing more: the role was paged once and both holders briefed.
	h.runUntil(time.Hour)
	h.expectSent()
}

// A role filled before its page goes out is not paged; a role page queued
// when the role is taken is cancelled.
func TestRoleTakenCancelsItsQueuedPages(t *testing.T) {
	h, id := roleHarness(t)
	h.runUntil(time.Minute)
	h.expectSent("0s email bob step0 loop0 INC-1", "0s sms alice step0 loop0 INC-1")
	h.changeRole(id, "incident_manager", "alice", "alice")
	h.runUntil(10 * time.Minute)
	// Her role email due at 2m is cancelled; she gets the instructions.
	h.expectSent("1m0s sms alice step0 loop0 INC-1")
	for _, n := range notificationsOf(h.incident(id), incident.KindRolePage) {
		if n.Channel == "email" && n.Status != incident.NotifyCancelled {
			t.Fatalf("queued role email after the role was taken: %+v", n)
		}
	}
}

// A sev3 lists no roles: no role page. Raised to sev1, the role is paged.
func TestRaisedSeverityPagesItsRoles(t *testing.T) {
	h := newHarness(t, rolesYAML)
	id := h.triggerSev("slow", "sev3")
	h.runUntil(time.Minute)
	h.expectSent("0s email bob step0 loop0 INC-1")
	h.setSeverity(id, "sev1")
	h.runUntil(2 * time.Minute)
	h.expectSent("1m0s sms alice step0 loop0 INC-1")
	h.timelineHas(id, incident.EntryRolePaged, "sev1 needs Incident Manager")
	// A stale plan (the role already paged) changes nothing.
	h.store.mu.Lock()
	_, err := h.store.st.ApplyRoleNotify(h.clock.Now(), &incident.RoleNotify{Incident: id, Kind: incident.KindRolePage, Role: "incident_manager"})
	h.store.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), "was paged") {
		t.Fatalf("second role page: %v, want stale", err)
	}
}

// A severity that waits for business hours waits for its role pages too:
// they go out with the escalation, at the window's start.
func TestRolePageWaitsForBusinessHours(t *testing.T) {
	h := newHarness(t, officeHours+rolesYAML+"severities:\n  sev3: {page: office, roles: [incident_manager]}\n")
	h.clock.mu.Lock()
	h.clock.now = ams(2026, 11, 27, 18, 0) // Friday evening
	h.clock.mu.Unlock()
	id := h.triggerSev("disk", "sev3")
	open := ams(2026, 11, 30, 9, 0)
	h.runTo(open.Add(-time.Second))
	if inc := h.incident(id); len(inc.Notifications) != 0 || len(inc.RolesPaged) != 0 {
		t.Fatalf("paged before the window opened: %+v", inc.Notifications)
	}
	h.runTo(open)
	inc := h.incident(id)
	pages := notificationsOf(inc, incident.KindRolePage)
	if len(pages) != 2 || !pages[0].DueAt.Equal(open) || pages[0].User != "alice" {
		t.Fatalf("role pages at the window's start: %+v", pages)
	}
	h.timelineHas(id, incident.EntryRolePaged, "sev3 needs Incident Manager")
}

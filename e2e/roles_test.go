package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/notify/sms/twiliotest"
)

// roleConfig adds to pgConfig an incident-manager rotation (carol, who is
// paged by SMS) and the incident_manager role it fills.
const roleConfig = `
rotations:
  - {id: im-rota, participants: [carol], shift: 1w, start: "2026-01-05 00:00"}
roles:
  - id: incident_manager
    from: rotation:im-rota
    instructions: "Own the incident: delegate, decide, keep updates flowing."
`

// TestRolesAcceptance (issue 13.3) on a real daemon: a sev1 pages the
// incident-manager rotation's on-call person (SMS, Twilio wire format)
// alongside the service's policy (email to aiosmtpd); her SMS "1im" makes
// her incident manager without acknowledging the incident, and she gets the
// role's instructions; `pagerd role … bob` hands over (bob's instructions
// by email); the timeline shows both; PUT of an unknown role or user is 400
// and changes nothing; an email reply "take tl" takes the tech lead role. A second incident's role page answered with a plain
// ack ("2a") also takes the role and leaves the incident triggered.
func TestRolesAcceptance(t *testing.T) {
	box := pgStartSMTP(t)
	tw := twiliotest.NewServer("ACtest", "secret-token")
	t.Cleanup(tw.Close)
	base := fmt.Sprintf(pgConfig, "1h", box.addr, tw.URL) + roleConfig
	c := testcluster.Start(t, 1, testcluster.Options{SMTP: true, Config: base})
	n := c.Nodes[0]
	cfg := strings.Replace(base, `api_base: "`+tw.URL+`"}`, `api_base: "`+tw.URL+`", public_url: "http://`+n.HTTPAddr+`"}`, 1)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := c.Run(n, "config", "apply", path); code != 0 {
		t.Fatalf("config apply: %d %s", code, out)
	}

	pgTrigger(t, c, n, "im-1", testcluster.EventsKey) // severity critical: sev1
	inc := pgIncident(t, c, n, "im-1")
	replyTo, subject := rpPageEmail(t, c, box, fmt.Sprintf("n%d-1-0", inc.ID)) // the policy's page to alice
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 1, "no role SMS yet" })
	if m := tw.Messages()[0]; m.To != "+31612345003" || !strings.HasPrefix(m.Body, "INC-1 needs an Incident Manager:") || !strings.HasSuffix(m.Body, "Reply 1im to take it") {
		t.Fatalf("role SMS %+v", m)
	}

	waitRolePageSent(t, c, n, "im-1")
	code, out := rpTwilio(t, c, n, "+31612345003", "1im", "SMim1", true)
	if code != 200 || !strings.Contains(out, "You took the role on INC-1") {
		t.Fatalf("1im: %d %s", code, out)
	}
	got := pgIncident(t, c, n, "im-1")
	if got.Roles["incident_manager"] != "carol" || got.Status != incident.Triggered {
		t.Fatalf("after 1im: roles %v, status %s", got.Roles, got.Status)
	}
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 2, "no instructions SMS yet" })
	if m := tw.Messages()[1]; m.To != "+31612345003" || !strings.Contains(m.Body, "You are Incident Manager of INC-1: Own the incident") {
		t.Fatalf("instructions SMS %+v", m)
	}

	// Bad input: 400 naming the field; nothing changes. The instructions SMS
	// reaches the fake Twilio a moment before its "notified" outcome is
	// committed, so wait for every page in flight to be recorded first; then
	// compare only what a role PUT could change (roles, briefings, role
	// entries and notifications), not the whole timeline.
	before := waitNothingQueued(t, c, n, "im-1")
	for _, bad := range []struct{ role, body, want string }{
		{"scribe", `{"user":"bob"}`, `role: unknown role \"scribe\"`},
		{"incident_manager", `{"user":"mallory"}`, `user: unknown user \"mallory\"`},
		{"incident_manager", `{}`, `user: required`},
	} {
		code, msg := c.Do(n, "PUT", fmt.Sprintf("/v1/incidents/%d/roles/%s", inc.ID, bad.role), []byte(bad.body), map[string]string{"Content-Type": "application/json"})
		if code != http.StatusBadRequest || !strings.Contains(string(msg), bad.want) {
			t.Fatalf("PUT %s %s: %d %s, want 400 %s", bad.role, bad.body, code, msg, bad.want)
		}
	}
	if after := pgIncident(t, c, n, "im-1"); roleState(after) != roleState(before) || after.Roles["incident_manager"] != "carol" {
		t.Fatalf("a refused PUT changed the incident's roles:\n%s\nwas\n%s", roleState(after), roleState(before))
	}

	if code, out := c.Run(n, "role", "INC-1", "incident_manager", "bob", "--as", "carol", "--note", "end of my shift"); code != 0 || !strings.Contains(out, "roles: incident_manager=bob") {
		t.Fatalf("pagerd role: %d %s", code, out)
	}
	got = pgIncident(t, c, n, "im-1")
	var assigned []incident.Entry
	for _, e := range got.Timeline {
		if e.Type == incident.EntryRoleAssigned {
			assigned = append(assigned, e)
		}
	}
	if len(assigned) != 2 || assigned[0].To != "carol" || assigned[0].From != "" || assigned[0].Actor != "carol" ||
		assigned[1].From != "carol" || assigned[1].To != "bob" || assigned[1].Actor != "carol" || assigned[1].Note != "end of my shift" {
		t.Fatalf("role_assigned entries %+v", assigned)
	}
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, m := range box.messages(t) {
			if m.header.Get("To") == "<bob@example.com>" || strings.Contains(m.header.Get("To"), "bob@example.com") {
				if strings.Contains(m.header.Get("Subject"), "You are Incident Manager") && strings.Contains(m.body, "keep updates flowing") {
					return true, ""
				}
			}
		}
		return false, "no instructions mail to bob yet"
	})

	// alice answers her incident page by email with "take tl": swaks into
	// the daemon's SMTP port.
	if code, out := rpSwaks(t, n.SMTPAddr, "alice@example.com", replyTo,
		rpReply("take-tl@mail.example.com", "alice@example.com", replyTo, subject, "take tl", "INC page")); code != 0 {
		t.Fatalf("take tl: swaks exit %d:\n%s", code, out)
	}
	if got := pgIncident(t, c, n, "im-1"); got.Roles["tech_lead"] != "alice" || got.Roles["incident_manager"] != "bob" || got.Status != incident.Triggered {
		t.Fatalf("after take tl: roles %v, status %s", got.Roles, got.Status)
	}

	// An ack of a role page takes the role, not the incident.
	pgTrigger(t, c, n, "im-2", testcluster.EventsKey)
	c.WaitFor(20*time.Second, func() (bool, string) { return len(tw.Messages()) == 3, "no second role SMS yet" })
	if m := tw.Messages()[2]; !strings.HasSuffix(m.Body, "Reply 2im to take it") {
		t.Fatalf("second role SMS %+v", m)
	}
	waitRolePageSent(t, c, n, "im-2")
	if code, out := rpTwilio(t, c, n, "+31612345003", "2a", "SMim2", true); code != 200 || !strings.Contains(out, "You took the role on INC-2") {
		t.Fatalf("2a: %d %s", code, out)
	}
	if got := pgIncident(t, c, n, "im-2"); got.Roles["incident_manager"] != "carol" || got.Status != incident.Triggered || got.AcknowledgedBy != "" {
		t.Fatalf("after 2a: roles %v, status %s", got.Roles, got.Status)
	}
}

// waitRolePageSent waits until the role page's sent outcome is committed: a
// reply answers only pages recorded as sent (the SMS reaches the fake
// Twilio a moment before).
func waitRolePageSent(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, dedupKey string) {
	t.Helper()
	c.WaitFor(20*time.Second, func() (bool, string) {
		for _, nt := range pgIncident(t, c, n, dedupKey).Notifications {
			if nt.Kind == incident.KindRolePage && nt.Status == incident.NotifySent {
				return true, ""
			}
		}
		return false, "role page of " + dedupKey + " not recorded as sent yet"
	})
}

// waitNothingQueued waits until no notification of the incident is queued
// (every page sent so far has its outcome committed) and returns the
// settled incident.
func waitNothingQueued(t *testing.T, c *testcluster.Cluster, n *testcluster.Node, dedupKey string) *incident.Incident {
	t.Helper()
	var inc *incident.Incident
	c.WaitFor(20*time.Second, func() (bool, string) {
		inc = pgIncident(t, c, n, dedupKey)
		for _, nt := range inc.Notifications {
			if nt.Status == incident.NotifyQueued {
				return false, fmt.Sprintf("%s: %s %s to %s still queued", dedupKey, nt.Kind, nt.Channel, nt.User)
			}
		}
		return true, ""
	})
	return inc
}

// roleState is what a role PUT can change: the holders, the briefings, the
// role entries of the timeline and the role notifications (a handover
// cancels role pages and queues instructions).
func roleState(inc *incident.Incident) string {
	var b strings.Builder
	fmt.Fprintf(&b, "roles %v briefed %v paged %v\n", inc.Roles, inc.RolesBriefed, inc.RolesPaged)
	for _, e := range inc.Timeline {
		if e.Type == incident.EntryRoleAssigned || e.Type == incident.EntryRoleReleased || e.Type == incident.EntryRolePaged {
			fmt.Fprintf(&b, "%s %s %s->%s by %s\n", e.Type, e.Role, e.From, e.To, e.Actor)
		}
	}
	for _, nt := range inc.Notifications {
		if nt.Kind != incident.KindIncident {
			fmt.Fprintf(&b, "%s %s %s %s\n", nt.Kind, nt.Role, nt.User, nt.Status)
		}
	}
	return b.String()
}

package nodebackend

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/nodetest"
	"github.com/pagerd/pagerd/internal/testcluster"
	"github.com/pagerd/pagerd/reply"
)

func startWithIncident(t *testing.T) (*nodetest.Node, *Backend) {
	t.Helper()
	n := nodetest.Start(t, nodetest.Options{Config: testcluster.DefaultConfig})
	body := `{"routing_key":"` + testcluster.EventsKey + `","event_action":"trigger","dedup_key":"d1","payload":{"summary":"Disk full","source":"db-1","severity":"critical"}}`
	resp, err := http.Post(n.URL+"/v2/enqueue", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("enqueue: %d", resp.StatusCode)
	}
	return n, New(n.Node)
}

// TestActOnTheLeaderCommitsOnce: a reply acts through Raft, and its retry
// (same DedupID) is a duplicate that changes nothing.
func TestActOnTheLeaderCommitsOnce(t *testing.T) {
	_, b := startWithIncident(t)
	req := reply.Request{Channel: "sms", From: "+31612345001", User: "alice", Incident: 1, Kind: incident.Ack, DedupID: "sms:SM1", Note: "1a"}
	res, err := b.Act(context.Background(), req)
	if err != nil || res.Duplicate || res.Incident == nil || res.Incident.Status != incident.Acknowledged || res.Incident.AcknowledgedBy != "alice" {
		t.Fatalf("first ack: %+v %v", res, err)
	}
	res, err = b.Act(context.Background(), req)
	if err != nil || !res.Duplicate {
		t.Fatalf("retried ack: %+v %v", res, err)
	}
	req.DedupID = "sms:SM2"
	if _, err := b.Act(context.Background(), req); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("second ack: %v, want ErrConflict", err)
	}
	if u, ok := b.UserForPhone("+31612345001"); !ok || u != "alice" {
		t.Errorf("UserForPhone: %q %v", u, ok)
	}
	if _, ok := b.UserForPhone("+1555"); ok {
		t.Error("unknown phone found")
	}
}

// TestForwardedActionUsesThePublicAPI: a follower forwards a reply to the
// leader's POST /v1/incidents/{id}/{action}; here the leader's API is the
// node's own, so the route, body and answer mapping meet the real server.
func TestForwardedActionUsesThePublicAPI(t *testing.T) {
	_, b := startWithIncident(t)
	a := &incident.Action{Incident: 1, Kind: incident.Ack, By: "alice", Channel: "email", Note: "ack", DedupID: "email:m1"}
	res, err := b.forwardAction(context.Background(), a, "")
	if err != nil || res.Duplicate || res.Incident.Status != incident.Acknowledged || res.Incident.AcknowledgedBy != "alice" {
		t.Fatalf("forwarded ack: %+v %v", res, err)
	}
	if res, err := b.forwardAction(context.Background(), a, ""); err != nil || !res.Duplicate {
		t.Fatalf("forwarded retry: %+v %v", res, err)
	}
	a.DedupID = "email:m2"
	if _, err := b.forwardAction(context.Background(), a, ""); !errors.Is(err, incident.ErrConflict) ||
		strings.Count(err.Error(), incident.ErrConflict.Error()) != 1 {
		t.Fatalf("forwarded second ack: %v", err)
	}
	a.Incident = 99
	if _, err := b.forwardAction(context.Background(), a, ""); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("forwarded ack of a missing incident: %v", err)
	}
}

// TestSeverityReplies: SMS 3s1 and email sev3 change the severity as the
// paged user, on the leader and forwarded to its POST
// /v1/incidents/{id}/severity; a retry acts once (spec §5.5).
func TestSeverityReplies(t *testing.T) {
	_, b := startWithIncident(t)
	ctx := context.Background()
	req := reply.Request{Channel: "sms", From: "+31612345001", User: "alice", Incident: 1, Kind: reply.ActionSeverity,
		Severity: "sev2", DedupID: "sms:SM9", Note: "1s2"}
	res, err := b.Act(ctx, req)
	if err != nil || res.Duplicate || res.Incident.Severity != "sev2" || res.Incident.SeveritySetBy != "alice" {
		t.Fatalf("sms 1s2: %+v %v", res, err)
	}
	last := res.Incident.Timeline[len(res.Incident.Timeline)-1]
	if last.Type != incident.EntrySeverityChanged || last.From != "sev1" || last.To != "sev2" || !strings.Contains(last.Note, "1s2") {
		t.Fatalf("timeline %+v", last)
	}
	if res, err := b.Act(ctx, req); err != nil || !res.Duplicate {
		t.Fatalf("retry: %+v %v", res, err)
	}
	a := &incident.Action{Incident: 1, Kind: reply.ActionSeverity, By: "alice", Channel: "email", Note: "sev3", DedupID: "email:m9"}
	res, err = b.forwardAction(ctx, a, "sev3")
	if err != nil || res.Duplicate || res.Incident.Severity != "sev3" {
		t.Fatalf("forwarded sev3: %+v %v", res, err)
	}
	if res, err := b.forwardAction(ctx, a, "sev3"); err != nil || !res.Duplicate {
		t.Fatalf("forwarded retry: %+v %v", res, err)
	}
}

// TestRoleReplies: SMS 1im takes the role as the paged user on the leader,
// and a forwarded email "take tl" (PUT /v1/incidents/{id}/roles/{role} on
// the leader's public API) takes another; each retry acts once.
func TestRoleReplies(t *testing.T) {
	_, b := startWithIncident(t)
	ctx := context.Background()
	req := reply.Request{Channel: "sms", From: "+31612345001", User: "alice", Incident: 1, Kind: reply.ActionRole,
		Role: "incident_manager", DedupID: "sms:SMr1", Note: "1im"}
	res, err := b.Act(ctx, req)
	if err != nil || res.Duplicate || res.Incident.Roles["incident_manager"] != "alice" || res.Incident.Status != incident.Triggered {
		t.Fatalf("sms 1im: %+v %v", res, err)
	}
	if res, err := b.Act(ctx, req); err != nil || !res.Duplicate {
		t.Fatalf("retry: %+v %v", res, err)
	}
	a := &incident.Action{Incident: 1, Kind: reply.ActionRole, By: "alice", Channel: "email", Note: "take tl", DedupID: "email:r1"}
	res, err = b.forwardRole(ctx, a, "tech_lead")
	if err != nil || res.Duplicate || res.Incident.Roles["tech_lead"] != "alice" || res.Incident.Roles["incident_manager"] != "alice" {
		t.Fatalf("forwarded take tl: %+v %v", res, err)
	}
	last := res.Incident.Timeline[len(res.Incident.Timeline)-1]
	if last.Type != incident.EntryRoleAssigned || last.To != "alice" || last.Role != "tech_lead" || !strings.Contains(last.Message, "via email") {
		t.Fatalf("timeline %+v", last)
	}
	if res, err := b.forwardRole(ctx, a, "tech_lead"); err != nil || !res.Duplicate {
		t.Fatalf("forwarded retry: %+v %v", res, err)
	}
	a.DedupID = "email:r2"
	if _, err := b.forwardRole(ctx, a, "scribe"); err == nil || !strings.Contains(err.Error(), `unknown role "scribe"`) {
		t.Fatalf("forwarded unknown role: %v", err)
	}
}

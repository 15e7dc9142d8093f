package replytest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/reply"
)

func TestBackend(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	b := New()
	b.Now = func() time.Time { return now }
	b.AddUser("alice", "+31612345001")
	b.AddPage(reply.Page{Notification: "n42-1-0", Incident: 42, Title: "HighErrorRate", User: "alice",
		Channel: "sms", To: "+31612345001", Code: 3, SentAt: now.Add(-time.Minute)})
	b.AddPage(reply.Page{Notification: "n43-1-0", Incident: 43, User: "alice",
		Channel: "sms", To: "+31612345001", Code: 1, SentAt: now})
	b.AddPage(reply.Page{Notification: "n42-1-1", Incident: 42, User: "alice", Channel: "email", To: "alice@example.com"})

	if got := b.PagesForPhone("+31612345001"); len(got) != 2 || got[0].Incident != 43 || got[1].Code != 3 {
		t.Fatalf("PagesForPhone = %+v", got)
	}
	tok, err := b.Token("n42-1-1", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p, err := b.PageForToken(strings.ToUpper(tok), now); err != nil || p.Incident != 42 || p.Channel != "email" {
		t.Fatalf("PageForToken = %+v, %v", p, err)
	}
	if _, err := b.PageForToken(tok, now.Add(2*time.Hour)); !errors.Is(err, reply.ErrTokenExpired) {
		t.Fatalf("expired token: %v", err)
	}
	gone, _ := b.Token("n99", now.Add(time.Hour))
	if _, err := b.PageForToken(gone, now); !errors.Is(err, reply.ErrUnknownPage) {
		t.Fatalf("unknown page: %v", err)
	}

	b.SetTransient(true)
	if _, err := b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Ack, User: "alice", DedupID: "x"}); !errors.Is(err, reply.ErrTransient) {
		t.Fatalf("transient Act: %v", err)
	}
	b.SetTransient(false)
	res, err := b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Ack, User: "alice", DedupID: "x"})
	if err != nil || res.Duplicate || res.Incident.Status != incident.Acknowledged {
		t.Fatalf("Act = %+v, %v", res, err)
	}
	if res, err := b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Ack, User: "bob", DedupID: "x"}); err != nil || !res.Duplicate {
		t.Fatalf("duplicate Act = %+v, %v", res, err)
	}
	_, err = b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Ack, User: "bob", DedupID: "y"})
	if !errors.Is(err, incident.ErrConflict) || !strings.Contains(err.Error(), "already acknowledged by alice at 2026-11-21T12:00:00Z") {
		t.Fatalf("second ack: %v", err)
	}
	if _, err := b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Resolve, User: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, err = b.Act(ctx, reply.Request{Incident: 42, Kind: incident.Escalate, User: "alice"})
	if !errors.Is(err, incident.ErrConflict) || !strings.Contains(err.Error(), "already resolved by bob at") {
		t.Fatalf("escalate resolved: %v", err)
	}
	if got := b.PagesForPhone("+31612345001"); len(got) != 1 || got[0].Incident != 43 {
		t.Fatalf("PagesForPhone after resolve = %+v", got)
	}
	if _, err := b.Act(ctx, reply.Request{Incident: 7, Kind: incident.Ack}); !errors.Is(err, incident.ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
	if n := len(b.Acts()); n != 2 || b.ActCalls() != 7 {
		t.Fatalf("Acts = %d, ActCalls = %d", n, b.ActCalls())
	}

	if err := b.SetSMSOptOut(ctx, "+31612345001", true, "sms:SM1"); err != nil || !b.OptedOut("+31612345001") {
		t.Fatalf("opt out: %v", err)
	}
	_ = b.SetSMSOptOut(ctx, "+31612345001", true, "sms:SM1")
	if err := b.SetSMSOptOut(ctx, "+31612345001", false, "sms:SM2"); err != nil || b.OptedOut("+31612345001") {
		t.Fatalf("opt in: %v", err)
	}
	if n := len(b.OptOutCalls()); n != 2 {
		t.Fatalf("OptOutCalls = %d", n)
	}
}

package incident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func deferredGroup(until time.Time, alerts ...Alert) *AlertGroup {
	g := group("checkout", keyA, "firing", alerts...)
	g.Policy = "web"
	g.Deferrals = []Deferral{{Severity: "sev3", Window: "office", Until: until}}
	return g
}

func TestDeferredAtOpen(t *testing.T) {
	s := NewState()
	until := at(600)
	res := s.ApplyAlertGroup(t0, clone(t, deferredGroup(until, alert("a", "firing", "sev3"))))
	inc := mustGet(t, s, res.Incident)
	if inc.DeferredUntil == nil || !inc.DeferredUntil.Equal(until) || !inc.Escalation.NextAt.Equal(until) {
		t.Fatalf("deferred_until %v next_at %v, want %s", inc.DeferredUntil, inc.Escalation.NextAt, until)
	}
	if got := strings.Join(entryTypes(inc), ","); got != "triggered,alert_added,deferred" {
		t.Fatalf("timeline %s", got)
	}
	// A sev1 alert joining raises it: paging starts now.
	s.ApplyAlertGroup(at(5), clone(t, deferredGroup(until, alert("a", "firing", "sev3"), alert("b", "firing", "sev1"))))
	inc = mustGet(t, s, res.Incident)
	if inc.Severity != "sev1" || inc.DeferredUntil != nil || !inc.Escalation.NextAt.Equal(at(5)) {
		t.Fatalf("after sev1 alert: %s deferred %v next %v", inc.Severity, inc.DeferredUntil, inc.Escalation.NextAt)
	}
	last := inc.Timeline[len(inc.Timeline)-1]
	if last.Type != EntrySeverityChanged || last.From != "sev3" || last.To != "sev1" {
		t.Fatalf("last entry %+v", last)
	}
}

// A plan whose time has passed by the stamped instant does not defer.
func TestDeferralInThePastPagesNow(t *testing.T) {
	s := NewState()
	res := s.ApplyAlertGroup(at(10), clone(t, deferredGroup(at(10), alert("a", "firing", "sev3"))))
	if inc := mustGet(t, s, res.Incident); inc.DeferredUntil != nil || !inc.Escalation.NextAt.Equal(at(10)) {
		t.Fatalf("deferred %v", inc.DeferredUntil)
	}
}

func TestSeverityChange(t *testing.T) {
	s := NewState()
	res := s.ApplyAlertGroup(t0, clone(t, deferredGroup(at(600), alert("a", "firing", "sev3"))))
	id := res.Incident
	before := snapshotOf(t, s)
	if _, err := s.ApplySeverityChange(at(1), &SeverityChange{Incident: id, Severity: "sev9", By: "bob"}); !errors.Is(err, ErrInvalid) ||
		!strings.Contains(err.Error(), `severity: unknown severity "sev9"`) {
		t.Fatalf("unknown severity: %v", err)
	}
	if _, err := s.ApplySeverityChange(at(1), &SeverityChange{Incident: 99, Severity: "sev1"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
	if snapshotOf(t, s) != before {
		t.Fatal("a refused change changed the state")
	}
	// Raising to sev2 (pages always): paging starts now.
	inc, err := s.ApplySeverityChange(at(2), &SeverityChange{Incident: id, Severity: "sev2", By: "bob", Channel: "sms", Note: "3s2", DedupID: "sms:SM1"})
	if err != nil || inc.Severity != "sev2" || inc.SeveritySetBy != "bob" || inc.DeferredUntil != nil || !inc.Escalation.NextAt.Equal(at(2)) {
		t.Fatalf("raise: %v %+v", err, inc)
	}
	e := inc.Timeline[len(inc.Timeline)-1]
	if e.Type != EntrySeverityChanged || e.Actor != "bob" || e.From != "sev3" || e.To != "sev2" || e.Note != "3s2" {
		t.Fatalf("entry %+v", e)
	}
	// A retried reply acts once.
	if _, err := s.ApplySeverityChange(at(3), &SeverityChange{Incident: id, Severity: "sev2", By: "bob", DedupID: "sms:SM1"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("retry: %v", err)
	}
	// The person's severity stands over the alerts'.
	s.ApplyAlertGroup(at(4), clone(t, deferredGroup(at(600), alert("a", "firing", "sev1"))))
	if inc := mustGet(t, s, id); inc.Severity != "sev2" {
		t.Fatalf("alerts overrode the person's severity: %s", inc.Severity)
	}
	s.ApplyAction(at(5), &Action{Incident: id, Kind: Resolve, By: "bob"})
	if _, err := s.ApplySeverityChange(at(6), &SeverityChange{Incident: id, Severity: "sev1", By: "bob"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("resolved: %v", err)
	}
}

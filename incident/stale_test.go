package incident

import (
	"strings"
	"testing"
)

// TestStaleResolvedAlertJoinsNoNewIncident: after a group's incident is
// resolved, Prometheus re-sends the resolved alert and Alertmanager puts it in
// the group's next notification next to the alert that fires now. The new
// incident holds only the firing alert (it said "2 alerts" with one firing),
// and a later notification still carrying the stale alert does not add it.
func TestStaleResolvedAlertJoinsNoNewIncident(t *testing.T) {
	group := currentGroup
	s := NewState()
	s.ApplyAlertGroup(at(0), group("checkout", keyA, "firing", alert("a", "firing", "sev1")))
	s.ApplyAlertGroup(at(1), group("checkout", keyA, "resolved", alert("a", "resolved", "sev1")))
	if inc := mustGet(t, s, 1); inc.Status != Resolved {
		t.Fatalf("first incident %s", inc.Status)
	}

	res := s.ApplyAlertGroup(at(2), group("checkout", keyA, "firing", alert("a", "resolved", "sev1"), alert("b", "firing", "sev3")))
	if res.Incident != 2 || !res.Created {
		t.Fatalf("result %+v", res)
	}
	res = s.ApplyAlertGroup(at(3), group("checkout", keyA, "firing", alert("b", "firing", "sev3"), alert("a", "resolved", "sev1")))
	if res.Incident != 2 || res.Created {
		t.Fatalf("result %+v", res)
	}
	checkInvariants(t, s)
	inc := mustGet(t, s, 2)
	if alertStatuses(inc) != "b=firing" || inc.AlertCount != 1 || inc.Severity != "sev3" {
		t.Fatalf("new incident: alerts %s count %d severity %s", alertStatuses(inc), inc.AlertCount, inc.Severity)
	}
	if got := strings.Join(entryTypes(inc), ","); got != "triggered,alert_added" {
		t.Fatalf("timeline %s", got)
	}

	// A resolved-only notification of an unknown alert opens nothing either.
	res = s.ApplyAlertGroup(at(4), group("checkout", keyB, "firing", alert("c", "resolved", "sev1")))
	if res.Incident != 0 || s.Len() != 2 {
		t.Fatalf("resolved alert opened an incident: %+v", res)
	}
}

// TestTitleFollowsTheSource: the title of an open incident follows the
// source's latest summary (Alertmanager's pagerduty_configs counts the
// group's alerts in it), and stops changing once the incident is resolved.
func TestTitleFollowsTheSource(t *testing.T) {
	group := currentGroup
	s := NewState()
	trigger := func(summary string) {
		e := event(ActionTrigger, "g1", "sev1")
		e.RulesVersion = RulesCurrent
		e.Alert.Annotations["summary"] = summary
		s.ApplyEvent(at(0), e)
	}
	trigger("[FIRING:1] HighErrorRate checkout")
	trigger("[FIRING:2] HighErrorRate checkout")
	if got := mustGet(t, s, 1).Title; got != "[FIRING:2] HighErrorRate checkout" {
		t.Fatalf("event title %q", got)
	}

	g := group("checkout", keyA, "firing", alert("a", "firing", "sev1"))
	s.ApplyAlertGroup(at(1), g)
	g = group("checkout", keyA, "firing", alert("a", "firing", "sev1"), alert("b", "firing", "sev1"))
	g.Title = "High error rate on 2 instances"
	s.ApplyAlertGroup(at(2), g)
	if got := mustGet(t, s, 2).Title; got != "High error rate on 2 instances" {
		t.Fatalf("group title %q", got)
	}
	g = group("checkout", keyA, "resolved", alert("a", "resolved", "sev1"), alert("b", "resolved", "sev1"))
	g.Title = "something else"
	s.ApplyAlertGroup(at(3), g)
	if got := mustGet(t, s, 2).Title; got != "High error rate on 2 instances" {
		t.Fatalf("a resolved payload changed the title to %q", got)
	}
}

// currentGroup is a group as the router builds it now, with RulesCurrent.
func currentGroup(service, key, status string, alerts ...Alert) *AlertGroup {
	g := group(service, key, status, alerts...)
	g.RulesVersion = RulesCurrent
	return g
}

// TestCommandsBeforeRulesVersionApplyAsBefore: a log entry written before
// rules version 1 is replayed exactly as the old binary applied it (the
// stale resolved alert joins, the title stays), so a node that replays its
// log after an upgrade reaches the state its peers reached live.
func TestCommandsBeforeRulesVersionApplyAsBefore(t *testing.T) {
	s := NewState()
	s.ApplyAlertGroup(at(0), group("checkout", keyA, "firing", alert("a", "firing", "sev1")))
	s.ApplyAlertGroup(at(1), group("checkout", keyA, "resolved", alert("a", "resolved", "sev1")))
	g := group("checkout", keyA, "firing", alert("a", "resolved", "sev1"), alert("b", "firing", "sev3"))
	s.ApplyAlertGroup(at(2), g)
	g = group("checkout", keyA, "firing", alert("b", "firing", "sev3"))
	g.Title = "new title"
	s.ApplyAlertGroup(at(3), g)
	inc := mustGet(t, s, 2)
	if alertStatuses(inc) != "a=resolved,b=firing" || inc.Title != "High error rate" {
		t.Fatalf("old command applied differently: alerts %s title %q", alertStatuses(inc), inc.Title)
	}
	if got := strings.Join(entryTypes(inc), ","); got != "triggered,alert_resolved,alert_added" {
		t.Fatalf("timeline %s", got)
	}
}

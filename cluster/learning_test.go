package cluster

import (
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
)

// Resolving a sev1 in a batch drafts its postmortem in the same apply; the
// follow-ups, postmortem and reminder records survive a snapshot and
// restore, and a refused command changes nothing.
func TestLearningApplyAndSnapshot(t *testing.T) {
	f, now := overrideFSM(t)
	alert := incident.Alert{Fingerprint: "fp1", Status: "firing", Labels: map[string]string{"alertname": "Down"}, StartsAt: now, Severity: "sev1"}
	applyAt(t, f, 2, now, mustCommand(t, TypeAlertGroup, &incident.AlertGroup{Integration: "prometheus", Service: "checkout",
		GroupKey: "g1", Status: "firing", Title: "Down", Alerts: []incident.Alert{alert}}))
	resolvedAt := now.Add(time.Hour)
	r := applyAt(t, f, 3, resolvedAt, mustCommand(t, TypeAction, &incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice"}))
	if r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	var p learning.Postmortem
	var ok bool
	f.ReadLearning(func(st *learning.State) { p, ok = st.Postmortem(1) })
	if !ok || p.Status != learning.StatusDraft || !p.DueAt.Equal(resolvedAt.Add(5*24*time.Hour)) {
		t.Fatalf("postmortem %v %+v", ok, p)
	}
	r = applyAt(t, f, 4, resolvedAt, mustCommand(t, TypeFollowupAdd, &learning.FollowupAdd{Incident: 1, Title: "x", Owner: "mallory"}),
		mustCommand(t, TypeFollowupAdd, &learning.FollowupAdd{Incident: 1, Title: "Add an alert", Owner: "bob"}))
	if r[0].Err == nil || r[1].Err != nil {
		t.Fatalf("results %+v", r)
	}
	data := snapshotBytes(t, f)
	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
		t.Fatal(err)
	}
	var fus []learning.Followup
	g.ReadLearning(func(st *learning.State) {
		fus = st.ListFollowups(learning.Filter{Status: "all"})
		_, ok = st.Postmortem(1)
	})
	if len(fus) != 1 || fus[0].ID != "INC-1-F1" || fus[0].Owner != "bob" || !ok {
		t.Fatalf("after restore: %+v, postmortem %v", fus, ok)
	}
}

package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/escalation"
	"github.com/pagerd/pagerd/incident"
)

// firstStepConfig pages alice and whoever the ops rotation has on call
// (bob) by email at once.
const firstStepConfig = `
timezone: UTC
users:
  - {id: alice, email: alice@example.com, notify: [{via: email, after: 0m}]}
  - {id: bob, email: bob@example.com, notify: [{via: email, after: 0m}]}
rotations:
  - {id: ops, participants: [bob], shift: 1w, start: "2026-11-02 00:00"}
policies:
  - id: page
    steps:
      - {notify: [user:alice, rotation:ops], escalate_after: 5m}
services:
  - {id: checkout, name: Checkout, policy: page}
channels:
  email: {smtp: "127.0.0.1:25", from: "pagerd@example.com", reply_domain: "reply.example.com"}
`

// startPlanningNode is a node whose leader plans step 0 into triggers, as
// the daemon runs, with firstStepConfig committed.
func startPlanningNode(t *testing.T) *Node {
	t.Helper()
	n, _ := startNodeWith(t, time.Now, func(o *Options) {
		o.FirstSteps = escalation.NewFirstStepPlanner()
		o.SeedConfig = func() (*ConfigCommand, error) {
			return CaptureConfig([]config.Source{{Name: "c.yaml", Data: []byte(firstStepConfig)}}, func(string) (string, bool) { return "", false })
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for n.fsm.Config() == nil {
		if time.Now().After(deadline) {
			t.Fatal("seed config not committed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

func pageTrigger(key string) *incident.Event {
	return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: key, Policy: "page",
		RulesVersion: incident.RulesCurrent, Alert: incident.Alert{Annotations: map[string]string{"summary": key}, Severity: "sev1"}}
}

// loggedCommands decodes the commands of the log entries after index from.
func loggedCommands(t *testing.T, n *Node, from uint64) []command {
	t.Helper()
	var out []command
	for i := from + 1; i <= n.raft.LastIndex(); i++ {
		var l raft.Log
		if err := n.store.GetLog(i, &l); err != nil {
			t.Fatal(err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		b, err := decodeBatch(l.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Commands...)
	}
	return out
}

func readIncident(n *Node, id uint64) *incident.Incident {
	var inc *incident.Incident
	n.fsm.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(id) })
	return inc
}

// Issue 18: a trigger that opens an incident which pages now records its
// pages in its own commit: one log entry, one command (no step start
// after it), and the pages are queued, named and due when it returns.
func TestTriggerRecordsItsFirstPagesInOneCommit(t *testing.T) {
	n := startPlanningNode(t)
	from := n.raft.LastIndex()
	r, err := n.SubmitEvent(context.Background(), pageTrigger("a"))
	if err != nil || !r.Created {
		t.Fatalf("trigger: %+v %v", r, err)
	}
	cmds := loggedCommands(t, n, from)
	if len(cmds) != 1 || cmds[0].Type != TypeEvent || cmds[0].Version != firstStepEventVersion || !strings.Contains(string(cmds[0].Body), `"first_step"`) {
		t.Fatalf("logged %d commands after the trigger (%+v); want the trigger alone, event version %d with its first step", len(cmds), cmds, firstStepEventVersion)
	}
	inc := readIncident(n, r.Incident)
	esc := inc.Escalation
	if esc.Seq != 1 || esc.StepStartedAt == nil || !esc.StepStartedAt.Equal(inc.CreatedAt) || !esc.NextAt.Equal(inc.CreatedAt.Add(5*time.Minute)) {
		t.Fatalf("escalation after the trigger: %+v", esc)
	}
	var got []string
	for _, p := range inc.Notifications {
		if p.Status != incident.NotifyQueued || p.DueAt.After(inc.CreatedAt) {
			t.Fatalf("page not queued and due: %+v", p)
		}
		got = append(got, p.ID+" "+p.User)
	}
	if want := "n1-1-0 alice,n1-1-1 bob"; strings.Join(got, ",") != want {
		t.Fatalf("pages %v; want %s", got, want)
	}
	// A repeat only updates the incident: no plan is written into it.
	from = n.raft.LastIndex()
	if _, err := n.SubmitEvent(context.Background(), pageTrigger("a")); err != nil {
		t.Fatal(err)
	}
	if cmds := loggedCommands(t, n, from); len(cmds) != 1 || strings.Contains(string(cmds[0].Body), `"first_step"`) {
		t.Fatalf("repeat trigger logged %+v; want one event without a plan", cmds)
	}
}

// While a member does not apply event version 5 (alert_group 4), the
// leader writes version 4 (3) without the plan, and the engine plans step
// 0 as before; once the member announces it, the plan is written.
func TestFirstStepWaitsForTheGate(t *testing.T) {
	n := startPlanningNode(t)
	ctx := context.Background()
	if err := n.raft.AddNonvoter("old", "127.0.0.1:1", 0, 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	announce := func(event, group uint8) {
		t.Helper()
		versions := CommandVersions()
		versions["event"], versions["alert_group"] = event, group
		if _, err := n.Submit(ctx, TypeNodeMeta, NodeMeta{ID: "old", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:1", Version: "prev", Commands: versions}); err != nil {
			t.Fatal(err)
		}
	}
	announce(firstStepEventVersion-1, firstStepAlertGroupVersion-1)

	from := n.raft.LastIndex()
	r, err := n.SubmitEvent(ctx, pageTrigger("b"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.SubmitAlertGroup(ctx, &incident.AlertGroup{Integration: "am", Service: "checkout", GroupKey: "g", Status: "firing", Title: "Down",
		Policy: "page", RulesVersion: incident.RulesCurrent, Alerts: []incident.Alert{{Fingerprint: "f", Status: "firing", Severity: "sev1"}}})
	if err != nil {
		t.Fatal(err)
	}
	cmds := loggedCommands(t, n, from)
	if len(cmds) != 2 || cmds[0].Version != firstStepEventVersion-1 || cmds[1].Version != firstStepAlertGroupVersion-1 ||
		strings.Contains(string(cmds[0].Body)+string(cmds[1].Body), "first_step") {
		t.Fatalf("with a member lacking the plan the leader logged %+v; want event 4 and alert_group 3 without it", cmds)
	}
	for _, id := range []uint64{r.Incident, g.Incident} {
		if inc := readIncident(n, id); inc.Escalation.Started() || inc.Escalation.NextAt == nil || len(inc.Notifications) != 0 {
			t.Fatalf("INC-%d started paging without the plan: %+v", id, inc.Escalation)
		}
	}

	announce(firstStepEventVersion, firstStepAlertGroupVersion)
	g, err = n.SubmitAlertGroup(ctx, &incident.AlertGroup{Integration: "am", Service: "checkout", GroupKey: "g2", Status: "firing", Title: "Down",
		Policy: "page", RulesVersion: incident.RulesCurrent, Alerts: []incident.Alert{{Fingerprint: "f", Status: "firing", Severity: "sev1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if inc := readIncident(n, g.Incident); !inc.Escalation.Started() || len(inc.Notifications) != 2 {
		t.Fatalf("gate open: the firing group did not start step 0: %+v", inc.Escalation)
	}
}

// An entry of an older version carrying a plan (a build between releases)
// applies as that version did: the plan is ignored, and so is one planned
// under a config that is no longer the active one.
func TestFirstStepOnlyFromItsVersionAndConfig(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatal(err) })
	cc, err := CaptureConfig([]config.Source{{Name: "c.yaml", Data: []byte(firstStepConfig)}}, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	cfgCmd, _ := newCommand(TypeConfig, cc)
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, cfgCmd)})
	ac := f.Config()
	set, setVersion, _ := f.Schedules()
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) // rawEntry's stamp
	plan := escalation.NewFirstStepPlanner().PlanFirstStep(ac.Config, ac.Version, set, setVersion, "page", now)
	stale := *plan
	stale.ConfigVersion = "sha256:an-earlier-config"

	entry := func(key string, v uint8, fs *incident.FirstStep) []byte {
		ev := pageTrigger(key)
		ev.FirstStep = fs
		c, err := encodeCommand(TypeEvent, v, ev)
		if err != nil {
			t.Fatal(err)
		}
		return rawEntry(t, c)
	}
	for i, c := range []struct {
		key     string
		v       uint8
		fs      *incident.FirstStep
		started bool
	}{
		{"old-version", firstStepEventVersion - 1, plan, false},
		{"other-config", firstStepEventVersion, &stale, false},
		{"current", firstStepEventVersion, plan, true},
	} {
		res := f.Apply(&raft.Log{Index: uint64(i + 2), Type: raft.LogCommand, Data: entry(c.key, c.v, c.fs)}).([]Result)
		r := res[0].Value.(incident.IngestResult)
		var inc *incident.Incident
		f.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(r.Incident) })
		if inc.Escalation.Started() != c.started {
			t.Fatalf("%s: step 0 started %v, want %v", c.key, inc.Escalation.Started(), c.started)
		}
	}
}

// The downgrades leave the plan out even when it was planned just before
// the gate closed (a member rejoined with an older binary meanwhile).
func TestDowngradesLeaveOutTheFirstStep(t *testing.T) {
	fs := &incident.FirstStep{Policy: "page", Message: "step 1"}
	ev := pageTrigger("k")
	ev.FirstStep, ev.Postmortem = fs, []string{"sev1"}
	c, err := gatedCommand(TypeEvent, firstStepEventVersion-1, []string{"old"}, ev)
	if err != nil || c.Version != firstStepEventVersion-1 || strings.Contains(string(c.Body), "first_step") || !strings.Contains(string(c.Body), "postmortem") {
		t.Fatalf("event v4: %d %s %v", c.Version, c.Body, err)
	}
	g := &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "firing", FirstStep: fs}
	c, err = gatedCommand(TypeAlertGroup, firstStepAlertGroupVersion-1, []string{"old"}, g)
	if err != nil || strings.Contains(string(c.Body), "first_step") {
		t.Fatalf("alert_group v3: %s %v", c.Body, err)
	}
	if ev.FirstStep == nil || g.FirstStep == nil {
		t.Fatal("a downgrade changed the caller's body")
	}
}

// SubmitStepStarts commits an engine pass's step starts in one log entry,
// each with its own result (a stale one fails alone).
func TestStepStartsOfOneCallShareALogEntry(t *testing.T) {
	n := startPlanningNode(t)
	n.opts.FirstSteps = nil // the engine path: step 0 left to step starts
	ctx := context.Background()
	var sts []*incident.StepStart
	for _, key := range []string{"a", "b", "c"} {
		r, err := n.SubmitEvent(ctx, pageTrigger(key))
		if err != nil {
			t.Fatal(err)
		}
		next := time.Now().Add(time.Hour)
		sts = append(sts, &incident.StepStart{Incident: r.Incident, Reason: incident.ReasonTrigger, NextAt: &next, Message: "step 1",
			Notifications: []incident.Notification{{ID: incident.NotificationID(r.Incident, 1, 0), User: "alice", Channel: incident.ChannelEmail,
				To: "alice@example.com", Status: incident.NotifyQueued, DueAt: time.Now()}}})
	}
	sts[1].ExpectSeq = 7 // planned against a state that moved on
	from := n.raft.LastIndex()
	errs := n.SubmitStepStarts(ctx, sts)
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], incident.ErrStale) {
		t.Fatalf("results %v; want the second stale, the others committed", errs)
	}
	if last := n.raft.LastIndex(); last != from+1 {
		t.Fatalf("%d log entries for one call; want 1", last-from)
	}
	if cmds := loggedCommands(t, n, from); len(cmds) != 3 || cmds[0].Type != TypeStepStart {
		t.Fatalf("logged %+v; want the 3 step starts", cmds)
	}
}

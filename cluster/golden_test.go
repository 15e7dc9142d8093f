package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/learning"
	"github.com/pagerd/pagerd/reply"
)

// Golden fixtures: testdata/entries holds one encoded log entry of every
// command type and version this or an earlier release wrote, and
// testdata/snapshots one snapshot of every snapshot format. They are written
// once, when the version is introduced (go test ./cluster -run Golden
// -golden-add writes the missing ones and never overwrites), and decoded by
// every later build: a change that breaks an old entry fails here instead of
// stopping a node in the middle of an upgrade.
var goldenAdd = flag.Bool("golden-add", false, "write missing golden fixtures under testdata/ (existing ones are never overwritten)")

var goldenNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// goldenConfig is the config of the golden entries: every command finds
// the users, schedule and service it names.
const goldenConfig = `
timezone: UTC
users:
  - {id: alice, email: alice@example.com, phone: "+31612345001"}
  - {id: bob, email: bob@example.com}
rotations:
  - {id: ops, participants: [alice, bob], shift: 1w, start: "2026-11-02 00:00"}
schedules:
  - {id: web, layers: [ops]}
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: events, key: "k-${EVENTS_SUFFIX}", service: checkout}
`

// goldenStep is one fixture entry, applied in this order to one state so
// every command finds what it acts on.
type goldenStep struct {
	t    CommandType
	v    uint8
	body func() any
	// check looks at the result of applying the entry.
	check func(t *testing.T, f *FSM, r Result)
}

func goldenSteps(snap []byte) []goldenStep {
	tp := func(s string) *time.Time { x := goldenNow.Add(mustDuration(s)); return &x }
	noErr := func(t *testing.T, _ *FSM, r Result) {
		t.Helper()
		if r.Err != nil {
			t.Fatalf("apply: %v", r.Err)
		}
	}
	sum := sha256.Sum256(snap)
	alert := incident.Alert{Fingerprint: "fp1", Status: "firing", Labels: map[string]string{"alertname": "HighLatency", "service": "checkout"},
		Annotations: map[string]string{"summary": "p99 above 2s"}, StartsAt: goldenNow.Add(-time.Minute), Severity: "sev1"}
	linked := alert
	linked.Fingerprint, linked.GeneratorURL, linked.SilenceURL = "fp2", "http://prom:9090/graph?g0.expr=up", "http://am:9093/#/silences/new"
	return []goldenStep{
		{t: TypeConfig, v: 1, body: func() any {
			return &ConfigCommand{Sources: []config.Source{{Name: "c.yaml", Data: []byte(goldenConfig)}}, Env: map[string]string{"EVENTS_SUFFIX": "secret"}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if f.Config() == nil || f.Config().Config.Integrations[0].Key != "k-secret" {
				t.Fatalf("config not applied: %+v", f.Config())
			}
		}},
		{t: TypeNodeMeta, v: 1, body: func() any {
			return &NodeMeta{ID: "n1", RaftAddr: "10.0.0.1:7000", HTTPAddr: "10.0.0.1:8080", Version: "v1.0.0 (abc123)",
				Commands: map[string]uint8{"alert_group": 2, "event": 2, "action": 1}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			if m, _ := f.Node("n1"); m.Commands["event"] != 2 || m.HTTPAddr != "10.0.0.1:8080" {
				t.Fatalf("node meta: %+v", m)
			}
		}},
		{t: TypeKeyring, v: 1, body: func() any {
			return &KeyringCommand{Keys: []reply.Key{{ID: 1, Secret: bytes.Repeat([]byte{7}, 32)}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if len(f.Keyring().Keys) != 1 {
				t.Fatalf("keyring: %+v", f.Keyring())
			}
		}},
		{t: TypeAlertGroup, v: 1, body: func() any {
			return &incident.AlertGroup{Integration: "prometheus", Service: "checkout", GroupKey: "{}:{alertname=\"HighLatency\"}",
				Status: "firing", Title: "HighLatency", Policy: "default", Alerts: []incident.Alert{alert}}
		}, check: ingestCreated(1)},
		{t: TypeAlertGroup, v: 2, body: func() any {
			return &incident.AlertGroup{Integration: "prometheus", Service: "checkout", GroupKey: "{}:{alertname=\"Down\"}",
				Status: "firing", Title: "Down", Truncated: 1, Alerts: []incident.Alert{linked}, RulesVersion: 1}
		}, check: ingestCreated(2)},
		{t: TypeEvent, v: 1, body: func() any {
			return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: "ev-1",
				Alert: incident.Alert{Annotations: map[string]string{"summary": "disk full"}, Labels: map[string]string{"source": "db1"}, Severity: "sev2"}}
		}, check: ingestCreated(3)},
		{t: TypeEvent, v: 2, body: func() any {
			return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: "ev-1", AutoResolve: true,
				Alert: incident.Alert{Annotations: map[string]string{"summary": "disk very full"}, Severity: "sev1"}, RulesVersion: 1}
		}, check: func(t *testing.T, f *FSM, r Result) {
			// Rules version 1: the open incident takes the trigger's summary.
			f.ReadIncidents(func(st *incident.State) {
				if inc, _ := st.Get(3); inc == nil || inc.Title != "disk very full" {
					t.Fatalf("event v2 did not retitle incident 3: %+v", inc)
				}
			})
		}},
		{t: TypeEvent, v: 3, body: func() any {
			return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: "ev-3", RulesVersion: 1,
				Alert:     incident.Alert{Annotations: map[string]string{"summary": "queue slow"}, Severity: "sev3"},
				Deferrals: []incident.Deferral{{Severity: "sev3", Window: "office", Until: goldenNow.Add(12 * time.Hour)}}}
		}, check: ingestCreated(4)},
		{t: TypeSeverity, v: 1, body: func() any {
			return &incident.SeverityChange{Incident: 4, Severity: "sev1", By: "alice", Channel: "api", Note: "customers notice", DedupID: "sev-1"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Severity != "sev1" {
				t.Fatalf("severity: %+v", r.Value)
			}
		}},
		{t: TypeStepStart, v: 1, body: func() any {
			return &incident.StepStart{Incident: 1, ExpectSeq: 0, Reason: incident.ReasonTrigger, NextAt: tp("5m"),
				Notifications: []incident.Notification{{ID: "1-0-0-alice-sms", User: "alice", Channel: incident.ChannelSMS, To: "+31612345001", Status: incident.NotifyQueued, DueAt: goldenNow}},
				Message:       "step 1: alice"}
		}, check: noErr},
		{t: TypeDelivery, v: 1, body: func() any {
			return &incident.Delivery{Items: []incident.DeliveryItem{{Incident: 1, Notification: "1-0-0-alice-sms", Attempt: 1, Outcome: incident.OutcomeSent, ProviderID: "SM123"}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			if d, _ := r.Value.(deliveryApplied); d.n != 1 {
				t.Fatalf("delivery applied %d items", d.n)
			}
		}},
		{t: TypeAction, v: 1, body: func() any {
			return &incident.Action{Incident: 1, Kind: incident.Ack, By: "alice", Channel: "sms", Note: "on it", DedupID: "SM999"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			// Version 1: the escalation's Seq stays, as the previous release had it.
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Status != incident.Acknowledged || inc.Escalation.Seq != 1 {
				t.Fatalf("action v1: %+v", r.Value)
			}
		}},
		// An ack timeout (version 2: with its deadline) and a flood-control
		// hold of the page it queues (version 2: outcome held).
		{t: TypeStepStart, v: 2, body: func() any {
			return &incident.StepStart{Incident: 1, ExpectSeq: 1, Reason: incident.ReasonAckTimeout, NextAt: tp("15m"), AckDeadline: tp("9500ms"),
				Notifications: []incident.Notification{{ID: "1-1-0-alice-sms", User: "alice", Channel: incident.ChannelSMS, To: "+31612345001", Status: incident.NotifyQueued, DueAt: goldenNow}},
				Message:       "step 1 again: alice"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if v, _ := r.Value.(stepStarted); v.incident != 1 {
				t.Fatalf("step start result %+v, want incident 1", r.Value)
			}
			var inc *incident.Incident
			f.ReadIncidents(func(st *incident.State) { inc, _ = st.Get(1) })
			if inc == nil || inc.Status != incident.Triggered {
				t.Fatalf("ack timeout did not retrigger: %+v", inc)
			}
		}},
		{t: TypeDelivery, v: 2, body: func() any {
			return &incident.Delivery{Items: []incident.DeliveryItem{{Incident: 1, Notification: "1-1-0-alice-sms", Attempt: 1, Outcome: incident.OutcomeHeld, HeldUntil: tp("1m")}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			if d, _ := r.Value.(deliveryApplied); d.n != 1 {
				t.Fatalf("hold applied %d items", d.n)
			}
		}},
		{t: TypeAction, v: 2, body: func() any {
			return &incident.Action{Incident: 1, Kind: incident.Ack, By: "alice", Channel: "api"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			// Version 2: an ack makes a step planned before it stale.
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Status != incident.Acknowledged || inc.Escalation.Seq != 3 {
				t.Fatalf("action v2: %+v", r.Value)
			}
		}},
		{t: TypeAction, v: 3, body: func() any {
			return &incident.Action{Incident: 4, Kind: incident.Ack, By: "alice", Channel: "sms", AckRoles: map[string][]string{"sev1": {"commander"}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			// Version 3: the ack gives the acknowledger the severity's roles.
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Roles["commander"] != "alice" {
				t.Fatalf("action v3: %+v", r.Value)
			}
		}},
		{t: TypeRole, v: 1, body: func() any {
			return &incident.RoleChange{Incident: 4, Role: "scribe", User: "bob", By: "alice", Channel: "api", Note: "take notes", DedupID: "role-1"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Roles["scribe"] != "bob" {
				t.Fatalf("role: %+v", r.Value)
			}
		}},
		{t: TypeRoleNotify, v: 1, body: func() any {
			return &incident.RoleNotify{Incident: 4, Kind: incident.KindRoleInstructions, Role: "scribe", User: "bob", Message: "instructions for bob",
				Notifications: []incident.Notification{{ID: "4-scribe-bob", User: "bob", Channel: incident.ChannelEmail, To: "bob@example.com", Status: incident.NotifyQueued, DueAt: goldenNow}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.RolesBriefed["scribe"] != "bob" {
				t.Fatalf("role notify: %+v", r.Value)
			}
		}},
		{t: TypeAction, v: 4, body: func() any {
			return &incident.Action{Incident: 4, Kind: incident.Resolve, By: "alice", Channel: "api", Note: "fixed"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			// Version 4: the resolve mails the summary to everyone paged or
			// holding a role (alice took commander, bob scribe).
			inc, _ := r.Value.(*incident.Incident)
			mails := map[string]bool{}
			for _, n := range inc.Notifications {
				if n.Kind == incident.KindSummary && n.Status == incident.NotifyQueued {
					mails[n.User] = true
				}
			}
			if inc == nil || inc.Status != incident.Resolved || !mails["alice"] || !mails["bob"] {
				t.Fatalf("action v4: %+v", r.Value)
			}
		}},
		{t: TypeSMSOptOut, v: 1, body: func() any { return &incident.SMSOptOut{Phone: "+31612345001", Off: true, DedupID: "SM1000"} },
			check: func(t *testing.T, f *FSM, r Result) {
				if r.Value != true {
					t.Fatalf("opt-out: %+v", r)
				}
			}},
		{t: TypeOverride, v: 1, body: func() any {
			return &OverrideCommand{Op: OverrideAdd, Override: RuntimeOverride{Schedule: "web", From: goldenNow, To: goldenNow.Add(8 * time.Hour),
				User: "bob", Replaces: "alice", By: "admin"}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if o, _ := r.Value.(RuntimeOverride); o.ID != "O1" || o.User != "bob" {
				t.Fatalf("override: %+v", r.Value)
			}
		}},
		{t: TypeEventProgress, v: 1, body: func() any {
			return &incident.EventProgress{Items: []incident.EventProgressItem{{Incident: 1, Webhook: "chat", Next: 1, Error: "502 from chat"}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			if r.Value != 1 {
				t.Fatalf("event progress moved %v cursors", r.Value)
			}
		}},
		{t: TypeLoginLink, v: 1, body: func() any { return &LoginLinkCommand{ID: "link-1", User: "alice"} }, check: noErr},
		{t: TypeLoginUse, v: 1, body: func() any { return &LoginUseCommand{ID: "link-1"} }, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if l, _ := r.Value.(LoginLink); l.User != "alice" {
				t.Fatalf("login use: %+v", r.Value)
			}
		}},
		{t: TypePostmortem, v: 1, body: func() any {
			return &learning.PostmortemCommand{Incident: 4, Owner: "alice", Status: learning.StatusInReview, By: "bob"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if p, _ := r.Value.(learning.Postmortem); p.Owner != "alice" || p.Status != learning.StatusInReview || p.Body == "" {
				t.Fatalf("postmortem: %+v", r.Value)
			}
		}},
		{t: TypeFollowupAdd, v: 1, body: func() any {
			return &learning.FollowupAdd{Incident: 4, Title: "Alert on queue depth", Owner: "alice", Due: goldenNow.Add(48 * time.Hour), Priority: "high", By: "bob"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if fu, _ := r.Value.(learning.Followup); fu.ID != "INC-4-F1" {
				t.Fatalf("followup add: %+v", r.Value)
			}
		}},
		{t: TypeReminderQueue, v: 1, body: func() any {
			return &learning.ReminderQueue{To: "alice", Items: []learning.ReminderRecord{{ID: "followup/INC-4-F1/2026-11-29T12:00:00Z", Kind: "followup", Ref: "INC-4-F1"}}}
		}, check: noErr},
		{t: TypeReminderOutcome, v: 1, body: func() any {
			return &learning.ReminderOutcome{IDs: []string{"followup/INC-4-F1/2026-11-29T12:00:00Z"}, Status: learning.ReminderSent}
		}, check: func(t *testing.T, f *FSM, r Result) {
			if r.Value != 1 {
				t.Fatalf("reminder outcome: %+v", r)
			}
		}},
		{t: TypeFollowupPatch, v: 1, body: func() any {
			return &learning.FollowupPatch{ID: "INC-4-F1", Status: learning.FollowupDone, Note: "done", By: "alice", Via: "email"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if fu, _ := r.Value.(learning.Followup); fu.Status != learning.FollowupDone || fu.ClosedBy != "alice" {
				t.Fatalf("followup patch: %+v", r.Value)
			}
		}},
		// Status communication (issue 14): a public update, its reminder,
		// resolves carrying the postmortem severities (alert_group 3,
		// event 4 with a final public update, action 4), an ad hoc window.
		{t: TypeUpdatePost, v: 1, body: func() any {
			return &incident.UpdatePost{Incident: 3, Audience: incident.AudiencePublic, Phase: incident.PhaseIdentified,
				Message: "Queue consumers restarted", Components: map[string]string{"api": "partial_outage"}, By: "admin",
				Channel: "api", ByToken: true, NextUpdateAt: tp("0s")}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || len(inc.Updates) != 1 || inc.Phase != incident.PhaseIdentified {
				t.Fatalf("update post: %+v", r.Value)
			}
		}},
		{t: TypeUpdateReminder, v: 1, body: func() any {
			return &incident.UpdateReminder{Incident: 3, Due: goldenNow, Message: "status update overdue; reminding the comms manager: bob",
				Notifications: []incident.Notification{{ID: "u3-1-1-0", User: "bob", Channel: incident.ChannelEmail, To: "bob@example.com", Status: incident.NotifyQueued, DueAt: goldenNow}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.UpdateOverdue == nil || inc.UpdateOverdue.Reminders != 1 {
				t.Fatalf("update reminder: %+v", r.Value)
			}
		}},
		{t: TypeAlertGroup, v: 3, body: func() any {
			down := linked
			down.Status = "resolved"
			return &incident.AlertGroup{Integration: "prometheus", Service: "checkout", GroupKey: "{}:{alertname=\"Down\"}",
				Status: "resolved", Title: "Down", AutoResolve: true, Alerts: []incident.Alert{down}, RulesVersion: 1, Postmortem: []string{"sev1", "sev2"}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			f.ReadIncidents(func(st *incident.State) {
				if inc, _ := st.Get(2); inc == nil || inc.Status != incident.Resolved {
					t.Fatalf("alert_group v3 did not resolve incident 2: %+v", inc)
				}
			})
		}},
		{t: TypeEvent, v: 4, body: func() any {
			return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionResolve, DedupKey: "ev-1", AutoResolve: true,
				RulesVersion: 1, Postmortem: []string{"sev1", "sev2"}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			f.ReadIncidents(func(st *incident.State) {
				inc, _ := st.Get(3)
				if inc == nil || inc.Status != incident.Resolved || len(inc.Updates) != 2 || inc.Updates[1].Message != "Service restored; a postmortem will follow." {
					t.Fatalf("event v4 did not resolve incident 3 with a final update: %+v", inc)
				}
			})
		}},
		{t: TypeAction, v: 5, body: func() any {
			return &incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice", Channel: "api", Postmortem: []string{"sev1", "sev2"}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if inc, _ := r.Value.(*incident.Incident); inc == nil || inc.Status != incident.Resolved {
				t.Fatalf("action v5: %+v", r.Value)
			}
		}},
		// Issue 18: the leader's plan of step 0 inside the trigger (event 5)
		// and the firing group (alert_group 4): the step starts in the same
		// apply, its times counted from the stamped time.
		{t: TypeEvent, v: 5, body: func() any {
			return &incident.Event{Integration: "events", Service: "checkout", Action: incident.ActionTrigger, DedupKey: "ev-5", Policy: "default",
				RulesVersion: 3, Alert: incident.Alert{Annotations: map[string]string{"summary": "cart errors"}, Severity: "sev1"},
				FirstStep: goldenFirstStep(incident.PlannedPage{User: "alice", Channel: incident.ChannelEmail, To: "alice@example.com"})}
		}, check: goldenFirstStepStarted(5, incident.ChannelEmail)},
		{t: TypeAlertGroup, v: 4, body: func() any {
			queue := alert
			queue.Fingerprint, queue.Labels = "fp5", map[string]string{"alertname": "QueueStuck", "service": "checkout"}
			return &incident.AlertGroup{Integration: "prometheus", Service: "checkout", GroupKey: "{}:{alertname=\"QueueStuck\"}",
				Status: "firing", Title: "QueueStuck", Policy: "default", Alerts: []incident.Alert{queue}, RulesVersion: 3,
				FirstStep: goldenFirstStep(incident.PlannedPage{User: "alice", Channel: incident.ChannelSMS, To: "+31612345001"})}
		}, check: goldenFirstStepStarted(6, incident.ChannelSMS)},
		{t: TypeMaintenance, v: 1, body: func() any {
			return &MaintenanceCommand{Op: MaintenanceStart, By: "admin", Window: config.MaintenanceWindow{Services: []string{"checkout"},
				From: goldenNow, To: goldenNow.Add(time.Hour), Reason: "db upgrade", By: "admin", Allow: []string{"sev1"}}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if w, _ := r.Value.(config.MaintenanceWindow); w.ID != "mw1" {
				t.Fatalf("maintenance: %+v", r.Value)
			}
		}},
		{t: TypeSubscribe, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Email: "ann@example.com"} },
			check: func(t *testing.T, f *FSM, r Result) {
				noErr(t, f, r)
				if _, ok := f.Subscriber("public", "ann@example.com"); !ok {
					t.Fatal("subscribe stored nothing")
				}
			}},
		{t: TypeSubscribeMailed, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Email: "ann@example.com"} },
			check: func(t *testing.T, f *FSM, r Result) {
				if s, _ := f.Subscriber("public", "ann@example.com"); s.ConfirmSentAt == nil {
					t.Fatalf("subscribe_mailed: %+v", s)
				}
			}},
		{t: TypeSubscribeConfirm, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Email: "ann@example.com"} },
			check: func(t *testing.T, f *FSM, r Result) {
				noErr(t, f, r)
				if s, _ := f.Subscriber("public", "ann@example.com"); !s.Confirmed() || s.Seq != 1 {
					t.Fatalf("subscribe_confirm: %+v", s)
				}
			}},
		{t: TypeFanoutStart, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Update: "INC-1-U1", Incident: 1} },
			check: func(t *testing.T, f *FSM, r Result) {
				if b, next := f.FanoutBatch("public", "INC-1-U1", 10); len(b) != 1 || next != 2 {
					t.Fatalf("fanout_start: %+v next %d", b, next)
				}
			}},
		{t: TypeFanoutProgress, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Update: "INC-1-U1", Next: 2} },
			check: func(t *testing.T, f *FSM, r Result) {
				if len(f.Fanouts()) != 0 {
					t.Fatalf("fanout_progress left it open: %+v", f.Fanouts())
				}
			}},
		{t: TypeUnsubscribe, v: 1, body: func() any { return &SubscriberCommand{Page: "public", Email: "ann@example.com"} },
			check: func(t *testing.T, f *FSM, r Result) {
				if _, ok := f.Subscriber("public", "ann@example.com"); ok {
					t.Fatal("unsubscribe left the subscriber")
				}
			}},
		{t: TypePurge, v: 1, body: func() any {
			return &incident.Purge{Cutoff: goldenNow.Add(time.Hour), IDs: []uint64{1, 2, 3}}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			removed, ok := r.Value.(int)
			left := 0
			f.ReadIncidents(func(st *incident.State) {
				for id := uint64(1); id <= 3; id++ {
					if inc, ok := st.Get(id); ok && inc.Status == incident.Resolved {
						left++
					}
				}
			})
			if !ok || removed < 0 || left != 0 {
				t.Fatalf("purge removed %v; %d resolved incidents left among those it named", r.Value, left)
			}
		}},
		// Continuity (continuity.go). The golden config predates heartbeats
		// and drills, so these are refused as unknown, changing nothing:
		// what they pin is that the bodies decode strictly and apply alike.
		{t: TypeHeartbeat, v: 1, body: func() any {
			return &HeartbeatCommand{ID: "backup", Op: HeartbeatDown, Source: "api", LastPing: tp("-1h"),
				Deferrals: []incident.Deferral{{Severity: "sev3", Window: "office", Until: goldenNow.Add(time.Hour)}}}
		}, check: goldenUnknown("no heartbeat \"backup\"")},
		{t: TypeDrillRun, v: 1, body: func() any {
			return &DrillRunCommand{Drill: "quarterly", ScheduledAt: goldenNow, Manual: true, By: "admin"}
		}, check: goldenUnknown("no drill \"quarterly\"")},
		{t: TypeDrillResult, v: 1, body: func() any {
			return &DrillResultCommand{Run: "quarterly@20261129T120000Z", Result: DrillRun{Status: DrillPassed, AckedBy: "alice", StepReached: 1}}
		}, check: goldenUnknown("no drill run \"quarterly@20261129T120000Z\"")},
		// Plan reviews (reviews.go): recorded against the config version.
		{t: TypeReview, v: 1, body: func() any {
			return &ReviewCommand{Service: "checkout", By: "carol", Note: "plan still good", Via: "api"}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			rv, ok := r.Value.(Review)
			if !ok || rv.Service != "checkout" || rv.By != "carol" || rv.ConfigVersion == "" || rv.At.Before(goldenNow) {
				t.Fatalf("review: %+v", r.Value)
			}
			if len(f.Reviews("checkout")) != 1 {
				t.Fatal("review not recorded")
			}
		}},
		{t: TypeRestoreChunk, v: 1, body: func() any { return &RestoreChunk{ID: "r1", Seq: 0, Data: snap} }, check: noErr},
		{t: TypeRestoreCommit, v: 1, body: func() any {
			return &RestoreCommit{ID: "r1", Chunks: 1, Size: len(snap), SHA256: hex.EncodeToString(sum[:])}
		}, check: func(t *testing.T, f *FSM, r Result) {
			noErr(t, f, r)
			if a, _ := r.Value.(RestoreApplied); a.Incidents != 2 {
				t.Fatalf("restore commit: %+v", r.Value)
			}
		}},
		{t: TypeRestoreAbort, v: 1, body: func() any { return &RestoreAbort{ID: "r2"} }, check: noErr},
		{t: TypeNodeRemove, v: 1, body: func() any { return &NodeMeta{ID: "n1"} }, check: func(t *testing.T, f *FSM, r Result) {
			if _, ok := f.Node("n1"); ok {
				t.Fatal("node_remove left the member")
			}
		}},
	}
}

// goldenFirstStep is a plan of step 0 of policy "default" under the
// golden config, paging as p says.
func goldenFirstStep(p incident.PlannedPage) *incident.FirstStep {
	return &incident.FirstStep{Policy: "default", NextAfter: 5 * time.Minute, Pages: []incident.PlannedPage{p},
		ConfigVersion: config.Version([]config.Source{{Name: "c.yaml", Data: []byte(goldenConfig)}}, map[string]string{"EVENTS_SUFFIX": "secret"}),
		Message:       "step 1 of 1 (loop 1 of 1) of policy default: paging alice (" + p.Channel + " now)"}
}

// goldenFirstStepStarted: the command opened incident id with step 0
// started in its apply, its page queued on channel, due at the stamped
// time, the next step 5 minutes on.
func goldenFirstStepStarted(id uint64, channel string) func(t *testing.T, f *FSM, r Result) {
	return func(t *testing.T, f *FSM, r Result) {
		t.Helper()
		ingestCreated(id)(t, f, r)
		f.ReadIncidents(func(st *incident.State) {
			inc, _ := st.Get(id)
			esc := inc.Escalation
			if esc.Seq != 1 || esc.StepStartedAt == nil || !esc.StepStartedAt.Equal(inc.CreatedAt) || !esc.NextAt.Equal(inc.CreatedAt.Add(5*time.Minute)) {
				t.Fatalf("step 0 not started in the apply: %+v", esc)
			}
			n := inc.Notifications
			if len(n) != 1 || n[0].ID != incident.NotificationID(id, 1, 0) || n[0].Channel != channel || n[0].Status != incident.NotifyQueued ||
				!n[0].DueAt.Equal(inc.CreatedAt) || (channel == incident.ChannelSMS) != (n[0].ReplyCode != 0) {
				t.Fatalf("page of step 0: %+v", n)
			}
		})
	}
}

// goldenUnknown: refused as not found with msg, and no continuity state.
func goldenUnknown(msg string) func(t *testing.T, f *FSM, r Result) {
	return func(t *testing.T, f *FSM, r Result) {
		t.Helper()
		if !errors.Is(r.Err, incident.ErrNotFound) || !strings.Contains(r.Err.Error(), msg) {
			t.Fatalf("apply: %v, want not found: %s", r.Err, msg)
		}
		if len(f.HeartbeatStates()) != 0 || len(f.DrillRuns("")) != 0 {
			t.Fatal("a refused continuity command left state")
		}
	}
}

func ingestCreated(id uint64) func(t *testing.T, f *FSM, r Result) {
	return func(t *testing.T, f *FSM, r Result) {
		t.Helper()
		if got, _ := r.Value.(incident.IngestResult); !got.Created || got.Incident != id {
			t.Fatalf("ingest: %+v, want incident %d created", r.Value, id)
		}
	}
}

func mustDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return d
}

func entryPath(t CommandType, v uint8) string {
	return filepath.Join("testdata", "entries", fmt.Sprintf("%s.v%d.entry", t, v))
}

// goldenFile returns the fixture at path, writing it from make first when
// -golden-add is set and the file is missing.
func goldenFile(t *testing.T, path string, make func() []byte) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && *goldenAdd {
		data = make()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote new golden fixture %s", path)
		return data
	}
	if err != nil {
		t.Fatalf("golden fixture %s: %v (a new command type or version needs one: go test ./cluster -run Golden -golden-add)", path, err)
	}
	return data
}

// Every command type and version of the registry has a fixture, every
// fixture decodes strictly with this binary and applies as it did when it
// was written.
func TestGoldenEntriesDecodeAndApply(t *testing.T) {
	snap := goldenFile(t, snapshotPath(1), func() []byte { return goldenSnapshot(t) })
	steps := goldenSteps(snap)
	covered := map[string]bool{}
	for _, s := range steps {
		covered[entryPath(s.t, s.v)] = true
	}
	for _, ct := range commandTypes() {
		for v := uint8(1); v <= lookup(ct).version; v++ {
			if !covered[entryPath(ct, v)] {
				t.Errorf("%s version %d has no golden step: add one to goldenSteps", ct, v)
			}
		}
	}
	// A fixture no step reads is a type or version this binary dropped: old
	// logs holding it would stop the node.
	files, _ := filepath.Glob(filepath.Join("testdata", "entries", "*.entry"))
	for _, p := range files {
		if !covered[p] {
			t.Errorf("fixture %s belongs to no registered command type and version", p)
		}
	}
	f := NewFSM(func(err error) { t.Fatalf("fatal: %v", err) })
	for i, s := range steps {
		path := entryPath(s.t, s.v)
		data := goldenFile(t, path, func() []byte {
			c, err := encodeCommand(s.t, s.v, s.body())
			if err != nil {
				t.Fatal(err)
			}
			c.RequestID = fmt.Sprintf("golden-%d", i+1)
			b, err := encodeBatch(&batch{Now: goldenNow.Add(time.Duration(i) * time.Second), Commands: []command{c}})
			if err != nil {
				t.Fatal(err)
			}
			return b
		})
		t.Run(filepath.Base(path), func(t *testing.T) {
			out := f.Apply(&raft.Log{Index: uint64(i + 1), Type: raft.LogCommand, Data: data}).([]Result)
			if len(out) != 1 {
				t.Fatalf("%d results", len(out))
			}
			s.check(t, f, out[0])
		})
	}
}

func snapshotPath(format int) string {
	return filepath.Join("testdata", "snapshots", fmt.Sprintf("format%d.snap", format))
}

// goldenSnapshot is a small state in the current snapshot format.
func goldenSnapshot(t *testing.T) []byte {
	f := NewFSM(func(err error) { t.Fatal(err) })
	cfg, _ := newCommand(TypeConfig, &ConfigCommand{Sources: []config.Source{{Name: "c.yaml", Data: []byte(testConfig)}}, Env: map[string]string{"EVENTS_SUFFIX": "snap"}})
	meta, _ := newCommand(TypeNodeMeta, &NodeMeta{ID: "old-1", RaftAddr: "10.0.0.9:7000", HTTPAddr: "10.0.0.9:8080"})
	key, _ := newCommand(TypeKeyring, &KeyringCommand{Keys: []reply.Key{{ID: 3, Secret: bytes.Repeat([]byte{9}, 32)}}})
	data := rawEntry(t, cfg, meta, key, trigger(t, "snap-a"), trigger(t, "snap-b"))
	f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
	return snapshotBytes(t, f)
}

// Every snapshot format decodes with this binary, config included.
func TestGoldenSnapshotsRestore(t *testing.T) {
	goldenFile(t, snapshotPath(snapshotFormat), func() []byte { return goldenSnapshot(t) })
	files, _ := filepath.Glob(filepath.Join("testdata", "snapshots", "*.snap"))
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no snapshot fixtures")
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := ValidateSnapshot(bytes.NewReader(data)); err != nil {
				t.Fatalf("validate: %v", err)
			}
			f := NewFSM(func(err error) { t.Fatal(err) })
			if err := f.Restore(io.NopCloser(bytes.NewReader(data))); err != nil {
				t.Fatalf("restore: %v", err)
			}
			f.ReadIncidents(func(st *incident.State) {
				first, _ := st.Get(1)
				if st.Len() != 2 || first == nil || !strings.Contains(first.Title, "snap-a") {
					t.Fatalf("restored %d incidents, first %+v", st.Len(), first)
				}
			})
			if ac := f.Config(); ac == nil || ac.Config.Integrations[0].Key != "k-snap" {
				t.Fatalf("config: %+v", ac)
			}
			if m, ok := f.Node("old-1"); !ok || m.HTTPAddr != "10.0.0.9:8080" {
				t.Fatalf("members: %v", f.Nodes())
			}
			if len(f.Keyring().Keys) != 1 {
				t.Fatalf("keyring: %+v", f.Keyring())
			}
		})
	}
}

// FuzzDecodeBatch: whatever bytes a log entry holds, decoding never panics,
// and an entry that decodes applies to an empty state without panicking
// (an apply error is a result, not a crash).
func FuzzDecodeBatch(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "entries", "*.entry"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte{1, 1, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeBatch(data)
		if err != nil {
			return
		}
		if len(b.bodies) != len(b.Commands) {
			t.Fatalf("%d bodies for %d commands", len(b.bodies), len(b.Commands))
		}
		fsm := NewFSM(func(err error) { t.Fatalf("fatal after a successful decode: %v", err) })
		fsm.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data})
	})
}

// Every CommandType constant of command.go has a registry entry: a type
// added without one could be neither written nor applied.
func TestEveryCommandTypeIsRegistered(t *testing.T) {
	file, err := parser.ParseFile(token.NewFileSet(), "command.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil || fmt.Sprint(vs.Type) != "CommandType" {
			return true
		}
		for i, name := range vs.Names {
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !ok {
				t.Fatalf("%s: value is not a literal", name.Name)
			}
			v, err := strconv.Atoi(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			found++
			if lookup(CommandType(v)) == nil {
				t.Errorf("%s (%d) has no registry entry (registry.go)", name.Name, v)
			}
		}
		return true
	})
	if found != len(registry) {
		t.Errorf("command.go declares %d types, the registry has %d", found, len(registry))
	}
}

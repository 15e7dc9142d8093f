package cluster

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
)

// A resolve from a command written before summary mails existed (an action
// log entry up to version 3, an alert group with rules_version 1) replays
// as it applied then: no summary mail is queued, so a node upgraded and
// replaying its log tail does not mail summaries of long-resolved
// incidents. Current commands queue one per paged person.
func TestResolveQueuesSummaryMailOnlyFromCurrentEntries(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	mustCmd := func(typ CommandType, body any, version uint8) command {
		c, err := newCommand(typ, body)
		if err != nil {
			t.Fatal(err)
		}
		if version != 0 {
			c.Version = version
		}
		return c
	}
	page := &incident.StepStart{Incident: 1, Reason: incident.ReasonTrigger, Message: "step 1",
		Notifications: []incident.Notification{{ID: "n1-1-0", User: "alice", Channel: incident.ChannelEmail, To: "a@x", DueAt: now}}}
	alert := incident.Alert{Fingerprint: "f1", Status: "firing", Severity: "sev1", Labels: map[string]string{"alertname": "A"}}
	resolvedAlert := alert
	resolvedAlert.Status = "resolved"
	openEvent := mustCmd(TypeEvent, &incident.Event{Service: "checkout", Action: incident.ActionTrigger,
		DedupKey: "a", Policy: "p", Alert: incident.Alert{Severity: "sev1"}}, 0)
	for _, c := range []struct {
		name    string
		open    command
		resolve func(version uint8) command
		version uint8
		mails   int
	}{
		{"action v2", openEvent, func(v uint8) command {
			return mustCmd(TypeAction, incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice"}, v)
		}, 2, 0},
		{"action v3", openEvent, func(v uint8) command {
			return mustCmd(TypeAction, incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice"}, v)
		}, 3, 0},
		{"action v4", openEvent, func(v uint8) command {
			return mustCmd(TypeAction, incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice"}, v)
		}, 4, 1},
		{"alert group rules 1", mustCmd(TypeAlertGroup, &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "firing",
			AutoResolve: true, Policy: "p", Alerts: []incident.Alert{alert}}, 0), func(v uint8) command {
			return mustCmd(TypeAlertGroup, &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "resolved",
				AutoResolve: true, Alerts: []incident.Alert{resolvedAlert}, RulesVersion: int(v)}, 0)
		}, 1, 0},
		{"alert group rules 2", mustCmd(TypeAlertGroup, &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "firing",
			AutoResolve: true, Policy: "p", Alerts: []incident.Alert{alert}}, 0), func(v uint8) command {
			return mustCmd(TypeAlertGroup, &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "resolved",
				AutoResolve: true, Alerts: []incident.Alert{resolvedAlert}, RulesVersion: int(v)}, 0)
		}, 2, 1},
	} {
		f := NewFSM(func(err error) { t.Fatal(err) })
		f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, c.open, mustCmd(TypeStepStart, page, 0), c.resolve(c.version))})
		f.ReadIncidents(func(s *incident.State) {
			inc, _ := s.Get(1)
			mails := 0
			for _, n := range inc.Notifications {
				if n.Kind == incident.KindSummary {
					mails++
				}
			}
			if inc.Status != incident.Resolved || mails != c.mails {
				t.Errorf("%s: status %s with %d summary mails, want resolved with %d", c.name, inc.Status, mails, c.mails)
			}
		})
	}
}

// Until every member applies action version 4 the gate writes a resolve
// as the version they apply (no summary mails then), and refuses an impact,
// which older members would refuse as unknown while upgraded ones record it.
func TestActionDowngrade(t *testing.T) {
	resolve := &incident.Action{Incident: 1, Kind: incident.Resolve, By: "alice"}
	if c, err := gatedCommand(TypeAction, 3, []string{"n2"}, resolve); err != nil || c.Version != 3 {
		t.Fatalf("resolve for version-3 members: %+v %v", c, err)
	}
	impact := &incident.Action{Incident: 1, Kind: incident.Impact, By: "alice", StartedAt: &time.Time{}}
	_, err := gatedCommand(TypeAction, 3, []string{"n2"}, impact)
	var u *Unavailable
	if !errors.As(err, &u) || !strings.Contains(err.Error(), "n2") {
		t.Fatalf("impact for version-3 members: %v, want Unavailable naming n2", err)
	}
	if c, err := gatedCommand(TypeAction, 4, nil, impact); err != nil || c.Version != 4 {
		t.Fatalf("impact once every member applies 4: %+v %v", c, err)
	}
}

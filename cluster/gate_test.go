package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
)

func records(m map[string]NodeMeta) func(string) (NodeMeta, bool) {
	return func(id string) (NodeMeta, bool) { r, ok := m[id]; return r, ok }
}

// The leader writes alert_group version 2 and up (with the rules version) only once
// every member announced that it applies it; before, version 1 without the
// rules version, which the older members apply as they always did.
func TestGateWritesOldVersionUntilEveryMemberApplies(t *testing.T) {
	group := &incident.AlertGroup{Service: "checkout", GroupKey: "g", Status: "firing", RulesVersion: incident.RulesCurrent}
	members := map[string]NodeMeta{
		"n2": {ID: "n2", Commands: CommandVersions()},
		"n3": {ID: "n3"}, // a release from before the gate: announces nothing
	}
	v, lagging := gateVersion(TypeAlertGroup, []string{"n2", "n3", "n4"}, records(members))
	if v != 1 || strings.Join(lagging, ",") != "n3,n4" {
		t.Fatalf("gate: version %d, lagging %v; want 1, [n3 n4]", v, lagging)
	}
	c, err := gatedCommand(TypeAlertGroup, v, lagging, group)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 1 || strings.Contains(string(c.Body), "rules_version") {
		t.Fatalf("gate closed: wrote version %d body %s; want version 1 without rules_version", c.Version, c.Body)
	}
	if group.RulesVersion != incident.RulesCurrent {
		t.Fatal("downgrade changed the caller's body")
	}

	members["n3"] = NodeMeta{ID: "n3", Commands: CommandVersions()}
	members["n4"] = NodeMeta{ID: "n4", Commands: CommandVersions()}
	v, lagging = gateVersion(TypeAlertGroup, []string{"n2", "n3", "n4"}, records(members))
	c, err = gatedCommand(TypeAlertGroup, v, lagging, group)
	if err != nil || c.Version != lookup(TypeAlertGroup).version || len(lagging) != 0 { // the newest, whatever it is now
		t.Fatalf("gate open: version %d lagging %v err %v", c.Version, lagging, err)
	}
	var back incident.AlertGroup
	if err := json.Unmarshal(c.Body, &back); err != nil || back.RulesVersion != incident.RulesCurrent {
		t.Fatalf("gate open: body %s", c.Body)
	}
}

// A command no older version can express is refused with Unavailable (503)
// naming the members still to upgrade, and nothing is written.
func TestGateRefusesNewTypeNamingLaggingMembers(t *testing.T) {
	const typeNew CommandType = 250
	registry[typeNew] = spec("gate_test_only", 1, func(*FSM, time.Time, *struct{}) Result { return Result{} })
	defer delete(registry, typeNew)
	members := map[string]NodeMeta{"n2": {ID: "n2", Commands: CommandVersions()}, "n3": {ID: "n3"}}
	v, lagging := gateVersion(typeNew, []string{"n2", "n3"}, records(members))
	_, err := gatedCommand(typeNew, v, lagging, &struct{}{})
	var un *Unavailable
	if !errors.As(err, &un) || !strings.Contains(un.Reason, "still to upgrade: n3") || v != 0 || un.RetryAfter() < time.Second {
		t.Fatalf("err = %v; want Unavailable naming n3 only (n2 announced the type)", err)
	}
}

// A body that does not decode strictly stops the node before anything of
// its entry is applied, instead of being recorded as a failed command.
func TestUndecodableBodyStopsTheNode(t *testing.T) {
	for name, body := range map[string]string{
		"unknown field":  `{"service":"checkout","group_key":"g","status":"firing","alerts":[],"colour":"red"}`,
		"wrong type":     `{"service":5}`,
		"nested unknown": `{"service":"checkout","action":"trigger","dedup_key":"k","alert":{"labels":{},"shade":1}}`,
	} {
		t.Run(name, func(t *testing.T) {
			ct := TypeAlertGroup
			if strings.Contains(body, "dedup_key") {
				ct = TypeEvent
			}
			var fatal error
			f := NewFSM(func(err error) { fatal = err })
			bad := command{Type: ct, Version: 1, RequestID: "bad-1", Body: []byte(body)}
			f.Apply(&raft.Log{Index: 9, Type: raft.LogCommand, Data: rawEntry(t, trigger(t, "first"), bad)})
			if !errors.Is(fatal, errBadBody) || !strings.Contains(fatal.Error(), "log index 9") || !strings.Contains(fatal.Error(), "bad-1") {
				t.Fatalf("fatal = %v; want errBadBody naming index 9 and request bad-1", fatal)
			}
			f.ReadIncidents(func(st *incident.State) {
				if st.Len() != 0 {
					t.Fatalf("%d incidents applied from an entry with an undecodable body", st.Len())
				}
			})
		})
	}
}

// Version 1 bodies carry nothing a version 1 applier would drop or misread:
// no alert links, no flood-control holds; an ack timeout (which needs its
// deadline) is not expressible and waits for the gate.
func TestDowngradesLeaveOutWhatVersion1DoesNotKnow(t *testing.T) {
	ev := &incident.Event{Action: incident.ActionTrigger, DedupKey: "k", RulesVersion: 1,
		Alert: incident.Alert{GeneratorURL: "http://prom/graph", SilenceURL: "http://am/silence"}}
	c, err := gatedCommand(TypeEvent, 1, []string{"n3"}, ev)
	if err != nil || strings.Contains(string(c.Body), "http://") || strings.Contains(string(c.Body), "rules_version") {
		t.Fatalf("event v1: %s %v", c.Body, err)
	}
	d := &incident.Delivery{Items: []incident.DeliveryItem{{Incident: 1, Outcome: incident.OutcomeHeld}, {Incident: 2, Outcome: incident.OutcomeSent}}}
	c, err = gatedCommand(TypeDelivery, 1, []string{"n3"}, d)
	if err != nil || strings.Contains(string(c.Body), "held") || !strings.Contains(string(c.Body), "sent") {
		t.Fatalf("delivery v1: %s %v", c.Body, err)
	}
	at := time.Now()
	_, err = gatedCommand(TypeStepStart, 1, []string{"n3"}, &incident.StepStart{Reason: incident.ReasonAckTimeout, AckDeadline: &at})
	var un *Unavailable
	if !errors.As(err, &un) || !strings.Contains(un.Reason, "n3") {
		t.Fatalf("ack timeout v1: %v", err)
	}
	if c, err = gatedCommand(TypeStepStart, 1, []string{"n3"}, &incident.StepStart{Reason: incident.ReasonTrigger}); err != nil || c.Version != 1 {
		t.Fatalf("plain step v1: %v %v", c.Version, err)
	}
	ack := &incident.Action{Incident: 1, Kind: incident.Ack, AckRoles: map[string][]string{"sev1": {"commander"}}}
	if c, err = gatedCommand(TypeAction, 1, []string{"n3"}, ack); err != nil || c.Version != 1 || strings.Contains(string(c.Body), "ack_roles") {
		t.Fatalf("action v1: %d %s %v", c.Version, c.Body, err)
	}
	if c, err = gatedCommand(TypeAction, 2, []string{"n3"}, ack); err != nil || c.Version != 2 || strings.Contains(string(c.Body), "ack_roles") {
		t.Fatalf("action v2: %d %s %v", c.Version, c.Body, err)
	}
}

// On a real node: a member of the Raft configuration that announced no
// versions (the previous release) holds the leader to version 1 and makes
// it refuse a type that release does not know, naming the member; its
// announced record opens the gate; a later join without versions (an
// operator's) keeps what the member announced.
func TestGateOnARealNodeFollowsMemberRecords(t *testing.T) {
	n, _ := startNode(t, time.Now)
	ctx := context.Background()
	if got := n.GateVersions(); !maps.Equal(got, CommandVersions()) {
		t.Fatalf("alone, the leader writes %v; want its own versions", got)
	}
	// A member that never answers: a non-voter does not cost the quorum.
	if err := n.raft.AddNonvoter("old", "127.0.0.1:1", 0, 5*time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if v := n.GateVersions(); v["event"] != 1 || v["alert_group"] != 1 || v["severity"] != 0 {
		t.Fatalf("with a member of the previous release the leader writes %v", v)
	}
	_, err := n.SubmitSeverity(ctx, &incident.SeverityChange{Incident: 1, Severity: "sev1"})
	var un *Unavailable
	if !errors.As(err, &un) || !strings.Contains(un.Reason, "still to upgrade: old") {
		t.Fatalf("severity change with an old member: %v; want 503 naming old", err)
	}
	r, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "k",
		RulesVersion: incident.RulesCurrent, Alert: incident.Alert{Annotations: map[string]string{"summary": "first"}}})
	if err != nil || !r.Created {
		t.Fatalf("event with an old member: %+v %v", r, err)
	}
	if _, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "k",
		RulesVersion: incident.RulesCurrent, Alert: incident.Alert{Annotations: map[string]string{"summary": "second"}}}); err != nil {
		t.Fatal(err)
	}
	title := func() string {
		var s string
		n.FSM().ReadIncidents(func(st *incident.State) { inc, _ := st.Get(r.Incident); s = inc.Title })
		return s
	}
	if got := title(); got != "first" {
		t.Fatalf("written as version 1 (rules 0), a second trigger must not retitle: %q", got)
	}

	if _, err := n.Submit(ctx, TypeNodeMeta, NodeMeta{ID: "old", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:1",
		Version: "next", Commands: CommandVersions()}); err != nil {
		t.Fatal(err)
	}
	if got := n.GateVersions(); !maps.Equal(got, CommandVersions()) {
		t.Fatalf("after the member announced, the leader writes %v", got)
	}
	if _, err := n.SubmitEvent(ctx, &incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "k",
		RulesVersion: incident.RulesCurrent, Alert: incident.Alert{Annotations: map[string]string{"summary": "third"}}}); err != nil {
		t.Fatal(err)
	}
	if got := title(); got != "third" {
		t.Fatalf("written as the newest version, a trigger retitles: %q", got)
	}

	if m := n.joinMeta(JoinRequest{ID: "old", RaftAddr: "127.0.0.1:1", HTTPAddr: "127.0.0.1:2"}); m.HTTPAddr != "127.0.0.1:2" ||
		!maps.Equal(m.Commands, CommandVersions()) || m.Version != "next" {
		t.Fatalf("a join without versions would record %+v; want the new address and the announced versions", m)
	}
}

// A new node joining through a member of the previous release, whose join
// endpoint refuses the version fields as unknown (400), asks again without
// them instead of retrying the refused request forever.
func TestJoinFallsBackToTheLegacyRequest(t *testing.T) {
	bodies := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies <- string(b)
		if strings.Contains(string(b), `"commands"`) {
			http.Error(w, `{"error":"json: unknown field \"version\""}`, http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{"status":"joined"}`))
	}))
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	n, err := Open(Options{NodeID: "new", DataDir: t.TempDir(), RaftAddr: addr, HTTPAddr: "127.0.0.1:1", Join: []string{srv.URL}, ClusterSecrets: []string{"gate-test-cluster-secret-0123456789"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for i, want := range []string{`"commands"`, ""} {
		select {
		case b := <-bodies:
			if want != "" && !strings.Contains(b, want) || want == "" && strings.Contains(b, `"commands"`) {
				t.Fatalf("join request %d: %s", i+1, b)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("join request %d not sent", i+1)
		}
	}
	select {
	case b := <-bodies:
		t.Fatalf("joined, yet asked again: %s", b)
	case <-time.After(500 * time.Millisecond): // nothing to await: the absence of a request
	}
}

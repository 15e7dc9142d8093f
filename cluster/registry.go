package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/strictjson"
	"github.com/pagerd/pagerd/reply"
)

// commandSpec is everything this binary knows about one command type: its
// name, the newest version it applies and writes, how a body of each version
// is decoded and how it is applied. It is the only table of command types:
// the type's name, the version gate, the apply dispatch and the golden
// fixtures all read it, so they cannot disagree.
type commandSpec struct {
	name string
	// version is the newest version this binary applies and writes; it
	// applies every version from 1 to it.
	version uint8
	// decode reads a body of version v strictly: an unknown field, a wrong
	// type or trailing data is an error (and stops the node in apply).
	decode func(v uint8, body []byte) (any, error)
	// apply applies a decoded body. It runs under the FSM lock, reads no
	// clock or random source and has no side effect.
	apply func(f *FSM, now time.Time, v uint8, body any) Result
	// downgrade rewrites a body of the newest version as version v < version
	// for a leader whose members do not all apply the newest yet (the
	// version gate). nil, or false, when version v cannot express the
	// command: the command is then refused until every member is upgraded.
	downgrade func(body any, v uint8) (any, bool)
}

// registry maps each command type to its spec. Type values and names are
// part of the on-disk log format and of the membership metadata: never
// reuse or renumber one. A new version of a body gets a new golden fixture
// (testdata/entries) and, when older members must keep working until the
// gate opens, a downgrade to the version they apply.
var registry = map[CommandType]*commandSpec{
	// Version 2 carries the apply-rules version (incident.RulesCurrent),
	// the alerts' links (generator_url, silence_url) and the leader's paging
	// plan (deferrals, business hours); version 1 is the previous release's
	// body, applied with rules version 0. Version 3 may carry the severities
	// requiring a postmortem (the text of a resolve's final public update).
	// Version 4 may carry the leader's plan of escalation step 0
	// (first_step, firststep.go).
	TypeAlertGroup: withDowngrade(specV("alert_group", firstStepAlertGroupVersion, func(f *FSM, now time.Time, v uint8, g *incident.AlertGroup) Result {
		g.FirstStep = f.usableFirstStep(g.FirstStep, v, firstStepAlertGroupVersion)
		return Result{Value: f.incidents.ApplyAlertGroup(now, g)}
	}), downgradeAlertGroup),
	// Version 2 as alert_group's, and an acknowledgement moves the
	// escalation's seq (incident.LogV1); version 3 carries the paging plan;
	// version 4 may carry the postmortem severities, as alert_group 3;
	// version 5 the plan of escalation step 0, as alert_group 4.
	TypeEvent: withFastDecode(withDowngrade(specV("event", firstStepEventVersion, func(f *FSM, now time.Time, v uint8, e *incident.Event) Result {
		e.LogVersion = v
		e.FirstStep = f.usableFirstStep(e.FirstStep, v, firstStepEventVersion)
		return Result{Value: f.incidents.ApplyEvent(now, e)}
	}), downgradeEvent), eventFast),
	// Version 2 (same body): an ack or escalate moves the escalation's seq,
	// so a step planned before it is stale (incident.LogV1); version 3
	// (ackRolesVersion) may carry ack_roles, the roles an ack gives;
	// version 4 (incident.SummaryLogVersion): a resolve queues the
	// resolution summary mails, and the kind may be impact; version 5
	// (finalUpdateVersion) may carry a resolve's postmortem severities.
	TypeAction: withDowngrade(specV("action", finalUpdateVersion, func(f *FSM, now time.Time, v uint8, a *incident.Action) Result {
		a.LogVersion = v
		inc, err := f.incidents.ApplyAction(now, a)
		return Result{Value: inc, Err: err}
	}), downgradeAction),
	// Version 2 may carry an ack timeout's deadline (ack_deadline), which
	// apply checks; version 1 ack timeouts had none and applied at once.
	TypeStepStart: withDowngrade(specV("step_start", 2, func(f *FSM, now time.Time, v uint8, st *incident.StepStart) Result {
		st.LogVersion = v
		id, err := f.incidents.RecordStepStart(now, st)
		return Result{Value: stepStarted{incident: id}, Err: err}
	}), downgradeStepStart),
	// Version 2 may carry flood-control holds (outcome "held"), which
	// version 1 appliers took for failures.
	TypeDelivery: withFastDecode(withDowngrade(spec("delivery", 2, func(f *FSM, now time.Time, d *incident.Delivery) Result {
		return Result{Value: deliveryApplied{n: f.incidents.ApplyDelivery(now, d), d: d}}
	}), downgradeDelivery), deliveryFast),
	TypeRole: spec("role", 1, func(f *FSM, now time.Time, rc *incident.RoleChange) Result {
		inc, err := f.incidents.ApplyRoleChange(now, rc)
		return Result{Value: inc, Err: err}
	}),
	TypeRoleNotify: spec("role_notify", 1, func(f *FSM, now time.Time, rn *incident.RoleNotify) Result {
		inc, err := f.incidents.ApplyRoleNotify(now, rn)
		return Result{Value: inc, Err: err}
	}),
	TypeSMSOptOut: spec("sms_opt_out", 1, func(f *FSM, now time.Time, o *incident.SMSOptOut) Result {
		return Result{Value: f.incidents.ApplySMSOptOut(now, o)}
	}),
	TypeSeverity: spec("severity", 1, func(f *FSM, now time.Time, sc *incident.SeverityChange) Result {
		inc, err := f.incidents.ApplySeverityChange(now, sc)
		return Result{Value: inc, Err: err}
	}),
	TypeConfig: specRaw[ConfigCommand]("config", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyConfig(now, body)
	}),
	TypeNodeMeta: spec("node_meta", 1, func(f *FSM, _ time.Time, m *NodeMeta) Result {
		f.nodes[m.ID] = *m
		f.nodesGen.Add(1)
		return Result{Value: *m}
	}),
	TypeNodeRemove: spec("node_remove", 1, func(f *FSM, _ time.Time, m *NodeMeta) Result {
		delete(f.nodes, m.ID)
		f.nodesGen.Add(1)
		return Result{Value: *m}
	}),
	TypeKeyring: spec("keyring", 1, func(f *FSM, _ time.Time, k *KeyringCommand) Result {
		kr := reply.Keyring{Keys: k.Keys}
		if err := kr.Validate(); err != nil {
			return Result{Err: fmt.Errorf("keyring: %w", err)}
		}
		f.keyring = kr
		return Result{Value: len(kr.Keys)}
	}),
	TypeRestoreChunk: specRaw[RestoreChunk]("restore_chunk", 1, func(f *FSM, _ time.Time, body []byte) Result {
		return f.applyRestoreChunk(body)
	}),
	TypeRestoreCommit: specRaw[RestoreCommit]("restore_commit", 1, func(f *FSM, _ time.Time, body []byte) Result {
		return f.applyRestoreCommit(body)
	}),
	TypeRestoreAbort: specRaw[RestoreAbort]("restore_abort", 1, func(f *FSM, _ time.Time, body []byte) Result {
		return f.applyRestoreAbort(body)
	}),
	TypeOverride: specRaw[OverrideCommand]("schedule_override", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyOverride(now, body)
	}),
	TypeEventProgress: specRaw[incident.EventProgress]("event_progress", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyEventProgress(now, body)
	}),
	TypeLoginLink: specRaw[LoginLinkCommand]("login_link", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyLoginLink(now, body)
	}),
	TypeLoginUse: specRaw[LoginUseCommand]("login_use", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyLoginUse(now, body)
	}),
	// Status communication (issue 14, updates.go, maintenance.go).
	TypeUpdatePost: spec("update_post", 1, func(f *FSM, now time.Time, up *incident.UpdatePost) Result {
		inc, err := f.incidents.ApplyUpdatePost(now, up)
		return Result{Value: inc, Err: err}
	}),
	TypeUpdateReminder: spec("update_reminder", 1, func(f *FSM, now time.Time, r *incident.UpdateReminder) Result {
		inc, err := f.incidents.ApplyUpdateReminder(now, r)
		return Result{Value: inc, Err: err}
	}),
	TypeMaintenance: specRaw[MaintenanceCommand]("maintenance", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyMaintenance(now, body)
	}),
	// Retention (retention.go): the listed ids resolved at or before the
	// cutoff leave the state. No older version expresses it, so the gate
	// holds it back until every member applies it.
	TypePurge: specRaw[incident.Purge]("purge", 1, func(f *FSM, _ time.Time, body []byte) Result {
		return f.applyPurge(body)
	}),
	// Service continuity (continuity.go): these open and resolve their
	// incidents in the same apply. No older version expresses them.
	TypeHeartbeat: specRaw[HeartbeatCommand]("heartbeat", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyHeartbeat(now, body)
	}),
	TypeDrillRun: specRaw[DrillRunCommand]("drill_run", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyDrillRun(now, body)
	}),
	TypeDrillResult: specRaw[DrillResultCommand]("drill_result", 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applyDrillResult(now, body)
	}),
	// Status page subscribers and fan-outs (subscribers.go).
	TypeSubscribe:        subscriberSpec("subscribe", TypeSubscribe),
	TypeSubscribeConfirm: subscriberSpec("subscribe_confirm", TypeSubscribeConfirm),
	TypeUnsubscribe:      subscriberSpec("unsubscribe", TypeUnsubscribe),
	TypeSubscribeMailed:  subscriberSpec("subscribe_mailed", TypeSubscribeMailed),
	TypeFanoutStart:      subscriberSpec("fanout_start", TypeFanoutStart),
	TypeFanoutProgress:   subscriberSpec("fanout_progress", TypeFanoutProgress),
}

// subscriberSpec: every subscriber command has a SubscriberCommand body.
func subscriberSpec(name string, t CommandType) *commandSpec {
	return specRaw[SubscriberCommand](name, 1, func(f *FSM, now time.Time, body []byte) Result {
		return f.applySubscriberCommand(now, t, body)
	})
}

// spec is a command whose body of every version decodes into a *T.
func spec[T any](name string, version uint8, apply func(f *FSM, now time.Time, body *T) Result) *commandSpec {
	return specV(name, version, func(f *FSM, now time.Time, _ uint8, body *T) Result { return apply(f, now, body) })
}

// specV is spec for an applier that tells versions apart.
func specV[T any](name string, version uint8, apply func(f *FSM, now time.Time, v uint8, body *T) Result) *commandSpec {
	return &commandSpec{
		name: name, version: version,
		decode: func(_ uint8, body []byte) (any, error) {
			var v T
			if err := decodeStrict(body, &v); err != nil {
				return nil, err
			}
			return &v, nil
		},
		apply: func(f *FSM, now time.Time, v uint8, body any) Result { return apply(f, now, v, body.(*T)) },
	}
}

// specRaw is a command whose applier reads the raw body itself (restore and
// config appliers); the body is still checked strictly against T first, so
// a malformed one stops the node before anything is applied.
func specRaw[T any](name string, version uint8, apply func(f *FSM, now time.Time, body []byte) Result) *commandSpec {
	return &commandSpec{
		name: name, version: version,
		decode: func(_ uint8, body []byte) (any, error) {
			var v T
			if err := decodeStrict(body, &v); err != nil {
				return nil, err
			}
			return json.RawMessage(body), nil
		},
		apply: func(f *FSM, now time.Time, _ uint8, body any) Result { return apply(f, now, body.(json.RawMessage)) },
	}
}

// withFastDecode reads a body with fast first, and strictly (as before)
// when fast reports false. fast must read what it accepts to exactly what
// the strict decoder reads (its own fuzz target shows that).
func withFastDecode(s *commandSpec, fast func(body []byte) (any, bool)) *commandSpec {
	strict := s.decode
	s.decode = func(v uint8, body []byte) (any, error) {
		if b, ok := fast(body); ok {
			return b, nil
		}
		return strict(v, body)
	}
	return s
}

// eventFast reads an event body in the form the leader writes
// (incident.ParseEventJSON): every node decodes every ingested event, and
// by reflection that was most of apply's cost per event in a storm.
func eventFast(body []byte) (any, bool) { return incident.ParseEventJSON(body) }

// deliveryFast reads a delivery body in the form the leader writes
// (incident.ParseDeliveryJSON): outcomes and holds, one item per page.
func deliveryFast(body []byte) (any, bool) { return incident.ParseDeliveryJSON(body) }

func withDowngrade(s *commandSpec, d func(body any, v uint8) (any, bool)) *commandSpec {
	s.downgrade = d
	return s
}

// downgradeAlertGroup writes an alert group for members that apply version
// 1 only: without the rules version, so it applies with the rules those
// members apply (a version 1 body's rules version is 0), without the alerts'
// links, which those members would drop, and without the paging plan, which
// they would ignore: until every member is upgraded, business hours defer
// nothing and every severity pages at once, as before.
//
// Below version 4 it goes without the plan of step 0: the engine plans it,
// one commit later, as before.
func downgradeAlertGroup(body any, v uint8) (any, bool) {
	g, ok := body.(*incident.AlertGroup)
	if !ok || v < 1 || v >= firstStepAlertGroupVersion {
		return nil, false
	}
	old := *g
	old.FirstStep = nil
	if v == 3 {
		return &old, true
	}
	old.Postmortem = nil // no member can have posted an update before the gate opened
	if v == 2 {
		return &old, true
	}
	old.RulesVersion, old.Deferrals = 0, nil
	old.Alerts = make([]incident.Alert, len(g.Alerts))
	for i, a := range g.Alerts {
		old.Alerts[i] = unlinked(a)
	}
	return &old, true
}

// downgradeEvent: version 4 without the plan of step 0; version 2 without
// the paging plan; version 1 as downgradeAlertGroup's.
func downgradeEvent(body any, v uint8) (any, bool) {
	e, ok := body.(*incident.Event)
	if !ok || v < 1 || v >= firstStepEventVersion {
		return nil, false
	}
	old := *e
	old.FirstStep = nil
	if v == 4 {
		return &old, true
	}
	old.Postmortem = nil // as downgradeAlertGroup
	if v == 3 {
		return &old, true
	}
	old.Deferrals = nil
	if v == 1 {
		old.RulesVersion = 0
		old.Alert = unlinked(e.Alert)
	}
	return &old, true
}

// downgradeAction writes an action for members that apply an older
// version: without the roles an ack gives (until every member applies
// them, an ack gives none); otherwise the same body, which such a member
// applies with its version's rules (a resolve below version 4 mails no
// summary). An impact is refused until every member applies version 4.
func downgradeAction(body any, v uint8) (any, bool) {
	a, ok := body.(*incident.Action)
	if !ok || v < 1 || v >= finalUpdateVersion || (a.Kind == incident.Impact && v < incident.SummaryLogVersion) {
		// An impact needs version 4: older members would refuse it as
		// unknown while the upgraded ones record it.
		return nil, false
	}
	// Below version 4 a resolve mails no summary: until every member is
	// upgraded, a resolve sends none, as before.
	old := *a
	old.Postmortem = nil // as downgradeAlertGroup
	if v < ackRolesVersion {
		old.AckRoles = nil
	}
	return &old, true
}

func unlinked(a incident.Alert) incident.Alert {
	a.GeneratorURL, a.SilenceURL = "", ""
	return a
}

// downgradeStepStart: a step without an ack deadline is the same in
// version 1; an ack timeout needs the deadline, so it waits for the gate.
func downgradeStepStart(body any, v uint8) (any, bool) {
	st, ok := body.(*incident.StepStart)
	if !ok || v != 1 || st.AckDeadline != nil {
		return nil, false
	}
	return st, true
}

// downgradeDelivery leaves flood-control holds out: they only annotate the
// timeline, and a version 1 applier would record them as failures.
func downgradeDelivery(body any, v uint8) (any, bool) {
	d, ok := body.(*incident.Delivery)
	if !ok || v != 1 {
		return nil, false
	}
	old := incident.Delivery{Items: make([]incident.DeliveryItem, 0, len(d.Items))}
	for _, it := range d.Items {
		if it.Outcome != incident.OutcomeHeld {
			old.Items = append(old.Items, it)
		}
	}
	return &old, true
}

// decodeStrict decodes one JSON value into v, refusing fields v does not
// have and anything after the value. json.Unmarshal would silently drop a
// field this binary does not know, so a replica would apply less than the
// leader wrote and diverge without a word.
func decodeStrict(body []byte, v any) error {
	if strictjson.Decode(body, v) {
		return nil // the same, through a pooled decoder (every body on every node)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("data after the JSON value")
	}
	return nil
}

// lookup returns the spec of type t, or nil for a type this binary does not know.
func lookup(t CommandType) *commandSpec { return registry[t] }

func (t CommandType) String() string {
	if s := lookup(t); s != nil {
		return s.name
	}
	return fmt.Sprintf("type_%d", uint8(t))
}

// CommandVersions is the newest version of each command type this binary
// applies, by name: what a node announces in its membership metadata.
func CommandVersions() map[string]uint8 {
	out := make(map[string]uint8, len(registry))
	for _, s := range registry {
		out[s.name] = s.version
	}
	return out
}

// typeByName is the command type named name.
func typeByName(name string) (CommandType, bool) {
	for t, s := range registry {
		if s.name == name {
			return t, true
		}
	}
	return 0, false
}

// commandTypes lists the registered types in ascending order.
func commandTypes() []CommandType {
	out := make([]CommandType, 0, len(registry))
	for t := range registry {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

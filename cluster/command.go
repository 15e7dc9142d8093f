package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CommandType is the type byte of a replicated command.
type CommandType uint8

// Command types. Values are part of the on-disk log format: never reuse or
// renumber one; add new types with new values.
const (
	TypeAlertGroup CommandType = 10 // incident.AlertGroup
	TypeEvent      CommandType = 11 // incident.Event
	TypeAction     CommandType = 12 // incident.Action
	TypeStepStart  CommandType = 13 // incident.StepStart
	TypeDelivery   CommandType = 14 // incident.Delivery
	TypeSMSOptOut  CommandType = 15 // incident.SMSOptOut
	TypeSeverity   CommandType = 16 // incident.SeverityChange
	TypeConfig     CommandType = 20 // ConfigCommand
	TypeNodeMeta   CommandType = 21 // NodeMeta
	TypeNodeRemove CommandType = 22 // NodeMeta (only ID is read)
	TypeKeyring    CommandType = 23 // KeyringCommand
	// A restore: pieces staged in order, then swapped in at once (restore.go).
	TypeRestoreChunk  CommandType = 24 // RestoreChunk
	TypeRestoreCommit CommandType = 25 // RestoreCommit
	TypeRestoreAbort  CommandType = 26 // RestoreAbort
	TypeOverride      CommandType = 27 // OverrideCommand (runtime schedule override)
	TypeEventProgress CommandType = 28 // incident.EventProgress (event stream cursors)
	// Status communication (issue 14): 50 and up, clear of other work.
	TypeUpdatePost     CommandType = 50 // incident.UpdatePost
	TypeUpdateReminder CommandType = 51 // incident.UpdateReminder
	TypeMaintenance    CommandType = 52 // MaintenanceCommand
	// Status page subscribers and the fan-out of public updates
	// (subscribers.go); 38-39 and 53-59 are reserved for them.
	TypeSubscribe        CommandType = 38 // SubscriberCommand: a pending subscription
	TypeSubscribeConfirm CommandType = 39 // SubscriberCommand: the signed link was followed
	TypeUnsubscribe      CommandType = 53 // SubscriberCommand
	TypeSubscribeMailed  CommandType = 54 // SubscriberCommand: the confirmation mail was sent
	TypeFanoutStart      CommandType = 55 // SubscriberCommand: queue a public update for a page
	TypeFanoutProgress   CommandType = 56 // SubscriberCommand: a fan-out's cursor moved
	// One-time console sign-in links (loginlink.go).
	TypeLoginLink CommandType = 31 // LoginLinkCommand
	TypeLoginUse  CommandType = 32 // LoginUseCommand
	// Roles (issue 13.3); numbered apart from the types other branches add.
	TypeRole       CommandType = 40 // incident.RoleChange
	TypeRoleNotify CommandType = 41 // incident.RoleNotify
)

// commandVersions is the highest version of each type this binary applies. A
// log entry with an unknown type or a newer version stops the node loudly: an
// older binary that skipped it would diverge from its peers.
//
// Version 2 of event, action, step_start and delivery (issue 11): an
// acknowledgement or escalate moves the escalation seq, an ack-timeout step
// carries and is checked against its deadline, and a delivery may record a
// flood-control hold. Version-1 entries still apply by the version-1 rules
// (incident.LogV1), so a log written before the upgrade replays to the same
// state; a binary that knows only version 1 stops at a version-2 entry.
var commandVersions = map[CommandType]uint8{
	// alert_group 2 and event 3 carry the leader's paging plan (business
	// hours, `deferrals`); only commands with one are stamped so, the
	// others keep the version before (planVersions, submitIngest).
	TypeAlertGroup: 2,
	TypeEvent:      3,
	TypeStepStart:  2,
	TypeDelivery:   2,
	TypeSeverity:   1,
	// action 3 carries ack_roles (the acknowledger takes the roles without
	// a from); only an ack with some is stamped 3 (ackRolesVersion).
	TypeAction:     3,
	TypeRole:       1,
	TypeRoleNotify: 1,
	TypeSMSOptOut:  1,
	TypeKeyring:    1,
	TypeConfig:     1,
	TypeNodeMeta:   1,
	TypeNodeRemove: 1,

	TypeRestoreChunk:  1,
	TypeRestoreCommit: 1,
	TypeRestoreAbort:  1,
	TypeOverride:      1,
	TypeEventProgress: 1,

	TypeUpdatePost:     1,
	TypeUpdateReminder: 1,
	TypeMaintenance:    1,
	TypeLoginLink:      1,
	TypeLoginUse:       1,

	TypeSubscribe:        1,
	TypeSubscribeConfirm: 1,
	TypeUnsubscribe:      1,
	TypeSubscribeMailed:  1,
	TypeFanoutStart:      1,
	TypeFanoutProgress:   1,
}

// planVersions is the first version of each ingest command that may carry
// a paging plan (incident.Deferral). A command without a plan means the same
// to a binary from before business hours, so it is stamped one lower and a
// rolling upgrade does not stop older nodes on every alert; one with a plan
// stops them instead of letting them page what their peers defer.
var planVersions = map[CommandType]uint8{TypeAlertGroup: 2, TypeEvent: 3}

func (t CommandType) String() string {
	switch t {
	case TypeAlertGroup:
		return "alert_group"
	case TypeEvent:
		return "event"
	case TypeAction:
		return "action"
	case TypeStepStart:
		return "step_start"
	case TypeDelivery:
		return "delivery"
	case TypeSMSOptOut:
		return "sms_opt_out"
	case TypeSeverity:
		return "severity"
	case TypeRole:
		return "role"
	case TypeRoleNotify:
		return "role_notify"
	case TypeKeyring:
		return "keyring"
	case TypeConfig:
		return "config"
	case TypeNodeMeta:
		return "node_meta"
	case TypeNodeRemove:
		return "node_remove"
	case TypeRestoreChunk:
		return "restore_chunk"
	case TypeRestoreCommit:
		return "restore_commit"
	case TypeRestoreAbort:
		return "restore_abort"
	case TypeOverride:
		return "schedule_override"
	case TypeEventProgress:
		return "event_progress"
	case TypeUpdatePost:
		return "update_post"
	case TypeUpdateReminder:
		return "update_reminder"
	case TypeMaintenance:
		return "maintenance"
	case TypeSubscribe:
		return "subscribe"
	case TypeSubscribeConfirm:
		return "subscribe_confirm"
	case TypeUnsubscribe:
		return "unsubscribe"
	case TypeSubscribeMailed:
		return "subscribe_mailed"
	case TypeFanoutStart:
		return "fanout_start"
	case TypeFanoutProgress:
		return "fanout_progress"
	case TypeLoginLink:
		return "login_link"
	case TypeLoginUse:
		return "login_use"
	}
	return fmt.Sprintf("type_%d", uint8(t))
}

// Log entry framing: byte 0 is the entry kind, byte 1 its format version, the
// rest the encoded entry. Every entry is a batch so that many requests share
// one Raft commit (group commit).
const (
	entryBatch        byte = 1
	entryBatchVersion byte = 1
)

// batch is one Raft log entry: the leader's clock reading for all of its
// commands, and the commands in the order they are applied.
type batch struct {
	Now      time.Time `json:"now"`
	Commands []command `json:"cmds"`
}

// command is one typed command inside a batch. Body is encoded by the
// submitting goroutine so the batcher only concatenates.
type command struct {
	Type      CommandType     `json:"t"`
	Version   uint8           `json:"v"`
	RequestID string          `json:"id"`
	Body      json.RawMessage `json:"b"`
}

func newCommand(t CommandType, body any) (command, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, err)
	}
	return command{Type: t, Version: commandVersions[t], Body: b}, nil
}

func encodeBatch(b *batch) ([]byte, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	return append([]byte{entryBatch, entryBatchVersion}, body...), nil
}

// errUnknownCommand marks log data this binary cannot apply.
var errUnknownCommand = errors.New("unknown command")

func decodeBatch(data []byte) (*batch, error) {
	if len(data) < 2 || data[0] != entryBatch {
		return nil, fmt.Errorf("%w: log entry kind %v", errUnknownCommand, head(data))
	}
	if data[1] > entryBatchVersion {
		return nil, fmt.Errorf("%w: batch format version %d is newer than this binary's %d; upgrade pagerd",
			errUnknownCommand, data[1], entryBatchVersion)
	}
	var b batch
	if err := json.Unmarshal(data[2:], &b); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	for _, c := range b.Commands {
		known, ok := commandVersions[c.Type]
		if !ok {
			return nil, fmt.Errorf("%w: type %d; upgrade pagerd", errUnknownCommand, c.Type)
		}
		if c.Version > known {
			return nil, fmt.Errorf("%w: %s version %d is newer than this binary's %d; upgrade pagerd",
				errUnknownCommand, c.Type, c.Version, known)
		}
	}
	return &b, nil
}

func head(b []byte) []byte {
	if len(b) > 2 {
		return b[:2]
	}
	return b
}

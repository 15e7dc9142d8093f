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
	// Retention: the leader removes expired resolved incidents (retention.go).
	TypePurge CommandType = 30 // incident.Purge
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

// newCommand encodes body as the newest version of type t this binary
// writes. The leader goes through Node.encodeCommand instead, which applies
// the version gate.
func newCommand(t CommandType, body any) (command, error) {
	s := lookup(t)
	if s == nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, errUnknownCommand)
	}
	return encodeCommand(t, s.version, body)
}

func encodeCommand(t CommandType, v uint8, body any) (command, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, err)
	}
	return command{Type: t, Version: v, Body: b}, nil
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

// decodedBatch is a log entry with every command body decoded, ready to apply.
type decodedBatch struct {
	batch
	bodies []any
}

// decodeBatch decodes a whole log entry, every command body included, before
// anything of it is applied: a type this binary does not know, a version
// newer than it applies or a body that does not decode strictly is an error
// that stops the node, because applying less than the leader wrote (or
// skipping the entry) would make this replica diverge without a word.
func decodeBatch(data []byte) (*decodedBatch, error) {
	if len(data) < 2 || data[0] != entryBatch {
		return nil, fmt.Errorf("%w: log entry kind %v", errUnknownCommand, head(data))
	}
	if data[1] > entryBatchVersion {
		return nil, fmt.Errorf("%w: batch format version %d is newer than this binary's %d; upgrade pagerd",
			errUnknownCommand, data[1], entryBatchVersion)
	}
	var b decodedBatch
	if err := decodeStrict(data[2:], &b.batch); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	b.bodies = make([]any, len(b.Commands))
	for i, c := range b.Commands {
		s := lookup(c.Type)
		if s == nil {
			return nil, fmt.Errorf("%w: type %d; upgrade pagerd", errUnknownCommand, c.Type)
		}
		if c.Version > s.version {
			return nil, fmt.Errorf("%w: %s version %d is newer than this binary's %d; upgrade pagerd",
				errUnknownCommand, c.Type, c.Version, s.version)
		}
		if c.Version == 0 {
			return nil, fmt.Errorf("%w: %s version 0 does not exist", errUnknownCommand, c.Type)
		}
		body, err := s.decode(c.Version, c.Body)
		if err != nil {
			return nil, fmt.Errorf("%w: decode %s version %d body of request %s: %v",
				errBadBody, c.Type, c.Version, c.RequestID, err)
		}
		b.bodies[i] = body
	}
	return &b, nil
}

// errBadBody marks a log entry whose command body does not decode.
var errBadBody = errors.New("undecodable command body")

func head(b []byte) []byte {
	if len(b) > 2 {
		return b[:2]
	}
	return b
}

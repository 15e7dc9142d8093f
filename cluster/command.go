package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/internal/jsonenc"
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
	// Learning from incidents (cluster/learning.go).
	TypePostmortem      CommandType = 60 // learning.PostmortemCommand
	TypeFollowupAdd     CommandType = 61 // learning.FollowupAdd
	TypeFollowupPatch   CommandType = 62 // learning.FollowupPatch
	TypeReminderQueue   CommandType = 63 // learning.ReminderQueue
	TypeReminderOutcome CommandType = 64 // learning.ReminderOutcome
	// Service continuity (continuity.go).
	TypeHeartbeat   CommandType = 70 // HeartbeatCommand
	TypeDrillRun    CommandType = 71 // DrillRunCommand
	TypeDrillResult CommandType = 72 // DrillResultCommand
	TypeReview      CommandType = 80 // ReviewCommand (plan reviews; 81-84 reserved for them)
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
	// pooled is the buffer Body was written into when it came from
	// bodyPool (encodePooled): the batcher returns it once the body is
	// copied into the log entry. Never encoded.
	pooled *[]byte
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
	b, err := marshalBody(body)
	if err != nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, err)
	}
	return command{Type: t, Version: v, Body: b}, nil
}

// encodePooled is encodeCommand with an event or delivery body written
// into a pooled buffer, for a command the batcher takes (it copies the
// body into the entry and returns the buffer: releaseBody).
func encodePooled(t CommandType, v uint8, body any) (command, error) {
	b, buf, err := marshalBodyPooled(body)
	if err != nil {
		return command{}, fmt.Errorf("encode %s command: %w", t, err)
	}
	return command{Type: t, Version: v, Body: b, pooled: buf}, nil
}

// eventBodySize is room for a storm trigger with its plan of step 0
// (about 650 B), so the hand-written encoding grows its buffer at most once.
const eventBodySize = 768

// marshalBody is json.Marshal(body). An event, one per ingested trigger,
// and a delivery are written by hand with the same bytes
// (incident.Event.AppendJSON, incident.Delivery.AppendJSON, tested there):
// reflection over them was most of the leader's command encoding in a
// storm.
func marshalBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case *incident.Event:
		if b != nil {
			if out, ok := b.AppendJSON(make([]byte, 0, eventBodySize)); ok {
				return out, nil
			}
		}
	case *incident.Delivery:
		// Every page's outcome and a storm's holds (one item per page).
		if b != nil {
			if out, ok := b.AppendJSON(make([]byte, 0, 16+deliveryItemSize*len(b.Items))); ok {
				return out, nil
			}
		}
	}
	return json.Marshal(body)
}

// deliveryItemSize is about one delivery item's encoding (a hold: ~130 B).
const deliveryItemSize = 144

// bodyPool holds buffers for event and delivery bodies that are copied
// into a batch (or a forwarded request) and then dropped: one per
// ingested trigger was the largest allocation site of the leader's
// command encoding. A buffer grown beyond maxPooledBody is not kept.
var bodyPool = sync.Pool{New: func() any {
	b := make([]byte, 0, eventBodySize)
	return &b
}}

const maxPooledBody = 16 << 10

// marshalBodyPooled is marshalBody writing an event or a delivery into a
// buffer from bodyPool; buf is nil for other bodies. The caller returns
// buf with releaseBody once nothing reads the body any more.
func marshalBodyPooled(body any) (out []byte, buf *[]byte, err error) {
	switch b := body.(type) {
	case *incident.Event:
		if b != nil {
			buf = bodyPool.Get().(*[]byte)
			if out, ok := b.AppendJSON((*buf)[:0]); ok {
				return out, buf, nil
			}
			bodyPool.Put(buf)
		}
	case *incident.Delivery:
		if b != nil {
			buf = bodyPool.Get().(*[]byte)
			if out, ok := b.AppendJSON((*buf)[:0]); ok {
				return out, buf, nil
			}
			bodyPool.Put(buf)
		}
	}
	out, err = json.Marshal(body)
	return out, nil, err
}

// releaseBody returns a pooled body's buffer (body is what was written
// into it, perhaps regrown). The body must not be read afterwards.
func releaseBody(buf *[]byte, body []byte) {
	if buf == nil || cap(body) > maxPooledBody {
		return
	}
	*buf = body[:0]
	bodyPool.Put(buf)
}

// encodeBatch frames b as a log entry. It writes the same bytes as
// json.Marshal(b) (TestEncodeBatchMatchesJSONMarshal) without it: Marshal
// would validate and compact every command body once more, though each
// was just encoded by json.Marshal (a visible share of the leader's CPU in
// a storm).
func encodeBatch(b *batch) ([]byte, error) {
	now, err := b.Now.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode batch: %w", err)
	}
	size := 2 + len(`{"now":,"cmds":[]}`) + len(now)
	for _, c := range b.Commands {
		size += len(`{"t":255,"v":255,"id":"","b":},`) + len(c.RequestID) + len(c.Body) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, entryBatch, entryBatchVersion)
	out = append(out, `{"now":`...)
	out = append(out, now...)
	out = append(out, `,"cmds":`...)
	if b.Commands == nil {
		out = append(out, "null}"...)
		return out, nil
	}
	out = append(out, '[')
	for i, c := range b.Commands {
		if i > 0 {
			out = append(out, ',')
		}
		if out, err = appendCommand(out, c); err != nil {
			return nil, err
		}
	}
	return append(out, "]}"...), nil
}

// appendCommand appends c as json.Marshal would encode it.
func appendCommand(out []byte, c command) ([]byte, error) {
	out = append(out, `{"t":`...)
	out = strconv.AppendUint(out, uint64(c.Type), 10)
	out = append(out, `,"v":`...)
	out = strconv.AppendUint(out, uint64(c.Version), 10)
	out = append(out, `,"id":`...)
	if jsonenc.IsPlain(c.RequestID) {
		out = append(out, '"')
		out = append(out, c.RequestID...)
		out = append(out, '"')
	} else {
		id, err := json.Marshal(c.RequestID)
		if err != nil {
			return nil, fmt.Errorf("encode batch: %w", err)
		}
		out = append(out, id...)
	}
	out = append(out, `,"b":`...)
	if len(c.Body) == 0 {
		out = append(out, "null"...)
	} else {
		// Bodies come from json.Marshal (encodeCommand): already compact
		// and HTML-escaped, as Marshal would have rewritten them.
		out = append(out, c.Body...)
	}
	return append(out, '}'), nil
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
	return decodeBatchWith(data, decodeBatchFrame)
}

// decodeBatchWith is decodeBatch with the framing read by frame (tests
// compare decodeBatchFrame with the strict decoder).
func decodeBatchWith(data []byte, frame func([]byte, *batch) error) (*decodedBatch, error) {
	if len(data) < 2 || data[0] != entryBatch {
		return nil, fmt.Errorf("%w: log entry kind %v", errUnknownCommand, head(data))
	}
	if data[1] > entryBatchVersion {
		return nil, fmt.Errorf("%w: batch format version %d is newer than this binary's %d; upgrade pagerd",
			errUnknownCommand, data[1], entryBatchVersion)
	}
	var b decodedBatch
	if err := frame(data[2:], &b.batch); err != nil {
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

// decodeBatchFrame decodes the batch framing as strictly as decodeStrict,
// cheaper in the usual case: every entry this code base writes is exactly
// what encodeBatch produces, so a plain Unmarshal whose result encodes back
// to the same bytes had no unknown field or trailing data to refuse. Anything
// else takes the strict decoder, which accepts and refuses what it always
// did (with its error). The strict json.Decoder copied each entry into its
// buffer and was the largest cost of apply on followers in a storm.
func decodeBatchFrame(data []byte, b *batch) error {
	if parseBatchFrame(data, b) {
		return nil
	}
	*b = batch{}
	if json.Unmarshal(data, b) == nil {
		if again, err := encodeBatch(b); err == nil && bytes.Equal(again[2:], data) {
			return nil
		}
	}
	*b = batch{}
	return decodeStrict(data, b)
}

// errBadBody marks a log entry whose command body does not decode.
var errBadBody = errors.New("undecodable command body")

func head(b []byte) []byte {
	if len(b) > 2 {
		return b[:2]
	}
	return b
}

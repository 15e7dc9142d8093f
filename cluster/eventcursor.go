package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Event stream cursors (services[].events_to): per incident and webhook,
// how much of the timeline the leader's publisher has delivered. Advanced by
// event_progress commands after each send, so a leader change neither skips
// an entry nor repeats more than the one in flight.

// eventCursorKeep: cursors of incidents resolved longer ago than this are
// dropped; the publisher streams only open incidents and those resolved
// within the same window (events.Window), so a dropped cursor is never
// needed again.
const eventCursorKeep = 24 * time.Hour

// eventCursors maps incident id → webhook id → cursor.
type eventCursors map[uint64]map[string]incident.EventCursor

// applyEventProgress runs under the FSM lock. A cursor only moves forward
// and never past the timeline, so a stale leader's late commit changes
// nothing.
func (f *FSM) applyEventProgress(now time.Time, body []byte) Result {
	var p incident.EventProgress
	if err := json.Unmarshal(body, &p); err != nil {
		return Result{Err: fmt.Errorf("decode event progress: %w", err)}
	}
	f.pruneEventCursors(now)
	moved := 0
	for _, it := range p.Items {
		info, ok := f.incidents.StreamInfo(it.Incident)
		if !ok || it.Next > info.TimelineLen || it.Webhook == "" {
			continue
		}
		if f.events == nil {
			f.events = eventCursors{}
		}
		byHook := f.events[it.Incident]
		cur := byHook[it.Webhook]
		if it.Next <= cur.Next {
			continue
		}
		if byHook == nil {
			byHook = map[string]incident.EventCursor{}
			f.events[it.Incident] = byHook
		}
		cur.Next = it.Next
		if it.Error != "" {
			cur.Failed++
			cur.Error = it.Error
		}
		byHook[it.Webhook] = cur
		moved++
	}
	return Result{Value: moved}
}

// pruneEventCursors drops the cursors of incidents gone from the state or
// resolved more than eventCursorKeep before now.
func (f *FSM) pruneEventCursors(now time.Time) {
	cut := now.Add(-eventCursorKeep)
	for id := range f.events {
		info, ok := f.incidents.StreamInfo(id)
		if !ok || (info.ResolvedAt != nil && info.ResolvedAt.Before(cut)) {
			delete(f.events, id)
		}
	}
}

// EventCursors returns the cursors of the given incidents (absent: nothing
// delivered yet).
func (f *FSM) EventCursors(ids []uint64) map[uint64]map[string]incident.EventCursor {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make(map[uint64]map[string]incident.EventCursor, len(ids))
	for _, id := range ids {
		if byHook, ok := f.events[id]; ok {
			cp := make(map[string]incident.EventCursor, len(byHook))
			for k, v := range byHook {
				cp[k] = v
			}
			out[id] = cp
		}
	}
	return out
}

// snapshotEventCursors copies the cursors for a snapshot; under the lock.
func (f *FSM) snapshotEventCursors() eventCursors {
	if len(f.events) == 0 {
		return nil
	}
	out := make(eventCursors, len(f.events))
	for id, byHook := range f.events {
		cp := make(map[string]incident.EventCursor, len(byHook))
		for k, v := range byHook {
			cp[k] = v
		}
		out[id] = cp
	}
	return out
}

// EventCursors is the FSM's cursors of the given incidents (events.Store).
func (n *Node) EventCursors(ids []uint64) map[uint64]map[string]incident.EventCursor {
	return n.fsm.EventCursors(ids)
}

// SubmitEventProgress commits advanced cursors and returns how many moved.
func (n *Node) SubmitEventProgress(ctx context.Context, p *incident.EventProgress) (int, error) {
	v, err := n.Submit(ctx, TypeEventProgress, p)
	if err != nil {
		return 0, err
	}
	moved, _ := v.(int)
	return moved, nil
}

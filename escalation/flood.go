package escalation

import (
	"time"

	"github.com/pagerd/pagerd/incident"
)

// flood is flood control (spec §4 Delivery): per person and channel, at
// most max individual messages in any window of length per. A page due
// beyond that is held; when the window has room again, everything held for
// that person and channel goes out as one summary.
//
// The counts live on the leader. A new leader seeds them from the
// replicated send times (notifications' sent_at), so a failover during a
// storm does not open a fresh window; only a page whose outcome had not
// committed when the old leader died is missing from the count.
type flood struct {
	windows map[floodKey]*floodWindow
	max     int // the limits last used, for nextFlush
	per     time.Duration
}

type floodKey struct{ user, channel string }

// floodSend is one message counted in a window: when the provider accepted
// it, or, while inflight, when it was admitted. An in-flight send never
// leaves the window: under load a send can wait for a worker longer than
// the window, and forgetting it then would let the next ones through
// together with it.
type floodSend struct {
	at       time.Time
	inflight bool
}

type floodWindow struct {
	sent []floodSend // oldest first
	held []heldRef
}

// heldRef names a held notification: its incident, its id and the attempts
// it had when held. A storm holds thousands per window until the summary,
// which reads each again (stillQueued); keeping only the names, not a copy
// of the incident and notification, keeps them out of the leader's heap.
type heldRef struct {
	incident     uint64
	notification string
	attempts     int
}

// heldNotification is a held notification as read again for its summary.
type heldNotification struct {
	inc *incident.Incident
	n   incident.Notification
}

// floodBatch is what one person gets when their window reopens.
type floodBatch struct {
	key  floodKey
	held []heldRef
}

func newFlood() *flood { return &flood{windows: map[floodKey]*floodWindow{}} }

// prune drops the delivered sends that left the window.
func (w *floodWindow) prune(now time.Time, per time.Duration) {
	keep := w.sent[:0]
	for _, s := range w.sent {
		if s.inflight || s.at.After(now.Add(-per)) {
			keep = append(keep, s)
		}
	}
	w.sent = keep
}

// add inserts s in time order. A window holds at most about max sends and
// new ones are the latest, so this is a short walk from the end, with no
// sort and no allocation beyond the slice's growth (it was a full stable
// sort per send, which showed in storm profiles).
func (w *floodWindow) add(s floodSend) {
	w.sent = append(w.sent, s)
	w.settle(len(w.sent) - 1)
}

// settle moves the send at i back to its place in time order (ties keep
// their order, as the stable sort did).
func (w *floodWindow) settle(i int) {
	for ; i > 0 && w.sent[i].at.Before(w.sent[i-1].at); i-- {
		w.sent[i], w.sent[i-1] = w.sent[i-1], w.sent[i]
	}
}

// roomAt is when the window has room for one more message, or zero when
// that waits for an in-flight send to finish (its completion wakes the
// engine).
func (w *floodWindow) roomAt(now time.Time, max int, per time.Duration) time.Time {
	expire := len(w.sent) - max + 1 // sends that must leave first
	if max <= 0 || expire <= 0 {
		return now
	}
	// The expire-th delivered send (sent is in time order) frees the room;
	// counted in place, as this runs for every held page of a storm.
	for _, s := range w.sent {
		if s.inflight {
			continue
		}
		if expire--; expire == 0 {
			return s.at.Add(per)
		}
	}
	return time.Time{}
}

// admit reports whether h may go out now; if not, it is held until about
// the returned time (zero: unknown yet). A person with held pages gets no
// individual message before their summary, so pages arrive in order.
func (f *flood) admit(k floodKey, now time.Time, max int, per time.Duration, h heldRef) (bool, time.Time) {
	f.max, f.per = max, per
	w := f.windows[k]
	if w == nil {
		w = &floodWindow{}
		f.windows[k] = w
	}
	w.prune(now, per)
	if len(w.sent) < max && len(w.held) == 0 {
		w.add(floodSend{at: now, inflight: true})
		return true, time.Time{}
	}
	w.held = append(w.held, h)
	return false, w.roomAt(now, max, per)
}

// seed fills the windows from send times recorded in the replicated state
// (a new term starts from what the person already received). Times older
// than per before now are dropped on the next prune.
func (f *flood) seed(sent map[floodKey][]time.Time) {
	for k, times := range sent {
		w := f.windows[k]
		if w == nil {
			w = &floodWindow{}
			f.windows[k] = w
		}
		for _, at := range times {
			w.add(floodSend{at: at})
		}
	}
}

// record counts a message starting at now (a summary or a flushed single
// page); delivered completes it. The window may be gone: due drops a
// window whose sends have all left it when it takes its held pages, and
// the summary of those must count all the same (else up to max pages
// more could follow it at once).
func (f *flood) record(k floodKey, now time.Time) {
	w := f.windows[k]
	if w == nil {
		w = &floodWindow{}
		f.windows[k] = w
	}
	w.add(floodSend{at: now, inflight: true})
}

// delivered completes the send admitted at admitted: it now counts from
// done, when the provider accepted (or refused) it, so the bound holds for
// what the person receives, not just for what the engine started.
func (f *flood) delivered(k floodKey, admitted, done time.Time) {
	w := f.windows[k]
	if w == nil {
		return
	}
	for i := range w.sent {
		if s := &w.sent[i]; s.inflight && s.at.Equal(admitted) {
			s.at, s.inflight = done, false
			w.reposition(i)
			return
		}
	}
}

// reposition restores time order after the send at i changed its time
// (done is after admitted, so it usually moves towards the end).
func (w *floodWindow) reposition(i int) {
	for ; i+1 < len(w.sent) && w.sent[i+1].at.Before(w.sent[i].at); i++ {
		w.sent[i], w.sent[i+1] = w.sent[i+1], w.sent[i]
	}
	w.settle(i)
}

// cancel removes the send admitted at admitted that did not happen (the
// node stopped leading before it started).
func (f *flood) cancel(k floodKey, admitted time.Time) {
	w := f.windows[k]
	if w == nil {
		return
	}
	for i, s := range w.sent {
		if s.inflight && s.at.Equal(admitted) {
			w.sent = append(w.sent[:i], w.sent[i+1:]...)
			return
		}
	}
}

// due takes the held pages of every window with room at now.
func (f *flood) due(now time.Time, max int, per time.Duration) []floodBatch {
	f.max, f.per = max, per
	var out []floodBatch
	for k, w := range f.windows {
		w.prune(now, per)
		if len(w.held) > 0 && len(w.sent) < max {
			out = append(out, floodBatch{key: k, held: w.held})
			w.held = nil
		}
		if len(w.sent) == 0 && len(w.held) == 0 {
			delete(f.windows, k)
		}
	}
	return out
}

// nextFlush is when the earliest window with held pages has room again
// (now, if one has room already), or zero when nothing is held or every
// full window waits for a send in flight.
func (f *flood) nextFlush(now time.Time) time.Time {
	var next time.Time
	for _, w := range f.windows {
		if len(w.held) == 0 {
			continue
		}
		at := w.roomAt(now, f.max, f.per)
		if !at.IsZero() && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

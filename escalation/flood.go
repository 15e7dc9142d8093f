package escalation

import (
	"sort"
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

type floodWindow struct {
	sent []time.Time // send times inside the current window, oldest first
	held []heldNotification
}

type heldNotification struct {
	inc *incident.Incident
	n   incident.Notification
}

// floodBatch is what one person gets when their window reopens.
type floodBatch struct {
	key  floodKey
	held []heldNotification
}

func newFlood() *flood { return &flood{windows: map[floodKey]*floodWindow{}} }

func (w *floodWindow) prune(now time.Time, per time.Duration) {
	i := 0
	for i < len(w.sent) && !w.sent[i].After(now.Add(-per)) {
		i++
	}
	w.sent = w.sent[i:]
}

// admit reports whether h may go out now; if not, it is held until about
// the returned time. A person with held pages gets no individual message
// before their summary, so pages arrive in order.
func (f *flood) admit(k floodKey, now time.Time, max int, per time.Duration, h heldNotification) (bool, time.Time) {
	f.max, f.per = max, per
	w := f.windows[k]
	if w == nil {
		w = &floodWindow{}
		f.windows[k] = w
	}
	w.prune(now, per)
	if len(w.sent) < max && len(w.held) == 0 {
		w.sent = append(w.sent, now)
		return true, time.Time{}
	}
	w.held = append(w.held, h)
	return false, w.roomAt(now, max, per)
}

// roomAt is when the window has room for one more message.
func (w *floodWindow) roomAt(now time.Time, max int, per time.Duration) time.Time {
	if max > 0 && len(w.sent) >= max {
		return w.sent[len(w.sent)-max].Add(per)
	}
	return now
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
		w.sent = append(w.sent, times...)
		sort.Slice(w.sent, func(a, b int) bool { return w.sent[a].Before(w.sent[b]) })
	}
}

// record counts a message sent at now (a summary or a flushed single page).
func (f *flood) record(k floodKey, now time.Time) {
	if w := f.windows[k]; w != nil {
		w.sent = append(w.sent, now)
	}
}

// delivered moves a send's time in its window from when it was admitted to
// when the provider accepted it, so the bound holds for what the person
// receives, not just for what the engine started.
func (f *flood) delivered(k floodKey, admitted, done time.Time) {
	w := f.windows[k]
	if w == nil {
		return
	}
	for i := range w.sent {
		if w.sent[i].Equal(admitted) {
			w.sent[i] = done
			sort.Slice(w.sent, func(a, b int) bool { return w.sent[a].Before(w.sent[b]) })
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
// (now, if one has room already), or zero when nothing is held.
func (f *flood) nextFlush(now time.Time) time.Time {
	var next time.Time
	for _, w := range f.windows {
		if len(w.held) == 0 {
			continue
		}
		at := w.roomAt(now, f.max, f.per)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

package reminders

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pagerd/pagerd/learning"
)

// memStore applies the engine's records to a real learning.State, as the
// FSM does, without Raft.
type memStore struct {
	mu  sync.Mutex
	st  *learning.State
	now func() time.Time
}

func (m *memStore) read(fn func(*learning.State)) { m.mu.Lock(); defer m.mu.Unlock(); fn(m.st) }

func (m *memStore) Queue(_ context.Context, to string, items []Reminder) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := &learning.ReminderQueue{To: to}
	for _, it := range items {
		q.Items = append(q.Items, learning.ReminderRecord{ID: it.ID, Kind: it.Kind, Ref: it.Ref})
	}
	if _, err := m.st.ApplyReminderQueue(m.now(), q); err != nil {
		return fmt.Errorf("%w: %w", ErrRecorded, err)
	}
	return nil
}

func (m *memStore) Outcome(_ context.Context, ids []string, sendErr error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := &learning.ReminderOutcome{IDs: ids, Status: learning.ReminderSent}
	if sendErr != nil {
		o.Status, o.Error = learning.ReminderFailed, sendErr.Error()
	}
	_, err := m.st.ApplyReminderOutcome(m.now(), o)
	return err
}

type mail struct {
	to    string
	at    time.Time
	items []Reminder
}

type memSender struct {
	now   func() time.Time
	mails []mail
}

func (s *memSender) Send(_ context.Context, to string, items []Reminder) error {
	s.mails = append(s.mails, mail{to: to, at: s.now(), items: items})
	return nil
}

type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time { return c.t }
func (c *fakeClock) After(time.Duration) (<-chan time.Time, func()) {
	return make(chan time.Time), func() {}
}

func addFollowup(t *testing.T, st *learning.State, id string, owner string, created, due time.Time) {
	t.Helper()
	st.Followups[id] = &learning.Followup{ID: id, Key: "INC-1", Incident: 1, Title: "add an alert on " + id,
		Owner: owner, Due: due, Priority: "normal", Status: learning.FollowupOpen, CreatedAt: created}
}

// A follow-up due in 14 days reminds its owner at day 7, day 14 and day
// 21, once each, whatever the clock granularity; the engine asks to be
// woken exactly at the next reminder, so no polling is needed.
func TestFollowupRemindersDay7Day14Day21(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start}
	st := &memStore{st: learning.NewState(), now: clk.Now}
	addFollowup(t, st.st, "INC-1-F1", "alice", start, start.Add(14*24*time.Hour))
	snd := &memSender{now: clk.Now}
	e := New(Options{Jobs: []Job{FollowupJob{Read: st.read}}, Store: st, Sender: snd, Clock: clk})
	var wakes []time.Time
	for clk.t.Before(start.Add(22 * 24 * time.Hour)) {
		next := e.RunOnce(context.Background())
		wakes = append(wakes, next)
		clk.t = clk.t.Add(time.Hour)
		e.RunOnce(context.Background()) // a second run at the same instant (a state change) sends nothing new
	}
	var days []int
	seen := map[string]bool{}
	for _, m := range snd.mails {
		for _, it := range m.items {
			if seen[it.ID] {
				t.Fatalf("reminder %s sent twice", it.ID)
			}
			seen[it.ID] = true
		}
		days = append(days, int(m.at.Sub(start)/(24*time.Hour)))
	}
	if fmt.Sprint(days) != "[7 14 21]" {
		t.Fatalf("reminders on days %v, want [7 14 21]", days)
	}
	if got := wakes[0]; !got.Equal(start.Add(7 * 24 * time.Hour)) {
		t.Fatalf("first wake at %v, want day 7", got)
	}
}

// A leader that takes over after the day-7 reminder was recorded does not
// send it again; one that takes over with it unrecorded sends it.
func TestNewLeaderNeitherRepeatsNorSkips(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start.Add(7*24*time.Hour + time.Minute)}
	st := &memStore{st: learning.NewState(), now: clk.Now}
	addFollowup(t, st.st, "INC-1-F1", "alice", start, start.Add(14*24*time.Hour))
	first := &memSender{now: clk.Now}
	New(Options{Jobs: []Job{FollowupJob{Read: st.read}}, Store: st, Sender: first, Clock: clk}).RunOnce(context.Background())
	second := &memSender{now: clk.Now}
	New(Options{Jobs: []Job{FollowupJob{Read: st.read}}, Store: st, Sender: second, Clock: clk}).RunOnce(context.Background())
	if len(first.mails) != 1 || len(second.mails) != 0 {
		t.Fatalf("first leader sent %d, second %d; want 1 and 0", len(first.mails), len(second.mails))
	}
}

// Several reminders due to one person at once go out as one digest; other
// people get their own.
func TestDigestPerPerson(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start}
	st := &memStore{st: learning.NewState(), now: clk.Now}
	due := start.Add(10 * 24 * time.Hour)
	addFollowup(t, st.st, "INC-1-F1", "alice", start, due)
	addFollowup(t, st.st, "INC-1-F2", "alice", start, due)
	addFollowup(t, st.st, "INC-1-F3", "bob", start, due)
	st.st.Postmortems[1] = &learning.Postmortem{Incident: 1, Key: "INC-1", Status: learning.StatusDraft, Owner: "alice", DueAt: due}
	snd := &memSender{now: clk.Now}
	e := New(Options{Jobs: []Job{FollowupJob{Read: st.read}, PostmortemJob{Read: st.read}}, Store: st, Sender: snd, Clock: clk})
	clk.t = due
	e.RunOnce(context.Background())
	if len(snd.mails) != 2 || snd.mails[0].to != "alice" || len(snd.mails[0].items) != 3 || len(snd.mails[1].items) != 1 {
		t.Fatalf("mails %+v, want one to alice with 3 items and one to bob", snd.mails)
	}
}

// A published postmortem and a closed follow-up are not reminded.
func TestClosedAreNotReminded(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clk := &fakeClock{t: start.Add(30 * 24 * time.Hour)}
	st := &memStore{st: learning.NewState(), now: clk.Now}
	addFollowup(t, st.st, "INC-1-F1", "alice", start, start.Add(14*24*time.Hour))
	st.st.Followups["INC-1-F1"].Status = learning.FollowupDone
	st.st.Postmortems[1] = &learning.Postmortem{Incident: 1, Key: "INC-1", Status: learning.StatusPublished, Owner: "alice", DueAt: start}
	snd := &memSender{now: clk.Now}
	next := New(Options{Jobs: []Job{FollowupJob{Read: st.read}, PostmortemJob{Read: st.read}}, Store: st, Sender: snd, Clock: clk}).RunOnce(context.Background())
	if len(snd.mails) != 0 || !next.IsZero() {
		t.Fatalf("sent %d mails, next wake %v; want none", len(snd.mails), next)
	}
}

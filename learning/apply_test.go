package learning

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg := &config.Config{Users: []config.User{{ID: "alice", Email: "alice@example.com"}, {ID: "bob"}}}
	cfg.Severities = map[string]config.SeverityPolicy{
		"sev2": {Postmortem: config.PostmortemRequired, FollowupsDue: config.Duration(8 * 7 * 24 * time.Hour)},
		"sev3": {Postmortem: config.PostmortemOptional, FollowupsDue: config.Duration(12 * 7 * 24 * time.Hour), PostmortemDue: config.Duration(time.Hour)},
	}
	return cfg
}

func resolved(id uint64, sev string, at time.Time) *incident.Incident {
	return &incident.Incident{ID: id, Key: incident.KeyFor(id), Title: "Checkout errors", Severity: sev,
		CreatedAt: at.Add(-time.Hour), ResolvedAt: &at, AcknowledgedBy: "bob",
		Timeline: []incident.Entry{{At: at.Add(-time.Hour), Type: incident.EntryTriggered, Message: "incident opened"},
			{At: at.Add(-50 * time.Minute), Type: incident.EntryAcknowledged, Actor: "alice", Message: "ack via api"}}}
}

// fakeIncidents serves fixed incidents and keeps the entries added.
type fakeIncidents struct {
	incs    map[uint64]*incident.Incident
	entries []incident.Entry
}

func (f *fakeIncidents) Get(id uint64) (*incident.Incident, bool) { i, ok := f.incs[id]; return i, ok }
func (f *fakeIncidents) AddEntry(now time.Time, id uint64, typ, actor, msg string) bool {
	f.entries = append(f.entries, incident.Entry{At: now, Type: typ, Actor: actor, Message: msg})
	return true
}

func TestOnResolvedOnlyInTheResolvingBatch(t *testing.T) {
	cfg, now := testConfig(t), time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := NewState()
	if s.OnResolved(now.Add(time.Second), cfg, &fakeIncidents{}, resolved(1, "sev2", now)) {
		t.Fatal("a later command on an old resolve created a postmortem")
	}
	if !s.OnResolved(now, cfg, &fakeIncidents{}, resolved(1, "sev2", now)) {
		t.Fatal("no postmortem for a sev2 resolved now")
	}
	p, _ := s.Postmortem(1)
	if p.Owner != "alice" || !p.DueAt.Equal(now.Add(DefaultPostmortemDue)) || !strings.Contains(p.Body, "Duration: 1h0m0s") {
		t.Fatalf("postmortem %+v", p)
	}
	im := resolved(3, "sev2", now)
	im.Roles = map[string]string{config.RoleIncidentManager: "carol"}
	if !s.OnResolved(now, cfg, &fakeIncidents{}, im) {
		t.Fatal("no postmortem for incident 3")
	}
	if p, _ := s.Postmortem(3); p.Owner != "carol" {
		t.Fatalf("owner %q, want the incident manager carol", p.Owner)
	}
	if s.OnResolved(now, cfg, &fakeIncidents{}, resolved(2, "sev3", now)) {
		t.Fatal("a sev3 (optional) got a postmortem")
	}
}

func TestFollowupIDsAndClose(t *testing.T) {
	cfg, now := testConfig(t), time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := NewState()
	incs := &fakeIncidents{incs: map[uint64]*incident.Incident{42: resolved(42, "sev2", now)}}
	a, err := s.ApplyFollowupAdd(now, cfg, incs, &FollowupAdd{Incident: 42, Title: "x", Owner: "alice"})
	b, err2 := s.ApplyFollowupAdd(now, cfg, incs, &FollowupAdd{Incident: 42, Title: "y", Owner: "bob", Due: now.Add(time.Hour)})
	if err != nil || err2 != nil || a.ID != "INC-42-F1" || b.ID != "INC-42-F2" || !a.Due.Equal(now.Add(8*7*24*time.Hour)) {
		t.Fatalf("%+v %v / %+v %v", a, err, b, err2)
	}
	if _, err := s.ApplyFollowupPatch(now, cfg, incs, &FollowupPatch{ID: a.ID, Status: FollowupDone, By: "bob", Via: "email"}); !errors.Is(err, incident.ErrConflict) {
		t.Fatalf("bob closed alice's follow-up by email: %v", err)
	}
	if _, err := s.ApplyReminderQueue(now, &ReminderQueue{To: "alice", Items: []ReminderRecord{{ID: "followup/INC-42-F1/x", Ref: "INC-42-F1"}, {ID: "followup/INC-42-F2/x", Ref: "INC-42-F2"}}}); err != nil {
		t.Fatal(err)
	}
	if f, err := s.ApplyFollowupPatch(now, cfg, incs, &FollowupPatch{ID: "inc-42-f1", Status: FollowupDone, By: "alice", Via: "email"}); err != nil || f.ClosedBy != "alice" {
		t.Fatalf("%+v %v", f, err)
	}
	if _, ok := s.Reminder("followup/INC-42-F1/x"); ok || len(s.Reminders) != 1 {
		t.Fatalf("closing F1 kept its reminder records or dropped others: %v", s.Reminders)
	}
	if _, err := s.ApplyFollowupPatch(now, cfg, incs, &FollowupPatch{ID: a.ID, Status: FollowupDone, By: "alice"}); !errors.Is(err, incident.ErrConflict) || !strings.Contains(err.Error(), "already done") {
		t.Fatalf("second close: %v", err)
	}
	var types []string
	for _, e := range incs.entries {
		types = append(types, e.Type)
	}
	if strings.Join(types, " ") != "followup_added followup_added followup_closed" {
		t.Fatalf("timeline entries %v", types)
	}
	enc, _ := s.Encode()
	back, err := Decode(enc)
	if err != nil || len(back.Followups) != 2 || back.Seq[42] != 2 {
		t.Fatalf("snapshot round trip: %v %+v", err, back)
	}
}

// FuzzDecode: a decoded state (a snapshot's, which PUT /v1/snapshot takes
// from outside) has no nil entries for its readers to trip on, and
// encodes back to a state that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"followups":{"INC-1-F1":{"id":"INC-1-F1"}}}`))
	f.Add([]byte(`{"followups":{"INC-1-F1":null}}`))
	f.Add([]byte(`{"postmortems":{"1":null},"reminders":{"r":null}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Decode(b)
		if err != nil {
			return
		}
		if err := s.checkNoNull(); err != nil {
			t.Fatalf("%q decoded with %v", b, err)
		}
		enc, err := s.Encode()
		if err != nil {
			t.Fatalf("%q: decoded state does not encode: %v", b, err)
		}
		// Bytes, not values: a time's location may differ (Local vs UTC)
		// while it encodes the same.
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("%q: encoded state %s does not decode: %v", b, enc, err)
		}
		if again, err := back.Encode(); err != nil || string(again) != string(enc) {
			t.Fatalf("%q: encodes as %s, then as %s (%v)", b, enc, again, err)
		}
	})
}

// TestDecodeRefusesNullEntries: a null entry in a restored snapshot is
// refused naming it (it was kept as nil, and the reminder jobs and
// queries dereference every entry).
func TestDecodeRefusesNullEntries(t *testing.T) {
	for raw, want := range map[string]string{
		`{"followups":{"INC-1-F1":null}}`: "followups.INC-1-F1: null",
		`{"postmortems":{"7":null}}`:      "postmortems.7: null",
		`{"reminders":{"r1":null}}`:       "reminders.r1: null",
	} {
		if _, err := Decode([]byte(raw)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", raw, err, want)
		}
	}
}

package incident

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Every exported field of Incident has its stored twin, in the same order
// with the same type (sub-types: their stored forms). toStored and
// fromStored copy Incident field by field, so a field added to the API type
// alone would silently vanish from snapshots; this fails first. (Alert,
// Escalation, Notification and Entry convert with Go's struct conversion,
// which the compiler checks.)
func TestStoredIncidentHasEveryField(t *testing.T) {
	stored := map[reflect.Type]reflect.Type{
		reflect.TypeOf([]Alert{}):        reflect.TypeOf([]storedAlert{}),
		reflect.TypeOf(&Escalation{}):    reflect.TypeOf(&storedEscalation{}),
		reflect.TypeOf([]Notification{}): reflect.TypeOf([]storedNotification{}),
		reflect.TypeOf([]Entry{}):        reflect.TypeOf([]storedEntry{}),
		reflect.TypeOf([]Update{}):       reflect.TypeOf([]storedUpdate{}),
		reflect.TypeOf(&UpdateOverdue{}): reflect.TypeOf(&storedUpdateOverdue{}),
	}
	api, st := reflect.TypeOf(Incident{}), reflect.TypeOf(storedIncident{})
	j := 0
	for i := range api.NumField() {
		f := api.Field(i)
		if !f.IsExported() {
			continue
		}
		if j >= st.NumField() {
			t.Fatalf("Incident.%s has no stored twin", f.Name)
		}
		s := st.Field(j)
		want := f.Type
		if w, ok := stored[f.Type]; ok {
			want = w
		}
		if s.Name != f.Name || s.Type != want {
			t.Fatalf("stored field %d is %s %s; Incident has %s %s", j, s.Name, s.Type, f.Name, f.Type)
		}
		j++
	}
	if j != st.NumField() {
		t.Fatalf("storedIncident has %d fields, Incident %d exported", st.NumField(), j)
	}
	// And the copy keeps every one: a fully set incident survives a round trip.
	full := &Incident{ID: 3, Key: "INC-3", Title: "t", Service: "s", Severity: "sev1", SeveritySetBy: "alice",
		Status: Resolved, DedupKey: "d", Source: "events", Integration: "i", CreatedAt: t0,
		AcknowledgedAt: ptr(at(1)), AcknowledgedBy: "bob", ResolvedAt: ptr(at(2)), ResolvedBy: "carol",
		AlertCount: 2, AlertsDropped: 1, Alerts: []Alert{alert("fp", "firing", "sev1")},
		Escalation: &Escalation{Policy: "p", Step: 1}, DeferredUntil: ptr(at(3)),
		Roles: map[string]string{"incident_manager": "alice"}, RolesPaged: []string{"tech_lead"},
		RolesBriefed: map[string]string{"incident_manager": "alice"},
		DetectedAt:   ptr(at(-1)), ImpactStartedAt: ptr(at(-2)), MitigatedAt: ptr(at(4)),
		Phase: PhaseMonitoring, NextUpdateAt: ptr(at(5)),
		Updates: []Update{{ID: "INC-3-U1", At: at(4), By: "alice", Audience: AudiencePublic, Phase: PhaseMonitoring, Message: "m",
			Template: "t", Components: map[string]string{"api": ComponentPartialOutage}, Channel: "sms", Auto: true}},
		UpdateOverdue: &UpdateOverdue{Due: at(5), Reminders: 1, LastAt: at(5), AckedAt: ptr(at(6)), AckedBy: "bob"},
		Drill:         &DrillRef{ID: "quarterly", Run: "r1"},
		Notifications: []Notification{{ID: "n3-1-0", User: "alice", Kind: "role", Role: "tech_lead"}},
		Timeline:      []Entry{{At: t0, Type: EntryNote, Actor: "a", Message: "m", Role: "r", Count: 2, LastAt: ptr(at(1))}}}
	if a, b := mustJSON(t, full), mustJSON(t, fromStored(toStored(full))); a != b {
		t.Fatalf("round trip through the stored form lost something:\n%s\n%s", a, b)
	}
}

// A snapshot is outside input (an operator's upload): an incident whose
// status lacks its time (resolved without resolved_at, acknowledged
// without acknowledged_at) or whose status is none of the three is
// refused, in both formats. Restored, it made the next ack of it panic in
// apply (the conflict message reads the time) on every node.
func TestSnapshotRefusesAnIncidentWhoseStatusLacksItsTime(t *testing.T) {
	at := `"2026-11-29T10:00:00Z"`
	for _, inc := range []string{`{"id":1,"status":"resolved"}`, `{"id":1,"status":"acknowledged"}`,
		`{"id":1,"status":"resolved","resolved_at":null}`, `{"id":1,"status":"paused","created_at":` + at + `}`, `{"id":1}`} {
		stream := `{"state":{"base":0,"next_id":2}}` + "\n" + `{"incident":` + inc + `}` + "\n" + `{"end":{"incidents":1,"records":2}}` + "\n"
		st, err := DecodeStream(json.NewDecoder(strings.NewReader(stream)))
		if err == nil {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s: restored, and an ack of it panics: %v", inc, r)
					}
				}()
				_, _ = st.ApplyAction(time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC), &Action{Incident: 1, Kind: Ack, By: "bob"})
			}()
			t.Errorf("%s: format 2 restored it", inc)
		}
		if _, err := ReadSnapshotFormat1(strings.NewReader(`{"incidents":[` + inc + `]}`)); err == nil {
			t.Errorf("%s: format 1 restored it", inc)
		}
	}
	for _, inc := range []string{`{"id":1,"status":"triggered"}`, `{"id":1,"status":"resolved","resolved_at":` + at + `}`,
		`{"id":1,"status":"acknowledged","acknowledged_at":` + at + `}`} {
		stream := `{"state":{"base":0,"next_id":2}}` + "\n" + `{"incident":` + inc + `}` + "\n" + `{"end":{"incidents":1,"records":2}}` + "\n"
		if _, err := DecodeStream(json.NewDecoder(strings.NewReader(stream))); err != nil {
			t.Errorf("%s: %v", inc, err)
		}
	}
}

package incident

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAlertAbsentTimesAreNull: a firing alert has no end and an event may
// have no start; the JSON says null, not 0001-01-01T00:00:00Z, and reads
// back to the same alert.
func TestAlertAbsentTimesAreNull(t *testing.T) {
	start := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		alert Alert
		want  []string
	}{
		{Alert{Fingerprint: "f1", Status: "firing", StartsAt: start}, []string{`"starts_at":"2026-11-29T10:00:00Z"`, `"ends_at":null`}},
		{Alert{Fingerprint: "f2", Status: "firing"}, []string{`"starts_at":null`, `"ends_at":null`}},
		{Alert{Fingerprint: "f3", Status: "resolved", StartsAt: start, EndsAt: start.Add(time.Hour)},
			[]string{`"starts_at":"2026-11-29T10:00:00Z"`, `"ends_at":"2026-11-29T11:00:00Z"`}},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.alert)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %s", b, w)
			}
		}
		if strings.Contains(string(b), "0001-01-01") || strings.Count(string(b), `"starts_at"`) != 1 {
			t.Errorf("bad JSON %s", b)
		}
		var back Alert
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, c.alert) {
			t.Errorf("round trip of %s: %+v %v, want %+v", b, back, err, c.alert)
		}
	}
	// Inside an incident too (the API's shape).
	b, _ := json.Marshal(Incident{Alerts: []Alert{{Fingerprint: "f"}}})
	if !strings.Contains(string(b), `"ends_at":null`) {
		t.Errorf("incident JSON %s", b)
	}
}

package incident

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// bigGroup is one Alertmanager payload of n new fingerprints, starting at
// number from.
func bigGroup(from, n int) *AlertGroup {
	alerts := make([]Alert, n)
	for i := range alerts {
		alerts[i] = alert(fmt.Sprintf("fp-%06d", from+i), "firing", "sev2")
	}
	return group("checkout", keyA, "firing", alerts...)
}

// TestAlertCapTenTimesTenThousand is issue 10.8's case: ten posts of 10,000
// new fingerprints to one group. The incident keeps the first MaxAlerts,
// counts all 100,000, and its timeline stays short.
func TestAlertCapTenTimesTenThousand(t *testing.T) {
	s := NewState()
	for p := 0; p < 10; p++ {
		s.ApplyAlertGroup(at(p), bigGroup(p*10000, 10000))
	}
	inc := mustGet(t, s, 1)
	if len(inc.Alerts) != MaxAlerts || inc.AlertCount != 100000 || inc.AlertsDropped != 100000-MaxAlerts {
		t.Fatalf("kept %d alerts, alert_count %d, alerts_dropped %d; want %d, 100000, %d",
			len(inc.Alerts), inc.AlertCount, inc.AlertsDropped, MaxAlerts, 100000-MaxAlerts)
	}
	for i, a := range inc.Alerts {
		if want := fmt.Sprintf("fp-%06d", i); a.Fingerprint != want {
			t.Fatalf("alert %d is %s, want %s: the first to arrive are kept", i, a.Fingerprint, want)
		}
	}
	// 1 triggered + 20 alert entries + 1 summary + 10 dropped entries.
	if n := len(inc.Timeline); n > 1+maxAlertEntries+1+10 {
		t.Fatalf("timeline has %d entries after 10 payloads", n)
	}
	last := inc.Timeline[len(inc.Timeline)-1]
	if last.Type != EntryAlertsDropped || !strings.Contains(last.Message, "10000 new alerts not kept") ||
		!strings.Contains(last.Message, "alerts_dropped: 99000") {
		t.Fatalf("last entry %+v", last)
	}
	checkInvariants(t, s)
}

// TestDroppedRepeatsCountOnce: Alertmanager resends every alert of a group
// each time; a dropped fingerprint sent again is neither counted again nor
// logged again, also on a replica restored from a snapshot in between.
func TestDroppedRepeatsCountOnce(t *testing.T) {
	a := NewState()
	a.ApplyAlertGroup(at(0), bigGroup(0, MaxAlerts+50))
	var snap bytes.Buffer
	if err := a.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	b, err := ReadSnapshot(&snap)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*State{a, b} {
		before := len(mustGet(t, s, 1).Timeline)
		s.ApplyAlertGroup(at(1), clone(t, bigGroup(0, MaxAlerts+60)))
		inc := mustGet(t, s, 1)
		if inc.AlertCount != MaxAlerts+60 || inc.AlertsDropped != 60 {
			t.Fatalf("after a resend with 10 more: alert_count %d alerts_dropped %d, want %d, 60", inc.AlertCount, inc.AlertsDropped, MaxAlerts+60)
		}
		if added := inc.Timeline[before:]; len(added) != 1 || !strings.HasPrefix(added[0].Message, "10 new alerts not kept") {
			t.Fatalf("resend added %+v, want one entry for the 10 new dropped alerts", added)
		}
	}
	if sa, sb := snapshotOf(t, a), snapshotOf(t, b); sa != sb {
		t.Fatal("a replica restored from a snapshot diverged from one that applied the log")
	}
	// Resolving forgets the dropped set: resolved incidents take no alerts.
	a.ApplyAlertGroup(at(2), group("checkout", keyA, "resolved", alert("fp-000000", "resolved", "sev2")))
	if len(a.dropped) != 0 || strings.Contains(snapshotOf(t, a), `"dropped"`) {
		t.Fatalf("dropped set kept after resolve: %v", a.dropped)
	}
}

// TestKeptAlertsStillUpdate: alerts within the cap are updated as before,
// and one payload's many changes are summed up in the timeline.
func TestKeptAlertsStillUpdate(t *testing.T) {
	s := NewState()
	s.ApplyAlertGroup(at(0), bigGroup(0, 100))
	resolved := make([]Alert, 100)
	for i := range resolved {
		resolved[i] = alert(fmt.Sprintf("fp-%06d", i), "resolved", "sev2")
	}
	before := len(mustGet(t, s, 1).Timeline)
	s.ApplyAlertGroup(at(1), group("checkout", keyA, "firing", resolved...))
	inc := mustGet(t, s, 1)
	for _, a := range inc.Alerts {
		if a.Status != "resolved" {
			t.Fatalf("alert %s is %s after its resolution", a.Fingerprint, a.Status)
		}
	}
	added := inc.Timeline[before:]
	if len(added) != maxAlertEntries+1 || added[maxAlertEntries].Message != "80 more alert changes in this payload, not listed one by one" {
		t.Fatalf("100 resolutions added %d entries, last %+v", len(added), added[len(added)-1])
	}
	checkInvariants(t, s)
}

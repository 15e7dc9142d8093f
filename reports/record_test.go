package reports

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
)

// Of reads the first acknowledgement from the timeline (a later escalate
// cleared acknowledged_at), an escalation from the pages of later steps
// (an ack timeout started over at step 0), a deferral from the timeline
// (deferred_until is cleared once paging begins), and counts only pages
// recorded sent.
func TestOfReadsTheIncidentsHistory(t *testing.T) {
	ack2 := t0.Add(9 * time.Minute)
	res := t0.Add(20 * time.Minute)
	inc := &incident.Incident{Service: "checkout", Severity: "sev1", CreatedAt: t0, AcknowledgedAt: &ack2, ResolvedAt: &res,
		Escalation: &incident.Escalation{Step: 0},
		Timeline: []incident.Entry{
			{At: t0, Type: incident.EntryTriggered},
			{At: t0, Type: incident.EntryDeferred},
			{At: t0.Add(2 * time.Minute), Type: incident.EntryAcknowledged},
			{At: t0.Add(5 * time.Minute), Type: incident.EntryEscalated},
			{At: ack2, Type: incident.EntryAcknowledged},
		},
		Notifications: []incident.Notification{
			{Channel: "sms", Status: incident.NotifySent},
			{Channel: "sms", Status: incident.NotifyFailed, Step: 1},
			{Channel: "email", Status: incident.NotifySent, Kind: incident.KindRoleInstructions},
			{Channel: "email", Status: incident.NotifySent, Kind: incident.KindRolePage},
		}}
	r := Of(inc)
	if r.FirstAck == nil || !r.FirstAck.Equal(t0.Add(2*time.Minute)) || !r.Escalated || !r.Deferred || r.Drill {
		t.Fatalf("record %+v", r)
	}
	if r.Pages["sms"] != 1 || r.Pages["email"] != 1 || !r.Resolved.Equal(res) || !r.ImpactStart.Equal(t0) {
		t.Fatalf("record %+v", r)
	}
	inc.Drill = &incident.DrillRef{ID: "q", Run: "1"}
	inc.Notifications, inc.Timeline = nil, nil
	if r := Of(inc); !r.Drill || r.Escalated || r.Deferred || !r.FirstAck.Equal(ack2) {
		t.Fatalf("drill record %+v", r)
	}
}

// Time to resolve starts at the impact start a person gave, else at
// detection, else at creation.
func TestImpactStartPrefersImpactThenDetection(t *testing.T) {
	impact, detected := t0.Add(-10*time.Minute), t0.Add(-time.Minute)
	inc := &incident.Incident{CreatedAt: t0}
	if r := Of(inc); !r.ImpactStart.Equal(t0) {
		t.Fatalf("no impact or detection: %v", r.ImpactStart)
	}
	inc.DetectedAt = &detected
	if r := Of(inc); !r.ImpactStart.Equal(detected) {
		t.Fatalf("detected only: %v", r.ImpactStart)
	}
	inc.ImpactStartedAt = &impact
	if r := Of(inc); !r.ImpactStart.Equal(impact) {
		t.Fatalf("impact set: %v", r.ImpactStart)
	}
}

package incident

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// pagedIncident opens an incident at at(0) whose alert started at
// t0-5m, with a step paging alice by sms and email and bob by sms, and
// records outcomes: alice's sms sent, her email failed, bob's sms sent.
func pagedIncident(t *testing.T, s *State) *Incident {
	t.Helper()
	a := alert("a1", "firing", "sev2")
	a.StartsAt = t0.Add(-5 * time.Minute)
	res := s.ApplyAlertGroup(at(0), group("checkout", keyA, "firing", a))
	if !res.Created {
		t.Fatal("not created")
	}
	inc := mustGet(t, s, res.Incident)
	inc.Escalation = &Escalation{Policy: "p", NextAt: ptr(at(0))}
	s.incidents[0] = inc
	_, err := s.ApplyStepStart(at(0), &StepStart{Incident: res.Incident, Reason: ReasonTrigger, Message: "step 1",
		Notifications: []Notification{
			{ID: "n1-1-0", User: "alice", Channel: ChannelSMS, To: "+311", DueAt: at(0)},
			{ID: "n1-1-1", User: "alice", Channel: ChannelEmail, To: "a@x", DueAt: at(0)},
			{ID: "n1-1-2", User: "bob", Channel: ChannelSMS, To: "+312", DueAt: at(0)},
			{ID: "n1-1-3", Channel: ChannelWebhook, To: "chatops", DueAt: at(0)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	s.ApplyDelivery(at(1), &Delivery{Items: []DeliveryItem{
		{Incident: 1, Notification: "n1-1-0", Attempt: 1, Outcome: OutcomeSent},
		{Incident: 1, Notification: "n1-1-1", Attempt: 1, Outcome: OutcomeFailed, Error: "550 no such user"},
		{Incident: 1, Notification: "n1-1-2", Attempt: 1, Outcome: OutcomeSent},
		{Incident: 1, Notification: "n1-1-3", Attempt: 1, Outcome: OutcomeSent},
	}})
	return mustGet(t, s, 1)
}

func act(t *testing.T, s *State, now time.Time, a Action) {
	t.Helper()
	if _, err := s.ApplyAction(now, &a); err != nil {
		t.Fatalf("%s: %v", a.Kind, err)
	}
}

func TestSummaryDurationsAndCounts(t *testing.T) {
	s := NewState()
	pagedIncident(t, s)
	act(t, s, at(4), Action{Incident: 1, Kind: Ack, By: "alice", Channel: "sms"})
	act(t, s, at(6), Action{Incident: 1, Kind: Note, By: "carol", Note: "rolled back\nthe deploy"})
	act(t, s, at(50), Action{Incident: 1, Kind: Resolve, By: "bob"})
	inc := mustGet(t, s, 1)

	sum := BuildSummary(inc, at(999), "https://pager.example.com/ui/incidents/INC-1")
	if !inc.DetectedAt.Equal(t0.Add(-5*time.Minute)) || !sum.DetectedAt.Equal(*inc.DetectedAt) {
		t.Fatalf("detected_at = %v, want the alert's start", inc.DetectedAt)
	}
	// No impact time set: the duration runs from detection (t0-5m) to the resolve (t0+50m).
	if sum.Duration.From != "detected_at" || sum.Duration.Seconds != 55*60 || sum.Duration.Ongoing {
		t.Fatalf("duration = %+v, want 3300 s from detected_at", sum.Duration)
	}
	if sum.TimeToAck == nil || sum.TimeToAck.Seconds != 4*60 || sum.AcknowledgedBy != "alice" {
		t.Fatalf("time to ack = %+v by %q, want 240 s by alice", sum.TimeToAck, sum.AcknowledgedBy)
	}
	want := map[string]ChannelCounts{"sms": {Sent: 2}, "email": {Failed: 1}, "webhook": {Sent: 1}}
	if mustJSON(t, sum.Pages) != mustJSON(t, want) {
		t.Fatalf("pages = %s, want %s (summary mails not counted)", mustJSON(t, sum.Pages), mustJSON(t, want))
	}
	if strings.Join(sum.Paged, ",") != "alice,bob" || strings.Join(sum.Responders, ",") != "alice,carol,bob" {
		t.Fatalf("paged %v responders %v", sum.Paged, sum.Responders)
	}
	if len(sum.Notes) != 1 || sum.Notes[0].By != "carol" {
		t.Fatalf("notes = %+v", sum.Notes)
	}
	if len(sum.SeverityHistory) != 1 || sum.SeverityHistory[0].To != "sev2" {
		t.Fatalf("severity history = %+v", sum.SeverityHistory)
	}
	text := sum.Text()
	for _, w := range []string{"INC-1 resolved: High error rate", "Duration:     55m0s from detected_at",
		"sms: 2 sent, 0 failed", "email: 0 sent, 1 failed", "Link:         https://pager.example.com/ui/incidents/INC-1",
		"carol: rolled back the deploy", "Paged:        alice, bob"} {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q:\n%s", w, text)
		}
	}
}

func TestSummaryDurationFromImpactAndOngoing(t *testing.T) {
	s := NewState()
	pagedIncident(t, s)
	act(t, s, at(10), Action{Incident: 1, Kind: Impact, By: "alice", StartedAt: ptr(at(-20))})
	sum := BuildSummary(mustGet(t, s, 1), at(40), "")
	// Open: the duration runs to the time of asking, from the impact start.
	if sum.Duration.From != "impact_started_at" || sum.Duration.Seconds != 60*60 || !sum.Duration.Ongoing {
		t.Fatalf("duration = %+v, want 3600 s from impact_started_at, ongoing", sum.Duration)
	}
	if sum.TimeToAck != nil {
		t.Fatalf("time to ack %+v for an unacknowledged incident", sum.TimeToAck)
	}
	// An escalate clears acknowledged_at; the first acknowledgement still counts.
	act(t, s, at(12), Action{Incident: 1, Kind: Ack, By: "bob"})
	act(t, s, at(13), Action{Incident: 1, Kind: Escalate, By: "bob"})
	if sum = BuildSummary(mustGet(t, s, 1), at(40), ""); sum.TimeToAck == nil || sum.TimeToAck.Seconds != 12*60 {
		t.Fatalf("time to ack after escalate = %+v, want 720 s", sum.TimeToAck)
	}
}

func TestSummarySeverityHistoryFromTimeline(t *testing.T) {
	s := NewState()
	inc := pagedIncident(t, s)
	// The entries issue 13.2 adds; the summary reads them from the timeline.
	inc.Timeline = append(inc.Timeline,
		Entry{At: at(3), Type: EntrySeverityChanged, Actor: "alice", Message: "severity sev2 → sev1 via api: checkout down for everyone",
			From: "sev2", To: "sev1", Note: "checkout down for everyone"},
		Entry{At: at(9), Type: EntrySeverityChanged, Actor: "bob", Message: "severity sev1 → sev3 via sms", From: "sev1", To: "sev3"})
	h := BuildSummary(inc, at(10), "").SeverityHistory
	if len(h) != 3 || h[0].To != "sev2" || h[0].By != "alertmanager:prometheus" ||
		h[1].From != "sev2" || h[1].To != "sev1" || h[1].Note != "checkout down for everyone" || h[1].By != "alice" ||
		h[2].From != "sev1" || h[2].To != "sev3" || h[2].Note != "" {
		t.Fatalf("severity history = %s", mustJSON(t, h))
	}
}

func TestImpactRefusedInFutureChangesNothing(t *testing.T) {
	s := NewState()
	pagedIncident(t, s)
	before := snapshotOf(t, s)
	for name, a := range map[string]Action{
		"future":  {Incident: 1, Kind: Impact, By: "alice", StartedAt: ptr(at(11))},
		"missing": {Incident: 1, Kind: Impact, By: "alice"},
	} {
		_, err := s.ApplyAction(at(10), &a)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "started_at") {
			t.Errorf("%s: err = %v, want ErrInvalid naming started_at", name, err)
		}
	}
	if after := snapshotOf(t, s); after != before {
		t.Fatal("a refused impact changed the state")
	}
	act(t, s, at(10), Action{Incident: 1, Kind: Impact, By: "alice", StartedAt: ptr(at(10))})
	inc := mustGet(t, s, 1)
	if inc.ImpactStartedAt == nil || !inc.ImpactStartedAt.Equal(at(10)) || inc.Timeline[len(inc.Timeline)-1].Type != EntryImpactStarted {
		t.Fatalf("impact_started_at = %v, timeline %v", inc.ImpactStartedAt, entryTypes(inc))
	}
}

func TestResolveQueuesSummaryMailOncePerPagedPerson(t *testing.T) {
	s := NewState()
	pagedIncident(t, s)
	act(t, s, at(20), Action{Incident: 1, Kind: Resolve, By: "bob"})
	inc := mustGet(t, s, 1)
	var mails []Notification
	for _, n := range inc.Notifications {
		if n.Kind == KindSummary {
			mails = append(mails, n)
		}
	}
	if len(mails) != 2 || mails[0].User != "alice" || mails[1].User != "bob" ||
		mails[0].Status != NotifyQueued || mails[0].Channel != ChannelEmail {
		t.Fatalf("summary mails = %s", mustJSON(t, mails))
	}
	pending := func() int {
		n := 0
		s.EachPendingSummary(func(*Incident) { n++ })
		return n
	}
	if pending() != 1 {
		t.Fatal("resolved incident with queued summary mails is not pending")
	}
	// The pending index survives a snapshot round trip.
	restored, err := ReadSnapshot(strings.NewReader(snapshotOf(t, s)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	restored.EachPendingSummary(func(*Incident) { n++ })
	if n != 1 {
		t.Fatal("restored state lost the pending summary mail")
	}
	d := &Delivery{Items: []DeliveryItem{
		{Incident: 1, Notification: mails[0].ID, Attempt: 1, Outcome: OutcomeSent},
		{Incident: 1, Notification: mails[1].ID, Attempt: 1, Outcome: OutcomeFailed, Error: "no email address"},
	}}
	if got := s.ApplyDelivery(at(21), d); got != 2 {
		t.Fatalf("applied %d outcomes, want 2", got)
	}
	if got := s.ApplyDelivery(at(22), d); got != 0 {
		t.Fatalf("a repeated outcome applied %d times", got)
	}
	if pending() != 0 {
		t.Fatal("still pending after every summary mail has an outcome")
	}
	inc = mustGet(t, s, 1)
	last := inc.Timeline[len(inc.Timeline)-2:]
	if last[0].Type != EntrySummarySent || !strings.Contains(last[1].Message, "resolution summary to bob") {
		t.Fatalf("timeline tail = %+v", last)
	}
	// Pages by channel still count pages only.
	if c := BuildSummary(inc, at(30), "").Pages["email"]; c != (ChannelCounts{Failed: 1}) {
		t.Fatalf("email pages = %+v; summary mails must not count", c)
	}
}

func TestMitigatedAtIsTheFirstMonitoringUpdate(t *testing.T) {
	s := NewState()
	inc := pagedIncident(t, s)
	noteMitigated(inc, "identified", at(5))
	if inc.MitigatedAt != nil {
		t.Fatal("an update in phase identified set mitigated_at")
	}
	noteMitigated(inc, PhaseMonitoring, at(8))
	noteMitigated(inc, PhaseMonitoring, at(9))
	if inc.MitigatedAt == nil || !inc.MitigatedAt.Equal(at(8)) {
		t.Fatalf("mitigated_at = %v, want the first monitoring update", inc.MitigatedAt)
	}
	// Detected at t0-5m: mitigated 13 minutes after the duration's start.
	if m := BuildSummary(inc, at(10), "").TimeToMitigate; m == nil || m.Seconds != 13*60 || m.From != "detected_at" {
		t.Fatalf("time to mitigate = %+v", m)
	}
}

// TestSummaryRolesAndTheirHoldersGetTheMail: the summary lists the current
// role holders, and everyone who held a role is mailed, paged or not.
func TestSummaryRolesAndTheirHoldersGetTheMail(t *testing.T) {
	s := NewState()
	pagedIncident(t, s)
	inc := s.own(s.byID(1)) // the state's own copy, as apply changes it
	setRole(at(2), inc, "incident_manager", "dave", "dave", "via api", "")
	setRole(at(3), inc, "incident_manager", "erin", "dave", "via api", "handover")
	setRole(at(4), inc, "tech_lead", "bob", "bob", "via sms", "")
	act(t, s, at(20), Action{Incident: 1, Kind: Resolve, By: "erin"})
	inc = mustGet(t, s, 1)
	sum := BuildSummary(inc, at(30), "")
	if mustJSON(t, sum.Roles) != `{"incident_manager":"erin","tech_lead":"bob"}` {
		t.Fatalf("roles = %s", mustJSON(t, sum.Roles))
	}
	if got := strings.Join(SummaryRecipients(inc), ","); got != "alice,bob,dave,erin" {
		t.Fatalf("recipients = %s, want the paged (alice, bob) then past and present role holders (dave, erin)", got)
	}
	if text := sum.Text(); !strings.Contains(text, "Roles:        incident_manager: erin, tech_lead: bob") {
		t.Fatalf("text lacks the roles:\n%s", text)
	}
}

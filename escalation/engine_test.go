package escalation

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

func TestTwoStepPolicyPagesAtOffsetsOverBothLoops(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Hour)
	h.expectSent(
		"0s sms alice step0 loop0 INC-1",
		"2m0s email alice step0 loop0 INC-1",
		"10m0s email bob step1 loop0 INC-1",
		"10m0s webhook chat step1 loop0 INC-1",
		"15m0s sms alice step0 loop1 INC-1",
		"17m0s email alice step0 loop1 INC-1",
		"25m0s email bob step1 loop1 INC-1",
		"25m0s webhook chat step1 loop1 INC-1",
	)
	inc := h.incident(id)
	if !inc.Escalation.Exhausted || inc.Escalation.NextAt != nil {
		t.Fatalf("escalation after the last loop = %+v, want exhausted", inc.Escalation)
	}
	h.timelineHas(id, incident.EntryExhausted, "exhausted after 2 loop(s)")
	for _, n := range inc.Notifications {
		if n.Status != incident.NotifySent || n.Attempts != 1 || n.SentAt == nil {
			t.Errorf("notification %+v, want sent once", n)
		}
	}
	if len(inc.Notifications) != 8 {
		t.Errorf("%d notifications recorded, want 8", len(inc.Notifications))
	}
}

func TestAcknowledgeMidStepCancelsEverythingPending(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.expectSent("0s sms alice step0 loop0 INC-1")
	h.act(id, incident.Ack)
	h.runUntil(29 * time.Minute) // before the 30m ack timeout
	h.expectSent()
	inc := h.incident(id)
	if inc.Escalation.NextAt != nil {
		t.Errorf("next_at = %v after ack, want none", inc.Escalation.NextAt)
	}
	var statuses []string
	for _, n := range inc.Notifications {
		statuses = append(statuses, n.Channel+"="+n.Status)
	}
	if got := strings.Join(statuses, " "); got != "sms=sent email=cancelled" {
		t.Errorf("notifications %s, want sms=sent email=cancelled", got)
	}
}

func TestEscalateRunsTheNextStepNow(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(3 * time.Minute)
	h.rec.take()
	h.act(id, incident.Escalate)
	h.runUntil(3 * time.Minute)
	h.expectSent("3m0s email bob step1 loop0 INC-1", "3m0s webhook chat step1 loop0 INC-1")
	h.timelineHas(id, incident.EntryStep, "escalated by request")
	// The escalated step keeps its own escalate_after: loop 1 is due 5m later.
	h.runUntil(8 * time.Minute)
	h.expectSent("8m0s sms alice step0 loop1 INC-1")
}

func TestEscalateAnAcknowledgedIncidentRetriggersIt(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.act(id, incident.Ack)
	h.act(id, incident.Escalate)
	h.runUntil(time.Minute)
	if inc := h.incident(id); inc.Status != incident.Triggered {
		t.Fatalf("status %s after escalate, want triggered", inc.Status)
	}
	h.expectSent("0s sms alice step0 loop0 INC-1", "1m0s email bob step1 loop0 INC-1", "1m0s webhook chat step1 loop0 INC-1")
}

func TestResolveStopsEscalation(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.act(id, incident.Resolve)
	h.runUntil(2 * time.Hour)
	h.expectSent("0s sms alice step0 loop0 INC-1", "1m0s email alice resolution INC-1 duration 60s pages 2")
}

func TestAckTimeoutStartsThePolicyOver(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.act(id, incident.Ack)
	h.runUntil(31*time.Minute - time.Second)
	h.expectSent("0s sms alice step0 loop0 INC-1")
	h.runUntil(31 * time.Minute)
	h.expectSent("31m0s sms alice step0 loop0 INC-1")
	inc := h.incident(id)
	if inc.Status != incident.Triggered || inc.AcknowledgedBy != "" {
		t.Fatalf("after ack timeout: status %s, acknowledged by %q", inc.Status, inc.AcknowledgedBy)
	}
	h.timelineHas(id, incident.EntryRetriggered, "ack_timeout")
	h.timelineHas(id, incident.EntryStep, "after ack timeout")
}

func TestStepWithNobodyOnCallMovesStraightOn(t *testing.T) {
	h := newHarness(t, "")
	// 11:00 Amsterdam: the nights rotation (22:00-06:00) has nobody.
	id := h.trigger("nightly", "backup-late")
	h.runUntil(time.Minute)
	h.expectSent("0s email bob step1 loop0 INC-1")
	h.timelineHas(id, incident.EntryStep, "schedule night has nobody on call")
	h.timelineHas(id, incident.EntryStep, "moving straight on")
}

func TestUserWithoutRulesIsRecordedAndOthersStillPaged(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("phoneless", "x")
	h.runUntil(time.Minute)
	h.expectSent("0s email bob step0 loop0 INC-1")
	h.timelineHas(id, incident.EntryStep, "carol has no notification rules")
}

func TestTransientFailuresAreRetriedWithBackoff(t *testing.T) {
	h := newHarness(t, "")
	h.rec.fail["sms"] = []error{
		&notify.StatusError{Code: http.StatusTooManyRequests},
		&notify.StatusError{Code: http.StatusInternalServerError},
	}
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	// Rand is 0.5: half the ceiling, 0.5s after the first failure, 1s after the second.
	h.expectSent("1.5s sms alice step0 loop0 INC-1")
	n := h.incident(id).Notifications[0]
	if n.Status != incident.NotifySent || n.Attempts != 3 {
		t.Fatalf("notification %+v, want sent on attempt 3", n)
	}
}

func TestFinalFailureIsRecordedAndEscalationCarriesOn(t *testing.T) {
	h := newHarness(t, "")
	h.rec.fail["sms"] = []error{notify.Permanent(errors.New("21211 invalid number"))}
	id := h.trigger("web", "db-down")
	h.runUntil(11 * time.Minute)
	h.expectSent("2m0s email alice step0 loop0 INC-1", "10m0s email bob step1 loop0 INC-1", "10m0s webhook chat step1 loop0 INC-1")
	n := h.incident(id).Notifications[0]
	if n.Status != incident.NotifyFailed || !strings.Contains(n.Error, "21211") {
		t.Fatalf("sms notification %+v, want failed with the provider's error", n)
	}
	h.timelineHas(id, incident.EntryNotifyFailed, "could not page alice by sms after 1 attempt(s)")
}

func TestRetriesStopAtMaxAttempts(t *testing.T) {
	h := newHarness(t, "")
	for i := 0; i < DefaultMaxAttempts; i++ {
		h.rec.fail["sms"] = append(h.rec.fail["sms"], &notify.StatusError{Code: 503})
	}
	id := h.trigger("web", "db-down")
	h.runUntil(5 * time.Minute)
	n := h.incident(id).Notifications[0]
	if n.Status != incident.NotifyFailed || n.Attempts != DefaultMaxAttempts {
		t.Fatalf("notification %+v, want failed after %d attempts", n, DefaultMaxAttempts)
	}
}

func TestNewLeaderFiresOverdueStepAtOnceAndResendsOnlyInFlight(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(3 * time.Minute)
	h.expectSent("0s sms alice step0 loop0 INC-1", "2m0s email alice step0 loop0 INC-1")
	// The old leader dies; the next one takes over at 12m, after step 1 was due.
	h.clock.set(t0.Add(12 * time.Minute))
	h.newTerm()
	h.settle()
	h.expectSent("12m0s email bob step1 loop0 INC-1", "12m0s webhook chat step1 loop0 INC-1")
	if inc := h.incident(id); inc.Escalation.Seq != 2 {
		t.Fatalf("seq %d, want 2: one step start per step", inc.Escalation.Seq)
	}
}

func TestNotificationInFlightAtLeaderLossIsSentAgainOnce(t *testing.T) {
	h := newHarness(t, "")
	// The send succeeds but its outcome never commits: the leader died.
	h.endTermOnCommitFailure()
	id := h.trigger("web", "db-down")
	h.settle()
	h.expectSent("0s sms alice step0 loop0 INC-1")
	if n := h.incident(id).Notifications[0]; n.Status != incident.NotifyQueued {
		t.Fatalf("notification %+v, want still queued", n)
	}
	h.newTerm()
	h.runUntil(time.Minute)
	h.expectSent("0s sms alice step0 loop0 INC-1")
	if n := h.incident(id).Notifications[0]; n.Status != incident.NotifySent || n.Attempts != 1 {
		t.Fatalf("notification %+v, want sent with one recorded attempt", n)
	}
}

func TestStaleStepStartChangesNothing(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.settle()
	before := h.incident(id)
	next := t0.Add(time.Hour)
	err := h.store.SubmitStepStart(nil, &incident.StepStart{Incident: id, ExpectSeq: 0, Reason: incident.ReasonTrigger, NextAt: &next})
	if !errors.Is(err, incident.ErrStale) {
		t.Fatalf("repeated step start: err %v, want ErrStale", err)
	}
	// A step due in 10 minutes cannot start now, whatever the command says.
	err = h.store.SubmitStepStart(nil, &incident.StepStart{Incident: id, ExpectSeq: 1, Reason: incident.ReasonTimeout, Step: 1, NextAt: &next})
	if !errors.Is(err, incident.ErrStale) {
		t.Fatalf("early step start: err %v, want ErrStale", err)
	}
	if after := h.incident(id); after.Escalation.Seq != before.Escalation.Seq || len(after.Timeline) != len(before.Timeline) {
		t.Fatal("a stale step start changed the incident")
	}
}

func TestFloodControlBundlesAStormIntoOneSummary(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 3, per: 1m}\n")
	for i := 0; i < 20; i++ {
		h.trigger("web", "storm-"+string(rune('a'+i)))
		h.settle()
		h.clock.set(h.clock.Now().Add(500 * time.Millisecond))
	}
	h.runUntil(90 * time.Second)
	got := h.rec.take()
	var sms, summaries []string
	for _, s := range got {
		if strings.Contains(s, " sms ") {
			sms = append(sms, s)
		}
		if strings.Contains(s, "summary") {
			summaries = append(summaries, s)
		}
	}
	if len(sms) != 4 || len(summaries) != 1 || !strings.Contains(summaries[0], "1m0s sms alice summary of 17") {
		t.Fatalf("sms sent: %v; want 3 pages and one summary of the other 17 at 1m", sms)
	}
	// Every incident's page is accounted for: sent alone or in the summary.
	for id := uint64(1); id <= 20; id++ {
		n := h.incident(id).Notifications[0]
		if n.Status != incident.NotifySent {
			t.Errorf("INC-%d sms %+v, want sent", id, n)
		}
		if id > 3 && n.Summary == "" {
			t.Errorf("INC-%d sms not marked as summarised", id)
		}
	}
}

func TestFloodControlDropsPagesAcknowledgedWhileHeld(t *testing.T) {
	h := newHarness(t, "  flood_control: {max: 1, per: 1m}\n")
	a := h.trigger("web", "a")
	h.settle()
	b := h.trigger("web", "b")
	c := h.trigger("web", "c")
	h.settle()
	h.act(b, incident.Ack)
	h.runUntil(61 * time.Second)
	got := h.rec.take()
	want := []string{"0s sms alice step0 loop0 INC-1", "1m0s sms alice step0 loop0 INC-3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("sent %v, want %v (INC-2 acknowledged while held; INC-3 alone, not a summary)", got, want)
	}
	_, _ = a, c
}

func TestEmailCarriesAVerifiableReplyToken(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("phoneless", "x")
	inc := h.incident(id)
	cfg, _ := h.store.ActiveConfig()
	to := h.term.replyTo("n1-1-1", cfg, h.clock.Now())
	token, domain, ok := strings.Cut(to, "@")
	if !ok || domain != "reply.example.com" {
		t.Fatalf("reply-to %q", to)
	}
	got, err := h.store.keyring.Verify(token, h.clock.Now().Add(24*time.Hour))
	if err != nil || got != "n1-1-1" {
		t.Fatalf("verify token: %q, %v", got, err)
	}
	_ = inc
}

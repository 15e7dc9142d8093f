package incident

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// randomEscalationCommand is a StepStart or Delivery against the current
// state of replica s: mostly what a leader would plan (the expected seq,
// existing notifications, the next attempt), sometimes stale or bogus, so
// that both the applied and the refused paths run.
func randomEscalationCommand(rng *rand.Rand, now time.Time, s *State) *command {
	id := uint64(rng.Intn(s.Len()+2)) + 0
	inc, _ := s.Get(id)
	if rng.Intn(2) == 0 {
		return &command{At: now, Step: randomStepStart(rng, now, id, inc)}
	}
	return &command{At: now, Delivery: randomDelivery(rng, now, id, inc)}
}

func randomStepStart(rng *rand.Rand, now time.Time, id uint64, inc *Incident) *StepStart {
	st := &StepStart{Incident: id, Reason: []string{ReasonTrigger, ReasonTimeout, ReasonEscalate}[rng.Intn(3)],
		Step: rng.Intn(2), Loop: rng.Intn(2), Message: "step"}
	seq := rng.Intn(3)
	if inc != nil && inc.Escalation != nil && rng.Intn(5) != 0 {
		seq = inc.Escalation.Seq
	}
	st.ExpectSeq = seq
	if inc != nil && inc.Status == Acknowledged && rng.Intn(4) != 0 {
		st.Reason = ReasonAckTimeout
		deadline := inc.AcknowledgedAt.Add(time.Duration(rng.Intn(3)) * time.Minute) // sometimes ahead
		st.AckDeadline = &deadline
	}
	next := now.Add(time.Duration(rng.Intn(3)) * time.Minute)
	st.NextAt = &next
	if rng.Intn(8) == 0 {
		st.Exhausted = true
		return st
	}
	for k := 0; k < rng.Intn(4); k++ {
		n := Notification{ID: fmt.Sprintf("n%d-%d-%d", id, seq+1, k), User: []string{"alice", "bob"}[rng.Intn(2)],
			Channel: []string{ChannelSMS, ChannelEmail, ChannelWebhook}[rng.Intn(3)], DueAt: now, Status: NotifyQueued}
		n.To = map[string]string{ChannelSMS: []string{"+1", "+2"}[rng.Intn(2)], ChannelEmail: n.User + "@example.com", ChannelWebhook: "chat"}[n.Channel]
		if rng.Intn(6) == 0 {
			n.Status, n.Error = NotifyFailed, "no phone"
		}
		st.Notifications = append(st.Notifications, n)
	}
	return st
}

func randomDelivery(rng *rand.Rand, now time.Time, id uint64, inc *Incident) *Delivery {
	d := &Delivery{}
	outcome := []string{OutcomeSent, OutcomeSent, OutcomeRetry, OutcomeFailed, OutcomeHeld}[rng.Intn(5)]
	summary := ""
	if outcome == OutcomeSent && rng.Intn(3) == 0 {
		summary = "s-x"
	}
	if inc == nil || len(inc.Notifications) == 0 {
		d.Items = append(d.Items, DeliveryItem{Incident: id, Notification: "n-none", Attempt: 1, Outcome: outcome})
		return d
	}
	for k := 0; k <= rng.Intn(3); k++ {
		n := inc.Notifications[rng.Intn(len(inc.Notifications))]
		it := DeliveryItem{Incident: id, Notification: n.ID, Attempt: n.Attempts + 1, Outcome: outcome, Summary: summary}
		if rng.Intn(6) == 0 {
			it.Attempt = n.Attempts // a repeat of a recorded outcome
		}
		switch outcome {
		case OutcomeRetry:
			retry := now.Add(time.Minute)
			it.RetryAt, it.Error = &retry, "timeout"
		case OutcomeFailed:
			it.Error = "refused"
		case OutcomeHeld:
			until := now.Add(time.Minute)
			it.HeldUntil = &until
		}
		d.Items = append(d.Items, it)
	}
	return d
}

// checkEscalationInvariants: what escalation and delivery commands must
// keep true whatever their order.
func checkEscalationInvariants(t testing.TB, s *State) {
	t.Helper()
	codes := map[string]map[int]uint64{} // phone → code → open incident
	for _, inc := range s.incidents {
		if inc == nil {
			continue // removed by retention
		}
		if esc := inc.Escalation; esc != nil {
			if (esc.Exhausted || inc.Status != Triggered) && esc.NextAt != nil {
				t.Fatalf("%s (%s, exhausted %v) still has a step due at %v\n%s", inc.Key, inc.Status, esc.Exhausted, esc.NextAt, mustJSON(t, inc.Timeline))
			}
			if esc.Seq < 0 || (esc.StepStartedAt == nil && esc.Exhausted) {
				t.Fatalf("%s: escalation %+v", inc.Key, esc)
			}
		}
		ids := map[string]bool{}
		for _, n := range inc.Notifications {
			if ids[n.ID] {
				t.Fatalf("%s: notification %s twice", inc.Key, n.ID)
			}
			ids[n.ID] = true
			switch n.Status {
			case NotifyQueued:
				if n.Kind == KindSummary {
					// A resolution summary mail waits on a resolved incident,
					// which the pending index must list for the leader.
					if _, pending := s.pendingMail[inc.ID]; inc.Status != Resolved || !pending {
						t.Fatalf("%s is %s with summary mail %s queued (pending %v)", inc.Key, inc.Status, n.ID, pending)
					}
				} else if inc.Status != Triggered {
					t.Fatalf("%s is %s with %s still queued", inc.Key, inc.Status, n.ID)
				}
			case NotifySent:
				if n.SentAt == nil || n.Attempts < 1 {
					t.Fatalf("%s: %s sent without a time or an attempt: %+v", inc.Key, n.ID, n)
				}
			case NotifyFailed, NotifyCancelled:
			default:
				t.Fatalf("%s: %s has status %q", inc.Key, n.ID, n.Status)
			}
			if n.Channel == ChannelSMS && n.ReplyCode > 0 && inc.Status.Open() {
				if codes[n.To] == nil {
					codes[n.To] = map[int]uint64{}
				}
				if other, ok := codes[n.To][n.ReplyCode]; ok && other != inc.ID {
					t.Fatalf("open %s and INC-%d share reply code %d on %s", inc.Key, other, n.ReplyCode, n.To)
				}
				codes[n.To][n.ReplyCode] = inc.ID
				if s.phoneCodes[n.To][inc.ID] != n.ReplyCode {
					t.Fatalf("%s: code %d on %s not indexed", inc.Key, n.ReplyCode, n.To)
				}
			}
		}
	}
}

// Version-1 commands (logged before issue 11) apply by the rules of their
// time, so an old log replays to the state it produced: ack and escalate
// leave the seq, and an ack timeout has no deadline check.
func TestLogV1CommandsKeepTheirRules(t *testing.T) {
	for _, v := range []uint8{LogV1, 0, 2} {
		s := NewState()
		ev := event(ActionTrigger, "x", "sev1")
		ev.Policy, ev.LogVersion = "p", v
		s.ApplyEvent(at(0), ev)
		next := at(10)
		if _, err := s.ApplyStepStart(at(0), &StepStart{Incident: 1, Reason: ReasonTrigger, NextAt: &next, LogVersion: v}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyAction(at(1), &Action{Incident: 1, Kind: Escalate, By: "bob", LogVersion: v}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ApplyAction(at(1), &Action{Incident: 1, Kind: Ack, By: "bob", LogVersion: v}); err != nil {
			t.Fatal(err)
		}
		esc := mustGet(t, s, 1).Escalation
		wantSeq, wantEscalated := 3, true
		if v == LogV1 {
			wantSeq, wantEscalated = 1, false
		}
		if esc.Seq != wantSeq || esc.Escalated != wantEscalated {
			t.Errorf("version %d: seq %d escalated %v, want %d %v", v, esc.Seq, esc.Escalated, wantSeq, wantEscalated)
		}
		// An ack timeout without a deadline: version 1 applied it.
		_, err := s.ApplyStepStart(at(2), &StepStart{Incident: 1, ExpectSeq: esc.Seq, Reason: ReasonAckTimeout, NextAt: &next, LogVersion: v})
		if (err == nil) != (v == LogV1) {
			t.Errorf("version %d: ack timeout without deadline: err %v", v, err)
		}
	}
}

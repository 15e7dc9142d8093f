package incident

import (
	"bytes"
	"errors"
	"testing"
)

// TestReplayAnswersTheFirstOutcome is issue 10.9: a retried reply (same
// dedup id) answers what its first delivery did, even when it now names
// another incident, and changes nothing; also after a snapshot round trip.
func TestReplayAnswersTheFirstOutcome(t *testing.T) {
	s := NewState()
	s.ApplyEvent(at(0), event(ActionTrigger, "one", "sev1"))
	if _, err := s.ApplyAction(at(1), &Action{Incident: 1, Kind: Ack, By: "carol", Channel: "sms", DedupID: "sms:SM1"}); err != nil {
		t.Fatal(err)
	}
	// A second reply to INC-1 is refused; remember its words.
	_, refusal := s.ApplyAction(at(2), &Action{Incident: 1, Kind: Ack, By: "carol", Channel: "sms", DedupID: "sms:SM2"})
	if !errors.Is(refusal, ErrConflict) {
		t.Fatalf("second ack: %v", refusal)
	}
	s.ApplyEvent(at(3), event(ActionTrigger, "two", "sev1")) // a newer page: INC-2

	var snap bytes.Buffer
	if err := s.WriteSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	restored, err := ReadSnapshot(&snap)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*State{"applied": s, "restored": restored} {
		before := snapshotOf(t, st)
		// The Twilio retry of SM1 now picks the newest page, INC-2.
		inc, err := st.ApplyAction(at(4), &Action{Incident: 2, Kind: Ack, By: "carol", Channel: "sms", DedupID: "sms:SM1"})
		if !errors.Is(err, ErrDuplicate) || inc == nil || inc.ID != 1 || inc.Status != Acknowledged {
			t.Fatalf("%s: retry of SM1 answered %v %+v; want INC-1 acknowledged, as the first time", name, err, inc)
		}
		// The retry of the refused SM2 is refused with the same words.
		inc, err = st.ApplyAction(at(4), &Action{Incident: 2, Kind: Ack, By: "carol", Channel: "sms", DedupID: "sms:SM2"})
		if !errors.Is(err, ErrConflict) || !errors.Is(err, ErrReplayed) || errors.Is(err, ErrDuplicate) || err.Error() != refusal.Error() || inc != nil {
			t.Fatalf("%s: retry of SM2 answered %v; want the first refusal %q", name, err, refusal)
		}
		if mustGet(t, st, 2).Status != Triggered || snapshotOf(t, st) != before {
			t.Fatalf("%s: a retry changed the state", name)
		}
	}
}

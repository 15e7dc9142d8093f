package cluster

import (
	"testing"

	"github.com/hashicorp/raft"

	"github.com/pagerd/pagerd/incident"
)

// A log written before issue 11 (version-1 action entries) replays by the
// version-1 rules: an acknowledgement leaves the escalation seq alone, as it
// did when the entry was written. A version-2 entry moves it.
func TestVersion1ActionReplaysByVersion1Rules(t *testing.T) {
	for _, c := range []struct {
		version uint8
		seq     int
	}{{1, 0}, {2, 1}} {
		f := NewFSM(func(err error) { t.Fatal(err) })
		open, err := newCommand(TypeEvent, &incident.Event{Service: "checkout", Action: incident.ActionTrigger,
			DedupKey: "a", Policy: "p", Alert: incident.Alert{Severity: "sev1"}})
		if err != nil {
			t.Fatal(err)
		}
		ack, err := newCommand(TypeAction, incident.Action{Incident: 1, Kind: incident.Ack, By: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		ack.Version = c.version
		f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, open, ack)})
		f.ReadIncidents(func(s *incident.State) {
			inc, _ := s.Get(1)
			if inc.Status != incident.Acknowledged || inc.Escalation.Seq != c.seq {
				t.Errorf("version %d ack: status %s seq %d, want acknowledged seq %d", c.version, inc.Status, inc.Escalation.Seq, c.seq)
			}
		})
	}
}

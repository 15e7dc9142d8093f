package incident

import (
	"math/rand"
	"testing"
)

// EscalationView shares the alerts' label and annotation maps with the state
// (view.go): that is only safe while a change to the state replaces an
// alert's maps instead of writing into them. A view taken before later
// alert updates, a retitle, an ack and a resolve must read as it did.
func TestEscalationViewUnchangedByLaterApplies(t *testing.T) {
	s := NewState()
	s.ApplyAlertGroup(at(0), clone(t, group("checkout", "g1", "firing", alert("a", "firing", "sev2"))))
	view, ok := s.EscalationView(1)
	if !ok {
		t.Fatal("no view of incident 1")
	}
	labels, annotations := map[string]string{}, map[string]string{}
	for k, v := range view.Alerts[0].Labels {
		labels[k] = v
	}
	for k, v := range view.Alerts[0].Annotations {
		annotations[k] = v
	}
	changed := alert("a", "firing", "sev1")
	changed.Labels["team"], changed.Annotations["summary"] = "payments", "now worse"
	s.ApplyAlertGroup(at(1), clone(t, group("checkout", "g1", "firing", changed, alert("b", "firing", "sev3"))))
	if got := mustGet(t, s, 1).Alerts[0].Labels["team"]; got != "payments" {
		t.Fatalf("the state did not take the update (team=%q): the test proves nothing", got)
	}
	s.ApplyAlertGroup(at(2), clone(t, group("checkout", "g1", "resolved", alert("a", "resolved", "sev1"))))
	if len(view.Alerts) != 1 {
		t.Fatalf("view has %d alerts, want 1", len(view.Alerts))
	}
	for k, v := range labels {
		if view.Alerts[0].Labels[k] != v {
			t.Errorf("view label %s = %q, want %q", k, view.Alerts[0].Labels[k], v)
		}
	}
	if len(view.Alerts[0].Labels) != len(labels) || view.Alerts[0].Annotations["summary"] != annotations["summary"] {
		t.Errorf("view's maps changed under it: labels %v, annotations %v", view.Alerts[0].Labels, view.Alerts[0].Annotations)
	}
}

// TestEscalationViewsStayAsTaken: an escalation view shares the times
// behind pointers and the alerts' maps with the state (view.go), which is
// only safe while apply never writes into them. Views taken along random
// command sequences (escalation, deliveries, acks, resolves, purges) must
// read at the end exactly as when they were taken.
func TestEscalationViewsStayAsTaken(t *testing.T) {
	type taken struct {
		view *Incident
		json string
	}
	views := 0
	for seed := int64(1); seed <= 10; seed++ {
		rng := rand.New(rand.NewSource(seed))
		s := NewState()
		var all []taken
		for i := 0; i < 300; i++ {
			c := randomCommand(rng, at(i), s.Len())
			if rng.Intn(2) == 0 {
				c = randomEscalationCommand(rng, at(i), s)
			}
			if rng.Intn(10) == 0 {
				c = randomPurge(rng, at(i), s)
			}
			apply(t, s, c)
			if s.Len() == 0 {
				continue
			}
			if v, ok := s.EscalationView(uint64(rng.Intn(s.Len()) + 1)); ok {
				all = append(all, taken{v, mustJSON(t, v)})
			}
		}
		for _, tk := range all {
			if got := mustJSON(t, tk.view); got != tk.json {
				t.Fatalf("seed %d: the view of INC-%d changed after it was taken:\nthen %s\nnow  %s", seed, tk.view.ID, tk.json, got)
			}
		}
		views += len(all)
	}
	if views < 1000 {
		t.Fatalf("only %d views taken: the test proves little", views)
	}
}

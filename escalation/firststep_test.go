package escalation

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/schedule"
)

// triggerPlanned opens an incident as the leader's trigger command does
// from event version 5 on (issue 18): with the plan of step 0 inside it.
// It is planned at the stamped time, as the engine plans at its clock's
// now (a plan made earlier has its times moved to the stamped time, which
// the golden entries check; only a "nobody on call at" note names the
// instant of planning).
func (h *harness) triggerPlanned(service, key string, deferrals ...incident.Deferral) uint64 {
	h.t.Helper()
	svc, _ := h.store.cfg.Service(service)
	if h.planner == nil {
		set, err := schedule.Compile(h.store.cfg)
		if err != nil {
			h.t.Fatal(err)
		}
		h.planner, h.plannerSet = NewFirstStepPlanner(), set
	}
	now := h.clock.Now()
	plan := h.planner.PlanFirstStep(h.store.cfg, "v1", h.plannerSet, "s1", svc.Policy, now)
	h.store.mu.Lock()
	res := h.store.st.ApplyEvent(now, &incident.Event{Integration: "events", Service: service,
		Action: incident.ActionTrigger, DedupKey: key, AutoResolve: true, Policy: svc.Policy, Deferrals: deferrals, FirstStep: plan,
		Alert: incident.Alert{Annotations: map[string]string{"summary": key}, Severity: "sev1"}})
	h.store.mu.Unlock()
	h.store.changed(res.Incident)
	return res.Incident
}

// The plan inside the trigger records exactly the state the engine's own
// step start records (notifications and their ids, reply codes, timeline
// lines, next_at), without the engine committing a step start, and the
// pages go out at once and at the same times after, later steps included:
// a schedule target (alice, SMS now and email at +2m), users without
// rules, and a schedule with nobody on call (next step at once).
func TestFirstStepInTheTriggerRecordsWhatTheEngineWould(t *testing.T) {
	for _, service := range []string{"web", "phoneless", "nightly"} {
		t.Run(service, func(t *testing.T) {
			engine, planned := newHarness(t, ""), newHarness(t, "")
			a := engine.trigger(service, "k")
			b := planned.triggerPlanned(service, "k")

			inc := planned.incident(b)
			if !inc.Escalation.Started() || inc.Escalation.Seq != 1 {
				t.Fatalf("step 0 not started by the trigger's apply: %+v", inc.Escalation)
			}
			engine.runUntil(30 * time.Minute)
			planned.runUntil(30 * time.Minute)
			want, got := engine.rec.take(), planned.rec.take()
			if fmt.Sprint(got) != fmt.Sprint(want) || len(got) == 0 {
				t.Fatalf("sent with the plan:\n  %v\nby the engine:\n  %v", got, want)
			}
			if j, k := incidentJSON(t, engine.incident(a)), incidentJSON(t, planned.incident(b)); j != k {
				t.Fatalf("incident with the plan:\n%s\nby the engine:\n%s", k, j)
			}
			// The engine committed every later step, but not step 0.
			if len(planned.store.stepSubmits) != len(engine.store.stepSubmits)-1 || engine.store.stepSubmits[0] != 0 {
				t.Fatalf("step starts committed: %v with the plan, %v by the engine", planned.store.stepSubmits, engine.store.stepSubmits)
			}
			var m dto.Metric
			if err := planned.eng.metrics.steps.WithLabelValues(incident.ReasonTrigger).Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
				n := m.GetCounter().GetValue()
				t.Fatalf("steps_total{reason=trigger} = %v with the plan, want 1 (as the engine counts its own)", n)
			}
		})
	}
}

// The page goes out on the watch callback of the trigger's apply: the
// engine commits nothing before it (one commit between alert and page).
func TestPlannedPageGoesOutWithoutAStepCommit(t *testing.T) {
	h := newHarness(t, "")
	id := h.triggerPlanned("web", "k")
	h.settle()
	h.expectSent(fmt.Sprintf("0s sms alice step0 loop0 INC-%d", id))
	if len(h.store.stepSubmits) != 0 {
		t.Fatalf("the engine committed step starts at %v; step 0 was in the trigger", h.store.stepSubmits)
	}
	n := h.incident(id).Notifications[0]
	if n.Status != incident.NotifySent || n.ID != incident.NotificationID(id, 1, 0) || n.ReplyCode != 1 {
		t.Fatalf("first page: %+v", n)
	}
}

// Paging deferred by the leader's paging plan ignores the first step: the
// engine starts step 0 when the window opens, as without the plan.
func TestDeferredTriggerLeavesTheFirstStepToTheEngine(t *testing.T) {
	h := newHarness(t, "")
	id := h.triggerPlanned("web", "k", incident.Deferral{Severity: "sev1", Window: "office", Until: t0.Add(time.Hour)})
	if inc := h.incident(id); inc.Escalation.Started() || len(inc.Notifications) != 0 {
		t.Fatalf("a deferred incident started paging: %+v", inc.Escalation)
	}
	h.runUntil(59 * time.Minute)
	h.expectSent()
	h.runUntil(time.Hour)
	h.expectSent(fmt.Sprintf("1h0m0s sms alice step0 loop0 INC-%d", id))
	if len(h.store.stepSubmits) != 1 || h.store.stepSubmits[0] != time.Hour {
		t.Fatalf("step starts at %v; want the engine's at 1h", h.store.stepSubmits)
	}
}

// A trigger for an open incident only updates it: the plan changes nothing.
func TestFirstStepIgnoredByARepeatTrigger(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "k")
	h.settle()
	before := incidentJSON(t, h.incident(id))
	if again := h.triggerPlanned("web", "k"); again != id {
		t.Fatalf("repeat opened INC-%d", again)
	}
	inc := h.incident(id)
	if inc.Escalation.Seq != 1 || len(inc.Notifications) != 2 {
		t.Fatalf("repeat trigger started a step: %+v, %d notifications (before: %s)", inc.Escalation, len(inc.Notifications), before)
	}
}

// The planner reuses a plan while nobody's shift begins or ends and the
// versions stay, and plans again across a shift change: bob is on call
// for nights from 22:00 to 06:00 Amsterdam time.
func TestFirstStepPlannerCachesUntilTheShiftChanges(t *testing.T) {
	h := newHarness(t, "")
	cfg := h.store.cfg
	set, err := schedule.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := NewFirstStepPlanner()
	late := time.Date(2026, 11, 24, 4, 59, 0, 0, time.UTC) // 05:59 in Amsterdam
	first := p.PlanFirstStep(cfg, "v1", set, "s1", "night-first", late)
	if first.Pages[0].User != "bob" {
		t.Fatalf("at 05:59 the plan pages %+v; want bob", first.Pages)
	}
	if again := p.PlanFirstStep(cfg, "v1", set, "s1", "night-first", late.Add(59*time.Second)); again != first {
		t.Fatal("within bob's shift the planner planned again")
	}
	if other := p.PlanFirstStep(cfg, "v2", set, "s1", "night-first", late.Add(30*time.Second)); other == first {
		t.Fatal("a new config version reused the old plan")
	}
	after := p.PlanFirstStep(cfg, "v1", set, "s1", "night-first", late.Add(61*time.Second))
	if after == first || len(after.Pages) != 0 {
		t.Fatalf("after 06:00 the plan still pages %+v", after.Pages)
	}
	// Nobody on call: the plan names the instant, so it is not reused.
	if p.PlanFirstStep(cfg, "v1", set, "s1", "night-first", late.Add(62*time.Second)) == after {
		t.Fatal("a plan naming its instant was reused")
	}
}

func incidentJSON(t *testing.T, inc *incident.Incident) string {
	t.Helper()
	b, err := json.MarshalIndent(inc, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

package escalation

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagerd/pagerd/incident"
)

// An ack timeout planned against an earlier acknowledgement must not
// retrigger the incident after a later one: escalate and acknowledge move
// the sequence, so the plan is stale.
func TestAckTimeoutPlannedBeforeAReAckIsStale(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.act(id, incident.Ack)
	h.clock.set(t0.Add(31 * time.Minute))
	cfg, version := h.store.ActiveConfig()
	inc := h.incident(id)
	reason, _ := due(inc, cfg, h.clock.Now())
	if reason != incident.ReasonAckTimeout {
		t.Fatalf("due at 31m: %q, want ack_timeout", reason)
	}
	plan := planStep(inc, reason, cfg, h.term.schedules(cfg, version), h.clock.Now())
	// Before the plan commits, someone escalates and someone else acks.
	h.act(id, incident.Escalate)
	h.act(id, incident.Ack)
	if err := h.store.SubmitStepStart(nil, plan); !errors.Is(err, incident.ErrStale) {
		t.Fatalf("ack timeout planned against the first ack: err %v, want ErrStale", err)
	}
	if inc := h.incident(id); inc.Status != incident.Acknowledged {
		t.Fatalf("status %s: the new acknowledgement was undone at once", inc.Status)
	}
}

// Apply checks the ack timeout's time, as it checks next_at for other steps.
func TestAckTimeoutStepIsNeverEarly(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	h.act(id, incident.Ack)
	h.clock.set(t0.Add(2 * time.Minute))
	seq := h.incident(id).Escalation.Seq
	early := t0.Add(31 * time.Minute)
	for name, deadline := range map[string]*time.Time{"no deadline": nil, "deadline ahead": &early} {
		err := h.store.SubmitStepStart(nil, &incident.StepStart{Incident: id, ExpectSeq: seq,
			Reason: incident.ReasonAckTimeout, AckDeadline: deadline})
		if !errors.Is(err, incident.ErrStale) {
			t.Errorf("%s: ack timeout 1m after the ack: err %v, want ErrStale", name, err)
		}
	}
	if inc := h.incident(id); inc.Status != incident.Acknowledged {
		t.Fatalf("status %s after early ack timeouts", inc.Status)
	}
}

// The escalate request is a field of the escalation, set by escalate and
// cleared by the step it causes.
func TestEscalateIsRecordedAsAFieldUntilTheStepStarts(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(time.Minute)
	seq := h.incident(id).Escalation.Seq
	h.store.mu.Lock()
	_, err := h.store.st.ApplyAction(h.clock.Now(), &incident.Action{Incident: id, Kind: incident.Escalate, By: "bob"})
	h.store.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if esc := h.incident(id).Escalation; !esc.Escalated || esc.Seq != seq+1 {
		t.Fatalf("after escalate: %+v, want escalated and seq %d", esc, seq+1)
	}
	h.store.changed(id)
	h.settle()
	if esc := h.incident(id).Escalation; esc.Escalated || esc.Step != 1 {
		t.Fatalf("after the escalated step: %+v, want step 1 and the request cleared", esc)
	}
	h.timelineHas(id, incident.EntryStep, "escalated by request")
}

// A step start that cannot commit is retried with backoff a bounded number
// of times, then left until the incident changes.
func TestFailedStepCommitIsRetriedWithBackoffThenLeft(t *testing.T) {
	h := newHarness(t, "")
	h.store.failSteps = 1000
	id := h.trigger("web", "db-down")
	h.runUntil(10 * time.Minute)
	want := "[0s 1s 3s 7s 15s 31s 1m3s 2m3s]"
	if got := fmt.Sprint(h.store.stepSubmits); got != want {
		t.Fatalf("step commits at %s, want %s", got, want)
	}
	h.expectSent()
	// The incident changes (here: the cluster is back and anything touches
	// it): the step is tried again and pages.
	h.store.failSteps = 0
	h.store.changed(id)
	h.runUntil(10 * time.Minute)
	h.expectSent("10m0s sms alice step0 loop0 INC-1")
}

func ackObservations(t *testing.T, h *harness) (uint64, float64) {
	t.Helper()
	return observations(t, h.eng.metrics.timeToAck, "web", "sev1")
}

// observations reads the count and sum of the one series of a histogram
// vector, which must carry exactly the labels service and severity.
func observations(t *testing.T, vec *prometheus.HistogramVec, service, severity string) (uint64, float64) {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	vec.Collect(ch)
	close(ch)
	var count uint64
	var sum float64
	for metric := range ch {
		var m dto.Metric
		if err := metric.Write(&m); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if len(labels) != 2 || labels["service"] != service || labels["severity"] != severity {
			t.Fatalf("series labelled %v, want service=%s severity=%s", labels, service, severity)
		}
		count += m.GetHistogram().GetSampleCount()
		sum += m.GetHistogram().GetSampleSum()
	}
	return count, sum
}

// Time to resolve is observed once per incident, labelled, by the leader
// that saw the resolve commit; a new term (restart, replay, leader change)
// does not observe it again.
func TestTimeToResolveIsObservedOnceByTheLeader(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(4 * time.Minute)
	h.act(id, incident.Resolve)
	h.settle()
	h.store.changed(id) // a late delivery outcome touches it again
	h.settle()
	if n, sum := observations(t, h.eng.metrics.timeToResolve, "web", "sev1"); n != 1 || sum != 240 {
		t.Fatalf("observed %d times, sum %vs; want once, 240s", n, sum)
	}
	if n, _ := ackObservations(t, h); n != 0 {
		t.Fatalf("a resolve without an ack observed time to ack %d times", n)
	}
	h.clock.set(t0.Add(5 * time.Minute))
	h.newTerm()
	h.settle()
	h.store.changed(id)
	h.settle()
	if n, _ := observations(t, h.eng.metrics.timeToResolve, "web", "sev1"); n != 1 {
		t.Fatalf("observed %d times after a new term, want still 1", n)
	}
}

// Time to acknowledge is observed once, by the leader that saw the ack
// commit, and not again by a later term that reconciles or replays it.
func TestTimeToAckIsObservedOnceByTheLeader(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(90 * time.Second)
	h.act(id, incident.Ack)
	h.settle()
	h.store.changed(id) // another change of the same incident
	h.settle()
	if n, sum := ackObservations(t, h); n != 1 || sum != 90 {
		t.Fatalf("observed %d times, sum %vs; want once, 90s", n, sum)
	}
	// A restart or a new leader: the term reconciles every open incident,
	// and the replayed ack is reported to the watch again.
	h.clock.set(t0.Add(2 * time.Minute))
	h.newTerm()
	h.settle()
	h.store.changed(id)
	h.settle()
	if n, _ := ackObservations(t, h); n != 1 {
		t.Fatalf("observed %d times after a new term, want still 1", n)
	}
	// An ack committed in the new term is observed.
	other := h.trigger("web", "other")
	h.runUntil(3 * time.Minute)
	h.act(other, incident.Ack)
	h.settle()
	if n, sum := ackObservations(t, h); n != 2 || sum != 90+60 {
		t.Fatalf("observed %d times, sum %vs; want 2, 150s", n, sum)
	}
}

// An ack timeout after the policy was exhausted starts it over, and the
// steps after the first are due again (the exhausted mark once stayed, so
// step 1 never came).
func TestAckTimeoutAfterExhaustionRunsThePolicyAgain(t *testing.T) {
	h := newHarness(t, "")
	id := h.trigger("web", "db-down")
	h.runUntil(31 * time.Minute)
	if !h.incident(id).Escalation.Exhausted {
		t.Fatal("policy not exhausted after both loops")
	}
	h.rec.take()
	h.act(id, incident.Ack)
	h.runUntil(72 * time.Minute)
	h.expectSent(
		"1h1m0s sms alice step0 loop0 INC-1",
		"1h3m0s email alice step0 loop0 INC-1",
		"1h11m0s email bob step1 loop0 INC-1",
		"1h11m0s webhook chat step1 loop0 INC-1",
	)
}

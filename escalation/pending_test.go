package escalation

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagerd/pagerd/incident"
	"github.com/pagerd/pagerd/notify"
)

// The engine copies and reconciles only the changed incidents that have
// work (pending.go); the others only get their timer armed. These tests
// show that this skips exactly the incidents reconcile leaves alone.

// effects is everything reconcile can do, as seen from outside: the steps
// it planned, the holds and outcomes it queued, what it sent, the changes
// it committed, what it put in flight, the commits it has in flight.
func (h *harness) effects() string {
	tm := h.term
	tm.mu.Lock()
	defer tm.mu.Unlock()
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return fmt.Sprintf("planned %d holds %d outcomes %d sent %d changes %d inflight %v busy %v reminding %v roles %v",
		len(tm.planned), len(tm.holds), len(tm.outcomes), len(h.rec.sent), h.store.changes,
		slices.Sorted(maps.Keys(tm.inflight)), slices.Sorted(maps.Keys(tm.busy)),
		slices.Sorted(maps.Keys(tm.reminding)), slices.Sorted(maps.Keys(tm.roleBusy)))
}

// stepChecked is term.step with every changed incident copied (noSkip),
// and each reconcile checked against pending's decision taken just before
// it: idle exactly when reconcile has no effect but arming the timer at
// the decided wake-up. Keep it in line with step (engine.go).
func (h *harness) stepChecked(stats *skipStats) time.Time {
	t := h.t
	tm := h.term
	cfg, version := tm.e.opts.Store.ActiveConfig()
	now := tm.e.opts.Clock.Now()
	set := tm.schedules(cfg, version)
	tm.seedFlood(cfg, now)
	incs, optedOut := tm.collect(cfg, set, now)
	for _, inc := range incs {
		w := tm.pending(inc, cfg, set, now)
		before := h.effects()
		tm.mu.Lock()
		timerBefore, armed := tm.timers.at[inc.ID]
		tm.mu.Unlock()
		tm.reconcile(inc, cfg, version, set, now, optedOut)
		after := h.effects()
		tm.mu.Lock()
		timerAfter := tm.timers.at[inc.ID]
		tm.mu.Unlock()
		if w.idle() {
			stats.idle++
			if before != after {
				t.Fatalf("%v INC-%d: pending says idle, but reconcile did something:\n before %s\n after  %s\n incident %s",
					now.Sub(t0), inc.ID, before, after, dump(inc))
			}
			want := timerBefore
			if !w.wake.IsZero() && (!armed || w.wake.Before(timerBefore)) {
				want = w.wake
			}
			if !timerAfter.Equal(want) {
				t.Fatalf("%v INC-%d: timer %v after reconcile, want %v (wake %v)", now.Sub(t0), inc.ID, timerAfter, want, w.wake)
			}
		} else {
			stats.busy++
			if before == after {
				t.Fatalf("%v INC-%d: pending says %+v, but reconcile did nothing: %s\n incident %s", now.Sub(t0), inc.ID, w, after, dump(inc))
			}
		}
	}
	tm.commitSteps()
	tm.commitHolds()
	tm.flushFlood(cfg, version, now)
	tm.mu.Lock()
	defer tm.mu.Unlock()
	next := tm.timers.peek()
	if f := tm.flood.nextFlush(now); !f.IsZero() && (next.IsZero() || f.Before(next)) {
		next = f
	}
	return next
}

type skipStats struct{ idle, busy int }

func dump(inc *incident.Incident) string {
	b, _ := json.Marshal(inc)
	return string(b)
}

// settleWith is settle with a step function of choice.
func (h *harness) settleWith(step func() time.Time) time.Time {
	for i := 0; ; i++ {
		if i > 1000 {
			h.t.Fatal("engine does not settle")
		}
		next := step()
		h.term.mu.Lock()
		more := len(h.term.dirty) > 0 || h.term.all
		h.term.mu.Unlock()
		if !more && (next.IsZero() || next.After(h.clock.Now())) {
			return next
		}
	}
}

// randomHarness is a harness with roles and status update reminders, so
// every kind of work reconcile does can come up.
func randomHarness(t *testing.T, extra string, noSkip bool) *harness {
	h := newHarness(t, extra+rolesYAML) // extra may continue channels:
	h.eng.opts.Store = reminderMem{h.store}
	h.eng.opts.noSkip = noSkip
	h.newTerm()
	return h
}

// randomOps drives h through n random operations from seed: triggers
// (planned or not, of every service and severity), acks, resolves,
// escalations, role changes, updates, failing sends and clock moves from
// a millisecond to an hour, letting the engine run with step after each.
// Failing sends (when fail) hit the next send on a channel, which in a
// pass of several depends on the pass's map order.
func randomOps(h *harness, seed uint64, n int, fail bool, step func() time.Time) {
	r := rand.New(rand.NewPCG(seed, 1))
	var ids []uint64
	services := []string{"web", "nightly", "phoneless"}
	pick := func() uint64 { return ids[r.IntN(len(ids))] }
	for i := 0; i < n; i++ {
		switch op := r.IntN(20); {
		case op < 5 || len(ids) == 0:
			key := "k" + strconv.Itoa(r.IntN(40)) // some repeat: alerts merge into an open incident
			if r.IntN(2) == 0 {
				ids = append(ids, h.triggerPlanned(services[r.IntN(3)], key))
			} else {
				ids = append(ids, h.trigger(services[r.IntN(3)], key))
			}
		case op < 6:
			ids = append(ids, h.triggerSev("s"+strconv.Itoa(r.IntN(40)), []string{"sev1", "sev2", "sev3", "sev4"}[r.IntN(4)]))
		case op < 8:
			h.tryAct(pick(), incident.Ack)
		case op < 9:
			h.tryAct(pick(), incident.Resolve)
		case op < 10:
			h.tryAct(pick(), incident.Escalate)
		case op < 11:
			id := pick()
			if inc := h.incident(id); inc.Status.Open() {
				h.changeRole(id, "incident_manager", []string{"alice", "bob"}[r.IntN(2)], "alice")
			}
		case op < 12:
			if inc := h.incident(pick()); inc.Status.Open() {
				h.smsUpdate(inc.ID, "1u looking into it")
			}
		case op < 13 && fail:
			h.rec.mu.Lock()
			ch := []string{"email", "sms", "webhook"}[r.IntN(3)]
			h.rec.fail[ch] = append(h.rec.fail[ch], &notify.StatusError{Code: 503})
			h.rec.mu.Unlock()
		default:
			d := []time.Duration{time.Millisecond, time.Second, 30 * time.Second, 2 * time.Minute, 11 * time.Minute, time.Hour}[r.IntN(6)]
			end := h.clock.Now().Add(d)
			for {
				next := h.settleWith(step)
				if next.IsZero() || next.After(end) {
					break
				}
				h.clock.set(next)
			}
			h.clock.set(end)
		}
		h.settleWith(step)
	}
}

// tryAct acts on an incident if the action applies to it now.
func (h *harness) tryAct(id uint64, kind string) {
	h.store.mu.Lock()
	_, err := h.store.st.ApplyAction(h.clock.Now(), &incident.Action{Incident: id, Kind: kind, By: "alice", Channel: "api"})
	h.store.mu.Unlock()
	if err == nil {
		h.store.changed(id)
	}
}

// TestSkippedIncidentsAreThoseReconcileLeavesAlone: over random sequences
// (default flood control, so pages are held and summarised; roles,
// reminders, retries, deferrals), every incident the engine copies is
// reconciled with pending's decision checked against what reconcile then
// does: idle exactly when it does nothing but arm the timer.
func TestSkippedIncidentsAreThoseReconcileLeavesAlone(t *testing.T) {
	var stats skipStats
	for seed := uint64(1); seed <= 12; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			extra := ""
			if seed%3 == 0 {
				extra = officeHours + "severities:\n  sev3: {page: office}\n"
			}
			h := randomHarness(t, extra, true)
			randomOps(h, seed, 400, true, func() time.Time { return h.stepChecked(&stats) })
		})
	}
	// Both kinds come up often, or the check proves little.
	if stats.idle < 500 || stats.busy < 500 {
		t.Errorf("reconciles checked: %d idle, %d with work; want both ≥ 500", stats.idle, stats.busy)
	}
	t.Logf("reconciles checked: %d idle, %d with work", stats.idle, stats.busy)
}

// TestSkippingChangesNothing runs the same random sequences with the skip
// and without (every changed incident copied and reconciled) and compares
// what was sent and the state of every incident. Flood control is lifted
// and sends do not fail: with them, which pages go out or fail in one pass
// depends on the map order of the pass, with or without the skip.
func TestSkippingChangesNothing(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) {
			lifted := "  flood_control: {max: 100000000, per: 1m}\n"
			skip, all := randomHarness(t, lifted, false), randomHarness(t, lifted, true)
			randomOps(skip, seed, 300, false, skip.settle)
			randomOps(all, seed, 300, false, all.settle)
			if a, b := strings.Join(skip.rec.take(), "\n"), strings.Join(all.rec.take(), "\n"); a != b {
				t.Fatalf("sent with the skip:\n%s\nwithout:\n%s", a, b)
			}
			if a, b := states(skip), states(all); a != b {
				t.Fatalf("states differ; with the skip:\n%s\nwithout:\n%s", a, b)
			}
		})
	}
}

func states(h *harness) string {
	var out []string
	h.store.ReadIncidents(func(st *incident.State) {
		for id := uint64(1); ; id++ {
			inc, ok := st.Get(id)
			if !ok {
				break
			}
			out = append(out, dump(inc))
		}
	})
	return strings.Join(out, "\n")
}

// TestStormSkipsTheCopiesWithNothingToDo: in a storm under flood control
// the hold record and the summary's outcome leave the incident nothing to
// do, and the engine does not copy it for them.
func TestStormSkipsTheCopiesWithNothingToDo(t *testing.T) {
	var stats skipStats
	h := newHarness(t, "")
	h.eng.opts.noSkip = true
	h.newTerm()
	for i := 0; i < 200; i++ {
		h.triggerPlanned("phoneless", "storm-"+strconv.Itoa(i))
		h.settleWith(func() time.Time { return h.stepChecked(&stats) })
	}
	h.clock.set(h.clock.Now().Add(time.Minute))
	h.settleWith(func() time.Time { return h.stepChecked(&stats) })
	// Per incident: its trigger (work: the page), its hold record and its
	// summary's outcome (idle; the first 3 pages' outcomes too).
	if stats.busy != 200 || stats.idle < 2*197 {
		t.Fatalf("storm of 200: %d reconciles with work, %d idle; want 200 and ≥ %d", stats.busy, stats.idle, 2*197)
	}
}

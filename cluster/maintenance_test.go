package cluster

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

func maintCmd(t *testing.T, mc MaintenanceCommand) command {
	t.Helper()
	c, err := newCommand(TypeMaintenance, mc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Ad hoc windows get ids from a replicated sequence, survive a snapshot,
// and ending one early pages at once the incidents that waited for it.
func TestAdhocMaintenanceApplySnapshotEnd(t *testing.T) {
	f, now := overrideFSM(t)
	win := config.MaintenanceWindow{Services: []string{"checkout"}, From: now, To: now.Add(time.Hour), Reason: "db"}
	r := applyAt(t, f, 2, now, maintCmd(t, MaintenanceCommand{Op: MaintenanceStart, Window: win}))
	if w, ok := r[0].Value.(config.MaintenanceWindow); !ok || w.ID != "mw1" || w.Source != "adhoc" {
		t.Fatalf("start: %+v", r[0])
	}
	if ws := MaintenanceForService(f.MaintenanceWindows(now, 0), "checkout"); len(ws) != 1 {
		t.Fatalf("active windows %+v", ws)
	}
	// An incident opened inside it, deferred to its end (the leader's plan).
	ev := incident.Event{Service: "checkout", Action: incident.ActionTrigger, DedupKey: "k", Policy: "p",
		Alert:     incident.Alert{Severity: "sev2"},
		Deferrals: []incident.Deferral{{Severity: "sev2", Window: incident.MaintenancePrefix + "mw1", Until: now.Add(time.Hour)}}}
	evc, _ := newCommand(TypeEvent, ev)
	applyAt(t, f, 3, now, evc)

	g := NewFSM(func(err error) { t.Fatal(err) })
	if err := g.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, f)))); err != nil {
		t.Fatal(err)
	}
	if got := g.AdhocMaintenance(); len(got) != 1 || got[0].ID != "mw1" {
		t.Fatalf("restored windows %+v", got)
	}
	end := now.Add(10 * time.Minute)
	r = applyAt(t, g, 4, end, maintCmd(t, MaintenanceCommand{Op: MaintenanceEnd, Window: config.MaintenanceWindow{ID: "mw1"}, By: "alice"}))
	if w, _ := r[0].Value.(config.MaintenanceWindow); !w.To.Equal(end) {
		t.Fatalf("end: %+v", r[0])
	}
	var inc *incident.Incident
	g.ReadIncidents(func(s *incident.State) { inc, _ = s.Get(1) })
	if inc.DeferredUntil != nil || !inc.Escalation.NextAt.Equal(end) || inc.Timeline[len(inc.Timeline)-1].Type != incident.EntryMaintenance {
		t.Fatalf("after the early end: deferred %v next %v timeline %+v", inc.DeferredUntil, inc.Escalation.NextAt, inc.Timeline)
	}
	r = applyAt(t, g, 5, end, maintCmd(t, MaintenanceCommand{Op: MaintenanceEnd, Window: config.MaintenanceWindow{ID: "mw1"}}))
	if !errors.Is(r[0].Err, incident.ErrConflict) {
		t.Fatalf("second end: %v", r[0].Err)
	}
	r = applyAt(t, g, 6, end, maintCmd(t, MaintenanceCommand{Op: MaintenanceEnd, Window: config.MaintenanceWindow{ID: "db-upgrade"}}))
	if !errors.Is(r[0].Err, incident.ErrNotFound) {
		t.Fatalf("ending a config window: %v", r[0].Err)
	}
}

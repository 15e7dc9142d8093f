package cluster

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/config"
)

// oldStyleConfig is a config the release of commit 8114ae1 admitted and the
// current admission refuses: a shift that is not whole seconds (it cannot
// compile) and durations with their units out of order.
const oldStyleConfig = `
timezone: UTC
users:
  - id: alice
    email: alice@example.com
    notify:
      - {via: email, after: 1h1d}
rotations:
  - {id: odd, participants: [alice], shift: 90500ms, start: "2026-11-02 09:00"}
  - {id: daily, participants: [alice], shift: 1d1d, start: "2026-11-02 09:00"}
schedules:
  - {id: broken, layers: [odd]}
  - {id: fine, layers: [daily]}
services:
  - {id: checkout, name: Checkout}
integrations:
  - {name: events, key: "k-${EVENTS_SUFFIX}", service: checkout}
`

func oldStyleSources() []config.Source {
	return []config.Source{{Name: "pagerd.yaml", Data: []byte(oldStyleConfig)}}
}

// Admission refuses the old-style config (so the test below shows leniency
// where it is meant, not a config that is simply fine).
func TestOldStyleConfigIsRefusedAtAdmission(t *testing.T) {
	if _, err := CaptureConfig(oldStyleSources(), config.LookupMap(map[string]string{"EVENTS_SUFFIX": "x"})); err == nil {
		t.Fatal("admission accepted the old-style config")
	}
}

// A config log entry an earlier release committed applies, and the schedule
// that cannot compile answers alone while the others work.
func TestOldStyleConfigEntryApplies(t *testing.T) {
	f := NewFSM(func(err error) { t.Fatalf("fatal: %v", err) })
	c, err := newCommand(TypeConfig, &ConfigCommand{Sources: oldStyleSources(), Env: map[string]string{"EVENTS_SUFFIX": "x"}})
	if err != nil {
		t.Fatal(err)
	}
	out := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: rawEntry(t, c)}).([]Result)
	if out[0].Err != nil {
		t.Fatalf("apply: %v", out[0].Err)
	}
	checkOldStyleSchedules(t, f)
}

// A backup (format-1 snapshot) whose config is old-style restores.
func TestOldStyleConfigSnapshotRestores(t *testing.T) {
	data, err := os.ReadFile(snapshotPath(1))
	if err != nil {
		t.Fatal(err)
	}
	nl := bytes.IndexByte(data, '\n')
	var h map[string]json.RawMessage
	if nl < 0 || json.Unmarshal(data[:nl], &h) != nil {
		t.Fatal("format-1 fixture has no JSON header line")
	}
	var ac map[string]json.RawMessage
	if err := json.Unmarshal(h["config"], &ac); err != nil {
		t.Fatal(err)
	}
	ac["sources"], _ = json.Marshal(oldStyleSources())
	h["config"], _ = json.Marshal(ac)
	header, _ := json.Marshal(h)
	snap := append(header, data[nl:]...)

	if err := ValidateSnapshot(bytes.NewReader(snap)); err != nil {
		t.Fatalf("validate: %v", err)
	}
	f := NewFSM(func(err error) { t.Fatalf("fatal: %v", err) })
	if err := f.Restore(io.NopCloser(bytes.NewReader(snap))); err != nil {
		t.Fatalf("restore: %v", err)
	}
	checkOldStyleSchedules(t, f)
}

func checkOldStyleSchedules(t *testing.T, f *FSM) {
	t.Helper()
	if f.Config() == nil {
		t.Fatal("no config")
	}
	set, _, err := f.Schedules()
	if err != nil {
		t.Fatalf("schedules: %v", err)
	}
	if _, ok := set.Broken()["broken"]; !ok {
		t.Fatalf("broken schedules %v, want schedule broken", set.Broken())
	}
	if _, err := set.OnCall("fine", f.LastNow()); err != nil {
		t.Fatalf("schedule fine: %v", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(&stateCollector{f: f})
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == "pagerd_schedules_broken" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 2 { // rotation odd and schedule broken
				t.Fatalf("pagerd_schedules_broken = %v, want 2", v)
			}
			return
		}
	}
	t.Fatal("no pagerd_schedules_broken metric")
}

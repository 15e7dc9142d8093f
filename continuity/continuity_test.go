package continuity

import (
	"testing"
	"time"

	"github.com/pagerd/pagerd/cluster"
	"github.com/pagerd/pagerd/config"
	"github.com/pagerd/pagerd/incident"
)

var t0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

func TestJudge(t *testing.T) {
	run := cluster.DrillRun{ID: "d@x", StartedAt: t0, Status: cluster.DrillRunning, AckWithinSeconds: 300, RecoverWithinSeconds: 3600}
	cases := []struct {
		name    string
		inc     incident.Incident
		now     time.Duration
		decided bool
		status  string
		reason  string
	}{
		{"waiting for ack", incident.Incident{}, 4 * time.Minute, false, "", ""},
		{"never acked: fails at the deadline", incident.Incident{}, 5 * time.Minute, true, cluster.DrillFailed, "not acknowledged within 5m0s"},
		{"acked, not resolved yet", incident.Incident{AcknowledgedAt: at(2 * time.Second), AcknowledgedBy: "alice"}, 30 * time.Minute, false, "", ""},
		{"acked late", incident.Incident{AcknowledgedAt: at(6 * time.Minute), AcknowledgedBy: "alice"}, 6 * time.Minute, true, cluster.DrillFailed, "acknowledged after 6m0s, limit 5m0s"},
		{"not recovered within rto", incident.Incident{AcknowledgedAt: at(time.Minute)}, time.Hour, true, cluster.DrillFailed, "not resolved within 1h0m0s"},
		{"resolved late", incident.Incident{AcknowledgedAt: at(time.Minute), ResolvedAt: at(61 * time.Minute)}, 61 * time.Minute, true, cluster.DrillFailed, "resolved after 1h1m0s, limit 1h0m0s"},
		{"passed", incident.Incident{AcknowledgedAt: at(2 * time.Second), AcknowledgedBy: "alice", ResolvedAt: at(4 * time.Second),
			Timeline:      []incident.Entry{{Type: incident.EntryAcknowledged, Message: "acknowledged via sms"}},
			Notifications: []incident.Notification{{Step: 0}, {Step: 1}}}, 5 * time.Second, true, cluster.DrillPassed, ""},
		{"resolved without ack counts as the answer", incident.Incident{ResolvedAt: at(10 * time.Second), ResolvedBy: "bob"}, 10 * time.Second, true, cluster.DrillPassed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, decided := Judge(run, &c.inc, t0.Add(c.now))
			if decided != c.decided || res.Status != c.status && c.decided || res.Reason != c.reason {
				t.Fatalf("decided %v status %q reason %q", decided, res.Status, res.Reason)
			}
		})
	}
	res, _ := Judge(run, &cases[6].inc, t0.Add(5*time.Second))
	if res.AckedBy != "alice" || res.AckChannel != "sms" || res.StepReached != 2 || *res.TimeToAckSeconds != 2 || *res.TimeToResolveSeconds != 4 {
		t.Fatalf("passed run measures: %+v", res)
	}
}

func parseCfg(t *testing.T, y string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]config.Source{{Name: "t.yaml", Data: []byte(y)}}, config.LookupMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

const drillCfg = `users: [{id: alice, email: alice@example.com}]
policies: [{id: p, steps: [{notify: [user:alice], escalate_after: 5m}]}]
services: [{id: s, policy: p, rto: 1h}]
drills: [{id: d, service: s, cron: "*/10 * * * *"}]
`

// dueRun: a new leader runs the latest missed time within catchUp, once;
// a run already committed (or one older than catchUp) is not run again.
func TestDueRun(t *testing.T) {
	d, _ := parseCfg(t, drillCfg).Drill("d")
	now := t0.Add(30 * time.Second) // 10:00 was due 30 s ago
	due, ok := dueRun(d, nil, now)
	if !ok || !due.Equal(t0) {
		t.Fatalf("due %v %v, want the 10:00 run", due, ok)
	}
	runs := []cluster.DrillRun{{Drill: "d", ScheduledAt: t0}}
	if due, ok := dueRun(d, runs, now); ok {
		t.Fatalf("ran 10:00 again: %v", due)
	}
	if due, ok := dueRun(d, nil, t0.Add(5*time.Minute)); ok {
		t.Fatalf("made up a run missed 5 minutes ago: %v", due)
	}
	// A manual run does not stand in for the scheduled one.
	if _, ok := dueRun(d, []cluster.DrillRun{{Drill: "d", ScheduledAt: t0, Manual: true}}, now); !ok {
		t.Fatal("a manual run at 10:00 suppressed the scheduled one")
	}
}

// A new leader waits grace before declaring a heartbeat down, however long
// ago the last ping was.
func TestHeartbeatDeadlineWaitsGraceAfterElection(t *testing.T) {
	hb := config.Heartbeat{Every: config.Duration(time.Minute), Grace: config.Duration(30 * time.Second)}
	if got := heartbeatDeadline(hb, t0, t0.Add(-time.Hour)); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("steady leader: %v", got)
	}
	term := t0.Add(10 * time.Minute) // elected long after the deadline passed
	if got := heartbeatDeadline(hb, t0, term); !got.Equal(term.Add(30 * time.Second)) {
		t.Fatalf("new leader: %v, want term + grace", got)
	}
}

package cluster

import (
	"io"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagerd/pagerd/incident"
)

// snapshotStats is what this node's last snapshot cost, for metrics, and
// the format the next one is written in.
type snapshotStats struct {
	// writeFormat is the snapshot format to write; 0 means the gate's, or
	// the current one (SetSnapshotWriteFormat).
	writeFormat atomic.Int32
	// gate chooses the format when writeFormat is 0 (SetSnapshotFormatGate).
	gate func() int

	bytes   atomic.Int64
	seconds atomic.Int64 // nanoseconds, despite the name's unit in metrics
	at      atomic.Int64 // unix seconds
}

func (s *snapshotStats) record(n int64, took time.Duration, at time.Time) {
	s.bytes.Store(n)
	s.seconds.Store(int64(took))
	s.at.Store(at.Unix())
}

// countingWriter counts the bytes a snapshot writes.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// stateCollector exports the size of the replicated state (issue 12.4), so
// that growth is seen before memory runs out: incidents kept and ever
// opened, and the size and duration of the last snapshot (the state's
// encoded size, the best estimate of its weight).
type stateCollector struct{ f *FSM }

var (
	descStateKept       = prometheus.NewDesc("pagerd_state_incidents", "Incidents held in the replicated state (retention removes resolved ones).", nil, nil)
	descStateLastID     = prometheus.NewDesc("pagerd_state_last_incident_id", "Id of the newest incident: incidents ever opened.", nil, nil)
	descSnapshotBytes   = prometheus.NewDesc("pagerd_snapshot_size_bytes", "Size of the last snapshot this node wrote.", nil, nil)
	descSnapshotTook    = prometheus.NewDesc("pagerd_snapshot_duration_seconds", "Time the last snapshot this node wrote took to encode and write.", nil, nil)
	descSnapshotTakenAt = prometheus.NewDesc("pagerd_snapshot_timestamp_seconds", "When this node last wrote a snapshot (Unix time).", nil, nil)
	descSchedulesBroken = prometheus.NewDesc("pagerd_schedules_broken",
		"Schedules and rotations of the active config that do not compile on this release (only an older release's replicated config can have them); they answer 409.", nil, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStateKept, descStateLastID, descSnapshotBytes, descSnapshotTook, descSnapshotTakenAt, descSchedulesBroken} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	var kept, last int
	c.f.ReadIncidents(func(st *incident.State) { kept, last = st.Kept(), st.Len() })
	s := &c.f.snapStats
	ch <- prometheus.MustNewConstMetric(descStateKept, prometheus.GaugeValue, float64(kept))
	ch <- prometheus.MustNewConstMetric(descStateLastID, prometheus.GaugeValue, float64(last))
	if set, _, err := c.f.Schedules(); err == nil {
		ch <- prometheus.MustNewConstMetric(descSchedulesBroken, prometheus.GaugeValue, float64(len(set.Broken())))
	}
	if at := s.at.Load(); at != 0 {
		ch <- prometheus.MustNewConstMetric(descSnapshotBytes, prometheus.GaugeValue, float64(s.bytes.Load()))
		ch <- prometheus.MustNewConstMetric(descSnapshotTook, prometheus.GaugeValue, time.Duration(s.seconds.Load()).Seconds())
		ch <- prometheus.MustNewConstMetric(descSnapshotTakenAt, prometheus.GaugeValue, float64(at))
	}
}

package cluster

import (
	"github.com/prometheus/client_golang/prometheus"
)

// continuityCollector exports, per service, whether its plan review is
// overdue and how its last finished drill went (issue 16 item 5), computed
// at scrape time from the replicated state: any node answers alike.
type continuityCollector struct{ n *Node }

var (
	descReviewOverdue = prometheus.NewDesc("pagerd_service_review_overdue",
		"1 when the service's continuity plan review is overdue, else 0.", []string{"service"}, nil)
	descReviewDue = prometheus.NewDesc("pagerd_service_review_due_timestamp_seconds",
		"When the service's next plan review is due (Unix time).", []string{"service"}, nil)
	descDrillPassed = prometheus.NewDesc("pagerd_service_last_drill_passed",
		"1 when the service's last finished drill passed, 0 when it failed (skipped runs do not count).", []string{"service", "drill"}, nil)
	descDrillAt = prometheus.NewDesc("pagerd_service_last_drill_timestamp_seconds",
		"When the service's last finished drill started (Unix time).", []string{"service", "drill"}, nil)
)

func (c *continuityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReviewOverdue, descReviewDue, descDrillPassed, descDrillAt} {
		ch <- d
	}
}

func (c *continuityCollector) Collect(ch chan<- prometheus.Metric) {
	f := c.n.fsm
	for _, st := range f.ReviewStatuses(c.n.Now()) {
		if st.DueAt == nil {
			continue
		}
		v := 0.0
		if st.Overdue {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descReviewOverdue, prometheus.GaugeValue, v, st.Service)
		ch <- prometheus.MustNewConstMetric(descReviewDue, prometheus.GaugeValue, float64(st.DueAt.Unix()), st.Service)
	}
	last := map[string]DrillRun{}
	for _, r := range f.DrillRuns("") {
		if r.Status != DrillPassed && r.Status != DrillFailed {
			continue
		}
		if l, ok := last[r.Service]; !ok || !r.StartedAt.Before(l.StartedAt) {
			last[r.Service] = r
		}
	}
	for svc, r := range last {
		v := 0.0
		if r.Status == DrillPassed {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(descDrillPassed, prometheus.GaugeValue, v, svc, r.Drill)
		ch <- prometheus.MustNewConstMetric(descDrillAt, prometheus.GaugeValue, float64(r.StartedAt.Unix()), svc, r.Drill)
	}
}

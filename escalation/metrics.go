package escalation

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	notifications *prometheus.CounterVec
	sendLatency   *prometheus.HistogramVec
	steps         *prometheus.CounterVec
	summaries     *prometheus.CounterVec
	holds         prometheus.Counter
	timeToAck     *prometheus.HistogramVec
	timeToResolve *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pagerd_notifications_total",
			Help: "Notification send attempts by channel and outcome (sent, retry, failed, opted_out).",
		}, []string{"channel", "outcome"}),
		sendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pagerd_notification_send_duration_seconds",
			Help:    "Time a provider took to accept or refuse one message.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel"}),
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pagerd_escalation_steps_total",
			Help: "Escalation steps started by this node as leader, by reason (trigger, escalate_after, escalate, ack_timeout, exhausted).",
		}, []string{"reason"}),
		summaries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pagerd_flood_summaries_total",
			Help: "Flood-control summary messages sent, by channel.",
		}, []string{"channel"}),
		holds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "pagerd_flood_holds_total",
			Help: "Pages flood control held for a summary, counted when the hold is committed.",
		}),
		timeToAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pagerd_incident_time_to_ack_seconds",
			Help:    "Time from an incident's creation to its first acknowledgement, observed once per incident by the leader that saw the acknowledgement commit.",
			Buckets: []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200},
		}, []string{"service", "severity"}),
		timeToResolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pagerd_incident_time_to_resolve_seconds",
			Help:    "Time from an incident's impact start (else its creation) to its resolve, observed once per incident by the leader that saw the resolve commit.",
			Buckets: []float64{60, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400, 259200},
		}, []string{"service", "severity"}),
	}
	if reg != nil {
		reg.MustRegister(m.notifications, m.sendLatency, m.steps, m.summaries, m.holds, m.timeToAck, m.timeToResolve)
	}
	return m
}

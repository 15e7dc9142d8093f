package router

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of an ingest request, the `result` label of
// pagerd_ingest_requests_total.
const (
	resultAccepted     = "accepted"
	resultInvalid      = "invalid"
	resultUnauthorized = "unauthorized"
	resultTooLarge     = "too_large"
	resultUnavailable  = "unavailable"
	resultError        = "error"
)

// unknownIntegration labels requests whose key was missing or unknown (or not
// read yet), keeping the label's cardinality bounded by the config.
const unknownIntegration = "unknown"

type metrics struct {
	requests *prometheus.CounterVec
}

// newMetrics registers the ingest counters with reg (nil: not exported). A
// second Handler on the same registry, e.g. after a restart of the HTTP layer,
// shares the already registered counter instead of failing.
func newMetrics(reg prometheus.Registerer) *metrics {
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "pagerd_ingest_requests_total",
		Help: "Ingest requests by source, integration and result.",
	}, []string{"source", "integration", "result"})
	if reg != nil {
		if err := reg.Register(cv); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
					cv = existing
				}
			}
		}
	}
	return &metrics{requests: cv}
}

func (m *metrics) observe(source, integration, result string) {
	if integration == "" {
		integration = unknownIntegration
	}
	m.requests.WithLabelValues(source, integration, result).Inc()
}

// resultFor maps an HTTP status to the result label.
func resultFor(status int) string {
	switch {
	case status < 300:
		return resultAccepted
	case status == 401:
		return resultUnauthorized
	case status == 413:
		return resultTooLarge
	case status == 503:
		return resultUnavailable
	case status < 500:
		return resultInvalid
	}
	return resultError
}

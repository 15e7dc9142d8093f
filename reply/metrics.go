package reply

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// OutcomeCounter is a transport's replies-by-outcome counter, registered
// with reg (nil: unregistered). A second transport instance on the same
// registry (tests, restarts in-process) shares the first one's counter.
func OutcomeCounter(reg prometheus.Registerer, name, help string) *prometheus.CounterVec {
	cv := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"outcome"})
	if reg == nil {
		return cv
	}
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return cv
}

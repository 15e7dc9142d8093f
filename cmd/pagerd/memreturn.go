package main

import (
	"context"
	"log/slog"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pagerd/pagerd/internal/memreturn"
)

// startMemoryReturn runs the idle memory return (internal/memreturn) until
// ctx ends: after a burst, a quiet node gives the heap it no longer uses
// back to the OS, so its resident memory follows the state it holds rather
// than the high-water mark of its last GC cycle. Off, the counter stays at
// zero (so dashboards see the metric either way).
func startMemoryReturn(ctx context.Context, enabled bool, reg prometheus.Registerer, log *slog.Logger) {
	returns := prometheus.NewCounter(prometheus.CounterOpts{Name: "pagerd_memory_returns_total",
		Help: "Times a quiet node collected and gave its unused heap back to the OS (internal/memreturn)."})
	reg.MustRegister(returns)
	if !enabled {
		return
	}
	r := memreturn.New(memreturn.Default)
	go r.Run(ctx, func() {
		returns.Inc()
		log.Debug("returned unused heap to the OS", "retained_bytes", memreturn.ReadStats().Retained)
	})
}

// goCollector exports the Go runtime's usual go_* metrics plus
// go_gc_heap_live_bytes (the heap the last collection found live: the memory
// the node's state needs, garbage not counted) and
// go_cpu_classes_gc_total_cpu_seconds_total (CPU spent collecting, which
// the memory return adds to on a quiet node).
func goCollector() prometheus.Collector {
	return collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
		collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/gc/heap/live:bytes$|^/cpu/classes/gc/total:cpu-seconds$`)}))
}

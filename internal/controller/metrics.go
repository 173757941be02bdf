package controller

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trimtab/trimtab/scaler"
)

// Metrics are the reconcilers' own instruments, on an injected registry so
// tests (and two managers in one process) keep them apart.
type Metrics struct {
	reconciles *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	scaling    *scalingMetrics
}

// NewMetrics registers the reconciler metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_reconcile_total",
			Help: "Reconciliations by controller and result (success, error).",
		}, []string{"controller", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trimtab_reconcile_duration_seconds",
			Help:    "Time spent in one reconciliation.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}, []string{"controller"}),
	}
	for _, c := range []prometheus.Collector{m.reconciles, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	var err error
	if m.scaling, err = newScalingMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// PolicySeries are the per-ScalingPolicy series. They are not registered
// with the registry NewMetrics was given: serve them beside it with
// WriteText, which streams them (a registry would build a metric object for
// each of 10,000 policies' series at every scrape), or register them where
// their size does not matter, as tests do.
func (m *Metrics) PolicySeries() *scaler.Recorder { return m.scaling.recorder }

func (m *Metrics) observe(controller string, start time.Time, err error) {
	result := "success"
	if err != nil {
		result = "error"
	}
	m.reconciles.WithLabelValues(controller, result).Inc()
	m.duration.WithLabelValues(controller).Observe(time.Since(start).Seconds())
}

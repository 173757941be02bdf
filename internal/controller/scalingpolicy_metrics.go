package controller

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler"
)

// scalingMetrics are the ScalingPolicy controller's instruments, beside the
// per-policy replicas, demand, forecast, failure-policy and metric failure
// series of the core (scaler.Recorder), which are not in the registry: see
// Metrics.PolicySeries.
type scalingMetrics struct {
	recorder      *scaler.Recorder
	scaleOps      *prometheus.CounterVec
	cycleDuration prometheus.Histogram
	cyclePolicies prometheus.Gauge
	cycleQueries  prometheus.Gauge
	statusBacklog prometheus.Gauge
	warmStarts    *prometheus.CounterVec
}

// Results of a forecast model's warm start (trimtab_scaler_forecast_warm_starts_total).
const (
	warmLoaded  = "loaded"
	warmEmpty   = "no_history"
	warmFailed  = "error"
	warmDropped = "dropped"
)

func newScalingMetrics(reg prometheus.Registerer) (*scalingMetrics, error) {
	m := &scalingMetrics{
		recorder: scaler.NewRecorder(),
		scaleOps: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trimtab_scaler_scale_operations_total",
			Help: "Changes of a target's replica count, by direction (up, down) and result (success, error)."}, []string{"direction", "result"}),
		cycleDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trimtab_scaler_cycle_duration_seconds",
			Help: "Duration of one scaling cycle over the ScalingPolicies due (every policy at its spec.syncPeriodSeconds, else --scaling.sync-period).", Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10)}),
		cyclePolicies: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trimtab_scaler_cycle_policies",
			Help: "ScalingPolicies synced by the last cycle."}),
		cycleQueries: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trimtab_scaler_cycle_queries",
			Help: "Metric queries the last cycle collected in one batch (see trimtab_collector_requests_total for the backend requests they cost)."}),
		statusBacklog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "trimtab_scaler_status_backlog",
			Help: "ScalingPolicy statuses decided but not yet written; a backlog that stays high means the API server writes slower than the policies change."}),
		warmStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trimtab_scaler_forecast_warm_starts_total",
			Help: "New forecast models given their past from --predictive.history-url, by result: loaded, no_history, error, dropped (the queue was full)."}, []string{"result"}),
	}
	for _, result := range []string{warmLoaded, warmEmpty, warmFailed, warmDropped} {
		m.warmStarts.WithLabelValues(result)
	}
	for _, c := range []prometheus.Collector{m.scaleOps, m.cycleDuration, m.cyclePolicies, m.cycleQueries, m.statusBacklog, m.warmStarts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *scalingMetrics) record(pol *trimtabv1.ScalingPolicy, o scaler.Observation) {
	for _, ms := range o.Decision.Metrics {
		if ms.Err != nil {
			reason := collector.ReasonOf(ms.Err)
			if errors.Is(ms.Err, scaler.ErrNoData) {
				reason = collector.ReasonNoData
			}
			o.MetricFailures = append(o.MetricFailures, scaler.MetricFailure{Metric: ms.Name, Reason: string(reason)})
		}
	}
	m.recorder.Record(pol.Namespace, pol.Name, o)
}

func (m *scalingMetrics) scaleOperation(from, to int32, err error) {
	direction, result := "up", "success"
	if to < from {
		direction = "down"
	}
	if err != nil {
		result = "error"
	}
	m.scaleOps.WithLabelValues(direction, result).Inc()
}

func (m *scalingMetrics) cycle(d time.Duration, policies, queries int) {
	m.cycleDuration.Observe(d.Seconds())
	m.cyclePolicies.Set(float64(policies))
	m.cycleQueries.Set(float64(queries))
}

func (m *scalingMetrics) forget(namespace, name string) {
	m.recorder.Forget(namespace, name)
}

func (m *scalingMetrics) warmStart(result string) { m.warmStarts.WithLabelValues(result).Inc() }

package scaler

import (
	"fmt"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

// Recorder exports what the scaler decided and forecast, per ScalingPolicy,
// for dashboards: current and desired replicas, the demand, the forecast
// next to it and its error, the failure policy's state and the metrics'
// failures. The controller calls Record after each decision and Forget
// when a policy is deleted.
//
// It keeps each policy's latest values in a small struct and builds the
// series when Prometheus scrapes, as kube-state-metrics does: a labelled
// gauge costs about 500 bytes per series for as long as it exists, and
// 10,000 policies would hold tens of megabytes of them between scrapes.
type Recorder struct {
	current, desired, demand, forecastDemand, forecastReplicas, forecastAbsErr, forecastRMS,
	failures, fallback, forecastApplied, metricFailures *prometheus.Desc

	mu       sync.Mutex
	policies map[policyKey]*policyValues
}

type policyKey struct{ namespace, name string }

// policyValues are one policy's latest values; the has* flags say which
// series the policy has.
type policyValues struct {
	current, desired                            float64
	demand                                      float64
	forecastDemand, forecastReplicas            float64
	forecastAbsErr, forecastRMS                 float64
	failures, fallback                          float64
	forecastApplied                             float64
	hasDemand, hasForecast, hasAccuracy         bool
	countsForecastApplied, reportsFallbackState bool
	// metricFailures count failed syncs by metric and reason, for as long
	// as the policy exists (a counter's value must never go back).
	metricFailures []metricFailureCount
}

type metricFailureCount struct {
	MetricFailure
	syncs float64
}

// MetricFailure is a metric that had no usable value in a sync, and why
// (a collector.Reason such as no_data or unavailable).
type MetricFailure struct{ Metric, Reason string }

// Observation is one sync of a policy as the Recorder exports it.
type Observation struct {
	// Config is the policy's configuration: the forecast counter exists
	// only in predictive mode on, the fallback gauge only with a fallback.
	Config Config
	// Current is the replica count the sync started from.
	Current  int32
	Decision Decision
	// Forecast went into the decision and Accuracy is the forecaster's;
	// both nil when predictive is off or warming up.
	Forecast *Forecast
	Accuracy *predict.Accuracy
	// MetricFailures are the metrics that failed in this sync.
	MetricFailures []MetricFailure
}

// NewRecorder registers the scaler's metrics with reg.
func NewRecorder(reg prometheus.Registerer) (*Recorder, error) {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"namespace", "name"}, nil)
	}
	r := &Recorder{
		current: desc("trimtab_scaler_current_replicas",
			"Replicas of the ScalingPolicy's target at the last sync (the Release's total during a release)."),
		desired: desc("trimtab_scaler_desired_replicas", "Replicas the last sync decided."),
		demand: desc("trimtab_scaler_demand_replicas",
			"Observed load in replicas at target: the metrics' total divided by the per-replica target, before rounding and tolerance."),
		forecastDemand: desc("trimtab_scaler_forecast_demand_replicas",
			"Upper forecast of the demand over the predictive horizon, in replicas at target."),
		forecastReplicas: desc("trimtab_scaler_forecast_replicas",
			"Replicas the forecast proposes (acted on only in predictive mode on)."),
		forecastAbsErr: desc("trimtab_scaler_forecast_absolute_error_replicas",
			"Recent mean absolute one-step forecast error, in replicas at target."),
		forecastRMS: desc("trimtab_scaler_forecast_rms_error_replicas",
			"Recent root-mean-square one-step forecast error, in replicas at target."),
		failures: desc("trimtab_scaler_metric_consecutive_failures",
			"Consecutive syncs in which at least one metric failed."),
		fallback: desc("trimtab_scaler_fallback_active",
			"1 while the failure threshold is reached and the fallback replicas apply, else 0."),
		forecastApplied: desc("trimtab_scaler_forecast_applied_total",
			"Syncs in which the forecast raised the replica proposal above the reactive one."),
		metricFailures: prometheus.NewDesc("trimtab_scaler_metric_failures_total",
			"Syncs in which a metric of a ScalingPolicy had no usable value, by metric and reason (no_data, unavailable, bad_query, ...).",
			[]string{"namespace", "name", "metric", "reason"}, nil),
		policies: map[policyKey]*policyValues{},
	}
	if err := reg.Register(r); err != nil {
		return nil, fmt.Errorf("register scaler metrics: %w", err)
	}
	return r, nil
}

// Record exports one sync of a policy.
func (r *Recorder) Record(namespace, name string, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := policyKey{namespace, name}
	v := r.policies[key]
	if v == nil {
		v = &policyValues{}
		r.policies[key] = v
	}
	d := o.Decision
	v.current, v.desired = float64(o.Current), float64(d.Replicas)
	if d.HasDemand {
		v.demand, v.hasDemand = d.Demand, true
	}
	if f := o.Forecast; f != nil {
		v.forecastDemand, v.forecastReplicas, v.hasForecast = f.PeakDemand, float64(d.ForecastReplicas), true
	}
	if acc := o.Accuracy; acc != nil {
		v.forecastAbsErr, v.forecastRMS, v.hasAccuracy = acc.MeanAbsolute, acc.RMS, true
	}
	v.countsForecastApplied = o.Config.Predictive.Mode == v1alpha1.PredictiveOn
	if !v.countsForecastApplied {
		v.forecastApplied = 0
	} else if d.ForecastApplied {
		v.forecastApplied++
	}
	v.failures = float64(d.History.ConsecutiveFailures)
	v.reportsFallbackState, v.fallback = o.Config.Fallback != nil, 0
	if d.FallbackActive {
		v.fallback = 1
	}
	for _, f := range o.MetricFailures {
		i := slices.IndexFunc(v.metricFailures, func(c metricFailureCount) bool { return c.MetricFailure == f })
		if i < 0 {
			i = len(v.metricFailures)
			v.metricFailures = append(v.metricFailures, metricFailureCount{MetricFailure: f})
		}
		v.metricFailures[i].syncs++
	}
}

// Forget drops a deleted policy's series.
func (r *Recorder) Forget(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.policies, policyKey{namespace, name})
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{r.current, r.desired, r.demand, r.forecastDemand, r.forecastReplicas,
		r.forecastAbsErr, r.forecastRMS, r.failures, r.fallback, r.forecastApplied, r.metricFailures} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. It copies the values under the
// lock and builds the series outside it, so that a slow scrape never holds
// up a sync.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	type entry struct {
		key policyKey
		policyValues
	}
	r.mu.Lock()
	snapshot := make([]entry, 0, len(r.policies))
	for k, v := range r.policies {
		e := entry{k, *v}
		e.metricFailures = slices.Clone(v.metricFailures)
		snapshot = append(snapshot, e)
	}
	r.mu.Unlock()
	for _, e := range snapshot {
		emit := func(d *prometheus.Desc, t prometheus.ValueType, x float64) {
			ch <- prometheus.MustNewConstMetric(d, t, x, e.key.namespace, e.key.name)
		}
		emit(r.current, prometheus.GaugeValue, e.current)
		emit(r.desired, prometheus.GaugeValue, e.desired)
		emit(r.failures, prometheus.GaugeValue, e.failures)
		if e.hasDemand {
			emit(r.demand, prometheus.GaugeValue, e.demand)
		}
		if e.hasForecast {
			emit(r.forecastDemand, prometheus.GaugeValue, e.forecastDemand)
			emit(r.forecastReplicas, prometheus.GaugeValue, e.forecastReplicas)
		}
		if e.hasAccuracy {
			emit(r.forecastAbsErr, prometheus.GaugeValue, e.forecastAbsErr)
			emit(r.forecastRMS, prometheus.GaugeValue, e.forecastRMS)
		}
		if e.countsForecastApplied {
			emit(r.forecastApplied, prometheus.CounterValue, e.forecastApplied)
		}
		if e.reportsFallbackState {
			emit(r.fallback, prometheus.GaugeValue, e.fallback)
		}
		for _, f := range e.metricFailures {
			ch <- prometheus.MustNewConstMetric(r.metricFailures, prometheus.CounterValue, f.syncs, e.key.namespace, e.key.name, f.Metric, f.Reason)
		}
	}
}

package scaler

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

// Recorder exports what the scaler decided and forecast, per ScalingPolicy,
// for dashboards: the forecast next to the observed demand and its error,
// and the failure policy's state. The controller calls Record after each
// decision and Forget when a policy is deleted.
type Recorder struct {
	demand, forecastDemand, forecastReplicas, forecastAbsErr, forecastRMS *prometheus.GaugeVec
	failures, fallback                                                    *prometheus.GaugeVec
	forecastApplied                                                       *prometheus.CounterVec
}

var policyLabels = []string{"namespace", "name"}

// NewRecorder registers the scaler's metrics with reg.
func NewRecorder(reg prometheus.Registerer) (*Recorder, error) {
	gauge := func(name, help string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, policyLabels)
	}
	r := &Recorder{
		demand: gauge("trimtab_scaler_demand_replicas",
			"Observed load in replicas at target: the metrics' total divided by the per-replica target, before rounding and tolerance."),
		forecastDemand: gauge("trimtab_scaler_forecast_demand_replicas",
			"Upper forecast of the demand over the predictive horizon, in replicas at target."),
		forecastReplicas: gauge("trimtab_scaler_forecast_replicas",
			"Replicas the forecast proposes (acted on only in predictive mode on)."),
		forecastAbsErr: gauge("trimtab_scaler_forecast_absolute_error_replicas",
			"Recent mean absolute one-step forecast error, in replicas at target."),
		forecastRMS: gauge("trimtab_scaler_forecast_rms_error_replicas",
			"Recent root-mean-square one-step forecast error, in replicas at target."),
		failures: gauge("trimtab_scaler_metric_consecutive_failures",
			"Consecutive syncs in which at least one metric failed."),
		fallback: gauge("trimtab_scaler_fallback_active",
			"1 while the failure threshold is reached and the fallback replicas apply, else 0."),
		forecastApplied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trimtab_scaler_forecast_applied_total",
			Help: "Syncs in which the forecast raised the replica proposal above the reactive one.",
		}, policyLabels),
	}
	for _, c := range r.collectors() {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register scaler metrics: %w", err)
		}
	}
	return r, nil
}

func (r *Recorder) collectors() []prometheus.Collector {
	return []prometheus.Collector{r.demand, r.forecastDemand, r.forecastReplicas, r.forecastAbsErr, r.forecastRMS, r.failures, r.fallback, r.forecastApplied}
}

// Record exports one decision of a policy with configuration cfg. f is the
// forecast that went into it and acc the forecaster's accuracy; both nil
// when predictive is off or warming up. The forecast counter and the
// fallback gauge exist only for policies that can use them: a fleet of
// 10,000 plain policies would otherwise carry 20,000 series of zeros.
func (r *Recorder) Record(namespace, name string, cfg Config, d Decision, f *Forecast, acc *predict.Accuracy) {
	if d.HasDemand {
		r.demand.WithLabelValues(namespace, name).Set(d.Demand)
	}
	if f != nil {
		r.forecastDemand.WithLabelValues(namespace, name).Set(f.PeakDemand)
		r.forecastReplicas.WithLabelValues(namespace, name).Set(float64(d.ForecastReplicas))
	}
	if acc != nil {
		r.forecastAbsErr.WithLabelValues(namespace, name).Set(acc.MeanAbsolute)
		r.forecastRMS.WithLabelValues(namespace, name).Set(acc.RMS)
	}
	if cfg.Predictive.Mode == v1alpha1.PredictiveOn {
		applied := r.forecastApplied.WithLabelValues(namespace, name)
		if d.ForecastApplied {
			applied.Inc()
		}
	} else {
		r.forecastApplied.DeleteLabelValues(namespace, name)
	}
	r.failures.WithLabelValues(namespace, name).Set(float64(d.History.ConsecutiveFailures))
	if cfg.Fallback == nil {
		r.fallback.DeleteLabelValues(namespace, name)
		return
	}
	active := 0.0
	if d.FallbackActive {
		active = 1
	}
	r.fallback.WithLabelValues(namespace, name).Set(active)
}

// Forget drops a deleted policy's series.
func (r *Recorder) Forget(namespace, name string) {
	for _, c := range []*prometheus.MetricVec{
		r.demand.MetricVec, r.forecastDemand.MetricVec, r.forecastReplicas.MetricVec, r.forecastAbsErr.MetricVec,
		r.forecastRMS.MetricVec, r.failures.MetricVec, r.fallback.MetricVec, r.forecastApplied.MetricVec,
	} {
		c.DeleteLabelValues(namespace, name)
	}
}

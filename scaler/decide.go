package scaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// MetricStatus is one metric's outcome in a decision.
type MetricStatus struct {
	Name string
	// Value is the current value: utilization percent for Utilization
	// targets, otherwise milli-units (per-pod average for AverageValue).
	Value int64
	// Proposal is the replica count this metric alone proposes.
	Proposal int32
	// Err is why the metric failed; nil on success.
	Err error
}

// Decision is the outcome of one sync.
type Decision struct {
	// Replicas is the desired replica count. When it differs from
	// Input.SpecReplicas the controller updates /scale and then calls
	// History.RecordScale.
	Replicas int32
	// Reason is the SuccessfulRescale event reason; empty when Replicas
	// equals the current count.
	Reason string
	// Conditions are the HPA conditions this sync sets.
	Conditions []Condition
	// Metrics are the per-metric outcomes, in spec order.
	Metrics []MetricStatus
	// Err reports failed metrics, also when the decision went ahead on the
	// others (a scale-up or hold on partial data).
	Err error
	// Reactive is the metrics' proposal before prediction, fallback and
	// normalization; 0 when no usable proposal exists.
	Reactive int32
	// Demand is the load expressed in replicas at target, unrounded and
	// without tolerance: for each additive metric (utilization, averages,
	// AverageValue of object and external) the total divided by the
	// per-replica target, maximised over metrics. It is what the forecaster
	// learns from. HasDemand is false when no additive metric succeeded.
	Demand    float64
	HasDemand bool
	// ForecastReplicas is ceil(Input.Forecast.PeakDemand) when a forecast
	// was given and predictive is not off; in shadow mode it is reported but
	// not acted on.
	ForecastReplicas int32
	// ForecastApplied is true when the forecast raised the proposal.
	ForecastApplied bool
	// FallbackActive is true when the failure threshold was reached.
	FallbackActive bool
	// History is the state to pass to the next decision.
	History History
}

// DemandTime is when a forecaster learns a Decision.Demand that was decided
// at now from metrics averaged over window (a rate over {{.Interval}}, or
// metrics-server's window): the window's middle, the time the demand
// describes. Learnt at now, a one-minute bin would hold the minute before it
// in part, and the model would lag the load by half a window.
func DemandTime(now time.Time, window time.Duration) time.Time {
	return now.Add(-window / 2)
}

// Decide computes the desired replica count exactly as the Kubernetes HPA's
// reconcile does for the same inputs, then layers trimtab's extensions on
// the metrics' proposal before normalization: predictive scaling
// (desired = max(reactive, forecast)) and the fallback on repeated metric
// failures. With predictive off and no fallback it is the HPA.
func Decide(in Input, now time.Time) Decision {
	cfg := in.Config
	current := in.SpecReplicas
	h := in.History
	if len(h.Recommendations) == 0 {
		// Upstream seeds the history once per controller lifetime, which
		// keeps a fresh controller from scaling down before one window.
		// It stamps the seed with a clock read just before the one its
		// windows are cut from, so a window of 0 already excludes it:
		// a nanosecond before now stands for that earlier read.
		h.Recommendations = []Recommendation{{Replicas: current, Time: now.Add(-time.Nanosecond)}}
	}
	d := Decision{Replicas: current}
	switch {
	case current == 0 && cfg.MinReplicas != 0:
		d.Conditions = []Condition{{ScalingActive, ConditionFalse, "ScalingDisabled", "scaling is disabled since the replica count of the target is zero"}}
		d.History = h
		return d
	case current > cfg.MaxReplicas:
		d.Replicas, d.Reason = cfg.MaxReplicas, "Current number of replicas above Spec.MaxReplicas"
		d.History = h
		return d
	case current < cfg.MinReplicas:
		d.Replicas, d.Reason = cfg.MinReplicas, "Current number of replicas below Spec.MinReplicas"
		d.History = h
		return d
	}

	proposal, metricName, usable := evaluateMetrics(in, now, &d)
	if d.Err != nil {
		h.ConsecutiveFailures++
	} else {
		h.ConsecutiveFailures = 0
	}
	if cfg.Predictive.Mode != v1alpha1.PredictiveOff && cfg.Predictive.Mode != "" && in.Forecast != nil {
		d.ForecastReplicas = ceilReplicas(in.Forecast.PeakDemand)
		if usable && cfg.Predictive.Mode == v1alpha1.PredictiveOn && d.ForecastReplicas > proposal {
			proposal, metricName, d.ForecastApplied = d.ForecastReplicas, "forecast load", true
		}
	}
	upReason := ""
	if fb := cfg.Fallback; fb != nil && h.ConsecutiveFailures >= fb.FailureThreshold {
		d.FallbackActive = true
		// The fallback only ever raises: missing data never scales down.
		floor := max(current, fb.Replicas)
		if !usable || floor > proposal {
			proposal, usable = floor, true
			upReason = fmt.Sprintf("fallback after %d consecutive metric failures", h.ConsecutiveFailures)
		}
	}
	if !usable {
		// Upstream stops here without normalizing: nothing is recorded and
		// the replica count holds.
		d.History = h
		return d
	}

	var desired int32
	if proposal > desired {
		desired = proposal
	}
	switch {
	case desired > current && upReason != "":
		d.Reason = upReason
	case desired > current:
		d.Reason = metricName + " above target"
	case desired < current:
		d.Reason = "All metrics below target"
	}
	var n limitResult
	if cfg.Behavior == nil {
		n = normalizeLegacy(h.Recommendations, current, desired, cfg.MinReplicas, cfg.MaxReplicas, cfg.Params, now)
	} else {
		n = normalizeBehavior(h, *cfg.Behavior, current, desired, cfg.MinReplicas, cfg.MaxReplicas, now)
	}
	h.Recommendations = n.newHistory
	d.Replicas = n.replicas
	d.Conditions = append(d.Conditions, n.able, n.limited)
	if d.Replicas == current {
		d.Reason = ""
	}
	d.History = h
	return d
}

// evaluateMetrics is upstream's computeReplicasForMetrics: the maximum over
// the metrics that succeeded. The proposal is unusable when every metric
// failed, or when some failed and the rest would scale down.
func evaluateMetrics(in Input, now time.Time, d *Decision) (proposal int32, name string, usable bool) {
	tol := in.Config.tolerances()
	var (
		invalid  int
		firstErr *metricFailure
	)
	for _, m := range in.Config.Metrics {
		res, found := in.Results[m.Name]
		out, err := computeMetric(m, res, found, in, tol, now)
		if err != nil {
			if invalid == 0 {
				firstErr = asFailure(err)
			}
			invalid++
			d.Metrics = append(d.Metrics, MetricStatus{Name: m.Name, Err: err})
			continue
		}
		d.Metrics = append(d.Metrics, MetricStatus{Name: m.Name, Value: out.value, Proposal: out.replicas})
		if proposal == 0 || out.replicas > proposal {
			proposal, name = out.replicas, m.Name
		}
		if out.hasDemand && (!d.HasDemand || out.demand > d.Demand) {
			d.Demand, d.HasDemand = out.demand, true
		}
	}
	if firstErr != nil {
		d.Err = fmt.Errorf("invalid metrics (%d invalid out of %d), first error is: %w", invalid, len(in.Config.Metrics), firstErr)
	}
	if invalid >= len(in.Config.Metrics) || (invalid > 0 && proposal < in.SpecReplicas) {
		reason := "InvalidMetricSourceType"
		if firstErr != nil {
			reason = firstErr.reason
		}
		d.Conditions = append(d.Conditions, Condition{ScalingActive, ConditionFalse, reason, fmt.Sprintf("the HPA was unable to compute the replica count: %v", d.Err)})
		return 0, "", false
	}
	d.Reactive = proposal
	d.Conditions = append(d.Conditions, Condition{ScalingActive, ConditionTrue, "ValidMetricFound", "the HPA was able to successfully calculate a replica count from " + name})
	return proposal, name, true
}

func asFailure(err error) *metricFailure {
	var f *metricFailure
	if errors.As(err, &f) {
		return f
	}
	return &metricFailure{reason: "InvalidMetricSourceType", err: err}
}

// tolerances are per direction only with behavior and the
// HPAConfigurableTolerance gate, as upstream.
func (c Config) tolerances() tolerances {
	if c.Behavior != nil && c.Params.ConfigurableTolerance {
		return tolerances{down: c.Behavior.ScaleDown.Tolerance, up: c.Behavior.ScaleUp.Tolerance}
	}
	return tolerances{down: c.Params.Tolerance, up: c.Params.Tolerance}
}

// ceilReplicas rounds a demand up to whole replicas, saturating at MaxInt32.
func ceilReplicas(x float64) int32 {
	switch {
	case math.IsNaN(x) || x <= 0:
		return 0
	case x >= math.MaxInt32:
		return math.MaxInt32
	}
	return int32(math.Ceil(x))
}

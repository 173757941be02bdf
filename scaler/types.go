// Package scaler computes a workload's desired replica count with the
// Kubernetes HorizontalPodAutoscaler's algorithm, extended with a failure
// policy and predictive scaling.
//
// Everything here is a pure function of its inputs and of `now`: the
// controller reads the ScalingPolicy, the pods and the metric samples, calls
// [Decide], applies the result and persists [History]. The replay simulator
// (scaler/sim) calls the very same [Decide], so offline results and the
// controller cannot drift apart. The upstream rules this package reproduces
// are listed in docs/autoscaling.md.
package scaler

import (
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// MetricKind is the HPA metric source type, which selects the arithmetic.
type MetricKind string

// Metric kinds, as autoscaling/v2 source types.
const (
	KindResource MetricKind = "resource"
	KindPods     MetricKind = "pods"
	KindObject   MetricKind = "object"
	KindExternal MetricKind = "external"
)

// TargetType is how a metric is compared with its target.
type TargetType string

// Target types, as autoscaling/v2.
const (
	Utilization  TargetType = "Utilization"
	AverageValue TargetType = "AverageValue"
	Value        TargetType = "Value"
)

// ResourceCPU is the one resource whose samples are subject to the HPA's CPU
// initialization rules.
const ResourceCPU = "cpu"

// Config is the effective scaling configuration: a ScalingPolicySpec with all
// defaults applied (see [ConfigFromSpec]) plus the controller-wide [Params].
type Config struct {
	MinReplicas int32
	MaxReplicas int32
	// Metrics are evaluated in order; the largest proposal wins.
	Metrics []MetricSpec
	// Behavior nil selects the HPA's legacy normalization (2x/4 scale-up cap,
	// one downscale stabilization window).
	Behavior   *Behavior
	Predictive Predictive
	// Fallback nil means metric failures only ever hold the replica count.
	Fallback *Fallback
	// SyncPeriod is how often the policy is synced; zero leaves it to the
	// controller's --scaling.sync-period (or trimtab replay's --sync).
	SyncPeriod time.Duration
	Params     Params
}

// MetricSpec is one metric and its target. Values are milli-units, as the
// HPA's Quantity.MilliValue().
type MetricSpec struct {
	Name string
	Kind MetricKind
	// Resource is "cpu" or "memory" for KindResource.
	Resource string
	Target   Target
}

// Target is a metric's target; only the field matching Type is used.
type Target struct {
	Type TargetType
	// Utilization in percent of the pods' requests.
	Utilization int32
	// AverageMilli is the per-pod (or per-replica) target in milli-units.
	AverageMilli int64
	// ValueMilli is the whole-workload target in milli-units.
	ValueMilli int64
}

// Behavior is autoscaling/v2's spec.behavior with defaults filled in.
type Behavior struct {
	ScaleUp   Rules
	ScaleDown Rules
}

// Rules limit one direction of scaling.
type Rules struct {
	StabilizationWindow time.Duration
	SelectPolicy        v1alpha1.SelectPolicy
	Policies            []Policy
	// Tolerance for this direction, e.g. 0.1.
	Tolerance float64
}

// PolicyType is Pods or Percent.
type PolicyType string

// Policy types.
const (
	PodsPolicy    PolicyType = "Pods"
	PercentPolicy PolicyType = "Percent"
)

// Policy allows a change of Value pods or percent per Period.
type Policy struct {
	Type   PolicyType
	Value  int32
	Period time.Duration
}

// Predictive configures forecasting.
type Predictive struct {
	Mode v1alpha1.PredictiveMode
	// Horizon to look ahead; at least a pod's start-up time. Zero leaves
	// it to PlanHorizon: the pods' observed start-up plus one sync.
	Horizon time.Duration
	// Season is the period of the load's cycle, e.g. 24h.
	Season time.Duration
	// Band is the width of the upper forecast predictive scaling acts on,
	// in standard deviations of the forecast's one-step error.
	Band float64
}

// Fallback applies after FailureThreshold consecutive syncs with a failed
// metric. The fallback only ever raises the replica count: missing data never
// scales down.
type Fallback struct {
	FailureThreshold int32
	Replicas         int32
}

// Params are the kube-controller-manager flags and constants of the HPA.
// [DefaultParams] returns upstream's values.
type Params struct {
	// Tolerance is --horizontal-pod-autoscaler-tolerance, both directions.
	Tolerance float64
	// DownscaleStabilization is the legacy window and the default
	// behavior.scaleDown.stabilizationWindowSeconds.
	DownscaleStabilization time.Duration
	// CPUInitializationPeriod and InitialReadinessDelay drive the CPU
	// readiness rules.
	CPUInitializationPeriod time.Duration
	InitialReadinessDelay   time.Duration
	// ScaleUpLimitFactor and ScaleUpLimitMinimum cap a legacy scale-up at
	// max(factor*current, minimum).
	ScaleUpLimitFactor  float64
	ScaleUpLimitMinimum float64
	// ConfigurableTolerance is the HPAConfigurableTolerance feature gate:
	// per-direction tolerances in behavior are honoured only when it is on.
	ConfigurableTolerance bool
}

// DefaultParams are upstream's defaults (Kubernetes v1.35: the
// HPAConfigurableTolerance gate is beta, on).
func DefaultParams() Params {
	return Params{
		Tolerance:               0.1,
		DownscaleStabilization:  5 * time.Minute,
		CPUInitializationPeriod: 5 * time.Minute,
		InitialReadinessDelay:   30 * time.Second,
		ScaleUpLimitFactor:      2.0,
		ScaleUpLimitMinimum:     4.0,
		ConfigurableTolerance:   true,
	}
}

// PodPhase is the pod's status.phase.
type PodPhase string

// Pod phases.
const (
	PodPending   PodPhase = "Pending"
	PodRunning   PodPhase = "Running"
	PodSucceeded PodPhase = "Succeeded"
	PodFailed    PodPhase = "Failed"
	PodUnknown   PodPhase = "Unknown"
)

// ConditionStatus is True, False or Unknown.
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Pod is what the HPA reads of one pod of the target.
type Pod struct {
	Name string
	// Created is metadata.creationTimestamp; PodStartup reads it, the HPA
	// rules do not.
	Created time.Time
	// Deleting is deletionTimestamp != nil.
	Deleting bool
	Phase    PodPhase
	// Ready is the PodReady condition; nil when the pod has none.
	Ready *PodReady
	// StartTime is status.startTime; nil when unset.
	StartTime *time.Time
	// PodRequests are what the HPA reads as the pod's requests when the
	// pod sets a pod-level request (KEP-2837): PodLevelRequests' result;
	// nil when it sets none, and the containers' requests are summed.
	PodRequests Requests
	// Containers are the regular containers followed by the restartable
	// (sidecar) init containers: the ones whose requests the HPA sums.
	Containers []Container
}

// PodReady is the pod's PodReady condition.
type PodReady struct {
	Status             ConditionStatus
	LastTransitionTime time.Time
}

// Container is one container's requests.
type Container struct {
	Name     string
	Requests Requests
}

// InitContainer is one init container's requests, in the pod's order;
// Sidecar is restartPolicy Always.
type InitContainer struct {
	Requests Requests
	Sidecar  bool
}

// Requests are requests in milli-units by resource name. A slice, not a
// map: a pod has one or two, and a cycle holds every pod of every target.
type Requests []Request

// Request is one resource's request in milli-units.
type Request struct {
	Resource string
	Milli    int64
}

// Get returns the request for resource, if there is one.
func (rs Requests) Get(resource string) (int64, bool) {
	for _, r := range rs {
		if r.Resource == resource {
			return r.Milli, true
		}
	}
	return 0, false
}

// add is rs plus each of more's requests, resource by resource; rs may be
// reused.
func (rs Requests) add(more Requests) Requests {
	for _, r := range more {
		v, _ := rs.Get(r.Resource)
		rs = rs.set(r.Resource, v+r.Milli)
	}
	return rs
}

// max is rs raised to each of other's requests where they are larger, and
// holding each resource either names; rs may be reused.
func (rs Requests) max(other Requests) Requests {
	for _, r := range other {
		if v, ok := rs.Get(r.Resource); !ok || r.Milli > v {
			rs = rs.set(r.Resource, r.Milli)
		}
	}
	return rs
}

// set is rs with resource's request set to milli; rs may be reused.
func (rs Requests) set(resource string, milli int64) Requests {
	for i := range rs {
		if rs[i].Resource == resource {
			rs[i].Milli = milli
			return rs
		}
	}
	return append(rs, Request{Resource: resource, Milli: milli})
}

// PodSample is one pod's metric sample.
type PodSample struct {
	// Milli is the sample in milli-units (millicores for CPU).
	Milli     int64
	Timestamp time.Time
	// Window is the interval the sample covers (metrics-server's window).
	Window time.Duration
}

// MetricResult is what the collector returned for one metric. A metric with
// no entry in [Input.Results] counts as failed with "no data".
type MetricResult struct {
	// Err is set when the source failed; nothing else is read then. It
	// names its metric, as the collector's errors do, and is shown as it
	// is.
	Err error
	// PodValues are the per-pod samples of resource and pods metrics.
	PodValues map[string]PodSample
	// Values are the object metric's value (exactly one) or all the series
	// of an external metric (summed), in milli-units.
	Values []int64
}

// Recommendation is one stored unstabilized recommendation.
type Recommendation struct {
	Replicas int32     `json:"replicas"`
	Time     time.Time `json:"time"`
}

// ScaleEvent is one stored scale change, for the behavior rate limits.
type ScaleEvent struct {
	Change   int32     `json:"change"`
	Time     time.Time `json:"time"`
	Outdated bool      `json:"outdated,omitempty"`
}

// History is the state the HPA keeps in memory per object. The controller
// may persist it (upstream does not, so after a restart upstream starts from
// an empty history while trimtab may not).
type History struct {
	Recommendations     []Recommendation `json:"recommendations,omitempty"`
	ScaleUpEvents       []ScaleEvent     `json:"scaleUpEvents,omitempty"`
	ScaleDownEvents     []ScaleEvent     `json:"scaleDownEvents,omitempty"`
	ConsecutiveFailures int32            `json:"consecutiveFailures,omitempty"`
}

// Forecast is the predicted peak demand over the predictive horizon starting
// now, in replicas at target (see [Decision.Demand]).
type Forecast struct {
	// PeakDemand is the upper forecast of demand over the horizon.
	PeakDemand float64
}

// Input is everything one decision depends on besides `now`.
type Input struct {
	Config Config
	// SpecReplicas is the target's /scale spec.replicas ("current").
	SpecReplicas int32
	// StatusReplicas is the target's /scale status.replicas; used by the
	// AverageValue forms of object and external metrics.
	StatusReplicas int32
	// Pods are the pods the target's selector lists. Their names are
	// distinct, as the API server's pods of one namespace are: the HPA
	// matches samples to pods by name. A name listed twice fails every
	// Resource and Pods metric (the ones read per pod), with an error
	// naming the pod; the other metrics go on.
	Pods []Pod
	// Results are the collector's answers keyed by MetricSpec.Name.
	Results map[string]MetricResult
	// History is the state returned by the previous decision (and
	// [History.RecordScale]); zero for a new object.
	History History
	// Forecast is the forecaster's answer at this sync; nil when there is
	// none yet (too little data, or predictive off).
	Forecast *Forecast
}

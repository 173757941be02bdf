package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScalingPolicy sets a Deployment's replica count from metrics, with the
// Kubernetes HorizontalPodAutoscaler's semantics and optional predictive
// scaling. During a Release it scales primary and canary together.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sp,categories=trimtab
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetRef.name`
// +kubebuilder:printcolumn:name="Min",type=integer,JSONPath=`.spec.minReplicas`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.maxReplicas`
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.currentReplicas`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredReplicas`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScalingPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ScalingPolicySpec   `json:"spec"`
	Status ScalingPolicyStatus `json:"status,omitempty"`
}

// ScaleTargetRef names the workload a ScalingPolicy scales, in its
// namespace. As with the HorizontalPodAutoscaler, any kind with a scale
// subresource whose status carries a label selector will do: a Deployment,
// a StatefulSet, a ReplicaSet, or a custom resource (an Argo Rollout, say).
type ScaleTargetRef struct {
	// APIVersion of the target, group/version (just the version for the
	// core group). Versions are named as a CustomResourceDefinition may
	// name them: v1, v2beta1, or any DNS-1035 label.
	// +kubebuilder:validation:MaxLength=317
	// +kubebuilder:validation:Pattern=`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[a-z]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:default="apps/v1"
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind of the target, as in its manifests: Deployment, StatefulSet, ...
	// CamelCase, as the Kubernetes API conventions write kinds, so that a
	// lower-case resource name ("deployment") is caught here.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Z][A-Za-z0-9]*$`
	// +kubebuilder:default=Deployment
	// +optional
	Kind string `json:"kind,omitempty"`
	// Name of the target.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// ScalingPolicySpec is the desired scaling behaviour.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must be less than or equal to maxReplicas"
type ScalingPolicySpec struct {
	// TargetRef is the workload to scale: a Deployment, a StatefulSet, or
	// any object with a scale subresource.
	TargetRef ScaleTargetRef `json:"targetRef"`
	// MinReplicas is the lower bound.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`
	// MaxReplicas is the upper bound.
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`
	// SyncPeriodSeconds is how often this policy is synced, between 1 and
	// 600; defaults to the controller's --scaling.sync-period (15 s, the
	// HPA's). A shorter period reacts sooner at the cost of more queries;
	// policies synced at the same moment still share them.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	// +optional
	SyncPeriodSeconds *int32 `json:"syncPeriodSeconds,omitempty"`
	// Metrics drive the replica count; the largest proposal wins, as in the HPA.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +listType=map
	// +listMapKey=name
	Metrics []ScalingMetric `json:"metrics"`
	// Behavior tunes stabilization and rate limits, as the HPA's spec.behavior.
	// +optional
	Behavior *ScalingBehavior `json:"behavior,omitempty"`
	// Predictive adds a forecast of the load on top of the reactive proposal.
	// +optional
	Predictive *Predictive `json:"predictive,omitempty"`
	// Fallback is used when metrics keep failing.
	// +optional
	Fallback *Fallback `json:"fallback,omitempty"`
}

// MetricKind is the HPA metric source type a scaling metric follows.
// +kubebuilder:validation:Enum=resource;pods;object;external
type MetricKind string

// Metric kinds, with the HPA's arithmetic for each.
const (
	// MetricResource is per-pod resource usage against requests (cpu, memory).
	MetricResource MetricKind = "resource"
	// MetricPods is a per-pod value averaged over the pods.
	MetricPods MetricKind = "pods"
	// MetricObject is one value describing the workload (e.g. p95 latency).
	MetricObject MetricKind = "object"
	// MetricExternal is one value from outside (e.g. a queue's backlog).
	MetricExternal MetricKind = "external"
)

// TargetType is how a metric's value is compared with its target.
// +kubebuilder:validation:Enum=Utilization;AverageValue;Value
type TargetType string

// Target types, as autoscaling/v2.
const (
	UtilizationTarget  TargetType = "Utilization"
	AverageValueTarget TargetType = "AverageValue"
	ValueTarget        TargetType = "Value"
)

// ScalingMetric is a metric source with a target.
//
// +kubebuilder:validation:XValidation:rule="self.kind != 'resource' || has(self.resource)",message="resource (cpu or memory) is required when kind is resource"
// +kubebuilder:validation:XValidation:rule="self.target.type != 'Utilization' || self.kind == 'resource'",message="target.type Utilization is only valid with kind resource"
// +kubebuilder:validation:XValidation:rule="self.kind != 'pods' || self.target.type == 'AverageValue'",message="kind pods needs target.type AverageValue"
// +kubebuilder:validation:XValidation:rule="self.kind != 'resource' || self.target.type != 'Value'",message="kind resource needs target.type Utilization or AverageValue"
type ScalingMetric struct {
	Metric `json:",inline"`
	// Kind selects the HPA arithmetic: resource, pods, object or external.
	Kind MetricKind `json:"kind"`
	// Resource whose requests are the denominator of utilization.
	// +kubebuilder:validation:Enum=cpu;memory
	// +optional
	Resource string `json:"resource,omitempty"`
	// Target value of the metric.
	Target MetricTarget `json:"target"`
}

// MetricTarget is the value the scaler steers the metric to.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'Utilization' || has(self.averageUtilization)",message="averageUtilization is required when type is Utilization"
// +kubebuilder:validation:XValidation:rule="self.type != 'AverageValue' || has(self.averageValue)",message="averageValue is required when type is AverageValue"
// +kubebuilder:validation:XValidation:rule="self.type != 'Value' || has(self.value)",message="value is required when type is Value"
type MetricTarget struct {
	Type TargetType `json:"type"`
	// AverageUtilization in percent of the pods' requests.
	// +kubebuilder:validation:Minimum=1
	// +optional
	AverageUtilization *int32 `json:"averageUtilization,omitempty"`
	// AverageValue per pod.
	// +optional
	AverageValue *resource.Quantity `json:"averageValue,omitempty"`
	// Value for the whole workload.
	// +optional
	Value *resource.Quantity `json:"value,omitempty"`
}

// ScalingBehavior is autoscaling/v2's HorizontalPodAutoscalerBehavior.
type ScalingBehavior struct {
	// +optional
	ScaleUp *ScalingRules `json:"scaleUp,omitempty"`
	// +optional
	ScaleDown *ScalingRules `json:"scaleDown,omitempty"`
}

// SelectPolicy chooses among rate-limit policies.
// +kubebuilder:validation:Enum=Max;Min;Disabled
type SelectPolicy string

// Policy selections.
const (
	SelectMax      SelectPolicy = "Max"
	SelectMin      SelectPolicy = "Min"
	SelectDisabled SelectPolicy = "Disabled"
)

// ScalingRules limit one direction of scaling, as autoscaling/v2's HPAScalingRules.
type ScalingRules struct {
	// StabilizationWindowSeconds: the scaler picks the most conservative
	// recommendation of this window. Defaults: 0 up, 300 down.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	// +optional
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
	// SelectPolicy among Policies; Disabled forbids this direction.
	// +optional
	SelectPolicy *SelectPolicy `json:"selectPolicy,omitempty"`
	// Policies limit the change per period.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	Policies []ScalingPolicyRule `json:"policies,omitempty"`
	// Tolerance is the relative band around the target within which nothing
	// changes, e.g. "0.1"; defaults to 0.1.
	// +optional
	Tolerance *resource.Quantity `json:"tolerance,omitempty"`
}

// ScalingPolicyRule allows a change of Value pods or percent per PeriodSeconds.
type ScalingPolicyRule struct {
	// +kubebuilder:validation:Enum=Pods;Percent
	Type string `json:"type"`
	// +kubebuilder:validation:Minimum=1
	Value int32 `json:"value"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1800
	PeriodSeconds int32 `json:"periodSeconds"`
}

// PredictiveMode turns forecasting off, on, or on for metrics only.
// +kubebuilder:validation:Enum=off;shadow;on
type PredictiveMode string

// Predictive modes.
const (
	PredictiveOff    PredictiveMode = "off"
	PredictiveShadow PredictiveMode = "shadow"
	PredictiveOn     PredictiveMode = "on"
)

// Predictive forecasts load over a horizon and scales ahead of it; a forecast
// never scales down.
type Predictive struct {
	// +kubebuilder:default=off
	// +optional
	Mode PredictiveMode `json:"mode,omitempty"`
	// HorizonSeconds to look ahead; at least the pods' start-up time.
	// Unset, it follows the pods: their observed start-up (creation to
	// Ready, 90th percentile) plus one sync period, and 300 until a pod has
	// been seen starting.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=86400
	// +optional
	HorizonSeconds int32 `json:"horizonSeconds,omitempty"`
	// SeasonSeconds is the period of the load's cycle, e.g. 86400 for daily
	// or 604800 for weekly: a whole number of minutes up to a day, of hours
	// beyond (precisely: cut into at least 720 equal bins of whole
	// minutes), at most 31 days.
	// +kubebuilder:validation:Minimum=60
	// +kubebuilder:validation:Maximum=2678400
	// +kubebuilder:validation:MultipleOf=60
	// +kubebuilder:default=86400
	// +optional
	SeasonSeconds int32 `json:"seasonSeconds,omitempty"`
	// BandStdDevs is how far above its point forecast predictive scaling
	// provisions, in standard deviations of the forecast's recent one-step
	// error, between 0 and 5, e.g. "1.25"; defaults to 1.75. A wider band
	// removes more SLO-violation time at more replica cost
	// (docs/autoscaling.md measures the trade-off).
	// +optional
	BandStdDevs *resource.Quantity `json:"bandStdDevs,omitempty"`
}

// Fallback replicas apply after FailureThreshold consecutive metric failures.
type Fallback struct {
	// +kubebuilder:validation:Minimum=1
	FailureThreshold int32 `json:"failureThreshold"`
	// +kubebuilder:validation:Minimum=1
	Replicas int32 `json:"replicas"`
}

// ScalingPolicyStatus is what the scaler observed and did.
type ScalingPolicyStatus struct {
	// ObservedGeneration is the metadata.generation of the spec the
	// status's decision was made under (desiredReplicas, currentMetrics,
	// the scaling conditions). A changed spec is synced at once, not at
	// the next sync period.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, AbleToScale, ScalingActive, ScalingLimited, and
	// Forecasting with predictive mode shadow or on.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// +optional
	CurrentReplicas int32 `json:"currentReplicas,omitempty"`
	// +optional
	DesiredReplicas int32 `json:"desiredReplicas,omitempty"`
	// +optional
	LastScaleTime *metav1.Time `json:"lastScaleTime,omitempty"`
	// CurrentMetrics are the last values read, against their targets.
	// +optional
	// +listType=map
	// +listMapKey=name
	CurrentMetrics []MetricStatus `json:"currentMetrics,omitempty"`
	// ConsecutiveFailures of metric collection, for the fallback.
	// +optional
	ConsecutiveFailures int32 `json:"consecutiveFailures,omitempty"`
}

// MetricStatus is one metric's last value against its target.
type MetricStatus struct {
	Name string `json:"name"`
	// Value last read, as a quantity string; empty when there was no data.
	// +optional
	Value string `json:"value,omitempty"`
	// Target as written in the spec.
	// +optional
	Target string `json:"target,omitempty"`
	// Replicas this metric alone proposes.
	// +optional
	ProposedReplicas int32 `json:"proposedReplicas,omitempty"`
	// Error is why the metric has no value at the last sync (its source
	// failed, or had no data); the other metrics still scale.
	// +optional
	Error string `json:"error,omitempty"`
}

// ScalingPolicyList is a list of ScalingPolicies.
//
// +kubebuilder:object:root=true
type ScalingPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ScalingPolicy `json:"items"`
}

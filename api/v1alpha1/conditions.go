package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Condition types set on Releases and ScalingPolicies. Ready summarises the
// others so that `kubectl wait --for=condition=Ready` works.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
)

// Condition reasons: one CamelCase word each, machine-readable.
const (
	ReasonTargetNotFound     = "TargetNotFound"
	ReasonTargetFound        = "TargetFound"
	ReasonTargetUnsupported  = "TargetUnsupported"
	ReasonTargetLookupFailed = "TargetLookupFailed"
	// ReasonTargetHasHPA: a HorizontalPodAutoscaler already scales the target.
	ReasonTargetHasHPA = "TargetHasHPA"
	// ReasonServiceNotFound: the Service in front of the target is missing.
	ReasonServiceNotFound = "ServiceNotFound"
	// ReasonTrafficMisconfigured: the router's Ingress or HTTPRoute is missing or wrong.
	ReasonTrafficMisconfigured = "TrafficMisconfigured"
	// ReasonInvalidSpec: the spec passed the schema but cannot be acted on.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonOwnedElsewhere: an object trimtab would manage exists and is not its own.
	ReasonOwnedElsewhere = "OwnedElsewhere"
	// ReasonReconciled: everything the object references is in place.
	ReasonReconciled = "Reconciled"
)

// Targeted is implemented by every trimtab resource that manages a
// Deployment, so the shared parts of reconciling them are written once.
// +kubebuilder:object:generate=false
type Targeted interface {
	GetTargetRef() TargetRef
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
	GetObservedGeneration() int64
	SetObservedGeneration(int64)
}

// GetTargetRef returns the Deployment this Release delivers.
func (r *Release) GetTargetRef() TargetRef { return r.Spec.TargetRef }

// GetConditions returns the Release's status conditions.
func (r *Release) GetConditions() []metav1.Condition { return r.Status.Conditions }

// SetConditions replaces the Release's status conditions.
func (r *Release) SetConditions(c []metav1.Condition) { r.Status.Conditions = c }

// GetObservedGeneration returns the generation the status reflects.
func (r *Release) GetObservedGeneration() int64 { return r.Status.ObservedGeneration }

// SetObservedGeneration records the generation the status reflects.
func (r *Release) SetObservedGeneration(g int64) { r.Status.ObservedGeneration = g }

// GetTargetRef returns the Deployment this ScalingPolicy scales.
func (p *ScalingPolicy) GetTargetRef() TargetRef { return p.Spec.TargetRef }

// GetConditions returns the ScalingPolicy's status conditions.
func (p *ScalingPolicy) GetConditions() []metav1.Condition { return p.Status.Conditions }

// SetConditions replaces the ScalingPolicy's status conditions.
func (p *ScalingPolicy) SetConditions(c []metav1.Condition) { p.Status.Conditions = c }

// GetObservedGeneration returns the generation the status reflects.
func (p *ScalingPolicy) GetObservedGeneration() int64 { return p.Status.ObservedGeneration }

// SetObservedGeneration records the generation the status reflects.
func (p *ScalingPolicy) SetObservedGeneration(g int64) { p.Status.ObservedGeneration = g }

package v1alpha1

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
	// ReasonTargetHasPolicy: another ScalingPolicy scales the same target.
	ReasonTargetHasPolicy = "TargetHasPolicy"
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

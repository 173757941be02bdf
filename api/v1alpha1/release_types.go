package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Release delivers new versions of a Deployment progressively: each change to
// the target's pod template is rolled out as a canary (or blue-green),
// judged against the running version, then promoted or rolled back.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rel,categories=trimtab
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.targetRef.name`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.step`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.weight`
// +kubebuilder:printcolumn:name="Score",type=string,JSONPath=`.status.score`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.canaryRevision`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ReleaseSpec   `json:"spec"`
	Status ReleaseStatus `json:"status,omitempty"`
}

// ReleaseSpec is what the user wants: which Deployment, how to shift traffic,
// how to judge the new version and whom to tell.
//
// +kubebuilder:validation:XValidation:rule="!has(self.strategy.blueGreen) || (has(self.traffic) && has(self.traffic.router) && self.traffic.router != 'replicas')",message="blueGreen needs traffic.router nginx or gatewayAPI: a replica ratio cannot send all traffic to one version while the other stays up"
type ReleaseSpec struct {
	// TargetRef is the Deployment the user keeps applying.
	TargetRef TargetRef `json:"targetRef"`
	// Strategy is canary steps or blue-green.
	Strategy Strategy `json:"strategy"`
	// Traffic says how traffic is split between the versions.
	// +optional
	Traffic Traffic `json:"traffic,omitempty"`
	// Analysis says how the new version is judged.
	// +optional
	Analysis Analysis `json:"analysis,omitempty"`
	// ProgressDeadlineSeconds bounds how long any one step may wait (for
	// rollout, data or a verdict) before the release is rolled back.
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:default=600
	// +optional
	ProgressDeadlineSeconds int32 `json:"progressDeadlineSeconds,omitempty"`
	// Notify lists where release events are sent.
	// +optional
	Notify *Notify `json:"notify,omitempty"`
}

// Strategy is exactly one of Canary or BlueGreen.
//
// +kubebuilder:validation:XValidation:rule="has(self.canary) != has(self.blueGreen)",message="set exactly one of canary or blueGreen"
type Strategy struct {
	// +optional
	Canary *CanaryStrategy `json:"canary,omitempty"`
	// +optional
	BlueGreen *BlueGreenStrategy `json:"blueGreen,omitempty"`
}

// CanaryStrategy moves traffic to the new version in steps.
type CanaryStrategy struct {
	// Steps of traffic weight, each held for its analysis duration. Weights
	// never decrease. When empty, trimtab uses 10% for 15 minutes, then 25%,
	// 50% and 75% for 5 minutes each.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:XValidation:rule="self.map(s, s.weight).isSorted()",message="step weights must be in ascending order"
	Steps []CanaryStep `json:"steps,omitempty"`
	// Baseline runs a copy of the old version sized like the canary, so the
	// judge compares pods of the same age and load.
	// +optional
	Baseline bool `json:"baseline,omitempty"`
}

// CanaryStep is one traffic weight and how long it is analysed.
type CanaryStep struct {
	// Weight is the percentage of traffic the canary receives.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
	// AnalysisSeconds is how long the step is analysed before it can pass.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=300
	// +optional
	AnalysisSeconds int32 `json:"analysisSeconds,omitempty"`
	// ManualGate makes the step wait for an approval after its analysis passes.
	// +optional
	ManualGate bool `json:"manualGate,omitempty"`
}

// BlueGreenStrategy brings the new version up at full size, verifies it
// through a preview Service, then switches all traffic at once.
type BlueGreenStrategy struct {
	// PreviewService selects only the new version, for verification.
	// +optional
	PreviewService string `json:"previewService,omitempty"`
	// AnalysisSeconds is how long the new version is analysed before the switch.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=300
	// +optional
	AnalysisSeconds int32 `json:"analysisSeconds,omitempty"`
	// RollbackWindowSeconds keeps the old version scaled after the switch so
	// that a rollback is instant.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=600
	// +optional
	RollbackWindowSeconds int32 `json:"rollbackWindowSeconds,omitempty"`
}

// Router names a way to split traffic.
// +kubebuilder:validation:Enum=replicas;nginx;gatewayAPI
type Router string

// Traffic routers.
const (
	// RouterReplicas splits traffic by the ratio of ready replicas behind one Service.
	RouterReplicas Router = "replicas"
	// RouterNGINX uses a canary Ingress with NGINX Ingress' canary annotations.
	RouterNGINX Router = "nginx"
	// RouterGatewayAPI sets backendRef weights on a Gateway API HTTPRoute.
	RouterGatewayAPI Router = "gatewayAPI"
)

// Traffic chooses the router and the objects it edits.
//
// +kubebuilder:validation:XValidation:rule="self.router != 'nginx' || has(self.ingress)",message="ingress is required when router is nginx"
// +kubebuilder:validation:XValidation:rule="self.router != 'gatewayAPI' || has(self.httpRoute)",message="httpRoute is required when router is gatewayAPI"
type Traffic struct {
	// Router: replicas (default, no mesh), nginx or gatewayAPI.
	// +kubebuilder:default=replicas
	// +optional
	Router Router `json:"router,omitempty"`
	// Service in front of the target; defaults to the target's name.
	// +optional
	Service string `json:"service,omitempty"`
	// Ingress is the user's NGINX Ingress for router nginx; trimtab adds a
	// canary Ingress beside it and never edits it.
	// +optional
	Ingress string `json:"ingress,omitempty"`
	// HTTPRoute is the Gateway API route whose backend weights trimtab sets.
	// +optional
	HTTPRoute string `json:"httpRoute,omitempty"`
}

// JudgeMode selects the statistical judge.
// +kubebuilder:validation:Enum=trimtab;kayenta
type JudgeMode string

// Judge modes.
const (
	// JudgeTrimtab is the deterministic, stricter judge (default).
	JudgeTrimtab JudgeMode = "trimtab"
	// JudgeKayenta reproduces Kayenta's NetflixACAJudge verdicts.
	JudgeKayenta JudgeMode = "kayenta"
)

// Analysis says how often and by which metrics and hooks a new version is judged.
//
// +kubebuilder:validation:XValidation:rule="!has(self.marginalScore) || !has(self.passScore) || self.marginalScore <= self.passScore",message="marginalScore must be less than or equal to passScore"
type Analysis struct {
	// IntervalSeconds between analysis looks.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=30
	// +optional
	IntervalSeconds int32 `json:"intervalSeconds,omitempty"`
	// Mode of the judge.
	// +kubebuilder:default=trimtab
	// +optional
	Mode JudgeMode `json:"mode,omitempty"`
	// PassScore (0–100) at or above which a look passes.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=95
	// +optional
	PassScore int32 `json:"passScore,omitempty"`
	// MarginalScore (0–100) at or above which a look is marginal rather than failing.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=75
	// +optional
	MarginalScore int32 `json:"marginalScore,omitempty"`
	// GroupWeights weigh metric groups in the score, e.g. app: 60, business: 40.
	// +optional
	GroupWeights map[string]int32 `json:"groupWeights,omitempty"`
	// Metrics compared between canary and baseline.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=100
	Metrics []Metric `json:"metrics,omitempty"`
	// Hooks are HTTP checks run at fixed points of a release.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=20
	Hooks []Hook `json:"hooks,omitempty"`
}

// HookPhase says when a hook runs.
// +kubebuilder:validation:Enum=pre-rollout;pre-promotion;post-rollout
type HookPhase string

// Hook phases.
const (
	HookPreRollout   HookPhase = "pre-rollout"
	HookPrePromotion HookPhase = "pre-promotion"
	HookPostRollout  HookPhase = "post-rollout"
)

// Hook is an HTTP check; any status outside 2xx after the retries fails it,
// and a failed hook counts as a failed critical metric.
type Hook struct {
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Phase at which the hook runs.
	Phase HookPhase `json:"phase"`
	// URL called with GET (or POST when Body is set).
	// +kubebuilder:validation:Pattern=`^https?://`
	URL string `json:"url"`
	// Body sent with POST.
	// +optional
	Body string `json:"body,omitempty"`
	// TimeoutSeconds bounds each attempt.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=300
	// +kubebuilder:default=10
	// +optional
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
	// Retries after a failed attempt.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10
	// +kubebuilder:default=2
	// +optional
	Retries int32 `json:"retries,omitempty"`
}

// Notify lists where release events go.
type Notify struct {
	// Slack channel ID or name for the release thread.
	// +optional
	SlackChannel string `json:"slackChannel,omitempty"`
}

// ReleaseStatus is what trimtab observed and did. All release progress lives
// here, so a restarted controller continues where the last one stopped.
type ReleaseStatus struct {
	// ObservedGeneration is the spec generation this status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready, Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
	// State is a one-word summary for people (Initializing, Idle,
	// Progressing, WaitingApproval, Paused, Frozen, Promoting, Promoted,
	// RolledBack); machines should read Conditions.
	// +optional
	State string `json:"state,omitempty"`
	// Step is the index of the current canary step, from 1; once the
	// release has ended, the step it ended at.
	// +optional
	Step int32 `json:"step,omitempty"`
	// Weight is the canary's current share of traffic in percent.
	// +optional
	Weight int32 `json:"weight,omitempty"`
	// Score of the last analysis look, 0–100, as a decimal string. Once
	// the release has ended it stays only when a look's verdict ended it
	// (a failing look, or the last look before a promotion after every
	// step passed): after a request, a hook, a canary that was never
	// ready, a step without a verdict or a cancellation it is empty.
	// +optional
	Score string `json:"score,omitempty"`
	// CanaryRevision is the hash of the pod template being released.
	// +optional
	CanaryRevision string `json:"canaryRevision,omitempty"`
	// StableRevision is the hash of the pod template serving as primary.
	// +optional
	StableRevision string `json:"stableRevision,omitempty"`
	// TotalReplicas is the workload's size, split between primary, canary
	// and baseline during a release. It is taken from the target's
	// spec.replicas whenever that is above 0 (the target itself then goes
	// back to 0), and a ScalingPolicy on the target sets it.
	// +optional
	TotalReplicas int32 `json:"totalReplicas,omitempty"`
	// StepStartTime is when the current step (or phase) began; it anchors
	// the step's analysis duration and the promotion's progress deadline.
	// +optional
	StepStartTime *metav1.Time `json:"stepStartTime,omitempty"`
	// CanaryUnreadySince is when the canary last stopped having the ready
	// pods its step needs (at the step's start, before they first come
	// up); the progress deadline counts from it, so a pod that restarts
	// late in a long step gets the whole deadline to come back.
	// +optional
	CanaryUnreadySince *metav1.Time `json:"canaryUnreadySince,omitempty"`
	// LastLookTime is when the last analysis look was taken.
	// +optional
	LastLookTime *metav1.Time `json:"lastLookTime,omitempty"`
	// Analysis is the sequential analysis of the current step.
	// +optional
	Analysis *AnalysisProgress `json:"analysis,omitempty"`
	// Metrics are the per-metric results of the last look.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Metrics []MetricOutcome `json:"metrics,omitempty"`
	// ExpectedCompletionTime is when the release will be promoted if every
	// remaining step passes on its first try.
	// +optional
	ExpectedCompletionTime *metav1.Time `json:"expectedCompletionTime,omitempty"`
	// HooksCompleted lists the hook phases that ran for CanaryRevision. A
	// failing pre-rollout or pre-promotion hook rolls the release back; a
	// failing post-rollout hook is reported in a Warning Event.
	// +optional
	// +listType=set
	HooksCompleted []HookPhase `json:"hooksCompleted,omitempty"`
	// PromotionReason says, while CanaryRevision is being promoted (state
	// Promoting), why: every step passed, or a promote request, which it
	// names. The Promoted record in Revisions keeps it after.
	// +optional
	PromotionReason string `json:"promotionReason,omitempty"`
	// ApprovedStep is the last manual gate approved for CanaryRevision.
	// +optional
	ApprovedStep int32 `json:"approvedStep,omitempty"`
	// FailedRevision is the last revision rolled back; it is not released
	// again until the target changes or a retry is requested.
	// +optional
	FailedRevision string `json:"failedRevision,omitempty"`
	// HandledRequest is the trimtab.dev/request value this Release has
	// acted on, or reported in a RequestIgnored Event because it could
	// not act. A request acts (or is reported) once: to make the same
	// request again, remove the annotation and make it anew.
	// +optional
	HandledRequest string `json:"handledRequest,omitempty"`
	// History of past analysis looks, newest first, bounded.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	History []AnalysisRecord `json:"history,omitempty"`
	// Revisions released in the past, newest first, bounded.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Revisions []RevisionRecord `json:"revisions,omitempty"`
}

// AnalysisProgress is the sequential analysis state kept between looks.
type AnalysisProgress struct {
	// StartTime of the analysis.
	StartTime metav1.Time `json:"startTime"`
	// Looks taken so far.
	Looks int32 `json:"looks"`
	// SpentAlpha is the share of the false-rollback budget already spent, as
	// a decimal string.
	// +optional
	SpentAlpha string `json:"spentAlpha,omitempty"`
}

// MetricOutcome is one metric's result at the last look, with the values
// that explain it.
type MetricOutcome struct {
	Name string `json:"name"`
	// Classification: Pass, High, Low, Nodata, NodataFailMetric or Error.
	Classification string `json:"classification"`
	// Baseline and Canary summarise the two samples, e.g. "mean 0.120 p99 0.250 (n=60)".
	// +optional
	Baseline string `json:"baseline,omitempty"`
	// +optional
	Canary string `json:"canary,omitempty"`
	// Reason in one line.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// RevisionRecord is how one released revision ended.
type RevisionRecord struct {
	Revision string `json:"revision"`
	// Outcome: Promoted, RolledBack or Superseded.
	Outcome string      `json:"outcome"`
	Time    metav1.Time `json:"time"`
	// +optional
	Reason string `json:"reason,omitempty"`
}

// AnalysisRecord is one analysis look, kept so a decision can be explained later.
type AnalysisRecord struct {
	// Time of the look.
	Time metav1.Time `json:"time"`
	// Revision that was judged.
	Revision string `json:"revision"`
	// Step and Weight at the time.
	Step   int32 `json:"step"`
	Weight int32 `json:"weight"`
	// Score as a decimal string and Verdict: Pass, Marginal or Fail; NoData
	// when no metric had data yet; Error when the analysis could not run.
	Score   string `json:"score"`
	Verdict string `json:"verdict"`
	// Reason is a one-line summary of what drove the verdict.
	// +optional
	Reason string `json:"reason,omitempty"`
}

// ReleaseList is a list of Releases.
//
// +kubebuilder:object:root=true
type ReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Release `json:"items"`
}

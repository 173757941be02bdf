package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/client-go/discovery"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
)

// EventSource is the reporting controller name on trimtab's Events.
const EventSource = "trimtab-controller"

// Deps are the edges the controllers talk through.
type Deps struct {
	Metrics   *Metrics
	Collector Collector
	// Pods reads kube.LeanPods: the lean pod cache (kube.AddLeanPodCache).
	Pods client.Reader
	// HTTPClient runs release hooks.
	HTTPClient *http.Client
	// FalseRollbackRate of a whole release (default 0.01).
	FalseRollbackRate float64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ScalingSyncPeriod is how often every ScalingPolicy is synced
	// (default 15 s, the HPA's).
	ScalingSyncPeriod time.Duration
	// ScalingMetricInterval is {{.Interval}} of scaling queries and the
	// window their samples cover (default 1 min).
	ScalingMetricInterval time.Duration
	// PredictiveHistory is a Prometheus provider whose default server
	// scrapes the controller; a new forecast model reads its policy's past
	// demand from it. Nil: models learn from the first sync.
	PredictiveHistory Collector
	// ReleaseRetryPeriod is how often a Release whose setup the user must
	// fix is reconciled again when no watched object changes (default 1 min).
	ReleaseRetryPeriod time.Duration
	// Log receives the scaling cycle's errors (default: discarded).
	Log *slog.Logger
	// Publisher, when set, receives every release judgement and scale.
	Publisher DecisionPublisher
}

// Setup registers every trimtab controller with mgr.
func Setup(mgr ctrl.Manager, deps Deps) error {
	if deps.Pods == nil {
		return errors.New("controller setup needs a reader of pods (Deps.Pods)")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.FalseRollbackRate == 0 {
		deps.FalseRollbackRate = 0.01
	}
	if deps.ReleaseRetryPeriod == 0 {
		deps.ReleaseRetryPeriod = time.Minute
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{}
	}
	if err := AddIndexes(mgr); err != nil {
		return err
	}
	groups, err := discovery.NewDiscoveryClientForConfigAndClient(mgr.GetConfig(), mgr.GetHTTPClient())
	if err != nil {
		return fmt.Errorf("discovery client: %w", err)
	}
	events := mgr.GetEventRecorder(EventSource)
	rel := &ReleaseReconciler{
		Client: mgr.GetClient(), Targets: mgr.GetAPIReader(), Groups: groups, Events: events, Metrics: deps.Metrics, Now: deps.Now,
		Analyst:   &ReleaseAnalyst{Collector: deps.Collector, FalseRollbackRate: deps.FalseRollbackRate},
		Hooks:     &HTTPHooks{Client: deps.HTTPClient},
		Publisher: deps.Publisher, Log: deps.Log, RetryPeriod: deps.ReleaseRetryPeriod,
	}
	if err := rel.SetupWithManager(mgr); err != nil {
		return err
	}
	policy := &ScalingPolicyController{
		Client: mgr.GetClient(), Pods: deps.Pods, Events: events, Metrics: deps.Metrics, Collector: deps.Collector, Now: deps.Now,
		SyncPeriod: deps.ScalingSyncPeriod, MetricInterval: deps.ScalingMetricInterval, Params: scaler.DefaultParams(), Log: deps.Log,
		Publisher: deps.Publisher, History: deps.PredictiveHistory,
	}
	return policy.SetupWithManager(mgr)
}

// AddIndexes adds to mgr's cache the field indexes the controllers read:
// ScalingPolicies by target (a second policy on one target), and
// HorizontalPodAutoscalers by the workload they scale (hasHPA). Setup adds
// them; a caller that runs the ScalingPolicy cycle without Setup, as its
// benchmark does, adds them itself.
func AddIndexes(mgr ctrl.Manager) error {
	indexer := mgr.GetFieldIndexer()
	if err := indexer.IndexField(context.Background(), &trimtabv1.ScalingPolicy{}, targetIndex, func(o client.Object) []string {
		return []string{o.(*trimtabv1.ScalingPolicy).Spec.TargetRef.Name}
	}); err != nil {
		return fmt.Errorf("index scalingpolicies by target: %w", err)
	}
	err := indexer.IndexField(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{}, hpaTargetIndex, func(o client.Object) []string {
		kind, name, ok := hpaScaleTarget(o.(*autoscalingv2.HorizontalPodAutoscaler))
		if !ok {
			return nil // names no workload hasHPA could be asked about
		}
		return []string{hpaTarget(kind, name)}
	})
	if err != nil {
		return fmt.Errorf("index horizontalpodautoscalers by target: %w", err)
	}
	return nil
}

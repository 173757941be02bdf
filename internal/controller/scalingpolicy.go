package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trimtab/trimtab/collector/cloudwatch"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
	"github.com/trimtab/trimtab/scaler/release"
	"github.com/trimtab/trimtab/scaler/release/router"
)

// Scaling defaults: the HPA's sync period, and the collector's rate window.
const (
	DefaultScalingSyncPeriod     = 15 * time.Second
	DefaultScalingMetricInterval = collector.DefaultInterval
	// scalingWorkers bounds the concurrent API writes of one cycle.
	scalingWorkers = 8
)

// Event reasons of the ScalingPolicy controller, as the HPA's.
const (
	ReasonSuccessfulRescale = "SuccessfulRescale"
	ReasonFailedRescale     = "FailedRescale"
	ReasonFailedGetScale    = "FailedGetScale"
)

// errTargetMoved says the replica count changed under a sync; the next
// cycle decides again from the new count rather than fight the writer.
var errTargetMoved = errors.New("the replica count changed during the sync; deciding again at the next sync")

// ScalingPolicyController scales the targets of ScalingPolicies.
//
// It has two halves. The reconciler reacts to a policy, its target, an
// HPA or a Release changing, and keeps the Ready condition true to the
// world at once (target missing, HPA conflict, invalid spec); a policy no
// longer refused it hands to the cycle at once. The cycle is
// a leader-only runnable that, every SyncPeriod, lists every policy from the
// cache, collects all their metrics in ONE Collect call (so the providers
// batch across policies: one Prometheus request per shared template) and
// then decides and applies per policy with bounded concurrency. Both write
// status through optimistic-lock patches, each only the fields it owns.
type ScalingPolicyController struct {
	Client client.Client
	// Direct reads from the API server, not the cache: for the rare
	// lookups of kinds the cache has no informer for, and to re-read a
	// policy after a status conflict (default: the manager's API reader).
	Direct client.Reader
	// Pods reads kube.LeanPods: the lean pod cache in production.
	Pods      client.Reader
	Events    events.EventRecorder
	Metrics   *Metrics
	Collector Collector
	// Now is the clock handed to scaler.Decide.
	Now func() time.Time
	// SyncPeriod between cycles (DefaultScalingSyncPeriod when zero).
	SyncPeriod time.Duration
	// MetricInterval is {{.Interval}} of scaling queries and the window
	// their per-pod samples cover (DefaultScalingMetricInterval when zero).
	MetricInterval time.Duration
	// Params are the kube-controller-manager HPA flags.
	Params scaler.Params
	Log    *slog.Logger
	// Publisher, when set, receives every scale.
	Publisher DecisionPublisher

	// History, when set, is a Prometheus provider whose default server
	// scrapes this controller (--predictive.history-url): a new forecast
	// model reads its policy's past demand from it. A provider rather than
	// the Collector, which would export each answer's latest value as a
	// metric value and count a missing history as an error.
	History Collector

	mu     sync.Mutex
	states map[types.NamespacedName]*policyState
	// lastList is when a cycle last listed every policy; relist asks the
	// next cycle to list them again at once. Both are guarded by mu.
	lastList time.Time
	relist   bool
	status   *statusQueue
	warmer   *forecastWarmer
	// nudge wakes the cycle early for a policy that has never synced or
	// whose sync period changed.
	nudge chan struct{}
}

// policyState is what a policy's syncs remember, as the HPA keeps it in
// memory: the recommendation history and the forecaster. Both are rebuilt
// after a restart (the consecutive-failure count is restored from status,
// the forecaster's past from --predictive.history-url when set).
type policyState struct {
	uid types.UID
	// target is the spec.targetRef the memory is of; retargeted marks a
	// state started by a change of it, whose exported history is the old
	// target's and not read back.
	target     trimtabv1.ScaleTargetRef
	retargeted bool
	// nextSync is when the policy is due again (zero before its first
	// sync), on the ticks of period (syncTick), the sync period it was
	// synced under; both are guarded by the controller's mu.
	nextSync time.Time
	period   time.Duration
	// generation is the policy's metadata.generation at its last sync: a
	// spec changed since is synced at once.
	generation int64
	history    scaler.History
	lastScale  *metav1.Time
	model      *predict.Model
	season     time.Duration
	// statusGist and statusQueued are the last queued status's gist and
	// when it was queued (statusDue).
	statusGist   string
	statusQueued time.Time
	// warm is a model built from history by the forecastWarmer's
	// goroutine, taken by the policy's next sync.
	warm atomic.Pointer[warmModel]
}

// SetupWithManager registers the reconciler with its watches and the cycle
// as a leader-election runnable. It reads through AddIndexes' indexes.
func (c *ScalingPolicyController) SetupWithManager(mgr ctrl.Manager) error {
	if c.SyncPeriod <= 0 {
		c.SyncPeriod = DefaultScalingSyncPeriod
	}
	if c.MetricInterval <= 0 {
		c.MetricInterval = DefaultScalingMetricInterval
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Direct == nil {
		c.Direct = mgr.GetAPIReader()
	}
	c.status = newStatusQueue()
	c.nudge = make(chan struct{}, 1)
	byName := func(name func(client.Object) string) handler.EventHandler {
		return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
			return c.policiesTargeting(ctx, o.GetNamespace(), name(o))
		})
	}
	err := ctrl.NewControllerManagedBy(mgr).
		Named("scalingpolicy").
		For(&trimtabv1.ScalingPolicy{}).
		Watches(&appsv1.Deployment{}, byName(client.Object.GetName)).
		Watches(&appsv1.StatefulSet{}, byName(client.Object.GetName)).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, byName(func(o client.Object) string {
			return o.(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef.Name
		}), builder.WithPredicates(hpaTargetChanged)).
		Watches(&trimtabv1.Release{}, byName(func(o client.Object) string { return o.(*trimtabv1.Release).Spec.TargetRef.Name })).
		// A second policy on a target stops both (TargetHasPolicy): its
		// coming, going or retargeting reaches the other at once.
		// Status writes (thousands a period) do not change a target.
		Watches(&trimtabv1.ScalingPolicy{}, byName(func(o client.Object) string { return o.(*trimtabv1.ScalingPolicy).Spec.TargetRef.Name }),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Complete(c)
	if err != nil {
		return err
	}
	return mgr.Add(c)
}

func (c *ScalingPolicyController) policiesTargeting(ctx context.Context, namespace, name string) []reconcile.Request {
	var list trimtabv1.ScalingPolicyList
	if err := c.Client.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{targetIndex: name}, client.UnsafeDisableDeepCopy); err != nil {
		c.Log.Error("list scalingpolicies referencing a target", "namespace", namespace, "target", name, "error", err)
		return nil
	}
	reqs := make([]reconcile.Request, len(list.Items))
	for i := range list.Items {
		reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
	}
	return reqs
}

// Reconcile keeps the Ready condition and observedGeneration current; the
// cycle does the scaling.
func (c *ScalingPolicyController) Reconcile(ctx context.Context, req reconcile.Request) (res reconcile.Result, err error) {
	defer func(start time.Time) { c.Metrics.observe("scalingpolicy", start, err) }(time.Now())
	var pol trimtabv1.ScalingPolicy
	if err := c.Client.Get(ctx, req.NamespacedName, &pol); err != nil {
		if apierrors.IsNotFound(err) {
			// The next cycle lists every policy, which forgets this one.
			c.relistNow()
		}
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	c.wakeIfUnsynced(&pol)
	_, _, ready, lookupErr := c.admit(ctx, &pol)
	if ready.Status == metav1.ConditionTrue && meta.IsStatusConditionFalse(pol.Status.Conditions, trimtabv1.ConditionReady) {
		// Refused until now (an HPA on its target deleted, its target
		// created): it scales at once, not at its next tick, which its
		// refused sync set up to an hour away.
		c.syncNow(&pol)
	}
	if err := c.writeStatus(ctx, &pol, func(st *trimtabv1.ScalingPolicyStatus) {
		meta.SetStatusCondition(&st.Conditions, ready)
		if ready.Status == metav1.ConditionFalse {
			meta.SetStatusCondition(&st.Conditions, notScaling(ready, lookupErr))
		}
	}); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, lookupErr
}

// admit decides whether pol may scale now: its spec is valid, its target
// exists and no HPA or other ScalingPolicy scales it. It returns the Ready condition either way,
// and the target when admitted.
func (c *ScalingPolicyController) admit(ctx context.Context, pol *trimtabv1.ScalingPolicy) (scaler.Config, *scaleTarget, metav1.Condition, error) {
	ready := metav1.Condition{Type: trimtabv1.ConditionReady, ObservedGeneration: pol.Generation}
	not := func(reason, format string, args ...any) metav1.Condition {
		return said(ready, metav1.ConditionFalse, reason, format, args...)
	}
	cfg, err := scaler.ConfigFromSpec(pol.Spec, c.Params)
	if err != nil {
		return cfg, nil, not(trimtabv1.ReasonInvalidSpec, "%v", err), nil
	}
	t, cond, err := c.readTarget(ctx, pol.Namespace, pol.Spec.TargetRef, ready)
	if t == nil {
		return cfg, nil, cond, err
	}
	if hpa, err := hasHPA(ctx, c.Client, pol.Namespace, t.gvk.GroupKind(), t.name); err != nil {
		return cfg, nil, not(trimtabv1.ReasonTargetLookupFailed, "%v", err), err
	} else if hpa != "" {
		return cfg, nil, not(trimtabv1.ReasonTargetHasHPA,
			"HorizontalPodAutoscaler %s/%s already scales %s; two autoscalers would fight over its replicas: delete the HPA or this ScalingPolicy",
			pol.Namespace, hpa, t.describe()), nil
	}
	if other, err := otherPolicy(ctx, c.Client, pol, t.gvk); err != nil {
		return cfg, nil, not(trimtabv1.ReasonTargetLookupFailed, "%v", err), err
	} else if other != "" {
		return cfg, nil, not(trimtabv1.ReasonTargetHasPolicy,
			"ScalingPolicy %s/%s also scales %s; two autoscalers would fight over its replicas, so neither scales: delete one of them",
			pol.Namespace, other, t.describe()), nil
	}
	if t.gvk != deploymentKind {
		return cfg, t, cond, nil // Releases manage Deployments only
	}
	rel, err := releaseOf(ctx, c.Client, pol.Namespace, t.name)
	if err != nil {
		return cfg, nil, not(trimtabv1.ReasonTargetLookupFailed, "%v", err), err
	}
	if rel != nil {
		// The release's variants serve the workload; the target itself runs
		// no pods once the primary serves.
		sel, err := labels.Parse(ReleaseLabel + "=" + rel.Name + "," + router.VariantLabel + " in (" + router.Primary + "," + router.Canary + "," + router.Baseline + ")")
		if err != nil {
			return cfg, nil, not(trimtabv1.ReasonInvalidSpec, "Release name %q cannot select pods: %v", rel.Name, err), nil
		}
		t.release, t.selector = rel, sel
		cond.Message = fmt.Sprintf("%s found; Release %s manages it, so the total replica count goes to its %s annotation", t.describe(), rel.Name, release.AnnotationDesiredReplicas)
	}
	return cfg, t, cond, nil
}

// otherPolicy names another ScalingPolicy on the same target as pol, if
// any: like the HPA with two HPAs on one workload (AmbiguousSelector),
// neither scales.
func otherPolicy(ctx context.Context, c client.Reader, pol *trimtabv1.ScalingPolicy, gvk schema.GroupVersionKind) (string, error) {
	var list trimtabv1.ScalingPolicyList
	// Read only, as the cycle's list: each of 10,000 policies lists its
	// target's policies every cycle.
	if err := c.List(ctx, &list, client.InNamespace(pol.Namespace), client.MatchingFields{targetIndex: pol.Spec.TargetRef.Name}, client.UnsafeDisableDeepCopy); err != nil {
		return "", fmt.Errorf("list ScalingPolicies: %w", err)
	}
	for i := range list.Items {
		o := &list.Items[i]
		if o.UID == pol.UID || o.DeletionTimestamp != nil {
			continue
		}
		if k, err := targetKind(o.Spec.TargetRef); err == nil && k.GroupKind() == gvk.GroupKind() {
			return o.Name, nil
		}
	}
	return "", nil
}

// releaseOf returns the Release managing Deployment name, if any. Releases
// are few per namespace, so a list beats depending on another controller's
// index.
func releaseOf(ctx context.Context, c client.Reader, namespace, name string) (*trimtabv1.Release, error) {
	var list trimtabv1.ReleaseList
	if err := c.List(ctx, &list, client.InNamespace(namespace)); err != nil {
		return nil, fmt.Errorf("list Releases: %w", err)
	}
	for i := range list.Items {
		if list.Items[i].Spec.TargetRef.Name == name {
			return &list.Items[i], nil
		}
	}
	return nil, nil
}

// NeedLeaderElection makes the cycle run on the leader only.
func (c *ScalingPolicyController) NeedLeaderElection() bool { return true }

// Start runs the status writers, and a cycle at once and then whenever a
// policy is due, until ctx ends.
func (c *ScalingPolicyController) Start(ctx context.Context) error {
	if c.nudge == nil {
		c.nudge = make(chan struct{}, 1)
	}
	defer c.startWorkers(ctx)()
	wait := time.NewTimer(c.SyncPeriod)
	defer wait.Stop()
	for {
		stats, err := c.Cycle(ctx)
		if err != nil && ctx.Err() == nil {
			c.Log.Error("scaling cycle", "error", err)
		} else {
			c.Log.Debug("scaling cycle", "policies", stats.Policies, "queries", stats.Queries, "scaled", stats.Scaled, "duration", stats.Duration)
		}
		if stats.Next.IsZero() {
			// A failed list: try again in a sync period.
			stats.Next = c.Now().Add(c.SyncPeriod)
		}
		wait.Reset(max(stats.Next.Sub(c.Now()), 0))
		select {
		case <-ctx.Done():
			return nil
		case <-wait.C:
		case <-c.nudge:
		}
	}
}

// statusDrainTimeout bounds how long a stopping leader keeps writing the
// statuses its last cycles queued; the manager's graceful shutdown allows
// 30 s for every runnable.
const statusDrainTimeout = 10 * time.Second

// startWorkers starts what runs beside the cycles: the status writers and
// the forecast warmer. stop shuts them down and waits for them. The
// writers outlive ctx, for up to statusDrainTimeout: what the last cycles
// decided (a scale's lastScaleTime, the failure count the next leader
// restores from status) is written at shutdown rather than dropped.
func (c *ScalingPolicyController) startWorkers(ctx context.Context) (stop func()) {
	if c.status == nil {
		c.status = newStatusQueue()
	}
	writeCtx, stopWriting := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	for range scalingWorkers {
		workers.Go(func() { c.drainStatus(writeCtx) })
	}
	if c.History != nil {
		c.warmer = newForecastWarmer(c.History, c.MetricInterval, c.Metrics.scaling, c.Log)
		workers.Go(func() { c.warmer.run(ctx) })
	}
	return func() {
		drained := make(chan struct{})
		go func() {
			// ShutDownWithDrain waits only for the writes under way: let
			// the writers take every queued status first, retries too.
			for !c.status.empty() && writeCtx.Err() == nil {
				time.Sleep(10 * time.Millisecond)
			}
			c.status.q.ShutDownWithDrain()
			close(drained)
		}()
		timeout := time.NewTimer(statusDrainTimeout)
		defer timeout.Stop()
		select {
		case <-drained:
		case <-timeout.C:
			c.Log.Warn("status writes still pending at shutdown; dropping them", "after", statusDrainTimeout)
			stopWriting()
			<-drained
		}
		stopWriting()
		workers.Wait()
	}
}

// syncPeriod is how often pol is synced: its spec.syncPeriodSeconds, else
// the controller's.
func (c *ScalingPolicyController) syncPeriod(pol *trimtabv1.ScalingPolicy) time.Duration {
	if p := pol.Spec.SyncPeriodSeconds; p != nil && *p > 0 {
		return time.Duration(*p) * time.Second
	}
	return c.SyncPeriod
}

// claimSync decides whether pol is due at now (at its next tick, or at
// once when its spec or sync period changed since its last sync), and if
// so records the sync. next is when it is due again.
func (c *ScalingPolicyController) claimSync(pol *trimtabv1.ScalingPolicy, now time.Time) (due bool, next time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stateLocked(pol)
	period := c.syncPeriod(pol)
	if !s.nextSync.IsZero() && now.Before(s.nextSync) && s.period == period && s.generation == pol.Generation {
		return false, s.nextSync
	}
	s.nextSync, s.period, s.generation = syncTick(now, period), period, pol.Generation
	return true, s.nextSync
}

// syncTick is when a policy synced at now is due again: the multiple of
// its period (counted from a fixed origin) nearest to now + period. Policies
// on one period thus fall due together however scattered their first
// syncs, and share each template's Prometheus request: a policy created in
// mid-period, synced at once, joins the fleet's ticks after its first
// sync, half a period to one and a half later. Periods that divide one
// another meet on the longer one's ticks.
func syncTick(now time.Time, period time.Duration) time.Time {
	return now.Add(period + period/2).Truncate(period)
}

// wakeIfUnsynced wakes the cycle for a policy it has not synced yet under
// its current spec, so that a new policy, or a changed one (a shorter
// period, a new maxReplicas), does not wait for the next regular sync, up
// to an hour away.
func (c *ScalingPolicyController) wakeIfUnsynced(pol *trimtabv1.ScalingPolicy) {
	c.mu.Lock()
	s := c.states[client.ObjectKeyFromObject(pol)]
	unsynced := s == nil || s.uid != pol.UID || s.nextSync.IsZero() || s.period != c.syncPeriod(pol) || s.generation != pol.Generation
	c.mu.Unlock()
	if unsynced {
		c.relistNow()
	}
}

// syncNow makes pol due at once and wakes the cycle. A policy the cycle
// has not synced yet is wakeIfUnsynced's.
func (c *ScalingPolicyController) syncNow(pol *trimtabv1.ScalingPolicy) {
	c.mu.Lock()
	if s := c.states[client.ObjectKeyFromObject(pol)]; s != nil && s.uid == pol.UID {
		s.nextSync = time.Time{}
	}
	c.mu.Unlock()
	c.wake()
}

// relistNow wakes the cycle and has it list every policy: one appeared,
// changed its period or went away.
func (c *ScalingPolicyController) relistNow() {
	c.mu.Lock()
	c.relist = true
	c.mu.Unlock()
	c.wake()
}

// wake ends the cycle's wait for the next due policy.
func (c *ScalingPolicyController) wake() {
	if c.nudge != nil {
		select {
		case c.nudge <- struct{}{}:
		default:
		}
	}
}

// CycleStats describe one cycle.
type CycleStats struct {
	// Policies synced, and Queries collected for them in one batch.
	Policies, Queries int
	// Scaled is how many targets got a new replica count.
	Scaled int
	// Duration of the whole cycle.
	Duration time.Duration
	// Next is when the next policy is due, at the latest a sync period
	// after the cycle's start.
	Next time.Time
}

// policySync is one policy's share of a cycle.
type policySync struct {
	pol    *trimtabv1.ScalingPolicy // from the cache: read only
	cfg    scaler.Config
	target *scaleTarget
	ready  metav1.Condition
	err    error
	// current is spec.replicas of the target (or the Release's total);
	// statusReplicas what actually runs.
	current, statusReplicas int32
	pods                    []scaler.Pod
	first, n                int       // the policy's queries in the batch
	next                    time.Time // when the policy is due again
}

// Cycle syncs every ScalingPolicy that is due (its next tick has come,
// syncTick): it reads each policy's world from the cache, collects all
// their metrics in one batch, then decides and applies per policy.
// Policies on the same period are due together, so they share queries.
func (c *ScalingPolicyController) Cycle(ctx context.Context) (CycleStats, error) {
	began := time.Now()
	now := c.Now()
	candidates, fleet, next, err := c.candidates(ctx, now)
	if err != nil {
		return CycleStats{}, err
	}
	var syncs []*policySync
	var queries []collector.Query
	for _, pol := range candidates {
		due, at := c.claimSync(pol, now)
		next = minTime(next, at)
		if !due {
			continue
		}
		s := c.prepare(ctx, pol)
		s.first, s.next = len(queries), at
		if s.target != nil {
			queries = c.appendQueries(queries, s, now)
		}
		s.n = len(queries) - s.first
		syncs = append(syncs, s)
	}
	var results []collector.Result
	if len(queries) > 0 {
		results = c.Collector.Collect(ctx, queries)
	}
	var (
		mu      sync.Mutex
		nScaled int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(scalingWorkers)
	for _, s := range syncs {
		g.Go(func() error {
			refresh := statusValueRefresh(fleet, c.syncPeriod(s.pol))
			changed, err := c.finish(gctx, s, results[s.first:s.first+s.n], now, refresh)
			if err != nil {
				c.Log.Error("sync scalingpolicy", "namespace", s.pol.Namespace, "name", s.pol.Name, "error", err)
			}
			if changed {
				mu.Lock()
				nScaled++
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	d := time.Since(began)
	if len(syncs) > 0 {
		// A wake-up with nothing due is not a cycle to dashboards.
		c.Metrics.scaling.cycle(d, len(syncs), len(queries))
	}
	return CycleStats{Policies: len(syncs), Queries: len(queries), Scaled: nScaled, Duration: d, Next: next}, ctx.Err()
}

// candidates returns the policies a cycle at now may sync, the number of
// policies in all, and when the next policy not among the candidates is due
// (at the latest the next full list); planCandidates decides how they are
// read.
func (c *ScalingPolicyController) candidates(ctx context.Context, now time.Time) (pols []*trimtabv1.ScalingPolicy, fleet int, next time.Time, err error) {
	c.mu.Lock()
	full, due, next := planCandidates(c.states, c.lastList, c.relist, now, c.SyncPeriod)
	fleet = len(c.states)
	c.relist = false
	c.mu.Unlock()
	if full {
		var list trimtabv1.ScalingPolicyList
		// Read only: the cycle never mutates a listed object (writes copy).
		if err := c.Client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			c.mu.Lock()
			c.relist = true
			c.mu.Unlock()
			return nil, 0, time.Time{}, fmt.Errorf("list scalingpolicies: %w", err)
		}
		c.forgetMissing(list.Items)
		c.mu.Lock()
		c.lastList = now
		c.mu.Unlock()
		pols = make([]*trimtabv1.ScalingPolicy, len(list.Items))
		for i := range list.Items {
			pols[i] = &list.Items[i]
		}
		return pols, len(list.Items), now.Add(c.SyncPeriod), nil
	}
	for _, key := range due {
		pol := &trimtabv1.ScalingPolicy{}
		// Read only, as the list: a deep copy of each of 10,000 due
		// policies made a cycle's working set tens of MB larger.
		switch err := c.Client.Get(ctx, key, pol, client.UnsafeDisableDeepCopy); {
		case apierrors.IsNotFound(err):
			c.forget(key)
		case err != nil:
			return nil, 0, time.Time{}, fmt.Errorf("get scalingpolicy %s: %w", key, err)
		default:
			pols = append(pols, pol)
		}
	}
	return pols, fleet, next, nil
}

// planCandidates decides how a cycle at now reads its candidates. Every
// period since the last full list, and at once after a policy appeared,
// changed or went away (relist, from wakeIfUnsynced), it lists every
// policy from the cache (full): the list finds new policies and forgets
// deleted ones. In between it reads only the policies whose tick has
// come, one by one, so that a policy on a 1 s period does not make every
// second's cycle walk the whole fleet; next is then when the next policy
// not due now, or the next full list, is due.
//
// When at least half the fleet is due, it lists instead: that costs no
// more than reading them one by one, and it keeps the lists in step with
// the syncs. A relist in the middle of a period (for a new policy)
// otherwise moved the full lists away from the syncs for good, and every
// period woke twice, once to list with nothing due and once to read the
// whole fleet one by one.
func planCandidates(states map[types.NamespacedName]*policyState, lastList time.Time, relist bool, now time.Time, period time.Duration) (full bool, due []types.NamespacedName, next time.Time) {
	if relist || lastList.IsZero() || !now.Before(lastList.Add(period)) {
		return true, nil, time.Time{}
	}
	next = lastList.Add(period)
	for key, s := range states {
		if now.Before(s.nextSync) {
			next = minTime(next, s.nextSync)
		} else {
			due = append(due, key)
		}
	}
	if 2*len(due) >= len(states) {
		return true, nil, time.Time{}
	}
	return false, due, next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// prepare reads a policy's target, pods and replica counts from the cache.
func (c *ScalingPolicyController) prepare(ctx context.Context, pol *trimtabv1.ScalingPolicy) *policySync {
	s := &policySync{pol: pol}
	s.cfg, s.target, s.ready, s.err = c.admit(ctx, pol)
	if s.target == nil {
		return s
	}
	var pods kube.LeanPodList
	if err := c.Pods.List(ctx, &pods, client.InNamespace(pol.Namespace), client.MatchingLabelsSelector{Selector: s.target.selector}, client.UnsafeDisableDeepCopy); err != nil {
		s.target, s.err = nil, fmt.Errorf("list pods of %s: %w", s.target.describe(), err)
		return s
	}
	s.pods = podsOf(pods.Items)
	if rel := s.target.release; rel != nil {
		s.current, s.statusReplicas = c.releaseReplicas(ctx, rel, s.target.replicas)
	} else {
		// readTarget read the scale: from the cache for Deployments and
		// StatefulSets, whose /scale is spec.replicas and status.replicas.
		s.current, s.statusReplicas = s.target.replicas, s.target.statusReplicas
	}
	return s
}

// releaseReplicas returns the workload's total as this controller last
// asked for it (the annotation: the Release's equivalent of spec.replicas),
// else the Release's status.totalReplicas, and the replicas its variants run.
func (c *ScalingPolicyController) releaseReplicas(ctx context.Context, rel *trimtabv1.Release, targetReplicas int32) (current, running int32) {
	current = rel.Status.TotalReplicas
	if v, ok := rel.Annotations[release.AnnotationDesiredReplicas]; ok {
		if n, err := strconv.ParseInt(v, 10, 32); err == nil && n >= 1 {
			current = int32(n)
		}
	}
	if current == 0 {
		current = targetReplicas
	}
	for _, v := range []string{router.Primary, router.Canary, router.Baseline} {
		var d appsv1.Deployment
		if err := c.Client.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: variantName(rel, v)}, &d); err == nil && metav1.IsControlledBy(&d, rel) {
			running += d.Status.Replicas
		}
	}
	return current, running
}

// appendQueries adds one query per metric of s.
func (c *ScalingPolicyController) appendQueries(qs []collector.Query, s *policySync, now time.Time) []collector.Query {
	target := collector.Target{Namespace: s.pol.Namespace, Name: s.target.name, Selector: s.target.selector, PodRegex: s.target.podRegex(s.pods)}
	for _, m := range s.pol.Spec.Metrics {
		qs = append(qs, collector.Query{
			Owner:    collector.Owner{Kind: "scalingpolicy", Name: s.pol.Name},
			Metric:   m.Metric,
			Target:   target,
			Interval: c.MetricInterval,
			At:       now,
			NoCache:  true,
		})
	}
	return qs
}

// finish decides and applies one policy and queues its status when it is
// due (statusDue). changed reports a new replica count.
func (c *ScalingPolicyController) finish(ctx context.Context, s *policySync, results []collector.Result, now time.Time, refresh time.Duration) (bool, error) {
	pol := s.pol
	key := client.ObjectKeyFromObject(pol)
	seen := readySeen(pol)
	if s.target == nil {
		// The next status with a target must be written, even if it says
		// what the last one before this did.
		c.state(pol).statusGist = ""
		ready, gen := s.ready, pol.Generation
		active := notScaling(ready, s.err)
		c.queueStatus(pol, func(st *trimtabv1.ScalingPolicyStatus) {
			setCycleConditions(&st.Conditions, seen, ready, active)
			st.ObservedGeneration = gen
		})
		return false, s.err
	}
	state := c.state(pol)
	in := scaler.Input{
		Config:         s.cfg,
		SpecReplicas:   s.current,
		StatusReplicas: s.statusReplicas,
		Pods:           s.pods,
		Results:        make(map[string]scaler.MetricResult, len(s.cfg.Metrics)),
		History:        state.history,
	}
	for i, m := range pol.Spec.Metrics {
		in.Results[m.Name] = metricResult(m, results[i], c.MetricInterval)
	}
	plan := scaler.PlanHorizon(s.cfg.Predictive, s.pods, c.syncPeriod(pol), s.next.Sub(now))
	forecast, acc, created := state.forecast(s.cfg, plan.Horizon, now)
	// The history under the policy's name is its own only if a controller
	// has synced it before: a policy deleted and re-created has no status
	// yet, and the history is its namesake's.
	if created && c.warmer != nil && !state.retargeted && pol.Status.ObservedGeneration > 0 {
		c.warmer.request(warmRequest{key: key, state: state, season: s.cfg.Predictive.Season, now: now})
	}
	in.Forecast = forecast
	d := scaler.Decide(in, now)
	if state.model != nil && d.HasDemand {
		state.model.Observe(scaler.DemandTime(now, c.MetricInterval), d.Demand)
	}
	c.Metrics.scaling.record(pol, scaler.Observation{Config: s.cfg, Current: s.current, Decision: d, Forecast: forecast, Accuracy: acc})

	able := (*metav1.Condition)(nil)
	var applyErr error
	scaledTo := int32(0)
	if d.Replicas != s.current {
		applyErr = c.apply(ctx, s, d.Replicas)
		switch {
		case applyErr == nil:
			d.History = d.History.RecordScale(s.cfg.Behavior, s.current, d.Replicas, now)
			scaledTo = d.Replicas
			state.lastScale = ptr.To(metav1.NewTime(now))
			able = &metav1.Condition{Type: scaler.AbleToScale, Status: metav1.ConditionTrue, Reason: "SucceededRescale",
				Message: fmt.Sprintf("the controller was able to update the target scale to %d", d.Replicas)}
			c.Events.Eventf(pol, s.target.object(), corev1.EventTypeNormal, ReasonSuccessfulRescale, "Scale",
				"%s", rescaleMessage(s.cfg, d, s.current))
			publish(ctx, c.Publisher, c.Log, cloudwatch.ScalingDecision(pol.Namespace, pol.Name, s.current, d.Replicas, now))
			c.Metrics.scaling.scaleOperation(s.current, d.Replicas, nil)
		case errors.Is(applyErr, errTargetMoved):
			// Neither a scale nor a failure (an alert on failed scales
			// must not fire on a hand-scale): someone else scaled; decide
			// again next cycle.
		default:
			c.Metrics.scaling.scaleOperation(s.current, d.Replicas, applyErr)
			able = &metav1.Condition{Type: scaler.AbleToScale, Status: metav1.ConditionFalse, Reason: "FailedUpdateScale",
				Message: fmt.Sprintf("the controller was unable to update the target scale: %v", applyErr)}
			c.Events.Eventf(pol, s.target.object(), corev1.EventTypeWarning, ReasonFailedRescale, "Scale",
				"New size: %d; reason: %s; error: %v", d.Replicas, orDefault(d.Reason, "limits"), applyErr)
		}
	}
	state.history = d.History
	lastScale := state.lastScale

	// The queued status holds only what it writes, not the sync's pods and
	// Deployment: a backlog of 10,000 must stay small.
	// Sized for Ready, the core's, AbleToScale and Forecasting: a queued
	// status keeps its slice, and a doubled one costs 10,000 policies MBs.
	// Ready comes first: it is written only unless it changed meanwhile.
	conds := make([]metav1.Condition, 0, len(d.Conditions)+3)
	conds = append(conds, s.ready)
	for _, cond := range d.Conditions {
		if able != nil && cond.Type == scaler.AbleToScale {
			continue
		}
		conds = append(conds, metav1.Condition{Type: cond.Type, Status: metav1.ConditionStatus(cond.Status),
			Reason: cond.Reason, Message: cond.Message, ObservedGeneration: pol.Generation})
	}
	if able != nil {
		able.ObservedGeneration = pol.Generation
		conds = append(conds, *able)
	}
	predictive := state.model != nil
	if predictive {
		// Worded below, only when the status is written.
		status, reason := plan.Status(forecast != nil)
		conds = append(conds, metav1.Condition{Type: scaler.Forecasting, Status: metav1.ConditionStatus(status),
			Reason: reason, ObservedGeneration: pol.Generation})
	}
	current, desired, failures := s.current, d.Replicas, d.History.ConsecutiveFailures
	gist := statusGist(pol.Generation, conds, current, desired, failures, lastScale)
	if statusDue(state.statusGist, gist, state.statusQueued, now, refresh) {
		state.statusGist, state.statusQueued = gist, now
		if predictive {
			conds[len(conds)-1].Message = plan.Message(s.cfg.Predictive.Mode, forecast != nil)
		}
		metrics := metricStatuses(pol.Spec.Metrics, d)
		gen := pol.Generation
		c.queueStatus(pol, func(st *trimtabv1.ScalingPolicyStatus) {
			setCycleConditions(&st.Conditions, seen, conds[0], conds[1:]...)
			st.ObservedGeneration = gen
			if !predictive {
				meta.RemoveStatusCondition(&st.Conditions, scaler.Forecasting)
			}
			st.CurrentReplicas, st.DesiredReplicas, st.ConsecutiveFailures = current, desired, failures
			st.CurrentMetrics = metrics
			if lastScale != nil {
				st.LastScaleTime = lastScale
			}
		})
	}
	if applyErr != nil && !errors.Is(applyErr, errTargetMoved) {
		return false, applyErr
	}
	return scaledTo != 0, nil
}

// notScaling is the ScalingActive condition of a policy that does not scale
// (not admitted, or its pods could not be read): the last sync's True must
// not say otherwise. It takes Ready's reason when Ready says why.
func notScaling(ready metav1.Condition, err error) metav1.Condition {
	c := metav1.Condition{Type: scaler.ScalingActive, Status: metav1.ConditionFalse,
		Reason: ready.Reason, Message: ready.Message, ObservedGeneration: ready.ObservedGeneration}
	if ready.Status == metav1.ConditionTrue && err != nil {
		c.Reason, c.Message = trimtabv1.ReasonTargetLookupFailed, err.Error()
	}
	return c
}

// readyGist is what the cycle read of a policy's Ready condition.
type readyGist struct {
	found           bool
	status          metav1.ConditionStatus
	reason, message string
}

// readySeen is pol's Ready condition as the cycle reads it.
func readySeen(pol *trimtabv1.ScalingPolicy) readyGist {
	c := meta.FindStatusCondition(pol.Status.Conditions, trimtabv1.ConditionReady)
	if c == nil {
		return readyGist{}
	}
	return readyGist{found: true, status: c.Status, reason: c.Reason, message: c.Message}
}

// setCycleConditions sets the cycle's conditions, Ready first, unless Ready
// has changed since the cycle read it (seen): the reconciler, which reacts
// to an HPA or a target appearing at once, may have written a newer one
// while the cycle collected metrics, and a stale Ready written over it
// would flap the condition and send its Events twice. ScalingActive is
// then left alone too: the reconciler wrote it with that Ready (notScaling),
// and the cycle's, decided under the old one, would flip it back for a
// while. The reconciler's own next write, or the next cycle, settles what
// this one skipped.
func setCycleConditions(conds *[]metav1.Condition, seen readyGist, ready metav1.Condition, others ...metav1.Condition) {
	now := meta.FindStatusCondition(*conds, trimtabv1.ConditionReady)
	changed := now == nil && seen.found ||
		now != nil && (!seen.found || now.Status != seen.status || now.Reason != seen.reason || now.Message != seen.message)
	if !changed {
		meta.SetStatusCondition(conds, ready)
	}
	for _, c := range others {
		if !changed || c.Type != scaler.ScalingActive {
			meta.SetStatusCondition(conds, c)
		}
	}
}

// queueStatus hands a status to the writers. Each status the cycle queues
// sets every field the cycle owns, so the latest one is all that matters.
func (c *ScalingPolicyController) queueStatus(pol *trimtabv1.ScalingPolicy, mutate func(*trimtabv1.ScalingPolicyStatus)) {
	c.Metrics.scaling.statusBacklog.Set(float64(c.status.put(client.ObjectKeyFromObject(pol), pendingStatus{uid: pol.UID, mutate: mutate})))
}

// apply sets the new total: on the Release's annotation when a Release
// manages the target (its controller splits it between the variants, so the
// two controllers never write the same field), else through the target's
// scale subresource.
func (c *ScalingPolicyController) apply(ctx context.Context, s *policySync, replicas int32) error {
	if rel := s.target.release; rel != nil {
		patched := rel.DeepCopy()
		if patched.Annotations == nil {
			patched.Annotations = map[string]string{}
		}
		patched.Annotations[release.AnnotationDesiredReplicas] = strconv.Itoa(int(replicas))
		if err := c.Client.Patch(ctx, patched, client.MergeFrom(rel), fieldOwner); err != nil {
			return fmt.Errorf("set %s on Release %s/%s: %w", release.AnnotationDesiredReplicas, rel.Namespace, rel.Name, err)
		}
		return nil
	}
	return updateScale(ctx, c.Client, s.target, s.current, replicas)
}

// writeStatus applies mutate to a copy of pol's status and patches it with
// optimistic locking when anything changed; a conflict re-reads the policy
// from the API server and mutates again. The reconciler and the cycle each mutate only the
// fields they own, so neither undoes the other. A changed Ready reason or a
// ScalingActive that turns False gets an Event, as does a horizon found
// shorter than the pods' start-up (conditionEvents).
func (c *ScalingPolicyController) writeStatus(ctx context.Context, pol *trimtabv1.ScalingPolicy, mutate func(*trimtabv1.ScalingPolicyStatus)) error {
	cur := pol
	return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		st := cur.Status.DeepCopy()
		mutate(st)
		if equality.Semantic.DeepEqual(*st, cur.Status) {
			return nil
		}
		upd := cur.DeepCopy()
		upd.Status = *st
		err := c.Client.Status().Patch(ctx, upd, client.MergeFromWithOptions(cur, client.MergeFromWithOptimisticLock{}), fieldOwner)
		if apierrors.IsConflict(err) {
			// From the API server: the cache can lag the write that
			// conflicted for longer than the retries last, and a policy on
			// a long sync period would then keep a stale status as long.
			fresh := &trimtabv1.ScalingPolicy{}
			if gerr := c.Direct.Get(ctx, client.ObjectKeyFromObject(pol), fresh); gerr != nil {
				return gerr
			}
			if fresh.UID != pol.UID {
				// Deleted and re-created: this status was for the old one.
				return nil
			}
			cur = fresh
			return err
		}
		if err != nil {
			return fmt.Errorf("update scalingpolicy %s/%s status: %w", pol.Namespace, pol.Name, err)
		}
		c.conditionEvents(upd, cur.Status.Conditions, st.Conditions)
		return nil
	})
}

// conditionEvents records transitions users should see, not every sync. A
// policy that is Ready from its first status gets no Event for it, as an
// HPA gets none: at a fresh install of thousands of policies, the Events
// would only be noise, and client-go keeps each in memory for minutes.
//
// A policy that is not admitted has ScalingActive False with Ready's
// reason and message (notScaling), written with Ready by whichever of the
// reconciler and the cycle saw the change first: Ready's Event tells it,
// and ScalingActive's would say the same thing twice.
func (c *ScalingPolicyController) conditionEvents(pol *trimtabv1.ScalingPolicy, before, after []metav1.Condition) {
	ready := meta.FindStatusCondition(after, trimtabv1.ConditionReady)
	if was := meta.FindStatusCondition(before, trimtabv1.ConditionReady); ready != nil &&
		(was != nil && was.Reason != ready.Reason || was == nil && ready.Status != metav1.ConditionTrue) {
		typ := corev1.EventTypeNormal
		if ready.Status != metav1.ConditionTrue {
			typ = corev1.EventTypeWarning
		}
		c.Events.Eventf(pol, nil, typ, ready.Reason, "Reconcile", "%s", ready.Message)
	}
	if now, was := meta.FindStatusCondition(after, scaler.ScalingActive), meta.FindStatusCondition(before, scaler.ScalingActive); now != nil && now.Status == metav1.ConditionFalse && (was == nil || was.Reason != now.Reason) &&
		(ready == nil || ready.Status == metav1.ConditionTrue || ready.Reason != now.Reason) {
		c.Events.Eventf(pol, nil, corev1.EventTypeWarning, now.Reason, "Scale", "%s", now.Message)
	}
	if now, was := meta.FindStatusCondition(after, scaler.Forecasting), meta.FindStatusCondition(before, scaler.Forecasting); now != nil && now.Reason == scaler.ReasonHorizonBelowStartup && (was == nil || was.Reason != now.Reason) {
		c.Events.Eventf(pol, nil, corev1.EventTypeWarning, now.Reason, "Forecast", "%s", now.Message)
	}
}

// state returns the policy's memory, new for a new (or re-created) policy.
func (c *ScalingPolicyController) state(pol *trimtabv1.ScalingPolicy) *policyState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked(pol)
}

func (c *ScalingPolicyController) stateLocked(pol *trimtabv1.ScalingPolicy) *policyState {
	if c.states == nil {
		c.states = map[types.NamespacedName]*policyState{}
	}
	key := client.ObjectKeyFromObject(pol)
	s := c.states[key]
	switch {
	case s == nil || s.uid != pol.UID:
		// After a restart the failure count survives in status, so the
		// fallback does not wait for a fresh run of failures.
		s = &policyState{uid: pol.UID, target: pol.Spec.TargetRef, history: scaler.History{ConsecutiveFailures: pol.Status.ConsecutiveFailures}, lastScale: pol.Status.LastScaleTime.DeepCopy()}
		c.states[key] = s
	case s.target != pol.Spec.TargetRef:
		// Another workload: the old one's load, recommendations and scale
		// events say nothing of it.
		s = &policyState{uid: pol.UID, target: pol.Spec.TargetRef, retargeted: true}
		c.states[key] = s
	}
	return s
}

// forgetMissing drops the memory and exported series of deleted policies.
func (c *ScalingPolicyController) forgetMissing(items []trimtabv1.ScalingPolicy) {
	live := make(map[types.NamespacedName]bool, len(items))
	for i := range items {
		live[client.ObjectKeyFromObject(&items[i])] = true
	}
	c.mu.Lock()
	var gone []types.NamespacedName
	for key := range c.states {
		if !live[key] {
			gone = append(gone, key)
		}
	}
	c.mu.Unlock()
	for _, key := range gone {
		c.forget(key)
	}
}

// forget drops a deleted policy's memory and exported series.
func (c *ScalingPolicyController) forget(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.states, key)
	c.mu.Unlock()
	c.Metrics.scaling.forget(key.Namespace, key.Name)
}

// forecast returns the forecaster's upper peak over the horizon (nil while
// it warms up or when predictive is off) and its accuracy. The model is
// created on first use and re-created when the season changes; created
// reports a new model, whose past the caller may ask the warmer for.
func (s *policyState) forecast(cfg scaler.Config, horizon time.Duration, now time.Time) (f *scaler.Forecast, acc *predict.Accuracy, created bool) {
	if cfg.Predictive.Mode == trimtabv1.PredictiveOff || cfg.Predictive.Mode == "" {
		s.model = nil
		return nil, nil, false
	}
	if s.model == nil || s.season != cfg.Predictive.Season {
		m, err := predict.New(predict.DefaultConfig(cfg.Predictive.Season))
		if err != nil {
			// ConfigFromSpec accepts only seasons the model takes.
			return nil, nil, false
		}
		s.model, s.season, created = m, cfg.Predictive.Season, true
	}
	s.takeWarm(cfg.Predictive.Season)
	a := s.model.Accuracy()
	out, ok := s.model.Forecast(now, horizon, cfg.Predictive.Band)
	if !ok {
		return nil, &a, created
	}
	return &scaler.Forecast{PeakDemand: out.Upper}, &a, created
}

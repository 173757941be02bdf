package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trimtab/trimtab/collector/cloudwatch"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/release"
	"github.com/trimtab/trimtab/scaler/release/router"
)

// releaseFinalizer lets trimtab hand traffic back to the target before a
// Release disappears.
const releaseFinalizer = "trimtab.dev/release"

// Analyst takes one analysis look for a release step: it collects canary
// and baseline samples and judges them.
type Analyst interface {
	Look(ctx context.Context, rel *trimtabv1.Release, plan release.Plan, st trimtabv1.ReleaseStatus, now time.Time) release.Look
}

// HookRunner runs every hook of one phase.
type HookRunner interface {
	Run(ctx context.Context, hooks []trimtabv1.Hook, phase trimtabv1.HookPhase) release.HookResult
}

// ReleaseReconciler drives Releases: it observes the target and its
// variants, asks release.Next what to do, records the decision in status,
// and then makes the Deployments and the traffic match it.
type ReleaseReconciler struct {
	Client client.Client
	// Targets reads target Deployments whole: the cache keeps them without
	// their pod template (TrimDeployment), which a release copies.
	Targets client.Reader
	// Groups lists the API groups the cluster serves: deleting a
	// gatewayAPI Release where HTTPRoutes are not served asks whether the
	// Gateway API is there at all.
	Groups  router.GroupDiscovery
	Events  events.EventRecorder
	Metrics *Metrics
	Analyst Analyst
	Hooks   HookRunner
	// Now is the clock; decisions get it as an argument.
	Now func() time.Time
	// Publisher, when set, receives every analysis look's score.
	Publisher DecisionPublisher
	Log       *slog.Logger
	// RetryPeriod is how often a Release whose setup the user must fix is
	// reconciled again when no watched object changes.
	RetryPeriod time.Duration
}

// releaseWorkers is how many Releases are reconciled at once; one Release
// is never reconciled by two.
const releaseWorkers = 8

// Reconcile implements reconcile.Reconciler.
func (r *ReleaseReconciler) Reconcile(ctx context.Context, req reconcile.Request) (res reconcile.Result, err error) {
	defer func(start time.Time) { r.Metrics.observe("release", start, err) }(time.Now())
	var rel trimtabv1.Release
	if err := r.Client.Get(ctx, req.NamespacedName, &rel); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !rel.DeletionTimestamp.IsZero() {
		return r.finalize(ctx, &rel)
	}
	if !slices.Contains(rel.Finalizers, releaseFinalizer) {
		rel.Finalizers = append(rel.Finalizers, releaseFinalizer)
		if err := r.Client.Update(ctx, &rel, fieldOwner); err != nil {
			return reconcile.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	w, err := r.observe(ctx, &rel)
	if err != nil {
		return reconcile.Result{}, err
	}
	if w.problem != nil {
		return r.reportProblem(ctx, &rel, w.problem, nil)
	}
	before := rel.Status.History
	d := r.decide(ctx, &rel, w)
	d.Status.TotalReplicas = w.total
	for try := 0; ; try++ {
		err := r.writeStatus(ctx, &rel, d, w.routeRefused)
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) || len(w.observed.Hooks) == 0 || try == 2 {
			return reconcile.Result{}, err
		}
		// The Release changed while its hooks ran (an annotation: a pause,
		// a ScalingPolicy's size): decide again on the fresh object with
		// their results and the world they ran against, rather than run
		// them a second time. A changed spec is decided afresh.
		generation := rel.Generation
		if err := r.Targets.Get(ctx, req.NamespacedName, &rel); err != nil {
			return reconcile.Result{}, client.IgnoreNotFound(err)
		}
		if !rel.DeletionTimestamp.IsZero() || rel.Generation != generation {
			return reconcile.Result{}, err // decided afresh at the retry
		}
		if p := observeSteering(&rel, &w.observed); p != nil {
			return r.reportProblem(ctx, &rel, p, nil)
		}
		before = rel.Status.History
		d = r.decide(ctx, &rel, w)
		d.Status.TotalReplicas = w.total
	}
	for _, e := range d.Events {
		r.Events.Eventf(&rel, nil, e.Type, e.Reason, "Release", "%s", e.Message)
	}
	if look := d.Status.History; len(look) > 0 && (len(before) == 0 || !look[0].Time.Equal(&before[0].Time)) {
		score, _ := strconv.ParseFloat(look[0].Score, 64)
		publish(ctx, r.Publisher, r.Log, cloudwatch.ReleaseDecision(rel.Namespace, rel.Name, score, look[0].Verdict == "Pass", look[0].Time.Time))
	}
	if err := r.apply(ctx, &rel, w, d.World); err != nil {
		var p *problem
		if errors.As(err, &p) {
			return r.reportProblem(ctx, &rel, p, nil)
		}
		return reconcile.Result{}, err
	}
	if w.routeRefused != nil {
		// The route took the weight: the problem is fixed, and the step's
		// clock (restarted by Next) runs from here.
		if err := r.writeStatus(ctx, &rel, release.Decision{Status: rel.Status}, nil); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: d.RequeueAfter}, nil
}

// decide asks release.Next, answering the looks and hooks it needs.
func (r *ReleaseReconciler) decide(ctx context.Context, rel *trimtabv1.Release, w *workload) release.Decision {
	now := r.Now()
	var d release.Decision
	for range 4 {
		d = release.Next(w.plan, rel.Status, w.observed, now)
		switch d.Need {
		case release.NeedLook:
			l := r.Analyst.Look(ctx, rel, w.plan, d.Status, now)
			w.observed.Look = &l
			continue
		case release.NeedHooks:
			if w.observed.Hooks == nil {
				w.observed.Hooks = map[trimtabv1.HookPhase]release.HookResult{}
			}
			w.observed.Hooks[d.NeedHook] = r.Hooks.Run(ctx, rel.Spec.Analysis.Hooks, d.NeedHook)
			continue
		}
		break
	}
	return d
}

// writeStatus records the decision: this is the commit point of a
// reconcile. The world is changed only after it succeeds, and the update
// carries the resourceVersion that was read, so two controllers (or a stale
// cache) can never both advance a release. A standing problem (a route the
// router refused last time) stays reported until a route succeeds.
func (r *ReleaseReconciler) writeStatus(ctx context.Context, rel *trimtabv1.Release, d release.Decision, standing *problem) error {
	// A copy: setReleaseConditions changes conditions in place, and d's
	// may share rel's.
	st := *d.Status.DeepCopy()
	st.ObservedGeneration = rel.Generation
	setReleaseConditions(&st, rel.Generation, standing)
	if equalStatus(rel.Status, st) {
		return nil
	}
	rel.Status = st
	if err := r.Client.Status().Update(ctx, rel, fieldOwner); err != nil {
		return fmt.Errorf("record release %s/%s status: %w", rel.Namespace, rel.Name, err)
	}
	return nil
}

// reportProblem records a condition the user must fix (missing target,
// Service, Ingress…) without touching anything else.
func (r *ReleaseReconciler) reportProblem(ctx context.Context, rel *trimtabv1.Release, p *problem, cause error) (reconcile.Result, error) {
	if p == nil {
		return reconcile.Result{}, cause
	}
	changed, err := r.recordProblem(ctx, rel, p)
	if err != nil {
		return reconcile.Result{}, err
	}
	if changed {
		r.Events.Eventf(rel, nil, corev1.EventTypeWarning, p.reason, "Reconcile", "%s", p.message)
	}
	// A problem is fixed by a change that our watches see; the periodic
	// retry covers the ones they do not (an HPA deleted, an HTTPRoute in a
	// cluster that got the Gateway API after the controller started).
	return reconcile.Result{RequeueAfter: r.RetryPeriod}, cause
}

// recordProblem writes p into Ready, and the conditions derived with it,
// unless the status already says so. It reports whether Ready's reason
// changed.
func (r *ReleaseReconciler) recordProblem(ctx context.Context, rel *trimtabv1.Release, p *problem) (bool, error) {
	st := rel.Status.DeepCopy()
	st.ObservedGeneration = rel.Generation
	var before string
	if c := meta.FindStatusCondition(st.Conditions, trimtabv1.ConditionReady); c != nil {
		before = c.Reason
	}
	setReleaseConditions(st, rel.Generation, p)
	if equalStatus(rel.Status, *st) {
		return false, nil
	}
	rel.Status = *st
	if err := r.Client.Status().Update(ctx, rel, fieldOwner); err != nil {
		return false, fmt.Errorf("record release %s/%s status: %w", rel.Namespace, rel.Name, err)
	}
	return before != p.reason, nil
}

// problem is something only the user can fix.
type problem struct{ reason, message string }

func (p *problem) Error() string { return p.message }

func misconfigured(reason, format string, args ...any) *problem {
	return &problem{reason: reason, message: fmt.Sprintf(format, args...)}
}

// setReleaseConditions derives Ready, Progressing and Degraded from the
// state and the problem, if any.
func setReleaseConditions(st *trimtabv1.ReleaseStatus, generation int64, p *problem) {
	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: generation})
	}
	if p != nil {
		set(trimtabv1.ConditionReady, metav1.ConditionFalse, p.reason, p.message)
	} else {
		set(trimtabv1.ConditionReady, metav1.ConditionTrue, trimtabv1.ReasonReconciled, fmt.Sprintf("state %s", st.State))
	}
	switch st.State {
	case release.StateProgressing, release.StateWaitingApproval, release.StatePaused, release.StateFrozen, release.StatePromoting:
		set(trimtabv1.ConditionProgressing, metav1.ConditionTrue, st.State,
			fmt.Sprintf("releasing revision %s: step %d, canary weight %d%%", st.CanaryRevision, st.Step, st.Weight))
	default:
		set(trimtabv1.ConditionProgressing, metav1.ConditionFalse, orDefault(st.State, release.StateInitializing),
			fmt.Sprintf("stable revision %s serves all traffic", st.StableRevision))
	}
	if st.State == release.StateRolledBack && len(st.Revisions) > 0 {
		set(trimtabv1.ConditionDegraded, metav1.ConditionTrue, release.ReasonRolledBack,
			fmt.Sprintf("revision %s was rolled back: %s", st.Revisions[0].Revision, st.Revisions[0].Reason))
	} else {
		set(trimtabv1.ConditionDegraded, metav1.ConditionFalse, orDefault(st.State, release.StateInitializing), "no failed release pending")
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// equalStatus reports whether writing b over a would change anything;
// condition transition times move only on real changes (SetStatusCondition).
func equalStatus(a, b trimtabv1.ReleaseStatus) bool {
	return equality.Semantic.DeepEqual(a, b)
}

// A deletion that waits for the user's fix says so in a DeletionWaits
// Event and in Ready, and looks again every deletionRetry: not every fix
// is a change the controller watches.
const (
	reasonDeletionWaits = "DeletionWaits"
	deletionRetry       = 15 * time.Second
)

// deletionWaits reports what the deletion waits for: in Ready, where
// `kubectl get` and `describe` show it for as long as it lasts, and in an
// Event at every look.
func (r *ReleaseReconciler) deletionWaits(ctx context.Context, rel *trimtabv1.Release, format string, args ...any) (reconcile.Result, error) {
	p := misconfigured(reasonDeletionWaits, format, args...)
	r.Events.Eventf(rel, nil, corev1.EventTypeWarning, reasonDeletionWaits, "Release", "%s", p.message)
	if _, err := r.recordProblem(ctx, rel, p); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: deletionRetry}, nil
}

// finalize hands traffic and capacity back to the target, then lets the
// Release go. The variant Deployments and Services are trimtab's (owned by
// the Release) and are deleted; nothing of the user's is. While the user's
// routing may still lead to a variant Service (an Ingress of theirs, a
// route the router cannot restore), the deletion waits for their fix.
func (r *ReleaseReconciler) finalize(ctx context.Context, rel *trimtabv1.Release) (reconcile.Result, error) {
	if !slices.Contains(rel.Finalizers, releaseFinalizer) {
		return reconcile.Result{}, nil
	}
	var target appsv1.Deployment
	err := r.Targets.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: rel.Spec.TargetRef.Name}, &target)
	switch {
	case apierrors.IsNotFound(err):
		// Nothing to hand back to.
	case err != nil:
		return reconcile.Result{}, fmt.Errorf("get target: %w", err)
	case rel.Status.TotalReplicas == 0:
		// Never adopted (refused, or a second Release on the target): the
		// target still runs the workload at the user's size, and another
		// Release may be running it from its own.
	default:
		total := rel.Status.TotalReplicas
		if err := scaleTo(ctx, r.Client, &target, total); err != nil {
			return reconcile.Result{}, err
		}
		if !rolledOut(&target, total) {
			// Keep the primary serving until the target can take over.
			return reconcile.Result{RequeueAfter: 2 * time.Second}, nil
		}
		if rt, err := router.New(rel.Spec.Traffic.Router, r.Client, r.Targets, r.Groups); err == nil {
			err := rt.Restore(ctx, rel)
			switch {
			case errors.Is(err, router.ErrMisconfigured):
				// The router cannot tell how to undo its changes: the
				// user's routing may still lead to the variant Services,
				// and deleting them would cut that traffic off.
				return r.deletionWaits(ctx, rel, "%v. The deletion waits for that fix, keeping Services %s and %s, which the routing may still lead to",
					err, router.VariantService(rel, router.Primary), router.VariantService(rel, router.Canary))
			case err != nil:
				return reconcile.Result{}, fmt.Errorf("restore traffic: %w", err)
			}
		}
		if rel.Status.CanaryRevision != "" && rel.Status.CanaryRevision != rel.Status.StableRevision && revisionOf(target.Spec.Template) == rel.Status.CanaryRevision {
			r.Events.Eventf(rel, nil, corev1.EventTypeWarning, "ReleaseDeleted", "Release",
				"The Release was deleted during the release of %s: the target now serves it to all traffic without analysis", rel.Status.CanaryRevision)
		}
	}
	if ing, svc, err := r.ingressOnVariant(ctx, rel); err != nil {
		return reconcile.Result{}, err
	} else if ing != "" {
		// Deleting the Service would leave the Ingress without a backend:
		// an outage. The user repoints it (they pointed it there).
		return r.deletionWaits(ctx, rel, "Ingress %s sends traffic to Service %s, which this Release created and deleting it removes: point the Ingress back at Service %s; the deletion finishes then",
			ing, svc, router.ServiceName(rel))
	}
	if err := r.deleteOwned(ctx, rel); err != nil {
		return reconcile.Result{}, err
	}
	rel.Finalizers = slices.DeleteFunc(rel.Finalizers, func(f string) bool { return f == releaseFinalizer })
	if err := r.Client.Update(ctx, rel, fieldOwner); err != nil {
		return reconcile.Result{}, fmt.Errorf("remove finalizer: %w", err)
	}
	return reconcile.Result{}, nil
}

// ingressOnVariant names an Ingress of the user's (one the Release does not
// control) whose backends include one of the variant Services, and that
// Service. With the nginx router the user's Ingress leads to
// <service>-primary by design.
func (r *ReleaseReconciler) ingressOnVariant(ctx context.Context, rel *trimtabv1.Release) (ingress, service string, err error) {
	var list networkingv1.IngressList
	if err := r.Targets.List(ctx, &list, client.InNamespace(rel.Namespace)); err != nil {
		return "", "", fmt.Errorf("list ingresses: %w", err)
	}
	// Only the Services this Release controls are deleted: an Ingress on
	// another's (a second Release refused on the same target) is not in
	// the way.
	var variants []string
	for _, v := range []string{router.Primary, router.Canary} {
		var svc corev1.Service
		err := r.Client.Get(ctx, client.ObjectKey{Namespace: rel.Namespace, Name: router.VariantService(rel, v)}, &svc)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return "", "", fmt.Errorf("get service %s: %w", router.VariantService(rel, v), err)
		case metav1.IsControlledBy(&svc, rel):
			variants = append(variants, svc.Name)
		}
	}
	for i := range list.Items {
		ing := &list.Items[i]
		if metav1.IsControlledBy(ing, rel) {
			continue
		}
		backends := []*networkingv1.IngressBackend{ing.Spec.DefaultBackend}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP != nil {
				for j := range rule.HTTP.Paths {
					backends = append(backends, &rule.HTTP.Paths[j].Backend)
				}
			}
		}
		for _, b := range backends {
			if b != nil && b.Service != nil && slices.Contains(variants, b.Service.Name) {
				return ing.Name, b.Service.Name, nil
			}
		}
	}
	return "", "", nil
}

// deleteOwned deletes the variant Deployments and Services this Release
// controls (and only those).
func (r *ReleaseReconciler) deleteOwned(ctx context.Context, rel *trimtabv1.Release) error {
	var objs []client.Object
	for _, v := range []string{router.Primary, router.Canary, router.Baseline} {
		objs = append(objs, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: variantName(rel, v)}})
	}
	for _, v := range []string{router.Primary, router.Canary, router.Baseline} {
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: router.VariantService(rel, v)}})
	}
	if p := previewService(rel); p != "" {
		objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: p}})
	}
	for _, o := range objs {
		if err := r.Client.Get(ctx, client.ObjectKeyFromObject(o), o); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return err
		}
		if !metav1.IsControlledBy(o, rel) {
			continue
		}
		if err := r.Client.Delete(ctx, o); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("delete %s: %w", o.GetName(), err)
		}
	}
	return nil
}

// hpaTargetIndex is the field index of HorizontalPodAutoscalers by the
// workload they scale (hpaTarget), which hasHPA reads: every due
// ScalingPolicy asks at every sync, and a list of its namespace's HPAs
// would copy each of them each time.
const hpaTargetIndex = "trimtab.dev/hpa-target"

// hpaTarget is the key of hpaTargetIndex: a workload's kind, group and
// name, "Deployment.apps/web".
func hpaTarget(kind schema.GroupKind, name string) string { return kind.String() + "/" + name }

// hpaScaleTarget is the workload hpa scales; ok is false when its
// scaleTargetRef names none (an apiVersion that does not parse).
func hpaScaleTarget(hpa *autoscalingv2.HorizontalPodAutoscaler) (kind schema.GroupKind, name string, ok bool) {
	ref := hpa.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return schema.GroupKind{}, "", false
	}
	return schema.GroupKind{Group: gv.Group, Kind: ref.Kind}, ref.Name, true
}

// hpaTargetChanged passes an HPA's creation and deletion, and an update
// only when it scales another workload: the HPA controller writes every
// HPA's status each sync, which changes nothing a refusal depends on.
var hpaTargetChanged = predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
	return e.ObjectOld.(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef != e.ObjectNew.(*autoscalingv2.HorizontalPodAutoscaler).Spec.ScaleTargetRef
}}

// hasHPA reports an HPA that scales the target: two autoscalers would
// fight. c is the cache, with AddIndexes' index.
func hasHPA(ctx context.Context, c client.Reader, namespace string, kind schema.GroupKind, name string) (string, error) {
	var list autoscalingv2.HorizontalPodAutoscalerList
	// Read only: nothing here writes an HPA.
	if err := c.List(ctx, &list, client.InNamespace(namespace), client.MatchingFields{hpaTargetIndex: hpaTarget(kind, name)}, client.UnsafeDisableDeepCopy); err != nil {
		return "", fmt.Errorf("list HorizontalPodAutoscalers: %w", err)
	}
	if len(list.Items) == 0 {
		return "", nil
	}
	// The first by name, not in the cache's order: a message that changed
	// with it would rewrite the condition at every sync.
	return slices.MinFunc(list.Items, func(a, b autoscalingv2.HorizontalPodAutoscaler) int { return strings.Compare(a.Name, b.Name) }).Name, nil
}

// Field indexes of Releases: the names of the user's Service in front of
// the target, and of the Ingress or HTTPRoute their router routes through.
const (
	serviceIndex   = "trimtab.dev/service"
	ingressIndex   = "trimtab.dev/ingress"
	httpRouteIndex = "trimtab.dev/httproute"
)

// SetupWithManager registers the controller: Releases, the objects it owns,
// and the target Deployments, user Services, Ingresses and HTTPRoutes
// mapped back to their Releases, so a change to any is acted on at once.
// HTTPRoutes are watched only where the Gateway API is installed: a watch
// of a kind the cluster does not serve would keep the controller from
// starting.
func (r *ReleaseReconciler) SetupWithManager(mgr manager.Manager) error {
	indexes := map[string]func(*trimtabv1.Release) string{
		targetIndex:  func(rel *trimtabv1.Release) string { return rel.Spec.TargetRef.Name },
		serviceIndex: router.ServiceName,
		ingressIndex: func(rel *trimtabv1.Release) string {
			return routedThrough(rel, trimtabv1.RouterNGINX, rel.Spec.Traffic.Ingress)
		},
		httpRouteIndex: func(rel *trimtabv1.Release) string {
			return routedThrough(rel, trimtabv1.RouterGatewayAPI, rel.Spec.Traffic.HTTPRoute)
		},
	}
	for field, key := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(context.Background(), &trimtabv1.Release{}, field, func(o client.Object) []string {
			if k := key(o.(*trimtabv1.Release)); k != "" {
				return []string{k}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("index releases by %s: %w", field, err)
		}
	}
	// Status updates (a load balancer's address, a Gateway's acceptance)
	// change nothing a router reads; annotations can (an ingress class,
	// the saved backendRefs).
	routeChanged := ctrl.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))
	b := ctrl.ControllerManagedBy(mgr).
		Named("release").
		// A reconcile can wait on a hook (up to its retries × timeout):
		// one slow hook must not hold up other Releases' rollbacks.
		WithOptions(crcontroller.Options{MaxConcurrentReconciles: releaseWorkers}).
		For(&trimtabv1.Release{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		// The nginx router's canary Ingress.
		Owns(&networkingv1.Ingress{}, routeChanged).
		Watches(&appsv1.Deployment{}, r.releasesBy(targetIndex, client.Object.GetName)).
		Watches(&corev1.Service{}, r.releasesBy(serviceIndex, client.Object.GetName)).
		Watches(&networkingv1.Ingress{}, r.releasesBy(ingressIndex, client.Object.GetName), routeChanged).
		// A ScalingPolicy's coming and going decides whether the Release
		// takes its size from the policy's annotation (observe); an
		// update maps both the old and the new target.
		Watches(&trimtabv1.ScalingPolicy{}, r.releasesBy(targetIndex, func(o client.Object) string {
			return o.(*trimtabv1.ScalingPolicy).Spec.TargetRef.Name
		}), ctrl.WithPredicates(predicate.GenerationChangedPredicate{})).
		// An HPA on the target refuses the Release (it would fight it over
		// replicas), and its deletion lets the Release go on: both at
		// once, not at the next retry.
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, r.releasesBy(targetIndex, func(o client.Object) string {
			kind, name, ok := hpaScaleTarget(o.(*autoscalingv2.HorizontalPodAutoscaler))
			if !ok || kind != deploymentKind.GroupKind() {
				return "" // no Release targets it: no Release's target is unnamed
			}
			return name
		}), ctrl.WithPredicates(hpaTargetChanged))
	route := &gatewayv1.HTTPRoute{}
	served, err := serves(mgr, route)
	if err != nil {
		return err
	}
	if served {
		b = b.Watches(route, r.releasesBy(httpRouteIndex, client.Object.GetName), routeChanged)
	}
	return b.Complete(r)
}

// routedThrough is name when the Release's router is kind, else "": a
// name the router does not use leads nowhere.
func routedThrough(rel *trimtabv1.Release, kind trimtabv1.Router, name string) string {
	if rel.Spec.Traffic.Router != kind {
		return ""
	}
	return name
}

// serves says whether the cluster serves obj's kind.
func serves(mgr manager.Manager, obj client.Object) (bool, error) {
	gvk, err := apiutil.GVKForObject(obj, mgr.GetScheme())
	if err != nil {
		return false, fmt.Errorf("kind of %T: %w", obj, err)
	}
	_, err = mgr.GetRESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case meta.IsNoMatchError(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("find out whether the cluster serves %s: %w", gvk, err)
	}
	return true, nil
}

// releasesBy maps an object to the Releases whose field index holds
// key(object).
func (r *ReleaseReconciler) releasesBy(field string, key func(client.Object) string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		var list trimtabv1.ReleaseList
		if err := r.Client.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{field: key(o)}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			reqs[i] = reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])}
		}
		return reqs
	})
}

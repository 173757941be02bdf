package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/release"
	"github.com/trimtab/trimtab/scaler/release/router"
)

// revisionAnnotation on a variant Deployment names the target template
// revision its pod template was copied from.
const revisionAnnotation = "trimtab.dev/revision"

// workload is everything one reconcile observed about a Release's objects.
type workload struct {
	plan     release.Plan
	router   router.Router
	target   *appsv1.Deployment
	service  *corev1.Service
	variants map[string]*appsv1.Deployment // nil entries: not created yet
	total    int32
	observed release.Observed
	problem  *problem
	// routeRefused is the routing problem the last reconcile reported, if
	// any: it stands until a route succeeds.
	routeRefused *problem
}

// observe reads the target, the user's Service and the variants, and says
// what the state machine needs to know. Problems the user must fix come
// back in workload.problem.
func (r *ReleaseReconciler) observe(ctx context.Context, rel *trimtabv1.Release) (*workload, error) {
	w := &workload{variants: map[string]*appsv1.Deployment{}}
	target, cond, err := resolveTarget(ctx, r.Targets, rel.Namespace, rel.Spec.TargetRef, rel.Generation)
	if err != nil {
		return nil, err
	}
	if target == nil {
		w.problem = misconfigured(cond.Reason, "%s", cond.Message)
		return w, nil
	}
	w.target = target
	if hpa, err := hasHPA(ctx, r.Client, rel.Namespace, deploymentKind.GroupKind(), target.Name); err != nil {
		return nil, err
	} else if hpa != "" {
		w.problem = misconfigured(trimtabv1.ReasonTargetHasHPA,
			"HorizontalPodAutoscaler %s/%s scales Deployment %s: it would fight the release over replicas; delete it and use a ScalingPolicy, which scales releases correctly", rel.Namespace, hpa, target.Name)
		return w, nil
	}
	if w.plan, err = release.NewPlan(rel.Spec); err != nil {
		w.problem = misconfigured(trimtabv1.ReasonInvalidSpec, "%v", err)
		return w, nil
	}
	if w.router, err = router.New(rel.Spec.Traffic.Router, r.Client, r.Targets, r.Groups); err != nil {
		w.problem = misconfigured(trimtabv1.ReasonInvalidSpec, "%v", err)
		return w, nil
	}
	svcName := router.ServiceName(rel)
	var svc corev1.Service
	if err := r.Client.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: svcName}, &svc); apierrors.IsNotFound(err) {
		w.problem = misconfigured(trimtabv1.ReasonServiceNotFound,
			"Service %s/%s does not exist: create the Service in front of Deployment %s, or set spec.traffic.service to its name", rel.Namespace, svcName, target.Name)
		return w, nil
	} else if err != nil {
		return nil, fmt.Errorf("get service %s: %w", svcName, err)
	}
	w.service = &svc
	for _, v := range []string{router.Primary, router.Canary, router.Baseline} {
		var d appsv1.Deployment
		err := r.Client.Get(ctx, types.NamespacedName{Namespace: rel.Namespace, Name: variantName(rel, v)}, &d)
		switch {
		case apierrors.IsNotFound(err):
			w.variants[v] = nil
		case err != nil:
			return nil, fmt.Errorf("get %s: %w", variantName(rel, v), err)
		case !metav1.IsControlledBy(&d, rel):
			w.problem = misconfigured(trimtabv1.ReasonOwnedElsewhere,
				"Deployment %s/%s exists and is not managed by this Release; trimtab will not touch it: rename or delete it", rel.Namespace, d.Name)
			return w, nil
		default:
			w.variants[v] = &d
		}
	}

	// The user's replica count on the target is the workload's size; the
	// target itself runs no pods once the primary serves.
	w.total = max(rel.Status.TotalReplicas, 1)
	if n := ptr.Deref(target.Spec.Replicas, 1); n > 0 && (rel.Status.TotalReplicas == 0 || rel.Status.State != release.StateInitializing) {
		w.total = n
	}
	v, annotated := rel.Annotations[release.AnnotationDesiredReplicas]
	if annotated {
		// The annotation is the ScalingPolicy's; without one (deleted, or
		// moved to another target) the user's count counts again.
		if annotated, err = r.scaledByPolicy(ctx, rel.Namespace, target.Name); err != nil {
			return nil, err
		}
	}
	if annotated {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 1 {
			w.problem = misconfigured(trimtabv1.ReasonInvalidSpec, "annotation %s=%q: want a whole number of replicas from 1 (a ScalingPolicy sets it)", release.AnnotationDesiredReplicas, v)
			return w, nil
		}
		w.total = int32(n)
	}
	o := &w.observed
	o.TargetRevision = revisionOf(target.Spec.Template)
	if p := w.variants[router.Primary]; p != nil {
		o.PrimaryRevision = p.Annotations[revisionAnnotation]
		o.PrimaryReady = rolledOut(p, ptr.Deref(p.Spec.Replicas, 1))
	}
	o.CanaryReadyWeight = w.canaryReadyWeight(rel)
	if c := meta.FindStatusCondition(rel.Status.Conditions, trimtabv1.ConditionReady); c != nil &&
		c.Status == metav1.ConditionFalse && c.Reason == trimtabv1.ReasonTrafficMisconfigured && c.ObservedGeneration == rel.Generation {
		o.RouteRefused = true
		w.routeRefused = &problem{reason: c.Reason, message: c.Message}
	}
	w.problem = observeSteering(rel, o)
	return w, nil
}

// observeSteering reads the Release's steering annotations (pause, freeze,
// a request) into o.
func observeSteering(rel *trimtabv1.Release, o *release.Observed) *problem {
	for _, a := range []struct {
		key string
		dst *bool
	}{{release.AnnotationPaused, &o.Paused}, {release.AnnotationFrozen, &o.Frozen}} {
		v, ok := rel.Annotations[a.key]
		if ok && v != "true" && v != "false" {
			// "yes" would otherwise not pause, without a word.
			return misconfigured(trimtabv1.ReasonInvalidSpec, "annotation %s=%q: want \"true\" or \"false\" (or remove it)", a.key, v)
		}
		*a.dst = v == "true"
	}
	o.Request = nil
	if v, ok := rel.Annotations[release.AnnotationRequest]; ok {
		req, err := release.ParseRequest(v)
		if err != nil {
			return misconfigured(trimtabv1.ReasonInvalidSpec, "%v", err)
		}
		o.Request = req
	}
	return nil
}

// canaryReadyWeight is the largest weight the canary's ready pods of the
// target's revision can carry under the router's split.
func (w *workload) canaryReadyWeight(rel *trimtabv1.Release) int32 {
	c := w.variants[router.Canary]
	if c == nil || c.Annotations[revisionAnnotation] != w.observed.TargetRevision || c.Status.ObservedGeneration < c.Generation {
		return -1
	}
	// Ready pods of an older template (a canary superseded mid-release
	// rolls over) are not this revision's: count only the ready pods that
	// are surely updated.
	old := max(c.Status.Replicas-c.Status.UpdatedReplicas, 0)
	ready := max(min(c.Status.ReadyReplicas-old, c.Status.UpdatedReplicas), 0)
	sizing := router.Sizing{Full: w.plan.Sizing == release.SizeFull}
	best := int32(-1)
	for weight := int32(0); weight <= 100; weight++ {
		if w.router.Replicas(w.total, weight, sizing).Canary <= ready {
			best = weight
		}
	}
	return best
}

// apply makes the objects match the decided World. Capacity comes first and
// goes last: every variant that grows is scaled before traffic moves, and
// every variant that shrinks after, so a rollback sends traffic to the
// primary and then stops the canary, in this one reconcile.
func (r *ReleaseReconciler) apply(ctx context.Context, rel *trimtabv1.Release, w *workload, world release.World) error {
	if err := r.ensureServices(ctx, rel, w.service); err != nil {
		return err
	}
	split := router.Split{Primary: w.total}
	if world.Canary {
		split = w.router.Replicas(w.total, world.SizeWeight, router.Sizing{Full: world.Sizing == release.SizeFull, Baseline: world.Baseline})
	}
	primary, canary, baseline := w.variants[router.Primary], w.variants[router.Canary], w.variants[router.Baseline]
	targetRev := w.observed.TargetRevision

	// Templates: the primary takes the target's only when World names the
	// target's revision; the canary runs the revision being released; the
	// baseline runs whatever the primary runs.
	want := map[string]*appsv1.Deployment{}
	if primary == nil || (world.PrimaryRevision == targetRev && primary.Annotations[revisionAnnotation] != targetRev) {
		if world.PrimaryRevision == targetRev {
			want[router.Primary] = variantDeployment(rel, w.target, router.Primary, w.target.Spec.Template, targetRev, split.Primary, primary)
		}
	}
	if world.Canary && targetRev == rel.Status.CanaryRevision && (canary == nil || canary.Annotations[revisionAnnotation] != targetRev) {
		want[router.Canary] = variantDeployment(rel, w.target, router.Canary, w.target.Spec.Template, targetRev, split.Canary, canary)
	}
	if world.Baseline && primary != nil && primary.Annotations[revisionAnnotation] == rel.Status.StableRevision &&
		(baseline == nil || baseline.Annotations[revisionAnnotation] != rel.Status.StableRevision) {
		want[router.Baseline] = variantDeployment(rel, w.target, router.Baseline, stripVariant(primary.Spec.Template), rel.Status.StableRevision, split.Baseline, baseline)
	}
	for v, d := range want {
		if err := r.upsert(ctx, d); err != nil {
			return fmt.Errorf("%s deployment: %w", v, err)
		}
		w.variants[v] = d
	}

	sizes := targetSizes(rel.Status.State == release.StateRolledBack, w.variants, split, w.total)
	scale := func(grow bool) error {
		for _, v := range []string{router.Primary, router.Canary, router.Baseline} {
			d := w.variants[v]
			if d == nil {
				continue
			}
			cur := ptr.Deref(d.Spec.Replicas, 1)
			if (grow && sizes[v] > cur) || (!grow && sizes[v] < cur) {
				if err := scaleTo(ctx, r.Client, d, sizes[v]); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := scale(true); err != nil {
		return err
	}
	if err := w.router.Route(ctx, rel, world.Weight); err != nil {
		if !errors.Is(err, router.ErrMisconfigured) {
			return fmt.Errorf("route %d%% to the canary: %w", world.Weight, err)
		}
		p := misconfigured(trimtabv1.ReasonTrafficMisconfigured, "%v", err)
		if world.Weight > 0 {
			return p
		}
		// At weight 0 the router has taken the canary out of every route
		// it wrote (Router.Route), so a rollback stops the canary even
		// though the user's routing needs fixing; what still reaches the
		// canary's pods comes through the user's Service, which the
		// primary's pods serve as well.
		if err := scale(false); err != nil {
			return err
		}
		return p
	}
	if err := scale(false); err != nil {
		return err
	}
	// Once the primary serves, the target runs no pods of its own.
	if p := w.variants[router.Primary]; p != nil && rolledOut(p, ptr.Deref(p.Spec.Replicas, 1)) && ptr.Deref(w.target.Spec.Replicas, 1) != 0 {
		if err := scaleTo(ctx, r.Client, w.target, 0); err != nil {
			return err
		}
	}
	return nil
}

// targetSizes is what each variant runs now: the split, with its shrinks
// held back (holdCapacity). A rollback stops the canary at once, a bad
// version serving being worse than fewer pods for a start-up, and its
// pods do not count as capacity; the baseline, which runs the stable
// version and takes its share of the traffic under the replicas router,
// still shrinks only as the primary's pods become ready.
func targetSizes(rolledBack bool, variants map[string]*appsv1.Deployment, split router.Split, total int32) map[string]int32 {
	sizes := map[string]int32{router.Primary: split.Primary, router.Canary: split.Canary, router.Baseline: split.Baseline}
	if rolledBack {
		variants = maps.Clone(variants)
		variants[router.Canary] = nil
	}
	holdCapacity(variants, sizes, total)
	return sizes
}

// holdCapacity lowers the shrinks in sizes so that the variants keep at
// least total ready pods: a variant gives up pods only as the pods that
// replace them become ready (a step moving pods from primary to canary, a
// promotion stopping the canary while the primary grows back). What is
// held back shrinks at a later reconcile, when a variant's status shows
// more ready pods.
func holdCapacity(variants map[string]*appsv1.Deployment, sizes map[string]int32, total int32) {
	spare := -total
	for _, d := range variants {
		if d != nil {
			spare += readyPods(d)
		}
	}
	for _, v := range []string{router.Canary, router.Baseline, router.Primary} {
		d := variants[v]
		if d == nil {
			continue
		}
		if cur := ptr.Deref(d.Spec.Replicas, 1); sizes[v] < cur {
			// A scale-down removes unready pods first: those cost nothing.
			unready := cur - readyPods(d)
			cut := min(cur-sizes[v], unready+max(spare, 0))
			sizes[v], spare = cur-cut, spare-max(cut-unready, 0)
		}
	}
}

// readyPods is how many of d's ready pods it keeps. Its status lags a
// scale-down until the Deployment controller catches up: the pods being
// removed still count as ready there, and counting them as capacity would
// let the next reconcile, seeing the same status, cut again.
func readyPods(d *appsv1.Deployment) int32 {
	return min(d.Status.ReadyReplicas, ptr.Deref(d.Spec.Replicas, 1))
}

// ensureServices keeps <svc>-primary and <svc>-canary (and the blue-green
// preview Service) selecting their variant's pods with the user's ports.
func (r *ReleaseReconciler) ensureServices(ctx context.Context, rel *trimtabv1.Release, user *corev1.Service) error {
	want := map[string]string{router.VariantService(rel, router.Primary): router.Primary, router.VariantService(rel, router.Canary): router.Canary}
	if p := previewService(rel); p != "" {
		want[p] = router.Canary
	}
	if rel.Spec.Strategy.Canary != nil && rel.Spec.Strategy.Canary.Baseline {
		// Not routed to: web metrics of the baseline are read through it
		// ({{.Variant}} in web.url), as the canary's through its own.
		want[router.VariantService(rel, router.Baseline)] = router.Baseline
	}
	// The variant Services are ClusterIP: a NodePort or LoadBalancer
	// Service's nodePorts are its own and the API refuses them here.
	ports := make([]corev1.ServicePort, len(user.Spec.Ports))
	for i, p := range user.Spec.Ports {
		p.NodePort = 0
		ports[i] = p
	}
	for name, variant := range want {
		selector := withVariant(user.Spec.Selector, rel, variant)
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: name, Labels: withVariant(nil, rel, variant)},
			Spec:       corev1.ServiceSpec{Selector: selector, Ports: ports, Type: corev1.ServiceTypeClusterIP},
		}
		var cur corev1.Service
		err := r.Client.Get(ctx, client.ObjectKeyFromObject(svc), &cur)
		switch {
		case apierrors.IsNotFound(err):
			setOwner(rel, svc)
			if err := r.Client.Create(ctx, svc, fieldOwner); err != nil {
				return fmt.Errorf("create service %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("get service %s: %w", name, err)
		case !metav1.IsControlledBy(&cur, rel):
			return misconfigured(trimtabv1.ReasonOwnedElsewhere, "Service %s/%s exists and is not managed by this Release; trimtab will not touch it: rename or delete it", rel.Namespace, name)
		case !equality.Semantic.DeepEqual(cur.Spec.Selector, selector) || !samePorts(cur.Spec.Ports, ports):
			cur.Spec.Selector, cur.Spec.Ports = selector, ports
			if err := r.Client.Update(ctx, &cur, fieldOwner); err != nil {
				return fmt.Errorf("update service %s: %w", name, err)
			}
		}
	}
	return nil
}

func samePorts(a, b []corev1.ServicePort) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Port != b[i].Port || a[i].TargetPort != b[i].TargetPort || a[i].Protocol != b[i].Protocol && b[i].Protocol != "" {
			return false
		}
	}
	return true
}

// upsert creates d, or updates the existing Deployment's template.
func (r *ReleaseReconciler) upsert(ctx context.Context, d *appsv1.Deployment) error {
	if d.ResourceVersion == "" {
		return r.Client.Create(ctx, d, fieldOwner)
	}
	return r.Client.Update(ctx, d, fieldOwner)
}

// variantDeployment is the Deployment of one variant running template.
// When cur exists, its identity (and resourceVersion) is kept so the update
// is optimistic; its replica count is left for scaleTo.
func variantDeployment(rel *trimtabv1.Release, target *appsv1.Deployment, variant string, template corev1.PodTemplateSpec, revision string, replicas int32, cur *appsv1.Deployment) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	if cur != nil {
		d = cur.DeepCopy()
	} else {
		d.Namespace, d.Name = rel.Namespace, variantName(rel, variant)
		d.Spec.Replicas = ptr.To(replicas)
		setOwner(rel, d)
	}
	d.Labels = withVariant(target.Labels, rel, variant)
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[revisionAnnotation] = revision
	sel := target.Spec.Selector.DeepCopy()
	if sel == nil {
		sel = &metav1.LabelSelector{}
	}
	sel.MatchLabels = withVariant(sel.MatchLabels, rel, variant)
	d.Spec.Selector = sel
	d.Spec.Template = *template.DeepCopy()
	d.Spec.Template.Labels = withVariant(template.Labels, rel, variant)
	d.Spec.Strategy = target.Spec.Strategy
	d.Spec.MinReadySeconds = target.Spec.MinReadySeconds
	d.Spec.ProgressDeadlineSeconds = target.Spec.ProgressDeadlineSeconds
	return d
}

// withVariant adds the labels that tell one release's variants apart.
func withVariant(labels map[string]string, rel *trimtabv1.Release, variant string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	out[ReleaseLabel] = rel.Name
	out[router.VariantLabel] = variant
	return out
}

// stripVariant returns a variant's template as the user wrote it.
func stripVariant(t corev1.PodTemplateSpec) corev1.PodTemplateSpec {
	t = *t.DeepCopy()
	delete(t.Labels, router.VariantLabel)
	delete(t.Labels, ReleaseLabel)
	return t
}

// setOwner makes the Release the controller of o, so that deleting the
// Release garbage-collects it and its watch wakes the Release.
func setOwner(rel *trimtabv1.Release, o client.Object) {
	o.SetOwnerReferences([]metav1.OwnerReference{*metav1.NewControllerRef(rel, trimtabv1.GroupVersion.WithKind("Release"))})
}

func variantName(rel *trimtabv1.Release, variant string) string {
	return rel.Spec.TargetRef.Name + "-" + variant
}

func previewService(rel *trimtabv1.Release) string {
	if bg := rel.Spec.Strategy.BlueGreen; bg != nil {
		return bg.PreviewService
	}
	return ""
}

// revisionOf hashes a pod template: a change of anything in it is a new
// revision. JSON of a Go struct has a fixed field order, so equal templates
// hash equally.
func revisionOf(t corev1.PodTemplateSpec) string {
	b, _ := json.Marshal(t)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}

// rolledOut reports a Deployment whose controller has seen its latest spec
// and runs replicas updated, available pods, and no pods of an older
// template (kubectl rollout status: "old replicas are pending
// termination"), which would still serve the old version.
func rolledOut(d *appsv1.Deployment, replicas int32) bool {
	s := d.Status
	return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas >= replicas && s.AvailableReplicas >= replicas && s.ReadyReplicas >= replicas &&
		s.Replicas <= s.UpdatedReplicas
}

// scaleTo sets a Deployment's replicas through the scale subresource, which
// leaves the rest of the object (the user's, for the target) alone.
func scaleTo(ctx context.Context, c client.Client, d *appsv1.Deployment, replicas int32) error {
	if ptr.Deref(d.Spec.Replicas, 1) == replicas {
		return nil
	}
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: replicas}}
	if err := c.SubResource("scale").Update(ctx, d, client.WithSubResourceBody(scale)); err != nil {
		return fmt.Errorf("scale deployment %s/%s to %d: %w", d.Namespace, d.Name, replicas, err)
	}
	d.Spec.Replicas = ptr.To(replicas)
	return nil
}

// scaledByPolicy is whether a ScalingPolicy in namespace scales the
// Deployment named target.
func (r *ReleaseReconciler) scaledByPolicy(ctx context.Context, namespace, target string) (bool, error) {
	var list trimtabv1.ScalingPolicyList
	// Read only: no copies of a namespace's policies for a yes or no.
	if err := r.Client.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return false, fmt.Errorf("list scalingpolicies: %w", err)
	}
	return slices.ContainsFunc(list.Items, func(p trimtabv1.ScalingPolicy) bool {
		return scalesDeployment(p.Spec.TargetRef, target)
	}), nil
}

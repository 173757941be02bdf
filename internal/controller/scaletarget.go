package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler"
)

// The kinds a ScalingPolicy reads from the informer cache: the common
// targets, of which a cluster may hold thousands, so a sync costs them no
// request. Any other kind is read through its scale subresource, one GET
// per sync, as the HPA reads every target.
var (
	deploymentKind  = appsv1.SchemeGroupVersion.WithKind("Deployment")
	statefulSetKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
)

// scaleTarget is what a policy scales: a workload directly, or the Release
// that manages its Deployment, through its desired-replicas annotation.
type scaleTarget struct {
	// What scaling reads of the workload, copied out of it: a cycle keeps
	// every policy's target until all are decided, and an empty
	// appsv1.Deployment alone takes 1.2 KB.
	gvk                              schema.GroupVersionKind
	namespace, name, resourceVersion string
	uid                              types.UID
	replicas, statusReplicas         int32 // the scale's spec and status
	release                          *trimtabv1.Release
	selector                         labels.Selector
}

// targetKind is the kind ref names, with the CRD's defaults for what the
// object leaves out (objects written before the defaults existed).
func targetKind(ref trimtabv1.ScaleTargetRef) (schema.GroupVersionKind, error) {
	gv, err := schema.ParseGroupVersion(orDefault(ref.APIVersion, "apps/v1"))
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("spec.targetRef.apiVersion %q: %w; write group/version, e.g. apps/v1", ref.APIVersion, err)
	}
	return gv.WithKind(orDefault(ref.Kind, "Deployment")), nil
}

// scalesDeployment is whether ref names the Deployment name, as a
// ScalingPolicy that scales it through its Release does.
func scalesDeployment(ref trimtabv1.ScaleTargetRef, name string) bool {
	gvk, err := targetKind(ref)
	return err == nil && ref.Name == name && gvk == deploymentKind
}

// podRegex is {{.PodRegex}} for the target's pods: the default matches a
// Deployment's (<name>-<hash>-<suffix>), a StatefulSet's are
// <name>-<ordinal>, and for any other kind, or a Release's variants, the
// listed pods are named one by one.
func (t *scaleTarget) podRegex(pods []scaler.Pod) string {
	switch {
	case t.release != nil || (t.gvk != deploymentKind && t.gvk != statefulSetKind):
		names := make([]string, len(pods))
		for i, p := range pods {
			names[i] = p.Name
		}
		return collector.PodRegexFor(names)
	case t.gvk == statefulSetKind:
		return collector.StatefulSetPodRegex(t.name)
	}
	return ""
}

// object is the reference an Event about the target's scale regards.
func (t *scaleTarget) object() *corev1.ObjectReference {
	if t.release != nil {
		return &corev1.ObjectReference{APIVersion: trimtabv1.GroupVersion.String(), Kind: "Release", Namespace: t.release.Namespace, Name: t.release.Name, UID: t.release.UID}
	}
	apiVersion, kind := t.gvk.ToAPIVersionAndKind()
	return &corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Namespace: t.namespace, Name: t.name, UID: t.uid}
}

// describe names the target in messages: "StatefulSet ns/web".
func (t *scaleTarget) describe() string {
	return t.gvk.Kind + " " + t.namespace + "/" + t.name
}

// readTarget reads the workload ref names: Deployments and StatefulSets
// from the cache, anything else through its scale subresource. A nil
// target comes with the Ready condition that says why; err is set only
// when retrying may help.
func (c *ScalingPolicyController) readTarget(ctx context.Context, namespace string, ref trimtabv1.ScaleTargetRef, cond metav1.Condition) (*scaleTarget, metav1.Condition, error) {
	gvk, err := targetKind(ref)
	if err != nil {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonInvalidSpec, "%v", err), nil
	}
	t := &scaleTarget{gvk: gvk, namespace: namespace, name: ref.Name}
	key := types.NamespacedName{Namespace: namespace, Name: ref.Name}
	var obj client.Object
	var selector *metav1.LabelSelector
	switch gvk {
	case deploymentKind:
		var d appsv1.Deployment
		err, obj = c.Client.Get(ctx, key, &d), &d
		t.replicas, t.statusReplicas = ptr.Deref(d.Spec.Replicas, 1), d.Status.Replicas
		selector = d.Spec.Selector
	case statefulSetKind:
		var s appsv1.StatefulSet
		err, obj = c.Client.Get(ctx, key, &s), &s
		t.replicas, t.statusReplicas = ptr.Deref(s.Spec.Replicas, 1), s.Status.Replicas
		selector = s.Spec.Selector
	default:
		return c.readScale(ctx, t, cond)
	}
	if cond, err = lookedUp(cond, t.describe(), err); cond.Status != metav1.ConditionTrue {
		return nil, cond, err
	}
	if owner := metav1.GetControllerOf(obj); owner != nil && owner.Kind == "Release" && strings.HasPrefix(owner.APIVersion, trimtabv1.GroupVersion.Group+"/") {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonOwnedElsewhere,
			"%s is a variant of Release %s, which sets its replicas, and the two would fight over them: target the Deployment that Release %s releases instead; the policy then scales the whole workload through the Release",
			t.describe(), owner.Name, owner.Name), nil
	}
	t.resourceVersion, t.uid = obj.GetResourceVersion(), obj.GetUID()
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || sel.Empty() {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonInvalidSpec,
			"%s has no usable pod selector (%v); the HPA refuses such targets too", t.describe(), err), nil
	}
	t.selector = sel
	return t, cond, nil
}

// readScale reads a target of any other kind through its scale
// subresource, which gives the replicas and the pods' selector as the HPA
// reads them. The API server answers 404 both for a missing object and for
// a kind without the subresource; a metadata read tells which.
func (c *ScalingPolicyController) readScale(ctx context.Context, t *scaleTarget, cond metav1.Condition) (*scaleTarget, metav1.Condition, error) {
	apiVersion, kind := t.gvk.ToAPIVersionAndKind()
	if _, err := c.Client.RESTMapper().RESTMapping(t.gvk.GroupKind(), t.gvk.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonTargetUnsupported,
				"the API server serves no kind %s in %s; fix spec.targetRef.apiVersion and kind (kubectl api-resources lists what it serves)", kind, apiVersion), nil
		}
		return nil, said(cond, metav1.ConditionUnknown, trimtabv1.ReasonTargetLookupFailed, "looking up kind %s in %s: %v", kind, apiVersion, err),
			fmt.Errorf("map kind %s: %w", t.gvk, err)
	}
	scale, err := getScale(ctx, c.Client, t)
	if apierrors.IsNotFound(err) {
		partial := &metav1.PartialObjectMetadata{}
		partial.SetGroupVersionKind(t.gvk)
		merr := c.Direct.Get(ctx, types.NamespacedName{Namespace: t.namespace, Name: t.name}, partial)
		switch {
		case apierrors.IsNotFound(merr):
			return nil, targetMissing(cond, t.describe()), nil
		case merr == nil:
			return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonTargetUnsupported,
				"%s has no scale subresource, so nothing can set its replicas; target a Deployment, a StatefulSet or a kind whose CRD declares subresources.scale", t.describe()), nil
		}
		err = merr
	}
	if err != nil {
		return nil, said(cond, metav1.ConditionUnknown, trimtabv1.ReasonTargetLookupFailed, "reading the scale of %s: %v", t.describe(), err),
			fmt.Errorf("%s: get scale of %s: %w", ReasonFailedGetScale, t.describe(), err)
	}
	if scale.Status.Selector == "" {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonInvalidSpec,
			"the scale subresource of %s reports no pod selector (status.selector), so its pods cannot be found; the HPA refuses such targets too (a CRD sets labelSelectorPath)", t.describe()), nil
	}
	sel, err := labels.Parse(scale.Status.Selector)
	if err != nil || sel.Empty() {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonInvalidSpec,
			"the scale subresource of %s reports the pod selector %q, which selects no pods by label (%v)", t.describe(), scale.Status.Selector, err), nil
	}
	t.selector, t.replicas, t.statusReplicas = sel, scale.Spec.Replicas, scale.Status.Replicas
	t.resourceVersion, t.uid = scale.ResourceVersion, scale.UID
	return t, targetFound(cond, t.describe()), nil
}

// lookedUp is the Ready condition a read of the target described by what
// leaves, with the error to retry on: a missing target is the user's to
// fix, any other failure is retried.
func lookedUp(cond metav1.Condition, what string, err error) (metav1.Condition, error) {
	switch {
	case apierrors.IsNotFound(err):
		return targetMissing(cond, what), nil
	case err != nil:
		return said(cond, metav1.ConditionUnknown, trimtabv1.ReasonTargetLookupFailed, "reading %s: %v", what, err),
			fmt.Errorf("get target %s: %w", what, err)
	}
	return targetFound(cond, what), nil
}

func targetMissing(cond metav1.Condition, what string) metav1.Condition {
	return said(cond, metav1.ConditionFalse, trimtabv1.ReasonTargetNotFound,
		"%s named in spec.targetRef does not exist; create it or fix spec.targetRef.name", what)
}

func targetFound(cond metav1.Condition, what string) metav1.Condition {
	return said(cond, metav1.ConditionTrue, trimtabv1.ReasonTargetFound, "%s found", what)
}

// said is cond with the status, reason and message given.
func said(cond metav1.Condition, status metav1.ConditionStatus, reason, format string, args ...any) metav1.Condition {
	cond.Status, cond.Reason, cond.Message = status, reason, fmt.Sprintf(format, args...)
	return cond
}

// unstructuredTarget addresses t's subresources through the client's
// unstructured path, which works for every kind the API server serves.
func unstructuredTarget(t *scaleTarget) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(t.gvk)
	u.SetNamespace(t.namespace)
	u.SetName(t.name)
	return u
}

func getScale(ctx context.Context, c client.Client, t *scaleTarget) (*autoscalingv1.Scale, error) {
	u := &unstructured.Unstructured{}
	if err := c.SubResource("scale").Get(ctx, unstructuredTarget(t), u); err != nil {
		return nil, err
	}
	var scale autoscalingv1.Scale
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &scale); err != nil {
		return nil, fmt.Errorf("decode the scale of %s: %w", t.describe(), err)
	}
	return &scale, nil
}

// updateScale writes replicas through the target's scale subresource,
// guarded by the resourceVersion that was read. A conflict from an
// unrelated write (the workload controller's status) is retried; if the
// replica count itself moved away from `from`, it gives up with
// errTargetMoved so that the next sync decides from the new count.
func updateScale(ctx context.Context, c client.Client, t *scaleTarget, from, to int32) error {
	rv := t.resourceVersion
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		body := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "autoscaling/v1", "kind": "Scale",
			"metadata": map[string]any{"namespace": t.namespace, "name": t.name, "resourceVersion": rv},
			"spec":     map[string]any{"replicas": int64(to)},
		}}
		err := c.SubResource("scale").Update(ctx, unstructuredTarget(t), client.WithSubResourceBody(body))
		if !apierrors.IsConflict(err) {
			return err
		}
		cur, gerr := getScale(ctx, c, t)
		if gerr != nil {
			return fmt.Errorf("%s: %w", ReasonFailedGetScale, gerr)
		}
		if cur.Spec.Replicas != from {
			return errTargetMoved
		}
		rv = cur.ResourceVersion
		return err
	})
	if err != nil && !errors.Is(err, errTargetMoved) {
		return fmt.Errorf("scale %s from %d to %d: %w", t.describe(), from, to, err)
	}
	return err
}

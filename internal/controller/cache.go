package controller

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/kube"
)

// lastAppliedAnnotation is kubectl apply's copy of the whole object.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// CacheOptions is the informer cache these controllers read through
// (kube.CacheOptions), with Deployments trimmed by TrimDeployment,
// StatefulSets by TrimStatefulSet, HorizontalPodAutoscalers by
// TrimHorizontalPodAutoscaler and ScalingPolicies by TrimScalingPolicy.
func CacheOptions(namespaces []string) cache.Options {
	opts := kube.CacheOptions(namespaces)
	opts.ByObject = map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:                     {Transform: TrimDeployment},
		&appsv1.StatefulSet{}:                    {Transform: TrimStatefulSet},
		&autoscalingv2.HorizontalPodAutoscaler{}: {Transform: TrimHorizontalPodAutoscaler},
		&trimtabv1.ScalingPolicy{}:               {Transform: TrimScalingPolicy},
	}
	return opts
}

// TrimScalingPolicy, the cache's transform of ScalingPolicies, drops their
// managedFields and kubectl's last-applied copy of the spec, which nothing
// reads, and the spare room JSON decoding leaves in the status conditions
// (five decode into room for eight). Their status is written with a merge
// patch computed between two cached copies, so what the cache lacks is
// never in a patch. Spec and status are mostly the same strings across a
// fleet (query templates, metric names, condition reasons and messages,
// about 1 KB a policy), which the cache shares (kube.CacheStrings).
func TrimScalingPolicy(obj any) (any, error) {
	if p, ok := obj.(*trimtabv1.ScalingPolicy); ok {
		p.ManagedFields = nil
		delete(p.Annotations, lastAppliedAnnotation)
		if c := p.Status.Conditions; cap(c) > len(c) {
			p.Status.Conditions = slices.Clone(c)
		}
		internMeta(&p.ObjectMeta)
		kube.CacheStrings.Strings(&p.Spec)
		kube.CacheStrings.Strings(&p.Status)
	}
	return obj, nil
}

// internMeta shares what a fleet's objects have in common of their
// metadata: namespace, labels and annotations.
func internMeta(m *metav1.ObjectMeta) {
	in := kube.CacheStrings
	m.Namespace, m.Labels, m.Annotations = in.String(m.Namespace), in.Map(m.Labels), in.Map(m.Annotations)
}

// TrimDeployment, the cache's transform of Deployments, drops what no
// cached read uses: managedFields everywhere, and from every Deployment but
// a Release's variants the pod template, the rollout strategy, the
// annotations (kubectl's last-applied copy among them) and the status
// conditions. The template is more than half of a cached Deployment, and
// the cache holds every Deployment of the cluster while ScalingPolicies
// read only identity, labels, replicas, selector and status.replicas. What
// does read the rest reads whole objects: the Release controller gets its
// target from the API server (ReleaseReconciler.Targets) and keeps its
// variants, which it updates, whole in the cache. Nothing writes a trimmed
// Deployment back: replicas change through the scale subresource.
func TrimDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	d.ManagedFields = nil
	if _, variant := d.Labels[ReleaseLabel]; variant {
		return d, nil
	}
	d.Spec.Template = corev1.PodTemplateSpec{}
	d.Spec.Strategy = appsv1.DeploymentStrategy{}
	d.Annotations = nil
	d.Status.Conditions = nil
	internMeta(&d.ObjectMeta)
	kube.CacheStrings.Strings(d.Spec.Selector)
	return d, nil
}

// TrimStatefulSet, the cache's transform of StatefulSets, keeps what a
// ScalingPolicy reads (identity, labels, replicas, selector and
// status.replicas), as TrimDeployment does for Deployments. The pod and
// volume claim templates are most of a StatefulSet; nothing writes a cached
// one back: replicas change through the scale subresource.
func TrimStatefulSet(obj any) (any, error) {
	s, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	s.ManagedFields = nil
	s.Annotations = nil
	s.Spec.Template = corev1.PodTemplateSpec{}
	s.Spec.VolumeClaimTemplates = nil
	s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{}
	s.Status.Conditions = nil
	internMeta(&s.ObjectMeta)
	kube.CacheStrings.Strings(s.Spec.Selector)
	return s, nil
}

// TrimHorizontalPodAutoscaler, the cache's transform of HPAs, keeps what
// hasHPA reads: identity, labels and spec.scaleTargetRef. The metrics, the
// behavior and the status (current metrics, conditions) are most of an
// HPA, and kubectl's last-applied copy in the annotations as much again;
// the cache holds every HPA of the cluster, and nothing writes one.
func TrimHorizontalPodAutoscaler(obj any) (any, error) {
	h, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	h.ManagedFields = nil
	h.Annotations = nil
	h.Spec = autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: h.Spec.ScaleTargetRef}
	h.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	internMeta(&h.ObjectMeta)
	kube.CacheStrings.Strings(&h.Spec.ScaleTargetRef)
	return h, nil
}

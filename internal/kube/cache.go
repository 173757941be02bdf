package kube

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions is the informer cache of the controller process: every
// object without managedFields (often a third of an object, and nothing
// here reads them), pods reduced by SlimPod, and only the given namespaces
// when any are given.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject:         map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: SlimPod}},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// SlimPod keeps of a pod what trimtab reads: identity, labels, the
// prometheus.io annotations and owners; the containers' names, ports and
// requests (and those of sidecars, restartable init containers, whose
// requests the HPA counts); pod-level requests; phase, IP, start time and
// the conditions' type, status and transition time. Pods are most of what
// the cache holds (a fleet of 10,000 ScalingPolicies watches 20,000 or
// more), and their env, volumes, probes, tolerations and container
// statuses are most of each pod.
//
// A slim pod must never be written back; nothing in trimtab writes pods.
func SlimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	slim := &corev1.Pod{TypeMeta: pod.TypeMeta, ObjectMeta: slimMeta(pod.ObjectMeta)}
	for _, c := range pod.Spec.Containers {
		slim.Spec.Containers = append(slim.Spec.Containers, slimContainer(c))
	}
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			sc := slimContainer(c)
			sc.RestartPolicy = c.RestartPolicy
			slim.Spec.InitContainers = append(slim.Spec.InitContainers, sc)
		}
	}
	if r := pod.Spec.Resources; r != nil && r.Requests != nil {
		slim.Spec.Resources = &corev1.ResourceRequirements{Requests: cloneRequests(r.Requests)}
	}
	slim.Status = corev1.PodStatus{Phase: pod.Status.Phase, PodIP: strings.Clone(pod.Status.PodIP), StartTime: pod.Status.StartTime.DeepCopy()}
	for _, c := range pod.Status.Conditions {
		slim.Status.Conditions = append(slim.Status.Conditions,
			corev1.PodCondition{Type: c.Type, Status: c.Status, LastTransitionTime: c.LastTransitionTime})
	}
	return slim, nil
}

// slimMeta and slimContainer copy what they keep, strings included: a
// kept string or map of the decoded pod would pin the memory around it,
// which the rest of the pod, now garbage, shares.
func slimMeta(m metav1.ObjectMeta) metav1.ObjectMeta {
	out := metav1.ObjectMeta{
		Name: strings.Clone(m.Name), Namespace: strings.Clone(m.Namespace), UID: types.UID(strings.Clone(string(m.UID))),
		ResourceVersion: strings.Clone(m.ResourceVersion), Generation: m.Generation,
		CreationTimestamp: m.CreationTimestamp, DeletionTimestamp: m.DeletionTimestamp.DeepCopy(),
		Labels:      cloneStrings(m.Labels, func(string) bool { return true }),
		Annotations: cloneStrings(m.Annotations, func(k string) bool { return strings.HasPrefix(k, "prometheus.io/") }),
	}
	for _, o := range m.OwnerReferences {
		out.OwnerReferences = append(out.OwnerReferences, metav1.OwnerReference{
			APIVersion: strings.Clone(o.APIVersion), Kind: strings.Clone(o.Kind), Name: strings.Clone(o.Name),
			UID: types.UID(strings.Clone(string(o.UID))), Controller: cloneBool(o.Controller),
		})
	}
	return out
}

func cloneStrings(m map[string]string, keep func(string) bool) map[string]string {
	var out map[string]string
	for k, v := range m {
		if keep(k) {
			if out == nil {
				out = make(map[string]string, len(m))
			}
			out[strings.Clone(k)] = strings.Clone(v)
		}
	}
	return out
}

func cloneBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	c := *b
	return &c
}

func cloneRequests(rl corev1.ResourceList) corev1.ResourceList {
	if rl == nil {
		return nil
	}
	out := make(corev1.ResourceList, len(rl))
	for name, q := range rl {
		// A quantity rebuilt from its value holds no decoded string.
		out[corev1.ResourceName(strings.Clone(string(name)))] = *resource.NewMilliQuantity(q.MilliValue(), q.Format)
	}
	return out
}

func slimContainer(c corev1.Container) corev1.Container {
	out := corev1.Container{Name: strings.Clone(c.Name), Resources: corev1.ResourceRequirements{Requests: cloneRequests(c.Resources.Requests)}}
	for _, p := range c.Ports {
		out.Ports = append(out.Ports, corev1.ContainerPort{Name: strings.Clone(p.Name), ContainerPort: p.ContainerPort, Protocol: p.Protocol})
	}
	return out
}

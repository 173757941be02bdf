package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// LeanPod is what trimtab reads of a pod, decoded from the API server's
// JSON straight into these few fields: identity, labels, the prometheus.io
// annotations and owners; the containers' names, ports and requests, and
// those of sidecars (restartable init containers, whose requests the HPA
// counts); pod-level requests and overhead; phase, IP, start time and the Ready
// condition. Pods are most of what a large fleet's cache would hold
// (10,000 ScalingPolicies watch 20,000 or more), and a corev1.Pod with one
// container costs about 1.6 KB before its maps and strings even when it is
// nearly empty; a LeanPod about 460 bytes, and none of the env, volumes,
// probes or statuses that fill real pods.
//
// LeanPods come from their own cache (AddLeanPodCache) and are read-only:
// nothing in trimtab writes pods.
type LeanPod struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              LeanPodSpec   `json:"spec,omitempty"`
	Status            LeanPodStatus `json:"status,omitempty"`
}

// LeanPodList is a list of LeanPods.
type LeanPodList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LeanPod `json:"items"`
}

// LeanPodSpec is the part of a pod's spec trimtab reads.
type LeanPodSpec struct {
	Containers []LeanContainer `json:"containers,omitempty"`
	// InitContainers holds only sidecars (restartPolicy Always), unless
	// the pod sets pod-level requests: the HPA then reads the pod's
	// requests as the scheduler does, and an init container can set them.
	InitContainers []LeanContainer `json:"initContainers,omitempty"`
	// Requests are the pod-level requests (spec.resources.requests).
	Resources *LeanResources `json:"resources,omitempty"`
	// Overhead is the RuntimeClass's overhead, which counts with pod-level
	// requests.
	Overhead MilliRequests `json:"overhead,omitempty"`
}

// HasPodRequests is whether the pod sets pod-level requests.
func (s *LeanPodSpec) HasPodRequests() bool {
	return s.Resources != nil && len(s.Resources.Requests) > 0
}

// LeanContainer is a container's name, ports and requests.
type LeanContainer struct {
	Name          string                         `json:"name"`
	Ports         []LeanPort                     `json:"ports,omitempty"`
	Resources     LeanResources                  `json:"resources,omitempty"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy,omitempty"`
}

// LeanPort is a named container port.
type LeanPort struct {
	Name          string `json:"name,omitempty"`
	ContainerPort int32  `json:"containerPort"`
}

// LeanResources are a container's or a pod's requests.
type LeanResources struct {
	Requests MilliRequests `json:"requests,omitempty"`
}

// MilliRequests are requests in milli-units (millicores, millibytes), as
// the HPA reads them, sorted by name.
type MilliRequests []MilliRequest

// MilliRequest is one resource's request.
type MilliRequest struct {
	Name  corev1.ResourceName
	Milli int64
}

// UnmarshalJSON reads the API's map of quantities.
func (m *MilliRequests) UnmarshalJSON(b []byte) error {
	var raw map[corev1.ResourceName]resource.Quantity
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("requests: %w", err)
	}
	*m = (*m)[:0]
	for name, q := range raw {
		*m = append(*m, MilliRequest{Name: name, Milli: q.MilliValue()})
	}
	slices.SortFunc(*m, func(a, b MilliRequest) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return nil
}

// MarshalJSON writes the API's map of quantities.
func (m MilliRequests) MarshalJSON() ([]byte, error) {
	raw := make(map[corev1.ResourceName]*resource.Quantity, len(m))
	for _, r := range m {
		raw[r.Name] = resource.NewMilliQuantity(r.Milli, resource.DecimalSI)
	}
	return json.Marshal(raw)
}

// LeanPodStatus is the part of a pod's status trimtab reads.
type LeanPodStatus struct {
	Phase     corev1.PodPhase `json:"phase,omitempty"`
	PodIP     string          `json:"podIP,omitempty"`
	StartTime *metav1.Time    `json:"startTime,omitempty"`
	// Conditions holds only the Ready condition.
	Conditions []LeanPodCondition `json:"conditions,omitempty"`
}

// LeanPodCondition is a condition's type, status and transition time.
type LeanPodCondition struct {
	Type               corev1.PodConditionType `json:"type"`
	Status             corev1.ConditionStatus  `json:"status"`
	LastTransitionTime metav1.Time             `json:"lastTransitionTime,omitempty"`
}

// Ready is the pod's Ready condition, nil when it has none.
func (p *LeanPod) Ready() *LeanPodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == corev1.PodReady {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// LeanPodScheme maps the core API's Pod and PodList to LeanPod and
// LeanPodList, for the lean pod cache's decoder.
func LeanPodScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	gv := corev1.SchemeGroupVersion
	s.AddKnownTypeWithName(gv.WithKind("Pod"), &LeanPod{})
	s.AddKnownTypeWithName(gv.WithKind("PodList"), &LeanPodList{})
	metav1.AddToGroupVersion(s, gv)
	return s
}

// leanPodConfig asks the API server for JSON: LeanPod has no protobuf
// decoder, and JSON's unknown fields are skipped without being kept.
func leanPodConfig(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.ContentType = runtime.ContentTypeJSON
	cfg.AcceptContentTypes = runtime.ContentTypeJSON
	return cfg
}

// AddLeanPodCache adds an informer cache of LeanPods, in the given
// namespaces or all, to mgr, which runs it.
func AddLeanPodCache(mgr manager.Manager, namespaces []string) (cache.Cache, error) {
	opts := CacheOptions(namespaces)
	opts.Scheme, opts.DefaultTransform = LeanPodScheme(), TrimLeanPod
	c, err := cache.New(leanPodConfig(mgr.GetConfig()), opts)
	if err == nil {
		err = mgr.Add(c)
	}
	if err == nil {
		// Registered now, the informer starts with the cache instead of at
		// the first read, which would then wait for the whole list. Not
		// blocking, the call does not use its context.
		_, err = c.GetInformer(context.Background(), &LeanPod{}, cache.BlockUntilSynced(false))
	}
	if err != nil {
		return nil, fmt.Errorf("lean pod cache: %w", err)
	}
	return c, nil
}

// NewLeanPodReader reads LeanPods straight from the API server, without a
// cache (tests and one-off commands).
func NewLeanPodReader(cfg *rest.Config) (client.Reader, error) {
	c, err := client.New(leanPodConfig(cfg), client.Options{Scheme: LeanPodScheme()})
	if err != nil {
		return nil, fmt.Errorf("lean pod reader: %w", err)
	}
	return c, nil
}

// TrimLeanPod, the lean pod cache's transform, drops what decoding kept that trimtab does not read:
// managedFields, finalizers, annotations other than prometheus.io/*,
// init containers that are not sidecars (unless the pod sets pod-level
// requests), and conditions other than Ready. It shares the strings pods
// have in common through CacheStrings: namespace, labels, owners' kinds,
// prometheus.io annotations, container and port names, phase and Ready's
// status.
func TrimLeanPod(obj any) (any, error) {
	p, ok := obj.(*LeanPod)
	if !ok {
		return obj, nil // a DeletedFinalStateUnknown tombstone
	}
	p.ManagedFields, p.Finalizers, p.GenerateName = nil, nil, ""
	for k := range p.Annotations {
		if !strings.HasPrefix(k, "prometheus.io/") {
			delete(p.Annotations, k)
		}
	}
	if len(p.Annotations) == 0 {
		p.Annotations = nil
	}
	if !p.Spec.HasPodRequests() {
		p.Spec.InitContainers = slices.DeleteFunc(p.Spec.InitContainers, func(c LeanContainer) bool {
			return c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways
		})
	}
	if len(p.Spec.InitContainers) == 0 {
		p.Spec.InitContainers = nil
	}
	if r := p.Ready(); r != nil {
		p.Status.Conditions = []LeanPodCondition{*r}
	} else {
		p.Status.Conditions = nil
	}

	in := CacheStrings
	p.Namespace, p.Labels, p.Annotations = in.String(p.Namespace), in.Map(p.Labels), in.Map(p.Annotations)
	for i := range p.OwnerReferences {
		o := &p.OwnerReferences[i]
		o.APIVersion, o.Kind = in.String(o.APIVersion), in.String(o.Kind)
	}
	in.Strings(&p.Spec)
	p.Status.Phase = corev1.PodPhase(in.String(string(p.Status.Phase)))
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		c.Type, c.Status = corev1.PodConditionType(in.String(string(c.Type))), corev1.ConditionStatus(in.String(string(c.Status)))
	}
	return p, nil
}

// DeepCopyObject implements runtime.Object.
func (p *LeanPod) DeepCopyObject() runtime.Object { return p.DeepCopy() }

// DeepCopy copies the pod.
func (p *LeanPod) DeepCopy() *LeanPod {
	if p == nil {
		return nil
	}
	out := &LeanPod{TypeMeta: p.TypeMeta}
	p.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Containers = copyContainers(p.Spec.Containers)
	out.Spec.InitContainers = copyContainers(p.Spec.InitContainers)
	if r := p.Spec.Resources; r != nil {
		out.Spec.Resources = &LeanResources{Requests: slices.Clone(r.Requests)}
	}
	out.Spec.Overhead = slices.Clone(p.Spec.Overhead)
	out.Status = LeanPodStatus{Phase: p.Status.Phase, PodIP: p.Status.PodIP, StartTime: p.Status.StartTime.DeepCopy(),
		Conditions: slices.Clone(p.Status.Conditions)}
	return out
}

func copyContainers(cs []LeanContainer) []LeanContainer {
	if cs == nil {
		return nil
	}
	out := make([]LeanContainer, len(cs))
	for i, c := range cs {
		out[i] = LeanContainer{Name: c.Name, Ports: slices.Clone(c.Ports), Resources: LeanResources{Requests: slices.Clone(c.Resources.Requests)}}
		if c.RestartPolicy != nil {
			rp := *c.RestartPolicy
			out[i].RestartPolicy = &rp
		}
	}
	return out
}

// DeepCopyObject implements runtime.Object.
func (l *LeanPodList) DeepCopyObject() runtime.Object {
	if l == nil {
		return nil
	}
	out := &LeanPodList{TypeMeta: l.TypeMeta}
	l.ListMeta.DeepCopyInto(&out.ListMeta)
	if l.Items != nil {
		out.Items = make([]LeanPod, len(l.Items))
		for i := range l.Items {
			out.Items[i] = *l.Items[i].DeepCopy()
		}
	}
	return out
}

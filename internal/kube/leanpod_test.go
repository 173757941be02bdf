package kube_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/utils/ptr"

	"github.com/trimtab/trimtab/internal/kube"
)

// TestLeanPod decodes pods as the lean pod cache does: the API server's
// JSON through the lean scheme's codec, then the cache's transform.
func TestLeanPod(t *testing.T) {
	started := metav1.NewTime(time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC))
	deleting := metav1.NewTime(started.Add(time.Hour))
	requests := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")}
	full := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-5d8f7-abcde", Namespace: "shop", UID: "u1", ResourceVersion: "42", Generation: 1,
			CreationTimestamp: started, DeletionTimestamp: &deleting,
			Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f7"},
			Annotations: map[string]string{
				"prometheus.io/port": "9102", "prometheus.io/path": "/m", "prometheus.io/scheme": "https",
				"kubectl.kubernetes.io/last-applied-configuration": `{"a very":"long document"}`,
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7", UID: "rs"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
			Finalizers:      []string{"example.com/keep"},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name: "app", Image: "example.invalid/web:1", Command: []string{"/web"},
				Env:            []corev1.EnvVar{{Name: "SECRET_URL", Value: "postgres://u:p@db"}},
				Ports:          []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9102, Protocol: corev1.ProtocolTCP, HostPort: 80}},
				Resources:      corev1.ResourceRequirements{Requests: requests, Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready"}}},
			}},
			InitContainers: []corev1.Container{
				{Name: "migrate", Image: "example.invalid/migrate:1", Resources: corev1.ResourceRequirements{Requests: requests}},
				{Name: "proxy", Image: "example.invalid/proxy:1", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
			},
			Resources:   &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
			Overhead:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")},
			Volumes:     []corev1.Volume{{Name: "data"}},
			NodeName:    "node-1",
			Tolerations: []corev1.Toleration{{Key: "k"}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.7", PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}}, HostIP: "192.168.1.1", StartTime: &started,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: started,
				Reason: "ContainersNotReady", Message: "containers with unready status: [app]", LastProbeTime: started}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", RestartCount: 3}},
		},
	}
	started.Time = started.Time.Local() // as JSON decodes it
	cases := []struct {
		name string
		pod  *corev1.Pod
		want kube.LeanPod
	}{
		{
			name: "a pod keeps what the scaler and the scrape provider read", pod: full,
			want: kube.LeanPod{
				TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
				ObjectMeta: metav1.ObjectMeta{
					Name: "web-5d8f7-abcde", Namespace: "shop", UID: "u1", ResourceVersion: "42", Generation: 1,
					CreationTimestamp: started, DeletionTimestamp: &metav1.Time{Time: deleting.Time.Local()},
					Labels:          map[string]string{"app": "web", "pod-template-hash": "5d8f7"},
					Annotations:     map[string]string{"prometheus.io/port": "9102", "prometheus.io/path": "/m", "prometheus.io/scheme": "https"},
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7", UID: "rs"}},
				},
				Spec: kube.LeanPodSpec{
					Containers: []kube.LeanContainer{{Name: "app", Ports: []kube.LeanPort{{Name: "metrics", ContainerPort: 9102}},
						Resources: kube.LeanResources{Requests: kube.MilliRequests{{Name: "cpu", Milli: 250}, {Name: "memory", Milli: 64 << 20 * 1000}}}}},
					// With pod-level requests, an init container can set
					// the pod's requests: it is kept.
					InitContainers: []kube.LeanContainer{
						{Name: "migrate", Resources: kube.LeanResources{Requests: kube.MilliRequests{{Name: "cpu", Milli: 250}, {Name: "memory", Milli: 64 << 20 * 1000}}}},
						{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
							Resources: kube.LeanResources{Requests: kube.MilliRequests{{Name: "cpu", Milli: 50}}}}},
					Resources: &kube.LeanResources{Requests: kube.MilliRequests{{Name: "cpu", Milli: 2000}}},
					Overhead:  kube.MilliRequests{{Name: "cpu", Milli: 10}},
				},
				Status: kube.LeanPodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.7", StartTime: &started,
					Conditions: []kube.LeanPodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: started}}},
			},
		},
		{
			name: "without pod-level requests only sidecars of the init containers are kept",
			pod: &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec: corev1.PodSpec{InitContainers: full.Spec.InitContainers}},
			want: kube.LeanPod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"},
				Spec: kube.LeanPodSpec{InitContainers: []kube.LeanContainer{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
					Resources: kube.LeanResources{Requests: kube.MilliRequests{{Name: "cpu", Milli: 50}}}}}}},
		},
		{
			name: "a bare pod", pod: &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"}},
			want: kube.LeanPod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p"}},
		},
	}
	codecs := serializer.NewCodecFactory(kube.LeanPodScheme())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.pod)
			require.NoError(t, err)
			obj, err := runtime.Decode(codecs.UniversalDeserializer(), data)
			require.NoError(t, err)
			lean, ok := obj.(*kube.LeanPod)
			require.True(t, ok, "decoded a %T", obj)
			trimmed, err := kube.TrimLeanPod(lean)
			require.NoError(t, err)
			require.Equal(t, &tc.want, trimmed)
			require.Equal(t, lean, lean.DeepCopyObject(), "a deep copy is equal")
		})
	}
}

func TestMilliRequestsRoundTrip(t *testing.T) {
	in := kube.MilliRequests{{Name: "cpu", Milli: 1500}, {Name: "memory", Milli: 128 << 20 * 1000}}
	data, err := json.Marshal(in)
	require.NoError(t, err)
	require.JSONEq(t, `{"cpu":"1500m","memory":"134217728"}`, string(data))
	var out kube.MilliRequests
	require.NoError(t, json.Unmarshal(data, &out))
	require.Equal(t, in, out)
	require.ErrorContains(t, json.Unmarshal([]byte(`{"cpu":"lots"}`), &out), "requests:")
}

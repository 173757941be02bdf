package kube_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/trimtab/trimtab/internal/kube"
)

func TestSlimPod(t *testing.T) {
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
	want := &corev1.Pod{
		TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{
			Name: "web-5d8f7-abcde", Namespace: "shop", UID: "u1", ResourceVersion: "42", Generation: 1,
			CreationTimestamp: started, DeletionTimestamp: &deleting,
			Labels:          map[string]string{"app": "web", "pod-template-hash": "5d8f7"},
			Annotations:     map[string]string{"prometheus.io/port": "9102", "prometheus.io/path": "/m", "prometheus.io/scheme": "https"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d8f7", UID: "rs"}},
		},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: 9102, Protocol: corev1.ProtocolTCP}},
				Resources: corev1.ResourceRequirements{Requests: requests}}},
			InitContainers: []corev1.Container{{Name: "proxy", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}}},
			Resources: &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.7", StartTime: &started,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: started}},
		},
	}
	tombstone := cache.DeletedFinalStateUnknown{Key: "shop/web", Obj: full}

	cases := []struct {
		name string
		in   any
		want any
	}{
		{name: "a pod keeps what the scaler and the scrape provider read", in: full, want: want},
		{name: "a pod without annotations, init containers or pod-level requests", in: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}},
			want: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}},
		{name: "a tombstone passes unchanged", in: tombstone, want: tombstone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kube.SlimPod(tc.in)
			require.NoError(t, err)
			// Semantic: a kept request is rebuilt from its value.
			require.Truef(t, equality.Semantic.DeepEqual(tc.want, got), "want %+v\n got %+v", tc.want, got)
		})
	}
	require.Len(t, full.Spec.Containers[0].Env, 1, "the informer's object is not modified")
}

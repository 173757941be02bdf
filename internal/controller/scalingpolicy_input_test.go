package controller_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/utils/ptr"

	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/scaler"
)

// TestPodRequests checks the requests the scaler reads of a pod as the
// lean pod cache holds it (the API server's JSON, decoded and trimmed):
// the containers' and sidecars' for the HPA's sum, and with pod-level
// requests the pod's requests as upstream's HPA reads them.
func TestPodRequests(t *testing.T) {
	q := resource.MustParse
	container := func(name string, rl corev1.ResourceList) corev1.Container {
		return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: rl}}
	}
	sidecar := func(name string, rl corev1.ResourceList) corev1.Container {
		c := container(name, rl)
		c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		return c
	}
	cpu := func(v string) corev1.ResourceList { return corev1.ResourceList{corev1.ResourceCPU: q(v)} }
	cases := []struct {
		name           string
		spec           corev1.PodSpec
		wantContainers []scaler.Container
		wantPod        scaler.Requests
	}{
		{
			name: "without pod-level requests the containers and sidecars are summed",
			spec: corev1.PodSpec{
				Containers:     []corev1.Container{container("app", cpu("500m"))},
				InitContainers: []corev1.Container{container("migrate", cpu("2")), sidecar("proxy", cpu("100m"))},
			},
			wantContainers: []scaler.Container{{Name: "app", Requests: scaler.Requests{{Resource: "cpu", Milli: 500}}}, {Name: "proxy", Requests: scaler.Requests{{Resource: "cpu", Milli: 100}}}},
		},
		{
			name: "a pod-level cpu request leaves memory to the containers",
			spec: corev1.PodSpec{
				Resources:  &corev1.ResourceRequirements{Requests: cpu("2")},
				Containers: []corev1.Container{container("app", corev1.ResourceList{corev1.ResourceMemory: q("64Mi")})},
			},
			wantContainers: []scaler.Container{{Name: "app", Requests: scaler.Requests{{Resource: "memory", Milli: 64 << 20 * 1000}}}},
			wantPod:        scaler.Requests{{Resource: "memory", Milli: 64 << 20 * 1000}, {Resource: "cpu", Milli: 2000}},
		},
		{
			name: "with pod-level requests an init container's peak and the overhead count",
			spec: corev1.PodSpec{
				Resources:      &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: q("1Gi")}},
				Containers:     []corev1.Container{container("app", cpu("300m"))},
				InitContainers: []corev1.Container{sidecar("proxy", cpu("100m")), container("migrate", cpu("800m"))},
				Overhead:       cpu("50m"),
			},
			wantContainers: []scaler.Container{{Name: "app", Requests: scaler.Requests{{Resource: "cpu", Milli: 300}}}, {Name: "proxy", Requests: scaler.Requests{{Resource: "cpu", Milli: 100}}}},
			wantPod:        scaler.Requests{{Resource: "cpu", Milli: 950}, {Resource: "memory", Milli: 1 << 30 * 1000}},
		},
	}
	codecs := serializer.NewCodecFactory(kube.LeanPodScheme())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{Kind: "Pod", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "p0"}, Spec: tc.spec}
			data, err := json.Marshal(pod)
			require.NoError(t, err)
			obj, err := runtime.Decode(codecs.UniversalDeserializer(), data)
			require.NoError(t, err)
			trimmed, err := kube.TrimLeanPod(obj)
			require.NoError(t, err)
			got := controller.PodsOf([]kube.LeanPod{*trimmed.(*kube.LeanPod)})
			require.Len(t, got, 1)
			require.Equal(t, tc.wantContainers, got[0].Containers)
			if tc.wantPod == nil {
				require.Nil(t, got[0].PodRequests)
				return
			}
			require.ElementsMatch(t, tc.wantPod, got[0].PodRequests)
		})
	}
}

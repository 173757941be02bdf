package controller_test

import (
	"encoding/json"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/controller"
)

func TestTrimDeployment(t *testing.T) {
	deployment := func(labels map[string]string) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: labels,
				Annotations: map[string]string{
					"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"apps/v1","kind":"Deployment"}`,
					"team": "checkout",
				},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/web:2"}}}}},
			Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 3, Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable", Message: "Deployment has minimum availability."}}},
		}
	}
	for _, tc := range []struct {
		name string
		in   *appsv1.Deployment
		want func(*appsv1.Deployment) // the trimmed object, made from a copy of in
	}{
		{
			name: "a user's Deployment keeps identity, labels, replicas, selector and status counts",
			in:   deployment(map[string]string{"app": "web"}),
			want: func(d *appsv1.Deployment) {
				d.ManagedFields = nil
				d.Spec.Template = corev1.PodTemplateSpec{}
				d.Spec.Strategy = appsv1.DeploymentStrategy{}
				d.Annotations = nil
				d.Status.Conditions = nil
			},
		},
		{
			name: "a Release's variant stays whole but for managedFields: its template is updated from the cache",
			in:   deployment(map[string]string{"app": "web", controller.ReleaseLabel: "web"}),
			want: func(d *appsv1.Deployment) { d.ManagedFields = nil },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.in.DeepCopy()
			tc.want(want)
			got, err := controller.TrimDeployment(tc.in)
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
	t.Run("a tombstone passes as it is", func(t *testing.T) {
		tomb := toolscache.DeletedFinalStateUnknown{Key: "shop/web", Obj: deployment(nil)}
		got, err := controller.TrimDeployment(tomb)
		require.NoError(t, err)
		require.Equal(t, tomb, got)
	})
}

func TestTrimScalingPolicy(t *testing.T) {
	pol := &trimtabv1.ScalingPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
			Annotations: map[string]string{
				"kubectl.kubernetes.io/last-applied-configuration": `{"apiVersion":"trimtab.dev/v1alpha1","kind":"ScalingPolicy"}`,
				"team": "checkout",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec:   trimtabv1.ScalingPolicySpec{TargetRef: trimtabv1.ScaleTargetRef{Name: "web"}, MaxReplicas: 10},
		Status: trimtabv1.ScalingPolicyStatus{CurrentReplicas: 3, DesiredReplicas: 4},
	}
	// As JSON decoding leaves them: five conditions with room for eight.
	pol.Status.Conditions = make([]metav1.Condition, 0, 8)
	for _, typ := range []string{"Ready", "AbleToScale", "ScalingActive", "ScalingLimited", "Forecasting"} {
		pol.Status.Conditions = append(pol.Status.Conditions, metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: "R", Message: "m"})
	}
	want := pol.DeepCopy()
	want.ManagedFields = nil
	want.Annotations = map[string]string{"team": "checkout"}
	requireTrims(t, controller.TrimScalingPolicy, pol, want, "spec, status and the user's own annotations must stay")
	require.Equal(t, 5, cap(pol.Status.Conditions), "the conditions' spare room stays in the cache")

	t.Run("policies decoded apart share their equal strings", func(t *testing.T) {
		raw, err := json.Marshal(want)
		require.NoError(t, err)
		var a, b trimtabv1.ScalingPolicy
		require.NoError(t, json.Unmarshal(raw, &a))
		require.NoError(t, json.Unmarshal(raw, &b))
		for _, p := range []*trimtabv1.ScalingPolicy{&a, &b} {
			_, err := controller.TrimScalingPolicy(p)
			require.NoError(t, err)
		}
		require.Equal(t, want.Spec, a.Spec)
		for name, pair := range map[string][2]string{
			"namespace":         {a.Namespace, b.Namespace},
			"annotation":        {a.Annotations["team"], b.Annotations["team"]},
			"spec":              {a.Spec.TargetRef.Name, b.Spec.TargetRef.Name},
			"condition message": {a.Status.Conditions[4].Message, b.Status.Conditions[4].Message},
		} {
			require.Equal(t, unsafe.StringData(pair[0]), unsafe.StringData(pair[1]), name)
		}
	})
}

// requireTrims checks that trim turns in into want, and passes a tombstone
// of in as it is.
func requireTrims(t *testing.T, trim func(any) (any, error), in, want any, msg string) {
	t.Helper()
	tomb := toolscache.DeletedFinalStateUnknown{Key: "shop/x", Obj: in}
	got, err := trim(in)
	require.NoError(t, err)
	require.Equal(t, want, got, msg)
	got, err = trim(tomb)
	require.NoError(t, err)
	require.Equal(t, tomb, got)
}

func TestTrimStatefulSet(t *testing.T) {
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db", Labels: map[string]string{"app": "db"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"StatefulSet"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			ServiceName:          "db",
			UpdateStrategy:       appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Template:             corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "db", Image: "example.invalid/db:1"}}}},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{ObjectMeta: metav1.ObjectMeta{Name: "data"}}}},
		Status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2, Conditions: []appsv1.StatefulSetCondition{{Type: "Ready"}}},
	}
	want := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db", Labels: map[string]string{"app": "db"}},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			ServiceName: "db"},
		Status: appsv1.StatefulSetStatus{Replicas: 3, ReadyReplicas: 2},
	}
	requireTrims(t, controller.TrimStatefulSet, sts, want, "identity, labels, replicas, selector and status counts must stay")
}

func TestTrimHorizontalPodAutoscaler(t *testing.T) {
	target := autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": `{"kind":"HorizontalPodAutoscaler"}`},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target, MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}},
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](300)}}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: 3, DesiredReplicas: 3,
			Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{{Type: autoscalingv2.AbleToScale, Status: corev1.ConditionTrue, Reason: "ReadyForNewScale"}}},
	}
	want := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"}},
		Spec:       autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: target},
	}
	requireTrims(t, controller.TrimHorizontalPodAutoscaler, hpa, want, "identity, labels and the workload it scales must stay")
}

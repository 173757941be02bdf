package controller

import (
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trimtab/trimtab/scaler/release/router"
)

func TestRolledOut(t *testing.T) {
	cases := []struct {
		name   string
		status appsv1.DeploymentStatus
		want   bool
	}{
		{"every pod updated, ready and available", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}, true},
		{"the controller has not seen the spec", appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 3, AvailableReplicas: 3}, false},
		{"an updated pod not ready yet", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 3, ReadyReplicas: 2, AvailableReplicas: 2}, false},
		{"too few updated pods", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 3, AvailableReplicas: 3}, false},
		// Three new pods ready, one old pod still running (maxSurge): it
		// still serves the old version.
		{"an old pod pending termination", appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 4, UpdatedReplicas: 3, ReadyReplicas: 4, AvailableReplicas: 4}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Status: tc.status}
			require.Equal(t, tc.want, rolledOut(d, 3))
		})
	}
}

func TestTargetSizes(t *testing.T) {
	deploy := func(replicas, ready int32) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &replicas}, Status: appsv1.DeploymentStatus{ReadyReplicas: ready}}
	}
	// The replicas router at 25 % with a baseline, total 4: primary 2,
	// canary 1, baseline 1; then all traffic back to a primary of 4.
	back := router.Split{Primary: 4}
	cases := []struct {
		name       string
		rolledBack bool
		primary    *appsv1.Deployment
		canary     *appsv1.Deployment // nil: 1 replica, ready
		want       map[string]int32
	}{
		{"a rollback stops the canary at once and holds the baseline while the primary grows", true, deploy(2, 2), nil,
			map[string]int32{router.Primary: 4, router.Canary: 0, router.Baseline: 1}},
		{"the baseline goes once the primary is ready", true, deploy(4, 4), nil,
			map[string]int32{router.Primary: 4, router.Canary: 0, router.Baseline: 0}},
		{"a promotion holds the canary too", false, deploy(2, 2), nil,
			map[string]int32{router.Primary: 4, router.Canary: 1, router.Baseline: 1}},
		// The last reconcile scaled the canary from 3 to 1 as the primary
		// had 3 ready pods; its status still shows the 3 it had. Those
		// count as 1: counted as 3, the canary and the baseline would go
		// with the primary one pod short.
		{"a status that lags a scale-down counts only the pods kept", false, deploy(4, 3), deploy(1, 3),
			map[string]int32{router.Primary: 4, router.Canary: 0, router.Baseline: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			canary := tc.canary
			if canary == nil {
				canary = deploy(1, 1)
			}
			variants := map[string]*appsv1.Deployment{router.Primary: tc.primary, router.Canary: canary, router.Baseline: deploy(1, 1)}
			require.Equal(t, tc.want, targetSizes(tc.rolledBack, variants, back, 4))
		})
	}
}

package controller

import (
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// EventSource is the reporting controller name on trimtab's Events.
const EventSource = "trimtab-controller"

// Setup registers every trimtab controller with mgr.
func Setup(mgr ctrl.Manager, m *Metrics) error {
	events := mgr.GetEventRecorder(EventSource)
	release := &TargetReconciler[*trimtabv1.Release]{
		Name: "release", Client: mgr.GetClient(), Events: events, Metrics: m,
		NewObject: func() *trimtabv1.Release { return &trimtabv1.Release{} },
		NewList:   func() client.ObjectList { return &trimtabv1.ReleaseList{} },
	}
	if err := release.SetupWithManager(mgr); err != nil {
		return err
	}
	policy := &TargetReconciler[*trimtabv1.ScalingPolicy]{
		Name: "scalingpolicy", Client: mgr.GetClient(), Events: events, Metrics: m,
		NewObject: func() *trimtabv1.ScalingPolicy { return &trimtabv1.ScalingPolicy{} },
		NewList:   func() client.ObjectList { return &trimtabv1.ScalingPolicyList{} },
	}
	return policy.SetupWithManager(mgr)
}

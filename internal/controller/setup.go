package controller

import (
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// EventSource is the reporting controller name on trimtab's Events.
const EventSource = "trimtab-controller"

// Deps are the edges the controllers talk through.
type Deps struct {
	Metrics   *Metrics
	Collector Collector
	// HTTPClient runs release hooks.
	HTTPClient *http.Client
	// FalseRollbackRate of a whole release (default 0.01).
	FalseRollbackRate float64
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Setup registers every trimtab controller with mgr.
func Setup(mgr ctrl.Manager, deps Deps) error {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.FalseRollbackRate == 0 {
		deps.FalseRollbackRate = 0.01
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{}
	}
	events := mgr.GetEventRecorder(EventSource)
	rel := &ReleaseReconciler{
		Client: mgr.GetClient(), Events: events, Metrics: deps.Metrics, Now: deps.Now,
		Analyst: &ReleaseAnalyst{Collector: deps.Collector, FalseRollbackRate: deps.FalseRollbackRate},
		Hooks:   &HTTPHooks{Client: deps.HTTPClient},
	}
	if err := rel.SetupWithManager(mgr); err != nil {
		return err
	}
	policy := &TargetReconciler[*trimtabv1.ScalingPolicy]{
		Name: "scalingpolicy", Client: mgr.GetClient(), Events: events, Metrics: deps.Metrics,
		NewObject: func() *trimtabv1.ScalingPolicy { return &trimtabv1.ScalingPolicy{} },
		NewList:   func() client.ObjectList { return &trimtabv1.ScalingPolicyList{} },
	}
	return policy.SetupWithManager(mgr)
}

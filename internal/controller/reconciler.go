package controller

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// fieldOwner is the field manager of every write trimtab makes.
const fieldOwner = client.FieldOwner("trimtab")

// object is a trimtab resource that references a Deployment.
type object interface {
	client.Object
	trimtabv1.Targeted
}

// TargetReconciler keeps an object's Ready condition and observedGeneration
// in step with the Deployment it references. It is the part every trimtab
// resource shares; the Release and ScalingPolicy controllers build on it.
type TargetReconciler[T object] struct {
	// Name labels metrics and logs, e.g. "release".
	Name    string
	Client  client.Client
	Events  events.EventRecorder
	Metrics *Metrics
	// NewObject and NewList return empty values of the reconciled type.
	NewObject func() T
	NewList   func() client.ObjectList
}

// Reconcile implements reconcile.Reconciler.
func (r *TargetReconciler[T]) Reconcile(ctx context.Context, req reconcile.Request) (res reconcile.Result, err error) {
	defer func(start time.Time) { r.Metrics.observe(r.Name, start, err) }(time.Now())
	obj := r.NewObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		// Deleted objects need nothing: nothing outside them exists yet.
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	_, cond, lookupErr := resolveTarget(ctx, r.Client, obj.GetNamespace(), obj.GetTargetRef(), obj.GetGeneration())
	if err := r.writeStatus(ctx, obj, cond); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{}, lookupErr
}

// writeStatus sets cond and observedGeneration through the status
// subresource, only when something changed, and records an Event when the
// condition's reason changes so users see transitions, not every tick.
func (r *TargetReconciler[T]) writeStatus(ctx context.Context, obj T, cond metav1.Condition) error {
	base := obj.DeepCopyObject().(T)
	conds := append([]metav1.Condition(nil), obj.GetConditions()...)
	previous := meta.FindStatusCondition(conds, cond.Type)
	reasonChanged := previous == nil || previous.Reason != cond.Reason
	changed := meta.SetStatusCondition(&conds, cond)
	obj.SetConditions(conds)
	obj.SetObservedGeneration(obj.GetGeneration())
	if !changed && base.GetObservedGeneration() == obj.GetGeneration() {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, obj, client.MergeFrom(base), fieldOwner); err != nil {
		return fmt.Errorf("update %s %s/%s status: %w", r.Name, obj.GetNamespace(), obj.GetName(), err)
	}
	if reasonChanged {
		eventType := corev1.EventTypeNormal
		if cond.Status != metav1.ConditionTrue {
			eventType = corev1.EventTypeWarning
		}
		r.Events.Eventf(obj, nil, eventType, cond.Reason, "Reconcile", "%s", cond.Message)
	}
	return nil
}

// SetupWithManager registers the reconciler and its watches: the object
// itself, and Deployments, mapped back to the objects that reference them.
func (r *TargetReconciler[T]) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), r.NewObject(), targetIndex, func(o client.Object) []string {
		return []string{o.(T).GetTargetRef().Name}
	}); err != nil {
		return fmt.Errorf("index %s by target: %w", r.Name, err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named(r.Name).
		For(r.NewObject()).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.referencing)).
		Complete(r)
}

// referencing maps a Deployment to the objects in its namespace that name it.
func (r *TargetReconciler[T]) referencing(ctx context.Context, d client.Object) []reconcile.Request {
	list := r.NewList()
	if err := r.Client.List(ctx, list, client.InNamespace(d.GetNamespace()), client.MatchingFields{targetIndex: d.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "list objects referencing deployment", "controller", r.Name, "deployment", d.GetName())
		return nil
	}
	var reqs []reconcile.Request
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		co := o.(client.Object)
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: co.GetNamespace(), Name: co.GetName()}})
		return nil
	})
	return reqs
}

// Package controller holds the reconcilers for trimtab's resources. Each
// follows the level-based protocol: read the object and the world, compute
// what should be, write status through the status subresource, and return
// transient errors for a rate-limited retry.
//
// ScalingPolicies are synced in cycles rather than one reconcile each: a
// leader-only runnable lists every policy from the cache each sync period,
// collects all their metrics in one Collect call (so that the providers
// batch across policies: one Prometheus request per shared query template),
// then decides with scaler.Decide and applies per policy with bounded
// concurrency. A reconciler beside it keeps the Ready condition current as
// targets, HPAs and Releases come and go. docs/autoscaling.md ("The
// controller") has the details.
package controller

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/kube"
)

// fieldOwner names trimtab as the field manager of a write, as the routers
// do: the gatewayAPI router finds its claims by that name to give them up.
const fieldOwner = kube.FieldOwner

// targetIndex is the field index from a target Deployment's name to the
// objects that reference it, so a Deployment event wakes exactly those.
const targetIndex = "spec.targetRef.name"

// resolveTarget fetches the Deployment a targetRef names and returns the
// Ready condition that describes the outcome. A missing target is not an
// error for the caller to retry: the Deployment watch brings the object back
// when it appears.
func resolveTarget(ctx context.Context, c client.Reader, namespace string, ref trimtabv1.TargetRef, generation int64) (*appsv1.Deployment, metav1.Condition, error) {
	cond := metav1.Condition{Type: trimtabv1.ConditionReady, ObservedGeneration: generation}
	if ref.Kind != "" && ref.Kind != "Deployment" {
		return nil, said(cond, metav1.ConditionFalse, trimtabv1.ReasonTargetUnsupported, "spec.targetRef.kind %q is not supported; use Deployment", ref.Kind), nil
	}
	var d appsv1.Deployment
	err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: ref.Name}, &d)
	if cond, err = lookedUp(cond, "Deployment "+namespace+"/"+ref.Name, err); cond.Status != metav1.ConditionTrue {
		return nil, cond, err
	}
	return &d, cond, nil
}

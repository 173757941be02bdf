package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// StartWorkers starts what Start runs beside its cycles, so that a
// benchmark can run every cycle itself, with none of Start's own.
func (c *ScalingPolicyController) StartWorkers(ctx context.Context) (stop func()) {
	return c.startWorkers(ctx)
}

// ErrTargetMoved is what UpdateScale returns when the replica count moved.
var ErrTargetMoved = errTargetMoved

// UpdateScale is the cycle's write of a new replica count to the object of
// kind gvk as read at resourceVersion rv, with from replicas.
func UpdateScale(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, namespace, name, rv string, from, to int32) error {
	return updateScale(ctx, c, &scaleTarget{gvk: gvk, namespace: namespace, name: name, resourceVersion: rv}, from, to)
}

// WriteStatus is the status writers' write of one policy's status.
func (c *ScalingPolicyController) WriteStatus(ctx context.Context, pol *trimtabv1.ScalingPolicy, mutate func(*trimtabv1.ScalingPolicyStatus)) error {
	return c.writeStatus(ctx, pol, mutate)
}

// QueueStatus hands a status to the writers, as a sync does.
func (c *ScalingPolicyController) QueueStatus(pol *trimtabv1.ScalingPolicy, mutate func(*trimtabv1.ScalingPolicyStatus)) {
	c.queueStatus(pol, mutate)
}

// PodsOf converts pods into what the HPA reads of them.
var PodsOf = podsOf

// NewStatusQueue creates the status queue without starting its writers, so
// that a test can queue statuses before any writer runs (a backlog).
func (c *ScalingPolicyController) NewStatusQueue() { c.status = newStatusQueue() }

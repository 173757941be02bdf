package controller

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// statusQueue coalesces the cycle's status writes per policy: a newer
// status replaces one not yet written, and writers drain the queue at the
// API server's pace. A slow API server therefore delays status, never the
// scaling decisions, and a backlog costs one pending write per policy, not
// one per cycle.
type statusQueue struct {
	q       *workqueue.Typed[types.NamespacedName]
	mu      sync.Mutex
	pending map[types.NamespacedName]func(*trimtabv1.ScalingPolicyStatus)
}

func newStatusQueue() *statusQueue {
	return &statusQueue{q: workqueue.NewTyped[types.NamespacedName](), pending: map[types.NamespacedName]func(*trimtabv1.ScalingPolicyStatus){}}
}

// put schedules mutate as the policy's next status write.
func (s *statusQueue) put(key types.NamespacedName, mutate func(*trimtabv1.ScalingPolicyStatus)) int {
	s.mu.Lock()
	s.pending[key] = mutate
	n := len(s.pending)
	s.mu.Unlock()
	s.q.Add(key)
	return n
}

func (s *statusQueue) take(key types.NamespacedName) (func(*trimtabv1.ScalingPolicyStatus), int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.pending[key]
	delete(s.pending, key)
	return m, len(s.pending)
}

// drainStatus writes queued statuses until ctx ends. A failed write is not
// retried here: the next cycle queues a fresh status anyway.
func (c *ScalingPolicyController) drainStatus(ctx context.Context) {
	for {
		key, shutdown := c.status.q.Get()
		if shutdown {
			return
		}
		mutate, backlog := c.status.take(key)
		c.Metrics.scaling.statusBacklog.Set(float64(backlog))
		if mutate != nil {
			var pol trimtabv1.ScalingPolicy
			err := c.Client.Get(ctx, key, &pol)
			if err == nil {
				err = c.writeStatus(ctx, &pol, mutate)
			}
			if client.IgnoreNotFound(err) != nil && ctx.Err() == nil {
				c.Log.Error("write scalingpolicy status", "namespace", key.Namespace, "name", key.Name, "error", err)
			}
		}
		c.status.q.Done(key)
	}
}

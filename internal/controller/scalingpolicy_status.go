package controller

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// statusQueue coalesces the cycle's status writes per policy: a newer
// status replaces one not yet written, and writers drain the queue at the
// API server's pace. A slow API server therefore delays status, never the
// scaling decisions, and a backlog costs one pending write per policy, not
// one per cycle. A failed write is retried with backoff: a policy on a long
// sync period would otherwise keep a stale status until its next sync.
type statusQueue struct {
	q       workqueue.TypedRateLimitingInterface[types.NamespacedName]
	mu      sync.Mutex
	pending map[types.NamespacedName]pendingStatus
}

// pendingStatus is a status waiting to be written, for the policy with uid:
// a policy deleted and re-created under its name meanwhile must not get it.
type pendingStatus struct {
	uid    types.UID
	mutate func(*trimtabv1.ScalingPolicyStatus)
}

func newStatusQueue() *statusQueue {
	return &statusQueue{
		q:       workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[types.NamespacedName]()),
		pending: map[types.NamespacedName]pendingStatus{},
	}
}

// retry puts back a status whose write failed, unless a newer one came
// meanwhile, and schedules it after a backoff.
func (s *statusQueue) retry(key types.NamespacedName, p pendingStatus) {
	s.mu.Lock()
	if _, newer := s.pending[key]; !newer {
		s.pending[key] = p
	}
	s.mu.Unlock()
	s.q.AddRateLimited(key)
}

// put schedules p as the policy's next status write.
func (s *statusQueue) put(key types.NamespacedName, p pendingStatus) int {
	s.mu.Lock()
	s.pending[key] = p
	n := len(s.pending)
	s.mu.Unlock()
	s.q.Add(key)
	return n
}

// empty reports whether every queued status has been taken by a writer.
func (s *statusQueue) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) == 0
}

func (s *statusQueue) take(key types.NamespacedName) (pendingStatus, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[key]
	delete(s.pending, key)
	return p, len(s.pending)
}

// statusValueWritesPerSecond budgets the status writes that only refresh
// metric values: at 10,000 policies, rewriting every status every sync
// would keep the API server writing as fast as it can (about 140 a second
// here) and every watcher of ScalingPolicies decoding each write, for
// values that /metrics already exports in real time.
const statusValueWritesPerSecond = 20

// statusValueRefresh is how often a policy synced every sync is rewritten
// when only its metric values changed: every sync for a fleet the budget
// covers, and as often as the budget allows for a larger one. It is half a
// sync period short of that: syncs fall on their period's ticks, so two of
// them can be a little less than a period apart (the later cycle woke
// sooner after its tick), and at least half a period.
func statusValueRefresh(policies int, sync time.Duration) time.Duration {
	return max(sync, time.Duration(policies)*time.Second/statusValueWritesPerSecond) - sync/2
}

// statusGist is what a status says about decisions: the generation it
// answers (tools wait for observedGeneration after an edit), each
// condition's type, status and reason, the replica counts, the failure
// count and the last scale. A change of it is written at once; values and
// messages wait for the refresh.
func statusGist(generation int64, conds []metav1.Condition, current, desired, failures int32, lastScale *metav1.Time) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(generation, 10))
	b.WriteByte(';')
	for _, c := range conds {
		b.WriteString(c.Type)
		b.WriteByte('=')
		b.WriteString(string(c.Status))
		b.WriteByte('/')
		b.WriteString(c.Reason)
		b.WriteByte(';')
	}
	for _, n := range []int32{current, desired, failures} {
		b.WriteString(strconv.Itoa(int(n)))
		b.WriteByte(';')
	}
	if lastScale != nil {
		b.WriteString(strconv.FormatInt(lastScale.Unix(), 10))
	}
	return b.String()
}

// statusDue decides whether a sync's status is queued: when its gist
// differs from the last queued one, or the value refresh has passed since.
func statusDue(lastGist, gist string, lastQueued, now time.Time, refresh time.Duration) bool {
	return lastQueued.IsZero() || gist != lastGist || now.Sub(lastQueued) >= refresh
}

// drainStatus writes queued statuses until ctx ends, retrying a failed
// write with backoff.
func (c *ScalingPolicyController) drainStatus(ctx context.Context) {
	for {
		key, shutdown := c.status.q.Get()
		if shutdown {
			return
		}
		p, backlog := c.status.take(key)
		c.Metrics.scaling.statusBacklog.Set(float64(backlog))
		if p.mutate != nil {
			var pol trimtabv1.ScalingPolicy
			err := c.Client.Get(ctx, key, &pol)
			if err == nil && pol.UID == p.uid {
				err = c.writeStatus(ctx, &pol, p.mutate)
			}
			if client.IgnoreNotFound(err) != nil && ctx.Err() == nil {
				c.Log.Error("write scalingpolicy status; retrying", "namespace", key.Namespace, "name", key.Name, "error", err)
				c.status.retry(key, p)
			} else {
				c.status.q.Forget(key)
			}
		}
		c.status.q.Done(key)
	}
}

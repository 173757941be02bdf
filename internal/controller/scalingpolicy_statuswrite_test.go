package controller_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/controller"
)

// laggingCache answers every Get with the copy it holds, as an informer
// cache that has not yet seen a write would; everything else goes to the
// API server.
type laggingCache struct {
	client.Client
	held *trimtabv1.ScalingPolicy
}

func (c laggingCache) Get(_ context.Context, _ client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	c.held.DeepCopyInto(obj.(*trimtabv1.ScalingPolicy))
	return nil
}

// statusNamespace creates a namespace for a status test's policies.
func statusNamespace(ctx context.Context, t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sp-"}}
	require.NoError(t, env.Client.Create(ctx, ns))
	return ns.Name
}

// statusPolicy creates a policy whose metric source is nowhere: no
// controller syncs it, only its status is written.
func statusPolicy(ctx context.Context, t *testing.T, namespace, name string) *trimtabv1.ScalingPolicy {
	t.Helper()
	pol := &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: trimtabv1.ScalingPolicySpec{
		TargetRef: trimtabv1.ScaleTargetRef{Name: name}, MaxReplicas: 5, Metrics: []trimtabv1.ScalingMetric{cpuMetric("http://127.0.0.1:1")}}}
	require.NoError(t, env.Client.Create(ctx, pol))
	return pol
}

// TestWriteStatusAfterAConflict: a status write that conflicts with a write
// the cache has not seen yet (the reconciler's Ready, as when a policy
// appears) succeeds on the real API server and keeps the other write. Re-read
// from a lagging cache it conflicted until the retries ran out, and a policy
// on an hourly period kept no status for an hour.
func TestWriteStatusAfterAConflict(t *testing.T) {
	ctx := context.Background()
	pol := statusPolicy(ctx, t, statusNamespace(ctx, t), "web")
	stale := pol.DeepCopy()
	meta.SetStatusCondition(&pol.Status.Conditions, metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionTrue,
		Reason: trimtabv1.ReasonTargetFound, Message: "Deployment found"})
	require.NoError(t, env.Client.Status().Update(ctx, pol))

	c := &controller.ScalingPolicyController{Client: laggingCache{Client: env.Client, held: stale}, Direct: env.Client, Log: slog.New(slog.DiscardHandler)}
	require.NoError(t, c.WriteStatus(ctx, stale, func(st *trimtabv1.ScalingPolicyStatus) { st.CurrentReplicas, st.DesiredReplicas = 3, 4 }))

	got := &trimtabv1.ScalingPolicy{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pol), got))
	require.Equal(t, int32(3), got.Status.CurrentReplicas)
	require.Equal(t, int32(4), got.Status.DesiredReplicas)
	require.NotNil(t, meta.FindStatusCondition(got.Status.Conditions, trimtabv1.ConditionReady), "the other writer's condition was lost")
}

// failingStatus fails the first status writes, as an API server that is
// briefly unreachable would; everything else goes to the API server.
type failingStatus struct {
	client.Client
	failures *atomic.Int32
}

func (c failingStatus) Status() client.SubResourceWriter {
	return failingWriter{SubResourceWriter: c.Client.Status(), failures: c.failures}
}

type failingWriter struct {
	client.SubResourceWriter
	failures *atomic.Int32
}

func (w failingWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if w.failures.Add(-1) >= 0 {
		return errors.New("injected: connection refused")
	}
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// TestStatusWriteIsRetried: a status write that fails is retried with
// backoff until it lands, without waiting for the policy's next sync,
// which for a policy on a long period may be an hour away.
func TestStatusWriteIsRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pol := statusPolicy(ctx, t, statusNamespace(ctx, t), "web")

	metrics, err := controller.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	failures := &atomic.Int32{}
	failures.Store(3)
	c := &controller.ScalingPolicyController{Client: failingStatus{Client: env.Client, failures: failures}, Direct: env.Client,
		Metrics: metrics, Log: slog.New(slog.DiscardHandler)}
	defer c.StartWorkers(ctx)()
	c.QueueStatus(pol, func(st *trimtabv1.ScalingPolicyStatus) { st.CurrentReplicas, st.DesiredReplicas = 3, 4 })

	require.Eventually(t, func() bool {
		got := &trimtabv1.ScalingPolicy{}
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(pol), got))
		return got.Status.CurrentReplicas == 3 && got.Status.DesiredReplicas == 4
	}, 10*time.Second, 50*time.Millisecond, "the status was not written after %d failures", 3)
	require.Negative(t, failures.Load(), "the write landed without failing first")
}

// TestQueuedStatusIsNotWrittenOntoARecreatedPolicy: a status waiting in the
// backlog (or in its retry backoff, up to 1,000 s) for a policy that is
// then deleted and re-created under its name (kubectl replace --force, a
// GitOps re-sync) is the old policy's: its failure count, replica counts,
// last scale and generation must not land on the new one.
func TestQueuedStatusIsNotWrittenOntoARecreatedPolicy(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := statusNamespace(ctx, t)
	old := statusPolicy(ctx, t, ns, "web")
	metrics, err := controller.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	c := &controller.ScalingPolicyController{Client: env.Client, Direct: env.Client, Metrics: metrics, Log: slog.New(slog.DiscardHandler)}
	c.NewStatusQueue()
	lastScale := metav1.NewTime(time.Now().Add(-time.Hour).Truncate(time.Second))
	c.QueueStatus(old, func(st *trimtabv1.ScalingPolicyStatus) {
		st.ObservedGeneration = 5
		st.CurrentReplicas, st.DesiredReplicas, st.ConsecutiveFailures, st.LastScaleTime = 4, 5, 7, &lastScale
	})

	require.NoError(t, env.Client.Delete(ctx, old))
	fresh := statusPolicy(ctx, t, ns, "web")
	require.NotEqual(t, old.UID, fresh.UID)
	c.StartWorkers(ctx)() // stopping drains the queue

	got := &trimtabv1.ScalingPolicy{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(fresh), got))
	require.Equal(t, trimtabv1.ScalingPolicyStatus{}, got.Status, "the deleted policy's status was written onto its successor")
}

// slowStatus delays every status write, as a busy API server does.
type slowStatus struct{ client.Client }

func (c slowStatus) Status() client.SubResourceWriter { return slowWriter{c.Client.Status()} }

type slowWriter struct{ client.SubResourceWriter }

func (w slowWriter) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	time.Sleep(200 * time.Millisecond)
	return w.SubResourceWriter.Patch(ctx, obj, patch, opts...)
}

// TestQueuedStatusesAreWrittenAtShutdown: when the leader stops, the
// statuses its last cycles queued (a scale's lastScaleTime, the failure
// count the next leader restores from status) are still written, within
// the manager's graceful shutdown, instead of failing on the stopped
// context.
func TestQueuedStatusesAreWrittenAtShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := statusNamespace(ctx, t)
	// More than the writers take at once: a backlog.
	var pols []*trimtabv1.ScalingPolicy
	for i := range 20 {
		pols = append(pols, statusPolicy(ctx, t, ns, fmt.Sprintf("web-%d", i)))
	}
	metrics, err := controller.NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	c := &controller.ScalingPolicyController{Client: slowStatus{env.Client}, Direct: env.Client, Metrics: metrics, Log: slog.New(slog.DiscardHandler)}
	stop := c.StartWorkers(ctx)
	lastScale := metav1.NewTime(time.Now().Truncate(time.Second))
	for _, pol := range pols {
		c.QueueStatus(pol, func(st *trimtabv1.ScalingPolicyStatus) {
			st.CurrentReplicas, st.DesiredReplicas, st.ConsecutiveFailures, st.LastScaleTime = 2, 4, 3, &lastScale
		})
	}
	cancel() // the manager stops the leader's runnables
	stop()
	for _, pol := range pols {
		got := &trimtabv1.ScalingPolicy{}
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(pol), got))
		require.NotNil(t, got.Status.LastScaleTime, "%s: the queued status was dropped at shutdown", pol.Name)
		require.Equal(t, int32(3), got.Status.ConsecutiveFailures, pol.Name)
	}
}

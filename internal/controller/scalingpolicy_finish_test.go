package controller

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler"
)

// finishWorld is a controller with no API server behind it and one policy
// decoded from JSON as the informer decodes it, for syncs whose outcome
// needs no write to the target (a hold).
type finishWorld struct {
	c   *ScalingPolicyController
	pol *trimtabv1.ScalingPolicy
	cfg scaler.Config
}

func newFinishWorld(t *testing.T, target string) *finishWorld {
	t.Helper()
	pol := &trimtabv1.ScalingPolicy{}
	require.NoError(t, json.Unmarshal([]byte(`{"metadata":{"namespace":"ns","name":"web","uid":"u1","generation":1},
	 "spec":{"targetRef":{"name":"web"},"maxReplicas":10,"metrics":[{"name":"m","kind":"external",
	  "prometheus":{"query":"q"},"target":`+target+`}]}}`), pol))
	metrics, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	c := &ScalingPolicyController{Metrics: metrics, status: newStatusQueue(), SyncPeriod: 15 * time.Second,
		MetricInterval: time.Minute, Params: scaler.DefaultParams(), Log: slog.New(slog.DiscardHandler)}
	cfg, err := scaler.ConfigFromSpec(pol.Spec, c.Params)
	require.NoError(t, err)
	return &finishWorld{c: c, pol: pol, cfg: cfg}
}

func (w *finishWorld) finish(t *testing.T, now time.Time, result collector.Result, refresh time.Duration) {
	t.Helper()
	s := &policySync{pol: w.pol, cfg: w.cfg, current: 2, statusReplicas: 2, n: 1,
		target: &scaleTarget{gvk: deploymentKind, namespace: "ns", name: "web", selector: labels.Everything()}}
	_, err := w.c.finish(context.Background(), s, []collector.Result{result}, now, refresh)
	require.NoError(t, err)
}

// TestFinishLeavesTheCachedPolicyAlone: the cycle's policies are the
// informer cache's own objects (read without copies), shared with every
// other reader of the cache, so a sync must not write to them. A quantity
// written as "512Mi" decodes without its text, and Quantity.String stores
// the text it formats.
func TestFinishLeavesTheCachedPolicyAlone(t *testing.T) {
	w := newFinishWorld(t, `{"type":"AverageValue","averageValue":"512Mi"}`)
	before := w.pol.DeepCopy()
	w.finish(t, time.Unix(1_700_000_000, 0), collector.Result{Err: errors.New("down")}, time.Minute)
	require.Equal(t, before, w.pol, "the sync wrote to the cached policy")
}

// TestStatusValuesRefreshEverySync: a fleet within the write budget has its
// status values refreshed at every sync, although syncs on their period's
// ticks can be a little less than a period apart (here the first cycle
// woke 5 ms after its tick, the second 1 ms after).
func TestStatusValuesRefreshEverySync(t *testing.T) {
	const period = 15 * time.Second
	w := newFinishWorld(t, `{"type":"Value","value":"100"}`)
	sync := func(now time.Time, value float64) string {
		due, _ := w.c.claimSync(w.pol, now)
		require.True(t, due, "due at %v", now)
		w.finish(t, now, collector.Result{Series: []collector.Series{{Samples: []collector.Sample{{Time: now, Value: value}}}}}, statusValueRefresh(1, period))
		p, _ := w.c.status.take(types.NamespacedName{Namespace: "ns", Name: "web"})
		if p.mutate == nil {
			return "(no status queued)"
		}
		var st trimtabv1.ScalingPolicyStatus
		p.mutate(&st)
		return st.CurrentMetrics[0].Value
	}
	first := time.Unix(1_700_000_010, 0).Add(5 * time.Millisecond) // 5 ms after a tick
	require.Equal(t, "100", sync(first, 100))
	_, next := w.c.claimSync(w.pol, first)
	require.Equal(t, "101", sync(next.Add(time.Millisecond), 101), "the second sync's value")
}

// TestReadyReturnsWithTheTarget: a sync that finds no target queues
// Ready=False; when the target is back, the next sync's status must be
// written even though it says what the last one before the gap did.
// Kinds other than Deployments and StatefulSets have no watch, so this
// sync is what sets Ready back, and with 10,000 policies the value refresh
// would take over eight minutes.
func TestReadyReturnsWithTheTarget(t *testing.T) {
	w := newFinishWorld(t, `{"type":"Value","value":"100"}`)
	widget := schema.GroupVersionKind{Group: "example.com", Version: "v1", Kind: "Widget"}
	found := metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionTrue, Reason: trimtabv1.ReasonTargetFound, Message: "Widget ns/web found"}
	missing := metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionFalse, Reason: trimtabv1.ReasonTargetNotFound, Message: "Widget ns/web named in spec.targetRef does not exist"}
	refresh := statusValueRefresh(10_000, 15*time.Second)
	var st trimtabv1.ScalingPolicyStatus
	sync := func(at time.Time, present bool) metav1.ConditionStatus {
		w.pol.Status = *st.DeepCopy() // the cache follows the writes
		s := &policySync{pol: w.pol, cfg: w.cfg, current: 2, statusReplicas: 2, n: 1, ready: found,
			target: &scaleTarget{gvk: widget, namespace: "ns", name: "web", selector: labels.Everything()}}
		results := []collector.Result{{Series: []collector.Series{{Samples: []collector.Sample{{Time: at, Value: 100}}}}}}
		if !present {
			s.target, s.ready, s.n, results = nil, missing, 0, nil
		}
		_, _ = w.c.finish(context.Background(), s, results, at, refresh)
		if p, _ := w.c.status.take(types.NamespacedName{Namespace: "ns", Name: "web"}); p.mutate != nil {
			p.mutate(&st)
		}
		return meta.FindStatusCondition(st.Conditions, trimtabv1.ConditionReady).Status
	}
	t0 := time.Unix(1_700_000_000, 0)
	require.Equal(t, metav1.ConditionTrue, sync(t0, true))
	require.Equal(t, metav1.ConditionFalse, sync(t0.Add(15*time.Second), false))
	require.Equal(t, metav1.ConditionTrue, sync(t0.Add(30*time.Second), true), "the target is back")
}

// TestFirstSyncForecastsToTheNextTick: a policy's first sync is off its
// period's ticks, so its next sync can be up to one and a half periods
// away; the horizon left to the start-up must reach it, or replicas the
// forecast asks for at that sync become ready after the load they are for.
func TestFirstSyncForecastsToTheNextTick(t *testing.T) {
	w := newFinishWorld(t, `{"type":"Value","value":"100"}`)
	w.pol.Spec.Predictive = &trimtabv1.Predictive{Mode: trimtabv1.PredictiveShadow}
	cfg, err := scaler.ConfigFromSpec(w.pol.Spec, w.c.Params)
	require.NoError(t, err)
	w.cfg = cfg
	created := time.Unix(1_700_000_000, 0)
	pods := []scaler.Pod{{Name: "a", Created: created, Phase: scaler.PodRunning,
		Ready: &scaler.PodReady{Status: scaler.ConditionTrue, LastTransitionTime: created.Add(time.Minute)}}}
	forecasting := func(now time.Time) string {
		t.Helper()
		due, next := w.c.claimSync(w.pol, now)
		require.True(t, due, "due at %v", now)
		s := &policySync{pol: w.pol, cfg: w.cfg, current: 2, statusReplicas: 2, n: 1, pods: pods, next: next,
			target: &scaleTarget{gvk: deploymentKind, namespace: "ns", name: "web", selector: labels.Everything()}}
		_, err := w.c.finish(context.Background(), s, []collector.Result{{Series: []collector.Series{{Samples: []collector.Sample{{Time: now, Value: 100}}}}}}, now, statusValueRefresh(1, 15*time.Second))
		require.NoError(t, err)
		p, _ := w.c.status.take(types.NamespacedName{Namespace: "ns", Name: "web"})
		require.NotNil(t, p.mutate, "no status queued at %v", now)
		var st trimtabv1.ScalingPolicyStatus
		p.mutate(&st)
		return meta.FindStatusCondition(st.Conditions, scaler.Forecasting).Message
	}
	tick := time.Unix(1_700_000_010, 0) // a multiple of 15 s
	first := tick.Add(7*time.Second + 600*time.Millisecond)
	require.Contains(t, forecasting(first), "forecasting 1m22.4s ahead: the pods' observed start-up, 1m0s (90th percentile of 1) plus the 22.4s to the next sync")
	_, next := w.c.claimSync(w.pol, first)
	require.Equal(t, tick.Add(30*time.Second), next)
	require.Contains(t, forecasting(next), "forecasting 1m15s ahead: the pods' observed start-up, 1m0s (90th percentile of 1) plus the 15s sync period")
}

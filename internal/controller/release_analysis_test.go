package controller

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler/release"
)

// answers is a Collector that answers each query by its variant.
type answers map[collector.Variant]collector.Result

func (a answers) Collect(_ context.Context, qs []collector.Query) []collector.Result {
	out := make([]collector.Result, len(qs))
	for i, q := range qs {
		out[i] = a[q.Target.Variant]
	}
	return out
}

// TestLookReportsEachSidesMetricError: a metric whose canary query failed
// while the baseline's had no data yet must say why the canary's failed;
// joined, the baseline's missing data hid it.
func TestLookReportsEachSidesMetricError(t *testing.T) {
	rel := &trimtabv1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "checkout"}, Spec: trimtabv1.ReleaseSpec{
		TargetRef: trimtabv1.TargetRef{Name: "checkout"},
		Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Steps: []trimtabv1.CanaryStep{{Weight: 10, AnalysisSeconds: 60}}}},
		Analysis: trimtabv1.Analysis{IntervalSeconds: 10, Metrics: []trimtabv1.Metric{{Name: "orders", OnNoData: trimtabv1.NoDataFail,
			MetricSource: trimtabv1.MetricSource{Web: &trimtabv1.WebSource{URL: "http://checkout-{{.Variant}}/stats", JSONPath: "{.n}"}}}}},
	}}
	plan, err := release.NewPlan(rel.Spec)
	require.NoError(t, err)
	now := time.Unix(1_700_000_000, 0)
	start := metav1.NewTime(now.Add(-time.Minute))
	st := trimtabv1.ReleaseStatus{Step: 1, StepStartTime: &start, CanaryRevision: "r2", StableRevision: "r1"}
	a := &ReleaseAnalyst{FalseRollbackRate: 0.01, Collector: answers{
		collector.VariantCanary:  {Err: collector.Errorf(collector.ReasonUnavailable, "lookup checkout-canary: no such host")},
		collector.VariantPrimary: {Err: collector.Errorf(collector.ReasonNoData, "no series")},
	}}
	look := a.Look(context.Background(), rel, plan, st, now)
	require.Len(t, look.Metrics, 1, "%+v", look)
	require.Contains(t, look.Metrics[0].Reason, "lookup checkout-canary: no such host", "%+v", look)
	require.Equal(t, "NoData", look.Verdict, "a look without data is no failing canary")
}

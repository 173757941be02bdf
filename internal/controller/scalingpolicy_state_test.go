package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
)

// TestPolicyStateFollowsTheTarget checks that a policy's memory (forecast
// model, recommendations, scale events, failures) belongs to its target: a
// policy moved from a workload needing 40 replicas to another must not
// scale the new one on the old one's forecast.
func TestPolicyStateFollowsTheTarget(t *testing.T) {
	spec := trimtabv1.ScalingPolicySpec{
		TargetRef: trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "big"}, MaxReplicas: 100,
		Predictive: &trimtabv1.Predictive{Mode: trimtabv1.PredictiveOn, SeasonSeconds: 3600},
		Metrics: []trimtabv1.ScalingMetric{{Metric: trimtabv1.Metric{Name: "rps", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "x"}}},
			Kind: trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: ptr.To(resource.MustParse("10"))}}},
	}
	cfg, err := scaler.ConfigFromSpec(spec, scaler.DefaultParams())
	require.NoError(t, err)
	t0 := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name       string
		change     func(*trimtabv1.ScalingPolicy)
		keeps      bool
		retargeted bool
	}{
		{name: "the same target keeps the memory", change: func(p *trimtabv1.ScalingPolicy) { p.Generation++ }, keeps: true},
		{name: "another Deployment starts afresh", change: func(p *trimtabv1.ScalingPolicy) { p.Spec.TargetRef.Name = "small" }, retargeted: true},
		{name: "another kind starts afresh", change: func(p *trimtabv1.ScalingPolicy) { p.Spec.TargetRef.Kind = "StatefulSet" }, retargeted: true},
		{name: "a re-created policy starts from its status", change: func(p *trimtabv1.ScalingPolicy) { p.UID = "u2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &ScalingPolicyController{}
			pol := &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1", Generation: 1}, Spec: spec}
			pol.Status.ConsecutiveFailures = 2
			old := c.state(pol)
			for i := range 90 {
				now := t0.Add(time.Duration(i) * time.Minute)
				old.forecast(cfg, 5*time.Minute, now)
				old.model.Observe(now, 40)
			}
			old.history.Recommendations = []scaler.Recommendation{{Replicas: 40, Time: t0}}
			f, _, _ := old.forecast(cfg, 5*time.Minute, t0.Add(90*time.Minute))
			require.NotNil(t, f, "the old target's forecast")

			changed := pol.DeepCopy()
			tc.change(changed)
			s := c.state(changed)
			require.Equal(t, tc.keeps, s == old, "the same memory")
			require.Equal(t, tc.retargeted, s.retargeted)
			if tc.keeps {
				return
			}
			f, _, created := s.forecast(cfg, 5*time.Minute, t0.Add(90*time.Minute))
			require.Nil(t, f, "a new model, warming up")
			require.True(t, created)
			require.Empty(t, s.history.Recommendations)
			wantFailures := int32(2) // from status, for the same target
			if tc.retargeted {
				wantFailures = 0
			}
			require.Equal(t, wantFailures, s.history.ConsecutiveFailures)
		})
	}
}

package scaler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

func promMetric(name string, kind v1alpha1.MetricKind, target v1alpha1.MetricTarget) v1alpha1.ScalingMetric {
	return v1alpha1.ScalingMetric{
		Metric: v1alpha1.Metric{Name: name, MetricSource: v1alpha1.MetricSource{Prometheus: &v1alpha1.PrometheusSource{Query: "up"}}},
		Kind:   kind, Target: target,
	}
}

func validSpec() v1alpha1.ScalingPolicySpec {
	cpu := promMetric("cpu", v1alpha1.MetricResource, v1alpha1.MetricTarget{Type: v1alpha1.UtilizationTarget, AverageUtilization: ptr(int32(70))})
	cpu.Resource = "cpu"
	return v1alpha1.ScalingPolicySpec{
		TargetRef:   v1alpha1.ScaleTargetRef{Name: "web"},
		MinReplicas: ptr(int32(2)),
		MaxReplicas: 10,
		Metrics: []v1alpha1.ScalingMetric{
			cpu,
			promMetric("p95", v1alpha1.MetricObject, v1alpha1.MetricTarget{Type: v1alpha1.ValueTarget, Value: ptr(resource.MustParse("250m"))}),
			promMetric("queue", v1alpha1.MetricExternal, v1alpha1.MetricTarget{Type: v1alpha1.AverageValueTarget, AverageValue: ptr(resource.MustParse("30"))}),
		},
	}
}

func TestConfigFromSpecDefaults(t *testing.T) {
	p := DefaultParams()
	cfg, err := ConfigFromSpec(validSpec(), p)
	require.NoError(t, err)
	require.Equal(t, int32(2), cfg.MinReplicas)
	require.Nil(t, cfg.Behavior, "no behavior keeps the legacy path, as upstream")
	require.Equal(t, Target{Type: Utilization, Utilization: 70}, cfg.Metrics[0].Target)
	require.Equal(t, Target{Type: Value, ValueMilli: 250}, cfg.Metrics[1].Target)
	require.Equal(t, Target{Type: AverageValue, AverageMilli: 30000}, cfg.Metrics[2].Target)
	require.Equal(t, Predictive{Mode: v1alpha1.PredictiveOff, Season: 24 * time.Hour, Band: 1.75}, cfg.Predictive)

	banded := validSpec()
	banded.Predictive = &v1alpha1.Predictive{Mode: v1alpha1.PredictiveOn, BandStdDevs: ptr(resource.MustParse("1.25"))}
	cfg, err = ConfigFromSpec(banded, DefaultParams())
	require.NoError(t, err)
	require.Equal(t, 1.25, cfg.Predictive.Band, "spec.predictive.bandStdDevs")
	require.Zero(t, cfg.SyncPeriod, "no spec.syncPeriodSeconds: the controller's period")

	banded.SyncPeriodSeconds = ptr(int32(5))
	cfg, err = ConfigFromSpec(banded, DefaultParams())
	require.NoError(t, err)
	require.Equal(t, 5*time.Second, cfg.SyncPeriod, "spec.syncPeriodSeconds")

	spec := validSpec()
	spec.MinReplicas = nil
	spec.Behavior = &v1alpha1.ScalingBehavior{ScaleDown: &v1alpha1.ScalingRules{
		Policies:  []v1alpha1.ScalingPolicyRule{{Type: "Pods", Value: 1, PeriodSeconds: 60}},
		Tolerance: ptr(resource.MustParse("0.05")),
	}}
	cfg, err = ConfigFromSpec(spec, p)
	require.NoError(t, err)
	require.Equal(t, int32(1), cfg.MinReplicas)
	require.Equal(t, DefaultScaleUp(p), cfg.Behavior.ScaleUp, "missing direction gets the whole default")
	require.Equal(t, Rules{
		StabilizationWindow: 5 * time.Minute, SelectPolicy: v1alpha1.SelectMax, Tolerance: 0.05,
		Policies: []Policy{{Type: PodsPolicy, Value: 1, Period: time.Minute}},
	}, cfg.Behavior.ScaleDown, "user policies replace the defaults; other fields default")
}

func TestConfigFromSpecErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*v1alpha1.ScalingPolicySpec)
		want string
	}{
		{"max below 1", func(s *v1alpha1.ScalingPolicySpec) { s.MaxReplicas = 0 }, "spec.maxReplicas: must be at least 1"},
		{"min above max", func(s *v1alpha1.ScalingPolicySpec) { s.MinReplicas = ptr(int32(11)) }, "spec.minReplicas: must be less than or equal to spec.maxReplicas (10)"},
		{"no metrics", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics = nil }, "spec.metrics: needs at least one metric"},
		{"utilization without percent", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[0].Target.AverageUtilization = nil }, "spec.metrics[0].target.averageUtilization: a percentage of at least 1 is required"},
		{"resource without resource name", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[0].Resource = "" }, "spec.metrics[0].resource: must be cpu or memory"},
		{"value target missing", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[1].Target.Value = nil }, "spec.metrics[1].target.value: is required when type is Value"},
		{"negative average", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[2].Target.AverageValue = ptr(resource.MustParse("-1")) }, "spec.metrics[2].target.averageValue: must be positive"},
		{"utilization on external", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[2].Target.Type = v1alpha1.UtilizationTarget }, "spec.metrics[2].target.type: Utilization is only valid with kind resource"},
		{"pods with Value", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[1].Kind = v1alpha1.MetricPods }, "spec.metrics[1].target.type: kind pods needs AverageValue"},
		{"unknown kind", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[1].Kind = "custom" }, "spec.metrics[1].kind: must be resource, pods, object or external"},
		{"two sources", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[1].Web = &v1alpha1.WebSource{} }, "spec.metrics[1]: exactly one of prometheus, scrape, cloudwatch or web must be set, got 2"},
		{"duplicate name", func(s *v1alpha1.ScalingPolicySpec) { s.Metrics[2].Name = "p95" }, "spec.metrics[2].name: duplicate metric name"},
		{"window too long", func(s *v1alpha1.ScalingPolicySpec) {
			s.Behavior = &v1alpha1.ScalingBehavior{ScaleDown: &v1alpha1.ScalingRules{StabilizationWindowSeconds: ptr(int32(3601))}}
		}, "spec.behavior.scaleDown.stabilizationWindowSeconds: must be between 0 and 3600"},
		{"empty policies", func(s *v1alpha1.ScalingPolicySpec) {
			s.Behavior = &v1alpha1.ScalingBehavior{ScaleUp: &v1alpha1.ScalingRules{Policies: []v1alpha1.ScalingPolicyRule{}}}
		}, "spec.behavior.scaleUp.policies: must have at least one policy"},
		{"bad policy", func(s *v1alpha1.ScalingPolicySpec) {
			s.Behavior = &v1alpha1.ScalingBehavior{ScaleUp: &v1alpha1.ScalingRules{Policies: []v1alpha1.ScalingPolicyRule{{Type: "Replicas", Value: 0, PeriodSeconds: 1801}}}}
		}, "spec.behavior.scaleUp.policies[0].type: must be Pods or Percent"},
		{"bad select policy", func(s *v1alpha1.ScalingPolicySpec) {
			s.Behavior = &v1alpha1.ScalingBehavior{ScaleUp: &v1alpha1.ScalingRules{SelectPolicy: ptr(v1alpha1.SelectPolicy("Avg"))}}
		}, "spec.behavior.scaleUp.selectPolicy: must be Max, Min or Disabled"},
		{"negative tolerance", func(s *v1alpha1.ScalingPolicySpec) {
			s.Behavior = &v1alpha1.ScalingBehavior{ScaleUp: &v1alpha1.ScalingRules{Tolerance: ptr(resource.MustParse("-0.1"))}}
		}, "spec.behavior.scaleUp.tolerance: must not be negative"},
		{"bad mode", func(s *v1alpha1.ScalingPolicySpec) { s.Predictive = &v1alpha1.Predictive{Mode: "auto"} }, "spec.predictive.mode: must be off, shadow or on"},
		{"short season", func(s *v1alpha1.ScalingPolicySpec) { s.Predictive = &v1alpha1.Predictive{SeasonSeconds: 30} }, "spec.predictive.seasonSeconds: must be a whole number of minutes"},
		{"season not in whole minutes", func(s *v1alpha1.ScalingPolicySpec) { s.Predictive = &v1alpha1.Predictive{SeasonSeconds: 90} }, "spec.predictive.seasonSeconds: must be a whole number of minutes (a multiple of 60 seconds, at least 60): the forecaster learns one-minute bins; got 90 s"},
		{"season of a prime number of minutes", func(s *v1alpha1.ScalingPolicySpec) { s.Predictive = &v1alpha1.Predictive{SeasonSeconds: 86820} }, "spec.predictive.seasonSeconds: 86820 s is 1447 minutes, which make only 1 equal bins of whole minutes (at most 1440, of 1447 minutes each): use a whole number of hours, e.g. 86400 or 90000"},
		{"season over a month", func(s *v1alpha1.ScalingPolicySpec) { s.Predictive = &v1alpha1.Predictive{SeasonSeconds: 2147483580} }, "spec.predictive.seasonSeconds: must be at most 2678400 s (31 days), got 2147483580 s"},
		{"sync period of zero", func(s *v1alpha1.ScalingPolicySpec) { s.SyncPeriodSeconds = ptr(int32(0)) }, "spec.syncPeriodSeconds: must be between 1 and 600, got 0"},
		{"negative band", func(s *v1alpha1.ScalingPolicySpec) {
			s.Predictive = &v1alpha1.Predictive{BandStdDevs: ptr(resource.MustParse("-0.5"))}
		}, "spec.predictive.bandStdDevs: must be between 0 and 5 standard deviations, got -500m"},
		{"band too wide", func(s *v1alpha1.ScalingPolicySpec) {
			s.Predictive = &v1alpha1.Predictive{BandStdDevs: ptr(resource.MustParse("6"))}
		}, "spec.predictive.bandStdDevs: must be between 0 and 5 standard deviations, got 6"},
		{"fallback threshold", func(s *v1alpha1.ScalingPolicySpec) { s.Fallback = &v1alpha1.Fallback{Replicas: 3} }, "spec.fallback.failureThreshold: must be at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec()
			tc.edit(&s)
			before := s.DeepCopy()
			_, err := ConfigFromSpec(s, DefaultParams())
			require.ErrorContains(t, err, tc.want)
			// The controller passes specs shared with its informer cache.
			require.Equal(t, before, &s, "the spec was written to")
		})
	}
}

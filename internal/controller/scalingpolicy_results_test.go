package controller

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/scaler"
)

// TestNaNIsMissingData: a NaN a source answers (0/0 without traffic) must
// not become a number: int64(NaN) is MinInt64 on amd64, which an external
// AverageValue sum reads as an overflow (scale to maxReplicas) and a Value
// target as a negative load (scale to minReplicas). Through the Collector
// the policy holds instead, as on any missing data.
func TestNaNIsMissingData(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	sample := func(pod string, v float64) collector.Series {
		return collector.Series{Labels: map[string]string{"pod": pod}, Samples: []collector.Sample{{Time: at, Value: v}}}
	}
	value := trimtabv1.MetricTarget{Type: trimtabv1.ValueTarget, Value: ptr.To(resource.MustParse("10"))}
	perReplica := trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: ptr.To(resource.MustParse("30"))}
	cases := []struct {
		name   string
		kind   trimtabv1.MetricKind
		target trimtabv1.MetricTarget
		series []collector.Series
		// want is the replica count from 4; 4 is a hold.
		want int32
	}{
		{"object value", trimtabv1.MetricObject, value, []collector.Series{sample("", math.NaN())}, 4},
		{"external value", trimtabv1.MetricExternal, value, []collector.Series{sample("", math.NaN())}, 4},
		{"external backlog per replica", trimtabv1.MetricExternal, perReplica, []collector.Series{sample("", math.NaN())}, 4},
		{"external: the series that are numbers count", trimtabv1.MetricExternal, perReplica, []collector.Series{sample("", math.NaN()), sample("", 180)}, 6},
		{"pods: a NaN pod is a missing pod (hold: no scale-down on missing data)", trimtabv1.MetricPods, perReplica,
			[]collector.Series{sample("a", 1), sample("b", 1), sample("c", 1), sample("d", math.NaN())}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := trimtabv1.ScalingMetric{Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "q"}}},
				Kind: tc.kind, Target: tc.target}
			spec := trimtabv1.ScalingPolicySpec{TargetRef: trimtabv1.ScaleTargetRef{Name: "web"}, MinReplicas: ptr.To[int32](2), MaxReplicas: 50,
				Metrics: []trimtabv1.ScalingMetric{m}}
			cfg, err := scaler.ConfigFromSpec(spec, scaler.DefaultParams())
			require.NoError(t, err)
			var pods []scaler.Pod
			for _, name := range []string{"a", "b", "c", "d"} {
				pods = append(pods, scaler.Pod{Name: name, Phase: scaler.PodRunning, Created: at.Add(-time.Hour),
					Ready: &scaler.PodReady{Status: scaler.ConditionTrue, LastTransitionTime: at.Add(-time.Hour)}})
			}
			source := collectortest.ProviderFunc(func(context.Context, []collector.Query) []collector.Result {
				return []collector.Result{{Series: tc.series}}
			})
			answer := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: source}, collector.Options{}).
				Collect(context.Background(), []collector.Query{{Metric: m.Metric}})[0]
			result := metricResult(m, answer, time.Minute)
			d := scaler.Decide(scaler.Input{Config: cfg, SpecReplicas: 4, StatusReplicas: 4, Pods: pods,
				Results: map[string]scaler.MetricResult{"m": result}}, at)
			require.Equal(t, tc.want, d.Replicas, "reason %q, metrics %+v", d.Reason, d.Metrics)
			if tc.want == 4 && tc.kind != trimtabv1.MetricPods {
				require.EqualError(t, result.Err, `metric "m": no data: query returned only NaN (for example 0/0 without traffic)`)
			}
		})
	}
}

// TestMetricFailureNamesItsMetricOnce: the scaler shows a metric's error
// as it is, so the errors the controller finds in an answer name their
// metric, as the collector's do.
func TestMetricFailureNamesItsMetricOnce(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	series := collector.Series{Samples: []collector.Sample{{Time: at, Value: 1}}}
	cases := []struct {
		name   string
		kind   trimtabv1.MetricKind
		result collector.Result
		want   string
	}{
		{name: "the collector's error", kind: trimtabv1.MetricObject,
			result: collector.Result{Err: collector.Errorf(collector.ReasonNoData, "metric %q: query returned no series", "m")},
			want:   `no data: metric "m": query returned no series`},
		{name: "an object metric of two series", kind: trimtabv1.MetricObject,
			result: collector.Result{Series: []collector.Series{series, series}},
			want:   `metric "m": query returned 2 series where one was expected; aggregate it (for example sum(...) or sum by (...))`},
		{name: "a pods metric without a pod label", kind: trimtabv1.MetricPods,
			result: collector.Result{Series: []collector.Series{series}},
			want:   `metric "m" of kind pods needs one series per pod with a "pod" label`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := trimtabv1.ScalingMetric{Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "q"}}},
				Kind: tc.kind, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: ptr.To(resource.MustParse("30"))}}
			cfg, err := scaler.ConfigFromSpec(trimtabv1.ScalingPolicySpec{TargetRef: trimtabv1.ScaleTargetRef{Name: "web"}, MaxReplicas: 50,
				Metrics: []trimtabv1.ScalingMetric{m}}, scaler.DefaultParams())
			require.NoError(t, err)
			d := scaler.Decide(scaler.Input{Config: cfg, SpecReplicas: 4, StatusReplicas: 4,
				Results: map[string]scaler.MetricResult{"m": metricResult(m, tc.result, time.Minute)}}, at)
			require.ErrorContains(t, d.Err, "first error is: "+tc.want)
			require.Equal(t, 1, strings.Count(d.Err.Error(), `metric "m"`), "%v", d.Err)
		})
	}
}

func TestShortenCutsAtARuneBoundary(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"short enough", "abc", 5, "abc"},
		{"exactly n", "abcde", 5, "abcde"},
		{"ascii", "abcdefgh", 6, "abc…"},
		{"inside a rune", "ab→cdefgh", 7, "ab…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := shorten(tc.in, tc.n)
			require.Equal(t, tc.want, got)
			require.LessOrEqual(t, len(got), tc.n)
		})
	}
}

// TestRescaleMessageComparesWhatItShows: the sign between a value and its
// target is the comparison of the two numbers shown, whichever way the
// count moved (an external AverageValue shown per ready replica can sit
// below its target while the total's proposal scales up).
func TestRescaleMessageComparesWhatItShows(t *testing.T) {
	cfg := scaler.Config{Metrics: []scaler.MetricSpec{{Name: "ext", Kind: scaler.KindExternal, Target: scaler.Target{Type: scaler.AverageValue, AverageMilli: 40_000}}}}
	for _, tc := range []struct {
		name    string
		value   int64
		replica int32
		want    string
	}{
		{"above, scaling up", 50_000, 6, "ext 50 > target 40: 4 → 6"},
		{"below while the proposal scales up", 30_000, 6, "ext 30 < target 40: 4 → 6"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := scaler.Decision{Replicas: tc.replica, Reason: "ext above target", Metrics: []scaler.MetricStatus{{Name: "ext", Value: tc.value, Proposal: tc.replica}}}
			require.Equal(t, tc.want, rescaleMessage(cfg, d, 4))
		})
	}
}

func TestNotScalingSaysWhy(t *testing.T) {
	refused := metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionFalse, Reason: trimtabv1.ReasonTargetHasPolicy, Message: "ScalingPolicy ns/other also scales Deployment ns/web", ObservedGeneration: 3}
	found := metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionTrue, Reason: trimtabv1.ReasonTargetFound, Message: "Deployment ns/web found", ObservedGeneration: 3}
	for _, tc := range []struct {
		name            string
		ready           metav1.Condition
		err             error
		reason, message string
	}{
		{"refused: Ready's reason", refused, nil, trimtabv1.ReasonTargetHasPolicy, refused.Message},
		{"admitted, but its pods could not be read: the failure", found, errors.New("list pods of Deployment ns/web: timeout"), trimtabv1.ReasonTargetLookupFailed, "list pods of Deployment ns/web: timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := notScaling(tc.ready, tc.err)
			require.Equal(t, metav1.Condition{Type: scaler.ScalingActive, Status: metav1.ConditionFalse, Reason: tc.reason, Message: tc.message, ObservedGeneration: 3}, c)
		})
	}
}

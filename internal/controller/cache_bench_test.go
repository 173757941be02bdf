package controller_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	sigsjson "sigs.k8s.io/json"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/controller"
)

// BenchmarkCachedScalingPolicies measures the heap 10,000 ScalingPolicies
// take in the cache, decoded from JSON one by one with the API machinery's
// decoder, as the informer does:
// as decoded (the reference) and through TrimScalingPolicy. The policies
// are the scaling benchmarks' (two metrics from shared templates,
// predictive on, five conditions and two current metrics), each with its
// own name, target and Ready message. Reported: heap-B/policy and, for the
// trimmed variant, ratio-to-decoded.
func BenchmarkCachedScalingPolicies(b *testing.B) {
	const n = 10_000
	raw := make([][]byte, n)
	for i := range raw {
		var err error
		if raw[i], err = json.Marshal(cachedBenchPolicy(i)); err != nil {
			b.Fatal(err)
		}
	}
	var decoded float64
	for _, v := range []struct {
		name string
		trim func(any) (any, error)
	}{
		{name: "as-decoded"},
		{name: "trimmed", trim: controller.TrimScalingPolicy},
	} {
		b.Run(v.name, func(b *testing.B) {
			var perPolicy float64
			for b.Loop() {
				before := heapAlloc()
				cache := make([]*trimtabv1.ScalingPolicy, n)
				for i, r := range raw {
					p := &trimtabv1.ScalingPolicy{}
					if err := sigsjson.UnmarshalCaseSensitivePreserveInts(r, p); err != nil {
						b.Fatal(err)
					}
					if v.trim != nil {
						if _, err := v.trim(p); err != nil {
							b.Fatal(err)
						}
					}
					cache[i] = p
				}
				perPolicy = float64(heapAlloc()-before) / n
				runtime.KeepAlive(cache)
			}
			b.ReportMetric(perPolicy, "heap-B/policy")
			if v.trim == nil {
				decoded = perPolicy
			} else if decoded > 0 {
				b.ReportMetric(perPolicy/decoded, "ratio-to-decoded")
			}
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func cachedBenchPolicy(i int) *trimtabv1.ScalingPolicy {
	name, ns := fmt.Sprintf("w%d", i), fmt.Sprintf("bench-%03d", i/100)
	metric := func(name, query string, kind trimtabv1.MetricKind, target trimtabv1.MetricTarget) trimtabv1.ScalingMetric {
		return trimtabv1.ScalingMetric{Metric: trimtabv1.Metric{Name: name, Group: "app", Direction: "increase-is-bad", OnNoData: "hold",
			MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: query}}}, Kind: kind, Target: target}
	}
	cpu := metric("cpu", `sum by (pod) (bench_cpu_cores{namespace="{{.Namespace}}",deployment="{{.Name}}"})`, trimtabv1.MetricResource,
		trimtabv1.MetricTarget{Type: trimtabv1.UtilizationTarget, AverageUtilization: ptr.To[int32](70)})
	cpu.Resource = "cpu"
	queue := metric("queue", `sum(bench_queue_messages{namespace="{{.Namespace}}",deployment="{{.Name}}"})`, trimtabv1.MetricExternal,
		trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: ptr.To(resource.MustParse("30"))})
	at := metav1.Date(2026, 11, 28, 11, 36, 14, 0, metav1.Now().Location())
	cond := func(typ, status, reason, message string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: message, ObservedGeneration: 1, LastTransitionTime: at}
	}
	return &trimtabv1.ScalingPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "trimtab.dev/v1alpha1", Kind: "ScalingPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, UID: types.UID(fmt.Sprintf("6c094afe-61d5-4745-88b8-%012d", i)), ResourceVersion: fmt.Sprint(70000 + i), Generation: 1, CreationTimestamp: at},
		Spec: trimtabv1.ScalingPolicySpec{
			TargetRef:   trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
			Metrics:    []trimtabv1.ScalingMetric{cpu, queue},
			Predictive: &trimtabv1.Predictive{Mode: trimtabv1.PredictiveOn, HorizonSeconds: 75, SeasonSeconds: 86400},
		},
		Status: trimtabv1.ScalingPolicyStatus{
			ObservedGeneration: 1, CurrentReplicas: 2, DesiredReplicas: 2,
			Conditions: []metav1.Condition{
				cond("Ready", "True", "TargetFound", "Deployment "+ns+"/"+name+" found"),
				cond("ScalingActive", "True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu"),
				cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size"),
				cond("ScalingLimited", "False", "DesiredWithinRange", "the desired count is within the acceptable range"),
				cond("Forecasting", "False", "WarmingUp", "learning the load (30 bins, or its history); scaling reactively until then, then forecasting 1m15s ahead (spec.predictive.horizonSeconds)"),
			},
			CurrentMetrics: []trimtabv1.MetricStatus{{Name: "cpu", ProposedReplicas: 2, Target: "70%", Value: "50%"}, {Name: "queue", ProposedReplicas: 1, Target: "30", Value: "10"}},
		},
	}
}

package scaler

import (
	"fmt"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// t0 is the fixed `now` of the tests.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// pod is a Running, Ready pod started an hour ago with one container
// requesting req milli-units of cpu and memory.
func pod(name string, req int64) Pod {
	start := t0.Add(-time.Hour)
	return Pod{
		Name:       name,
		Phase:      PodRunning,
		Ready:      &PodReady{Status: ConditionTrue, LastTransitionTime: start.Add(10 * time.Second)},
		StartTime:  &start,
		Containers: []Container{{Name: "app", Requests: Requests{{"cpu", req}, {"memory", req}}}},
	}
}

// pods makes n Ready pods p0..p(n-1) with request req.
func pods(n int, req int64) []Pod {
	out := make([]Pod, n)
	for i := range out {
		out[i] = pod(fmt.Sprintf("p%d", i), req)
	}
	return out
}

// with applies edits to a pod.
func with(p Pod, edits ...func(*Pod)) Pod {
	for _, e := range edits {
		e(&p)
	}
	return p
}

// startedAgo sets the start time; readyAgo sets the Ready transition.
func startedAgo(d time.Duration) func(*Pod) {
	return func(p *Pod) { s := t0.Add(-d); p.StartTime = &s }
}

func readyStatus(s ConditionStatus, transitionAgo time.Duration) func(*Pod) {
	return func(p *Pod) { p.Ready = &PodReady{Status: s, LastTransitionTime: t0.Add(-transitionAgo)} }
}

// samples builds per-pod samples taken at t0 over a 30 s window.
func samples(vals map[string]int64) map[string]PodSample {
	out := make(map[string]PodSample, len(vals))
	for k, v := range vals {
		out[k] = PodSample{Milli: v, Timestamp: t0, Window: 30 * time.Second}
	}
	return out
}

func cpuUtil(target int32) MetricSpec {
	return MetricSpec{Name: "cpu", Kind: KindResource, Resource: "cpu", Target: Target{Type: Utilization, Utilization: target}}
}

func legacyConfig(minR, maxR int32, metrics ...MetricSpec) Config {
	return Config{MinReplicas: minR, MaxReplicas: maxR, Metrics: metrics, Params: DefaultParams(), Predictive: Predictive{Mode: v1alpha1.PredictiveOff}}
}

func defaultBehavior() *Behavior {
	p := DefaultParams()
	return &Behavior{ScaleUp: DefaultScaleUp(p), ScaleDown: DefaultScaleDown(p)}
}

func ptr[T any](v T) *T { return &v }

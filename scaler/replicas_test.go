package scaler

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestMetricRules checks one metric's proposal against upstream's
// replica_calculator.go, one named case per rule of
// shared/reference/hpa-semantics.md (§ numbers in the names).
func TestMetricRules(t *testing.T) {
	defaultTol := tolerances{down: 0.1, up: 0.1}
	memUtil := MetricSpec{Name: "mem", Kind: KindResource, Resource: "memory", Target: Target{Type: Utilization, Utilization: 50}}
	podsAvg := MetricSpec{Name: "rps", Kind: KindPods, Target: Target{Type: AverageValue, AverageMilli: 10000}}
	cpuAvg := MetricSpec{Name: "cpu-avg", Kind: KindResource, Resource: "cpu", Target: Target{Type: AverageValue, AverageMilli: 500}}
	objValue := MetricSpec{Name: "p95", Kind: KindObject, Target: Target{Type: Value, ValueMilli: 200000}}
	extValue := MetricSpec{Name: "ext", Kind: KindExternal, Target: Target{Type: Value, ValueMilli: 1000}}
	objAvg := MetricSpec{Name: "obj-avg", Kind: KindObject, Target: Target{Type: AverageValue, AverageMilli: 500}}
	extAvg := MetricSpec{Name: "queue", Kind: KindExternal, Target: Target{Type: AverageValue, AverageMilli: 500}}

	four := pods(4, 1000)
	cases := []struct {
		name     string
		metric   MetricSpec
		pods     []Pod
		result   MetricResult
		spec     int32
		status   int32
		tol      tolerances
		want     int32
		wantErr  string
		wantVal  int64
		checkVal bool
	}{
		// §3 tolerance
		{name: "§3 ratio exactly 1+tolerance holds (inclusive)", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 550, "p1": 550, "p2": 550, "p3": 550})}, spec: 4, tol: defaultTol, want: 4},
		{name: "§3 ratio exactly 1-tolerance holds (inclusive)", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 450, "p1": 450, "p2": 450, "p3": 450})}, spec: 4, tol: defaultTol, want: 4},
		{name: "§3 ratio just above tolerance scales up", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 560, "p1": 560, "p2": 560, "p3": 560})}, spec: 4, tol: defaultTol, want: 5},
		{name: "§3 per-direction: up tolerance 0.05 lets ratio 1.08 scale up", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 540, "p1": 540, "p2": 540, "p3": 540})}, spec: 4, tol: tolerances{down: 0.1, up: 0.05}, want: 5},
		{name: "§3 per-direction: down tolerance 0.2 holds ratio 0.84", metric: cpuUtil(50), pods: pods(10, 1000),
			result: MetricResult{PodValues: tenAt(420)}, spec: 10, tol: tolerances{down: 0.2, up: 0.1}, want: 10},
		{name: "§3 per-direction: down tolerance 0.1 scales ratio 0.84 down", metric: cpuUtil(50), pods: pods(10, 1000),
			result: MetricResult{PodValues: tenAt(420)}, spec: 10, tol: defaultTol, want: 9},

		// §4 pod grouping
		{name: "§4 deleting and failed pods are ignored, their samples dropped", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), pod("p1", 1000), with(pod("p2", 1000), func(p *Pod) { p.Deleting = true }), with(pod("p3", 1000), func(p *Pod) { p.Phase = PodFailed })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000, "p1": 1000, "p2": 0, "p3": 0})}, spec: 4, tol: defaultTol, want: 4},
		{name: "§4 pending pod is unready and counts 0 on a scale-up", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), pod("p1", 1000), pod("p2", 1000), with(pod("p3", 1000), func(p *Pod) { p.Phase = PodPending })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000, "p1": 1000, "p2": 1000})}, spec: 4, tol: defaultTol, want: 6},
		{name: "§4 cpu: pod without Ready condition is unready", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), func(p *Pod) { p.Ready = nil })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 5000})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§4 cpu: pod without start time is unready", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), func(p *Pod) { p.StartTime = nil })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 5000})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§4 cpu: initializing pod with Ready=False is unready", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(2*time.Minute), readyStatus(ConditionFalse, time.Minute))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 5000})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§4 cpu: initializing pod whose sample does not cover a window since readiness is unready", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(2*time.Minute), readyStatus(ConditionTrue, 20*time.Second))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 5000})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§4 cpu: initializing pod whose sample covers a window since readiness counts", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(2*time.Minute), readyStatus(ConditionTrue, 30*time.Second))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 1500})}, spec: 2, tol: defaultTol, want: 4},
		{name: "§4 cpu: after initialization a never-ready pod is unready", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(10*time.Minute), readyStatus(ConditionFalse, 10*time.Minute-20*time.Second))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 1500})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§4 cpu: after initialization a pod that was ready and turned unready counts", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(10*time.Minute), readyStatus(ConditionFalse, time.Minute))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 1500})}, spec: 2, tol: defaultTol, want: 4},
		{name: "§4 cpu: Ready=Unknown is not False", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(2*time.Minute), readyStatus(ConditionUnknown, time.Minute))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 1500})}, spec: 2, tol: defaultTol, want: 4},
		{name: "§4 memory: readiness rules do not apply, Ready=False pod counts", metric: memUtil,
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), startedAgo(2*time.Minute), readyStatus(ConditionFalse, time.Minute))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "p1": 1500})}, spec: 2, tol: defaultTol, want: 4},
		{name: "§4 no pods is an error", metric: cpuUtil(50), pods: nil,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500})}, spec: 1, tol: defaultTol, wantErr: "no pods returned by selector while calculating replica count"},
		{name: "§4 no samples left after dropping unready pods is an error", metric: cpuUtil(50),
			pods:   []Pod{with(pod("p0", 1000), func(p *Pod) { p.Phase = PodPending })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500})}, spec: 1, tol: defaultTol, wantErr: "did not receive metrics for targeted pods (pods might be unready)"},

		// §5 requests and arithmetic
		{name: "§5 utilization is truncated to an integer percent before the ratio", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 559, "p1": 559, "p2": 559, "p3": 559})}, spec: 4, tol: defaultTol, want: 4, wantVal: 55, checkVal: true},
		{name: "§5 pod-level requests are used when set", metric: cpuUtil(50),
			pods:   []Pod{with(pod("p0", 1000), func(p *Pod) { p.PodRequests = Requests{{"cpu", 2000}} })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 2000})}, spec: 1, tol: defaultTol, want: 2, wantVal: 100, checkVal: true},
		{name: "§5 a resource the pod-level requests leave out comes from the containers", metric: MetricSpec{Name: "mem", Kind: KindResource, Resource: "memory", Target: Target{Type: Utilization, Utilization: 50}},
			pods: []Pod{with(pod("p0", 1000), func(p *Pod) {
				p.Containers = []Container{{Name: "app", Requests: Requests{{"memory", 1000}}}}
				p.PodRequests = PodLevelRequests(Requests{{"cpu", 1000}}, []Requests{p.Containers[0].Requests}, nil, nil)
			})},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000})}, spec: 1, tol: defaultTol, want: 2, wantVal: 100, checkVal: true},
		{name: "§5 a resource neither the pod nor a container requests fails the metric", metric: MetricSpec{Name: "mem", Kind: KindResource, Resource: "memory", Target: Target{Type: Utilization, Utilization: 50}},
			pods: []Pod{with(pod("p0", 1000), func(p *Pod) {
				p.Containers = []Container{{Name: "app", Requests: Requests{{"cpu", 500}}}}
				p.PodRequests = PodLevelRequests(Requests{{"cpu", 1000}}, []Requests{p.Containers[0].Requests}, nil, nil)
			})},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000})}, spec: 1, tol: defaultTol, wantErr: "missing pod-level request for memory in Pod p0"},
		{name: "§5 sidecar requests are summed with the containers'", metric: cpuUtil(50),
			pods: []Pod{with(pod("p0", 1000), func(p *Pod) {
				p.Containers = append(p.Containers, Container{Name: "sidecar", Requests: Requests{{"cpu", 1000}}})
			})},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000})}, spec: 1, tol: defaultTol, want: 1, wantVal: 50, checkVal: true},
		{name: "§5 a container without a request fails the metric", metric: cpuUtil(50),
			pods: []Pod{with(pod("p0", 1000), func(p *Pod) {
				p.Containers = append(p.Containers, Container{Name: "sidecar", Requests: Requests{}})
			})},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000})}, spec: 1, tol: defaultTol, wantErr: "missing request for cpu in container sidecar of Pod p0"},
		{name: "§5 samples of unknown pods are skipped by utilization", metric: cpuUtil(50), pods: pods(1, 1000),
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 500, "stranger": 100000})}, spec: 1, tol: defaultTol, want: 1, wantVal: 50, checkVal: true},

		// §6 utilization worked examples and the second pass
		{name: "§6 example: 4 ready pods at 800/900/1000/1100m, target 50 → 8", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 800, "p1": 900, "p2": 1000, "p3": 1100})}, spec: 4, tol: defaultTol, want: 8, wantVal: 95, checkVal: true},
		{name: "§6 example: missing pod counted at 100% of request on scale-down → 3", metric: cpuUtil(50), pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 100, "p1": 100, "p2": 100})}, spec: 4, tol: defaultTol, want: 3, wantVal: 10, checkVal: true},
		{name: "§6 example: never-ready cpu pod counted 0 on scale-up → hold 4", metric: cpuUtil(50),
			pods:   []Pod{pod("p0", 1000), pod("p1", 1000), pod("p2", 1000), with(pod("p3", 1000), startedAgo(10*time.Minute), readyStatus(ConditionFalse, 10*time.Minute))},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 700, "p1": 700, "p2": 700, "p3": 700})}, spec: 4, tol: defaultTol, want: 4, wantVal: 70, checkVal: true},
		{name: "§6 missing pods use the target when it is above 100%", metric: cpuUtil(200), pods: four,
			// first pass 300*100/3000=10 → 0.05; fill 1000*200/100=2000 → 2300*100/4000=57 → 0.285 → ceil(1.14)=2
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 100, "p1": 100, "p2": 100})}, spec: 4, tol: defaultTol, want: 2},
		{name: "§6 missing pods count 0 on a scale-up", metric: cpuUtil(50), pods: four,
			// 3000*100/3000=100 → 2.0; with 0: 3000*100/4000=75 → 1.5 → ceil(6)=6
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000, "p1": 1000, "p2": 1000})}, spec: 4, tol: defaultTol, want: 6},
		{name: "§6 direction flip after filling missing pods holds", metric: cpuUtil(50), pods: four,
			// first pass 1200*100/3000=40 → 0.8; p3 filled at 1000 → 2200*100/4000=55 → 1.1: flipped up
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 400, "p1": 400, "p2": 400})}, spec: 4, tol: tolerances{down: 0.01, up: 0.01}, want: 4},
		{name: "§6 proposal against the first-pass direction holds", metric: cpuUtil(50),
			// current 2 but 4 pods listed: 3 report 100m, 1 missing: 0.2 → fill → 32 → 0.64 → ceil(2.56)=3 > current 2 on a scale-down → hold
			pods: four, result: MetricResult{PodValues: samples(map[string]int64{"p0": 100, "p1": 100, "p2": 100})}, spec: 2, tol: defaultTol, want: 2},
		{name: "§6 (quirk) extraneous samples count in the second-pass pod count", metric: cpuUtil(50), pods: pods(2, 1000),
			// p1 missing; first pass p0 alone 160% → 3.2; p1 filled 0 → 80% → 1.6 → ceil(1.6 × 3 map entries) = 5, not 4
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1600, "stranger": 1})}, spec: 2, tol: defaultTol, want: 5},

		// §7 plain per-pod averages
		{name: "§7 pods AverageValue: average against target", metric: podsAvg, pods: four,
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 20000, "p1": 20000, "p2": 20000, "p3": 20000})}, spec: 4, tol: defaultTol, want: 8, wantVal: 20000, checkVal: true},
		{name: "§7 pods AverageValue: average is truncated", metric: podsAvg, pods: pods(3, 1000),
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 11000, "p1": 11000, "p2": 11001})}, spec: 3, tol: defaultTol, want: 3, wantVal: 11000, checkVal: true},
		{name: "§7 pods AverageValue: missing pods use the target on a scale-down", metric: podsAvg, pods: four,
			// 3*2000 → 0.2; fill 10000 → 16000/4=4000 → 0.4 → ceil(1.6)=2
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 2000, "p1": 2000, "p2": 2000})}, spec: 4, tol: defaultTol, want: 2},
		{name: "§7 pods AverageValue: missing pods count 0 on a scale-up", metric: podsAvg, pods: four,
			// 3*30000 → 3.0; fill 0 → 90000/4=22500 → 2.25 → ceil(9)=9
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 30000, "p1": 30000, "p2": 30000})}, spec: 4, tol: defaultTol, want: 9},
		{name: "§7 pods AverageValue: no cpu readiness rules for pods metrics", metric: podsAvg,
			pods:   []Pod{pod("p0", 1000), with(pod("p1", 1000), func(p *Pod) { p.Ready = nil })},
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 20000, "p1": 20000})}, spec: 2, tol: defaultTol, want: 4},
		{name: "§7 resource cpu AverageValue: cpu readiness rules apply", metric: cpuAvg,
			pods: []Pod{pod("p0", 1000), with(pod("p1", 1000), func(p *Pod) { p.Ready = nil })},
			// p1 unready, ratio 1000/500=2 → scale-up with unready: (1000+0)/2=500 → 1.0 → hold
			result: MetricResult{PodValues: samples(map[string]int64{"p0": 1000, "p1": 1000})}, spec: 2, tol: defaultTol, want: 2},

		// §8 object and external
		{name: "§8 object Value multiplies by ready pods, not current replicas", metric: objValue,
			pods:   []Pod{pod("p0", 1000), pod("p1", 1000), with(pod("p2", 1000), readyStatus(ConditionFalse, time.Minute)), with(pod("p3", 1000), func(p *Pod) { p.Phase = PodPending })},
			result: MetricResult{Values: []int64{400000}}, spec: 4, tol: defaultTol, want: 4},
		{name: "§8 object Value within tolerance holds", metric: objValue, pods: four,
			result: MetricResult{Values: []int64{210000}}, spec: 4, tol: defaultTol, want: 4},
		{name: "§8 object Value with no ready pods proposes 0", metric: objValue,
			pods:   []Pod{with(pod("p0", 1000), readyStatus(ConditionFalse, time.Minute))},
			result: MetricResult{Values: []int64{400000}}, spec: 1, tol: defaultTol, want: 0},
		{name: "§8 object Value from zero ignores tolerance", metric: objValue, pods: nil,
			result: MetricResult{Values: []int64{210000}}, spec: 0, tol: defaultTol, want: 2},
		{name: "§8 object Value needs exactly one value", metric: objValue, pods: four,
			result: MetricResult{Values: []int64{1, 2}}, spec: 4, tol: defaultTol, wantErr: "exactly 1"},
		{name: "§8 external Value sums all series", metric: extValue, pods: pods(2, 1000),
			result: MetricResult{Values: []int64{1000, 1000, 1000}}, spec: 2, tol: defaultTol, want: 6, wantVal: 3000, checkVal: true},
		{name: "§8 external Value sum saturates at MaxInt64", metric: extValue, pods: pods(1, 1000),
			result: MetricResult{Values: []int64{math.MaxInt64, 5}}, spec: 1, tol: defaultTol, want: math.MaxInt32, wantVal: math.MaxInt64, checkVal: true},
		{name: "§8 object AverageValue compares against status replicas", metric: objAvg, pods: four,
			result: MetricResult{Values: []int64{1500}}, spec: 4, status: 3, tol: defaultTol, want: 3, wantVal: 500, checkVal: true},
		{name: "§8 external AverageValue example: 3000m sum, 500m target, status 4 → 6", metric: extAvg, pods: four,
			result: MetricResult{Values: []int64{1000, 2000}}, spec: 4, status: 4, tol: defaultTol, want: 6, wantVal: 750, checkVal: true},
		{name: "§8 external AverageValue with status 0 proposes ceil(sum/target)", metric: extAvg, pods: four,
			result: MetricResult{Values: []int64{1200}}, spec: 4, status: 0, tol: defaultTol, want: 3},
		{name: "§8 external AverageValue saturates at MaxInt32", metric: extAvg, pods: four,
			result: MetricResult{Values: []int64{math.MaxInt64}}, spec: 4, status: 4, tol: defaultTol, want: math.MaxInt32, wantVal: math.MaxInt64, checkVal: true},
		{name: "§8 external AverageValue takes a negative running sum for an overflow → MaxInt32", metric: extAvg, pods: four,
			result: MetricResult{Values: []int64{-1000, 3000}}, spec: 4, status: 4, tol: defaultTol, want: math.MaxInt32, wantVal: math.MaxInt64, checkVal: true},
		{name: "§8 external AverageValue takes an overflow that wraps negative for an overflow → MaxInt32", metric: extAvg, pods: four,
			result: MetricResult{Values: []int64{math.MaxInt64 - 1, 2, -5}}, spec: 4, status: 4, tol: defaultTol, want: math.MaxInt32, wantVal: math.MaxInt64, checkVal: true},
		{name: "§8 external Value sums negative series as they are", metric: extValue, pods: pods(2, 1000),
			result: MetricResult{Values: []int64{-1000, 3000}}, spec: 2, tol: defaultTol, want: 4, wantVal: 2000, checkVal: true},

		// §9 failures per metric
		{name: "§9 source error fails the metric", metric: extAvg, pods: four,
			result: MetricResult{Err: errors.New(`metric "queue": throttled`)}, spec: 4, status: 4, tol: defaultTol, wantErr: `metric "queue": throttled`},
		{name: "§9 external metric without series is no data", metric: extAvg, pods: four,
			result: MetricResult{}, spec: 4, status: 4, tol: defaultTol, wantErr: "no data"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Config: legacyConfig(1, 100, tc.metric), SpecReplicas: tc.spec, StatusReplicas: tc.status, Pods: tc.pods}
			out, err := computeMetric(tc.metric, tc.result, true, in, tc.tol, t0)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, out.replicas)
			if tc.checkVal {
				require.Equal(t, tc.wantVal, out.value)
			}
		})
	}
}

// TestPodLevelRequests checks the requests the HPA reads of a pod that sets
// pod-level requests: upstream's resourcehelpers.PodRequests.
func TestPodLevelRequests(t *testing.T) {
	cpu := func(m int64) Requests { return Requests{{"cpu", m}} }
	sidecar := func(r Requests) InitContainer { return InitContainer{Requests: r, Sidecar: true} }
	initc := func(r Requests) InitContainer { return InitContainer{Requests: r} }
	cases := []struct {
		name       string
		podLevel   Requests
		containers []Requests
		inits      []InitContainer
		overhead   Requests
		want       Requests
	}{
		{name: "no pod-level requests: nil, the containers are summed instead",
			containers: []Requests{cpu(500)}, want: nil},
		{name: "pod-level requests of other resources only: nil",
			podLevel: Requests{{"ephemeral-storage", 1000}}, containers: []Requests{cpu(500)}, want: nil},
		{name: "the pod-level request wins over the containers'",
			podLevel: cpu(2000), containers: []Requests{cpu(500), cpu(700)}, want: cpu(2000)},
		{name: "other resources come from the containers, summed",
			podLevel: cpu(2000), containers: []Requests{{{"memory", 100}}, {{"memory", 300}, {"cpu", 1}}},
			want: Requests{{"memory", 400}, {"cpu", 2000}}},
		{name: "hugepages are a pod-level resource",
			podLevel: Requests{{"hugepages-2Mi", 4000}}, containers: []Requests{cpu(500)},
			want: Requests{{"cpu", 500}, {"hugepages-2Mi", 4000}}},
		{name: "an init container larger than the running containers sets the request",
			podLevel: Requests{{"memory", 1}}, containers: []Requests{cpu(300)}, inits: []InitContainer{initc(cpu(900))},
			want: Requests{{"cpu", 900}, {"memory", 1}}},
		// The KEP-753 example: sidecar A 100, init B 800, sidecar C 200,
		// init D 600, app 700: max(100, 100+800, 100+200, 100+200+600,
		// 700+100+200) = 1000.
		{name: "sidecars run beside the init containers declared after them",
			podLevel:   Requests{{"memory", 1}},
			containers: []Requests{cpu(700)},
			inits:      []InitContainer{sidecar(cpu(100)), initc(cpu(800)), sidecar(cpu(200)), initc(cpu(600))},
			want:       Requests{{"cpu", 1000}, {"memory", 1}}},
		{name: "an init container after the sidecars peaks above the running total",
			podLevel:   Requests{{"memory", 1}},
			containers: []Requests{cpu(100)},
			inits:      []InitContainer{sidecar(cpu(100)), initc(cpu(800))},
			want:       Requests{{"cpu", 900}, {"memory", 1}}},
		{name: "the RuntimeClass overhead is added, to the pod-level request too",
			podLevel: cpu(2000), containers: []Requests{{{"memory", 100}}}, overhead: Requests{{"cpu", 250}, {"memory", 50}},
			want: Requests{{"memory", 150}, {"cpu", 2250}}},
		{name: "a zero request counts as set",
			podLevel: cpu(0), containers: []Requests{{{"memory", 0}}}, want: Requests{{"memory", 0}, {"cpu", 0}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := PodLevelRequests(tc.podLevel, tc.containers, tc.inits, tc.overhead)
			if tc.want == nil {
				require.Nil(t, got)
				return
			}
			require.ElementsMatch(t, tc.want, got)
		})
	}
}

// TestDemand checks the load the forecaster learns: total over per-replica
// target, unaffected by tolerance and rounding.
func TestDemand(t *testing.T) {
	in := Input{Config: legacyConfig(1, 100, cpuUtil(50)), SpecReplicas: 4, Pods: pods(4, 1000)}
	out, err := computeMetric(cpuUtil(50), MetricResult{PodValues: samples(map[string]int64{"p0": 530, "p1": 530, "p2": 530, "p3": 530})}, true, in, tolerances{0.1, 0.1}, t0)
	require.NoError(t, err)
	require.Equal(t, int32(4), out.replicas, "within tolerance")
	require.InDelta(t, 4.24, out.demand, 1e-9)

	out, err = computeMetric(MetricSpec{Name: "q", Kind: KindExternal, Target: Target{Type: Value, ValueMilli: 10}}, MetricResult{Values: []int64{100}}, true, in, tolerances{0.1, 0.1}, t0)
	require.NoError(t, err)
	require.False(t, out.hasDemand, "Value targets are not additive")

	queue := MetricSpec{Name: "q", Kind: KindExternal, Target: Target{Type: AverageValue, AverageMilli: 10}}
	out, err = computeMetric(queue, MetricResult{Values: []int64{-5, 100}}, true, Input{Config: legacyConfig(1, 100, queue), StatusReplicas: 4}, tolerances{0.1, 0.1}, t0)
	require.NoError(t, err)
	require.Equal(t, int32(math.MaxInt32), out.replicas, "upstream takes a negative sum for an overflow")
	require.False(t, out.hasDemand, "a saturated sum measures no load")
}

// tenAt is samples of p0..p9 at the same value.
func tenAt(v int64) map[string]PodSample {
	m := map[string]int64{}
	for i := range 10 {
		m[fmt.Sprintf("p%d", i)] = v
	}
	return samples(m)
}

package scaler

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// randomPerPodInput is a target's pods and samples as the per-pod
// calculators may see them: any phase and readiness, start times and
// samples around the CPU initialization period, requests missing or zero,
// pod-level requests, samples missing or of no pod (extraneous).
func randomPerPodInput(r *rand.Rand) ([]Pod, map[string]PodSample) {
	n := r.IntN(7)
	names := r.Perm(10)
	pods := make([]Pod, n)
	for i := range pods {
		req := []int64{0, 100, 500, 1000}[r.IntN(4)]
		p := pod(fmt.Sprintf("p%d", names[i]), req)
		switch r.IntN(12) {
		case 0:
			p.Phase = PodPending
		case 1:
			p.Phase = PodFailed
		case 2:
			p.Phase = PodSucceeded
		case 3:
			p.Deleting = true
		}
		switch r.IntN(8) {
		case 0:
			p.Ready = nil
		case 1:
			p.StartTime = nil
		case 2, 3, 4:
			start := t0.Add(-time.Duration(r.IntN(12)) * time.Minute)
			p.StartTime = &start
			status := []ConditionStatus{ConditionTrue, ConditionFalse, ConditionUnknown}[r.IntN(3)]
			p.Ready = &PodReady{Status: status, LastTransitionTime: start.Add(time.Duration(r.IntN(120)) * time.Second)}
		}
		switch r.IntN(10) {
		case 0:
			p.Containers = []Container{{Name: "app", Requests: Requests{{"memory", req}}}}
		case 1:
			p.PodRequests = Requests{{"cpu", 2 * req}, {"memory", req}}
		}
		pods[i] = p
	}
	sample := func() PodSample {
		return PodSample{Milli: int64(r.IntN(2000)), Timestamp: t0.Add(-time.Duration(r.IntN(60)) * time.Second), Window: 30 * time.Second}
	}
	samples := map[string]PodSample{}
	for _, p := range pods {
		if r.IntN(5) > 0 {
			samples[p.Name] = sample()
		}
	}
	if r.IntN(3) == 0 {
		for i := range 1 + r.IntN(3) {
			samples["gone-"+strconv.Itoa(i)] = sample()
		}
	}
	return pods, samples
}

// upstreamSamples restates upstream's groupPods, removeMetricsForPods and
// calculatePodRequests on maps keyed by pod name, as replica_calculator.go
// writes them (reusing cpuUnready and podRequest, which the table tests
// cover): the usable samples, the ready count, the unready and missing
// pods' names, and the requests of all pods.
func upstreamSamples(pods []Pod, podValues map[string]PodSample, resource string) (samples map[string]int64, ready int, unready, missing []string, requests map[string]int64, err error) {
	if len(pods) == 0 {
		return nil, 0, nil, nil, nil, errNoPods
	}
	p := DefaultParams()
	ignoredOrUnready := map[string]bool{}
	for _, pod := range pods {
		sample, ok := podValues[pod.Name]
		switch {
		case pod.Deleting || pod.Phase == PodFailed:
			ignoredOrUnready[pod.Name] = true
		case pod.Phase == PodPending:
			ignoredOrUnready[pod.Name] = true
			unready = append(unready, pod.Name)
		case !ok:
			missing = append(missing, pod.Name)
		case resource == ResourceCPU && cpuUnready(&pod, &sample, &p, t0):
			ignoredOrUnready[pod.Name] = true
			unready = append(unready, pod.Name)
		default:
			ready++
		}
	}
	samples = map[string]int64{}
	for name, s := range podValues {
		if !ignoredOrUnready[name] {
			samples[name] = s.Milli
		}
	}
	if len(samples) == 0 {
		return nil, 0, nil, nil, nil, errNoPodSamples
	}
	requests = map[string]int64{}
	for _, pod := range pods {
		r, err := podRequest(&pod, resource)
		if err != nil {
			return samples, ready, unready, missing, nil, err
		}
		requests[pod.Name] = r
	}
	return samples, ready, unready, missing, requests, nil
}

// sumsOf sums a sample map as GetResourceUtilizationRatio does: the
// samples whose pod has a request.
func sumsOf(samples, requests map[string]int64) sampleSums {
	var s sampleSums
	for name, v := range samples {
		if req, ok := requests[name]; ok {
			s.pods++
			s.usage += v
			s.request += req
		}
	}
	return s
}

// countSum counts and sums a sample map as GetMetricUsageRatio does: all
// its samples.
func countSum(samples map[string]int64) (n int, total int64) {
	for _, v := range samples {
		total += v
	}
	return len(samples), total
}

// TestTallySumsUpstreamsSampleMap: the one pass over the pods groups them
// and sums their samples, extraneous samples included, as upstream's maps
// keyed by pod name do, and fills the second pass's samples in as upstream
// does, for either calculator, either direction (and a ratio of exactly 1),
// with and without unready pods on a scale-up.
func TestTallySumsUpstreamsSampleMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var compared, withExtra, secondPass int
	for i := range 30000 {
		pods, podValues := randomPerPodInput(r)
		resource := []string{ResourceCPU, "memory", ""}[r.IntN(3)]
		fill := int64([]int32{50, 100, 150}[r.IntN(3)])
		target := int64(1 + r.IntN(1500))
		msg := []any{"case %d: pods %+v, samples %+v, %q", i, pods, podValues, resource}

		samples, ready, unready, missing, requests, wantErr := upstreamSamples(pods, podValues, resource)
		tally, err := tallyPods(pods, podValues, resource, true, fill, DefaultParams(), t0)
		plain, plainErr := tallyPods(pods, podValues, resource, false, 0, DefaultParams(), t0)
		if samples == nil {
			require.Equal(t, wantErr, err, msg...)
			require.Equal(t, wantErr, plainErr, msg...)
			continue
		}
		require.NoError(t, err, msg...)
		require.NoError(t, plainErr, msg...)
		require.Equal(t, wantErr, tally.requestErr, msg...)
		require.Equal(t, []int{ready, len(unready), len(missing)}, []int{tally.ready, tally.unready, tally.missing}, msg...)
		require.Equal(t, []int{ready, len(unready), len(missing)}, []int{plain.ready, plain.unready, plain.missing}, msg...)
		wantN, wantTotal := countSum(samples)
		gotN, gotTotal := plain.all(plain.usable)
		require.Equal(t, []any{wantN, wantTotal}, []any{gotN, gotTotal}, msg...)
		compared++
		if len(samples) > ready {
			withExtra++
		}
		if wantErr != nil {
			continue
		}
		require.Equal(t, sumsOf(samples, requests), tally.usable, msg...)
		if len(unready)+len(missing) > 0 {
			secondPass++
		}
		for _, ratio := range []float64{0.5, 1, 2} {
			for _, scaleUpWithUnready := range []bool{false, true} {
				utilFilled, plainFilled := maps.Clone(samples), maps.Clone(samples)
				for _, name := range missing {
					switch {
					case ratio < 1:
						utilFilled[name] = requests[name] * fill / 100
						plainFilled[name] = target
					case ratio > 1:
						utilFilled[name], plainFilled[name] = 0, 0
					}
				}
				if scaleUpWithUnready {
					for _, name := range unready {
						utilFilled[name], plainFilled[name] = 0, 0
					}
				}
				m := append(msg[:len(msg):len(msg)], ratio, scaleUpWithUnready)
				m[0] = m[0].(string) + ", ratio %v, scale-up with unready %v"
				require.Equal(t, sumsOf(utilFilled, requests), tally.filled(ratio, scaleUpWithUnready, tally.missingFill), m...)
				gotN, gotTotal := plain.all(plain.filled(ratio, scaleUpWithUnready, int64(plain.missing)*target))
				wantN, wantTotal := countSum(plainFilled)
				require.Equal(t, []any{wantN, wantTotal}, []any{gotN, gotTotal}, m...)
			}
		}
	}
	// The cases must reach extraneous samples and the second pass.
	require.Greater(t, compared, 15000)
	require.Greater(t, withExtra, 3000)
	require.Greater(t, secondPass, 5000)
}

// TestPodsListedTwiceFailTheirMetrics: a target's pods have distinct names,
// so a pod listed twice is an error for every metric read per pod, which
// names it; the others go on.
func TestPodsListedTwiceFailTheirMetrics(t *testing.T) {
	podsAvg := MetricSpec{Name: "rps", Kind: KindPods, Target: Target{Type: AverageValue, AverageMilli: 100}}
	queue := MetricSpec{Name: "queue", Kind: KindExternal, Target: Target{Type: AverageValue, AverageMilli: 100}}
	in := Input{Config: legacyConfig(1, 10, cpuUtil(50), podsAvg, queue), SpecReplicas: 3, StatusReplicas: 3,
		Pods: []Pod{pod("web-0", 1000), pod("web-1", 1000), pod("web-0", 1000)},
		Results: map[string]MetricResult{
			"cpu":   {PodValues: samples(map[string]int64{"web-0": 500, "web-1": 500})},
			"rps":   {PodValues: samples(map[string]int64{"web-0": 100, "web-1": 100})},
			"queue": {Values: []int64{600}},
		}}
	d := Decide(in, t0)
	require.Len(t, d.Metrics, 3)
	require.EqualError(t, d.Metrics[0].Err, `metric "cpu": pod "web-0" is listed twice: pod names must be distinct within a target`)
	require.ErrorIs(t, d.Metrics[1].Err, errDuplicatePod)
	require.NoError(t, d.Metrics[2].Err)
	require.Equal(t, int32(6), d.Replicas, "a scale-up on the metrics that succeeded goes ahead")
}

// TestExtraneousSamplesCountInAnAverage: a sample of no pod (a pod deleted
// since) is among upstream's samples: it counts in a plain average, though
// not in the ready pods the first pass multiplies by.
func TestExtraneousSamplesCountInAnAverage(t *testing.T) {
	podsAvg := MetricSpec{Name: "rps", Kind: KindPods, Target: Target{Type: AverageValue, AverageMilli: 100}}
	in := Input{Config: legacyConfig(1, 10, podsAvg), SpecReplicas: 2, Pods: pods(2, 1000)}
	// (100 + 100 + 400) / 3 = 200, twice the target, × 2 ready pods.
	out, err := computeMetric(podsAvg, MetricResult{PodValues: samples(map[string]int64{"p0": 100, "p1": 100, "gone": 400})}, true, in, tolerances{0.1, 0.1}, t0)
	require.NoError(t, err)
	require.Equal(t, metricOutcome{replicas: 4, value: 200, demand: 6, hasDemand: true}, out)
}

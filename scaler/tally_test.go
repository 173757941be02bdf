package scaler

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// randomPerPodInput is a target's pods and samples as the per-pod
// calculators may see them: any phase and readiness, start times and
// samples around the CPU initialization period, requests missing or zero,
// samples missing or of no pod, and, with dup, pods sharing a name.
func randomPerPodInput(r *rand.Rand, dup bool) ([]Pod, map[string]PodSample) {
	n := r.IntN(7)
	names := r.Perm(10)
	pods := make([]Pod, n)
	for i := range pods {
		name := names[i]
		if dup && i > 0 && r.IntN(3) == 0 {
			name = names[r.IntN(i)]
		}
		req := []int64{0, 100, 500, 1000}[r.IntN(4)]
		p := pod(fmt.Sprintf("p%d", name), req)
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
	samples := map[string]PodSample{}
	for _, p := range pods {
		if r.IntN(5) > 0 {
			samples[p.Name] = PodSample{Milli: int64(r.IntN(2000)), Timestamp: t0.Add(-time.Duration(r.IntN(60)) * time.Second), Window: 30 * time.Second}
		}
	}
	if r.IntN(4) == 0 {
		samples["stranger"] = PodSample{Milli: int64(r.IntN(2000)), Timestamp: t0, Window: 30 * time.Second}
	}
	return pods, samples
}

// TestTallyAgreesWithNameMaps: the pass over the pods decides as upstream's
// maps keyed by pod name do wherever it applies (distinct names, every
// sample a pod's), and hands the rest to them.
func TestTallyAgreesWithNameMaps(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := DefaultParams()
	var tallied, secondPass, byName int
	for i := range 50000 {
		pods, samples := randomPerPodInput(r, i%4 == 0)
		current := int32(r.IntN(8))
		tol := tolerances{down: []float64{0, 0.1, 0.2}[r.IntN(3)], up: []float64{0, 0.1, 0.05}[r.IntN(3)]}
		resource := []string{ResourceCPU, "memory"}[r.IntN(2)]
		target := int32(1 + r.IntN(200))
		fill := int64(max(100, target))
		average := int64(1 + r.IntN(1500))
		// Formatted only on a failure.
		msg := []any{"case %d: %d pods %+v, samples %+v, current %d, %s, target %d%%/%dm, tolerance %+v", i, len(pods), pods, samples, current, resource, target, average, tol}

		tally, ok := tallyPods(pods, samples, resource, true, fill, p, t0)
		plainTally, plainOK := tallyPods(pods, samples, resource, false, 0, p, t0)
		require.Equal(t, ok, plainOK, msg...)
		if !ok {
			byName++
			continue
		}
		tallied++
		if tally.missing > 0 || tally.unready > 0 {
			secondPass++
		}
		want, wantErr := resourceUtilizationByName(current, target, fill, resource, tol, pods, samples, p, t0)
		got, err := tally.utilizationReplicas(current, target, tol)
		requireSameOutcome(t, want, wantErr, got, err, msg)

		want, wantErr = plainMetricByName(current, average, resource, tol, pods, samples, p, t0)
		got, err = plainTally.plainReplicas(current, average, tol)
		requireSameOutcome(t, want, wantErr, got, err, msg)
	}
	t.Logf("%d cases tallied (%d with unready or missing pods), %d by name", tallied, secondPass, byName)
	// The cases must reach both paths, and the tally's second pass.
	require.Greater(t, tallied, 10000)
	require.Greater(t, secondPass, 5000)
	require.Greater(t, byName, 10000)
}

func requireSameOutcome(t *testing.T, want metricOutcome, wantErr error, got metricOutcome, err error, msg []any) {
	t.Helper()
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error(), msg...)
		return
	}
	require.NoError(t, err, msg...)
	// Bit for bit: demand is a float64 that NaN would make unequal to
	// itself, so compare its bits.
	require.Equal(t, fmt.Sprintf("%+v %b", want, want.demand), fmt.Sprintf("%+v %b", got, got.demand), msg...)
}

// TestNameSet: a name added twice is found, distinct names are not, also
// past a table's first size.
func TestNameSet(t *testing.T) {
	for _, n := range []int{1, 7, 600} {
		s := newNameSet(n)
		for i := range n {
			require.True(t, s.add(fmt.Sprintf("pod-%d", i)))
		}
		for i := range n {
			require.False(t, s.add(fmt.Sprintf("pod-%d", i)))
		}
		s.release()
	}
}

package scaler

import (
	"fmt"
	"sync"
	"time"
)

// podTally is upstream's groupPods and the sums the per-pod calculators take
// over its samples, in one pass over the pods. Upstream keeps the samples
// in a map keyed by pod name and sets of names for the groups; a target's
// pods have distinct names (see Input.Pods), so each name stands for one
// pod, and its sums over the names are these sums over the pods: integer
// sums, which wrap alike in any order. Those maps of every pod at every
// sync were most of a replay's time at hundreds of replicas.
type podTally struct {
	// ready, unready and missing count the pods of each group; ignored
	// pods are left out.
	ready, unready, missing int
	// usable sums the ready pods' samples, upstream's usable samples but
	// the extraneous ones.
	usable sampleSums
	// extra and extraSum count and sum the extraneous samples, of no pod
	// (the collector may still return a series of a pod deleted since): an
	// average counts them, utilization skips them, as they have no request.
	extra    int
	extraSum int64
	// With requests: the requests of the unready and missing pods, and the
	// missing pods' requests × fill / 100, rounded down pod by pod as
	// upstream fills them.
	unreadyRequest, missingRequest, missingFill int64
	// requestErr is the first pod's, in the pods' order, without a request
	// for the resource; ignored pods too need one, as upstream.
	requestErr error
}

// sampleSums sums the samples of pods in upstream's map of samples keyed
// by pod name: their number, sum and requests.
type sampleSums struct {
	pods           int
	usage, request int64
}

// all is the number and sum of every sample in upstream's map of which s
// sums the pods': with the extraneous ones, as upstream's averages count
// them (GetMetricUsageRatio) and its second pass counts its map's entries.
func (t *podTally) all(s sampleSums) (n int, total int64) {
	return s.pods + t.extra, s.usage + t.extraSum
}

// tallyPods groups the pods as upstream's groupPods does: ignored if
// deleting or failed, else unready if pending, else missing without a
// sample, else, for cpu alone, unready by cpuUnready, else ready. It sums
// their samples, and with requests their requests for resource. It fails
// as upstream does when there are no pods or no usable samples, and when
// two pods share a name.
func tallyPods(pods []Pod, podValues map[string]PodSample, resource string, requests bool, fill int64, p Params, now time.Time) (podTally, error) {
	var t podTally
	if len(pods) == 0 {
		return t, errNoPods
	}
	names := podNames.Get().(map[string]struct{})
	defer func() { clear(names); podNames.Put(names) }()
	found := 0
	var foundSum int64
	for i := range pods {
		pod := &pods[i]
		if _, twice := names[pod.Name]; twice {
			return podTally{}, fmt.Errorf("pod %q is listed twice: %w", pod.Name, errDuplicatePod)
		}
		names[pod.Name] = struct{}{}
		sample, has := podValues[pod.Name]
		if has {
			found++
			foundSum += sample.Milli
		}
		var req int64
		if requests && t.requestErr == nil {
			var err error
			if req, err = podRequest(pod, resource); err != nil {
				t.requestErr = err
			}
		}
		switch {
		case pod.Deleting || pod.Phase == PodFailed:
		case pod.Phase == PodPending:
			t.unready++
			t.unreadyRequest += req
		case !has:
			t.missing++
			t.missingRequest += req
			t.missingFill += req * fill / 100
		case resource == ResourceCPU && cpuUnready(pod, &sample, &p, now):
			t.unready++
			t.unreadyRequest += req
		default:
			t.ready++
			t.usable.pods++
			t.usable.usage += sample.Milli
			t.usable.request += req
		}
	}
	// The names are distinct, so the samples no pod found are the
	// extraneous ones, and their sum is the rest of the samples' sum.
	if t.extra = len(podValues) - found; t.extra > 0 {
		var sum int64
		for _, s := range podValues {
			sum += s.Milli
		}
		t.extraSum = sum - foundSum
	}
	if n, _ := t.all(t.usable); n == 0 {
		return t, errNoPodSamples
	}
	return t, nil
}

// cpuUnready distrusts CPU samples of pods that are still warming up: during
// the initialization period a sample must cover one full window since the
// last readiness transition; afterwards only never-ready pods are excluded.
func cpuUnready(pod *Pod, sample *PodSample, p *Params, now time.Time) bool {
	if pod.Ready == nil || pod.StartTime == nil {
		return true
	}
	if pod.StartTime.Add(p.CPUInitializationPeriod).After(now) {
		return pod.Ready.Status == ConditionFalse || sample.Timestamp.Before(pod.Ready.LastTransitionTime.Add(sample.Window))
	}
	return pod.Ready.Status == ConditionFalse && pod.StartTime.Add(p.InitialReadinessDelay).After(pod.Ready.LastTransitionTime)
}

// filled is the usable samples with those the second pass fills in:
// missing pods at downFill (their sum) on a scale-down and at 0 on a
// scale-up, none at a ratio of exactly 1; and on a scale-up with unready
// pods, those at 0.
func (t *podTally) filled(ratio float64, scaleUpWithUnready bool, downFill int64) sampleSums {
	s := t.usable
	switch {
	case ratio < 1:
		s.usage += downFill
		fallthrough
	case ratio > 1:
		s.pods += t.missing
		s.request += t.missingRequest
	}
	if scaleUpWithUnready {
		s.pods += t.unready
		s.request += t.unreadyRequest
	}
	return s
}

// podNames is a set of pod names, kept between calls: cleared, a map
// keeps its room, so a sync adds its pods without allocating.
var podNames = sync.Pool{New: func() any { return map[string]struct{}{} }}

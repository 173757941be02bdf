package scaler

import (
	"hash/maphash"
	"math/bits"
	"sync"
	"time"
)

// podTally is what the per-pod calculators read of the pods and their
// samples, taken in one pass over the pods without the maps of groupPods,
// usableSamples and utilization, when no two pods share a name and every
// sample is a pod's. Each name then stands for one pod: upstream's name
// sets hold one entry per pod of their group, and its sums over them are
// these sums over the pods (integer sums, in any order). Those maps were
// most of a replay's time at hundreds of replicas.
type podTally struct {
	// ready, unready and missing count the pods of each group; ignored
	// pods are left out.
	ready, unready, missing int
	// usage sums the ready pods' samples, the usable ones.
	usage int64
	// With requests: the requests of the ready, unready and missing pods,
	// and the missing pods' requests × fill / 100, rounded down pod by pod
	// as upstream fills them.
	readyRequest, unreadyRequest, missingRequest, missingFill int64
	// requestErr is the first pod's, in the pods' order, without a request
	// for the resource.
	requestErr error
}

// tallyPods groups the pods as groupPods does and sums their samples, and
// with requests their requests for resource. ok is false when there are no
// pods, two pods share a name or a sample belongs to no pod: the maps'
// path handles these.
func tallyPods(pods []Pod, podValues map[string]PodSample, resource string, requests bool, fill int64, p Params, now time.Time) (t podTally, ok bool) {
	if len(pods) == 0 {
		return podTally{}, false
	}
	names := newNameSet(len(pods))
	defer names.release()
	found := 0
	for i := range pods {
		pod := &pods[i]
		if !names.add(pod.Name) {
			return podTally{}, false
		}
		sample, has := podValues[pod.Name]
		if has {
			found++
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
			t.usage += sample.Milli
			t.readyRequest += req
		}
	}
	// The pods' names are distinct, so as many found a sample as there are
	// samples only when every sample is a pod's.
	return t, found == len(podValues)
}

// utilizationReplicas is resourceUtilizationReplicas on the tally.
func (t podTally) utilizationReplicas(current, target int32, tol tolerances) (metricOutcome, error) {
	if t.ready == 0 {
		return metricOutcome{}, errNoPodSamples
	}
	if t.requestErr != nil {
		return metricOutcome{}, t.requestErr
	}
	first, err := utilizationOf(t.usage, t.readyRequest, t.ready, target)
	if err != nil {
		return metricOutcome{}, err
	}
	replicas, err := perPodReplicas(current, first.ratio, tol, t.ready, t.unready, t.missing,
		func(scaleUpWithUnready bool) (float64, int, error) {
			usage, request, n := t.filled(first.ratio, scaleUpWithUnready, t.missingFill)
			r, err := utilizationOf(usage, request, n, target)
			return r.ratio, n, err
		})
	if err != nil {
		return metricOutcome{}, err
	}
	return utilizationOutcome(replicas, first, target), nil
}

// plainReplicas is plainMetricReplicas on the tally: missing pods are
// filled with the target.
func (t podTally) plainReplicas(current int32, target int64, tol tolerances) (metricOutcome, error) {
	if t.ready == 0 {
		return metricOutcome{}, errNoPodSamples
	}
	ratio, average := averageRatio(t.usage, t.ready, target)
	replicas, err := perPodReplicas(current, ratio, tol, t.ready, t.unready, t.missing,
		func(scaleUpWithUnready bool) (float64, int, error) {
			total, _, n := t.filled(ratio, scaleUpWithUnready, int64(t.missing)*target)
			r, _ := averageRatio(total, n, target)
			return r, n, nil
		})
	if err != nil {
		return metricOutcome{}, err
	}
	return metricOutcome{replicas: replicas, value: average, demand: float64(t.usage) / float64(target), hasDemand: true}, nil
}

// filled is the second pass's sums of usage and requests, and its number
// of samples, after fillSamples: the missing pods at downFill (their sum)
// on a scale-down and 0 on a scale-up, and on a scale-up with unready pods
// those at 0.
func (t podTally) filled(ratio float64, scaleUpWithUnready bool, downFill int64) (usage, request int64, n int) {
	usage, request, n = t.usage, t.readyRequest, t.ready
	switch {
	case ratio < 1:
		usage += downFill
		fallthrough
	case ratio > 1:
		request += t.missingRequest
		n += t.missing
	}
	if scaleUpWithUnready {
		request += t.unreadyRequest
		n += t.unready
	}
	return usage, request, n
}

// nameSet tells whether a name was added before, by the names' hashes: a
// name added twice is always found, and two names of one hash (never, in
// practice) are taken for one, which only costs tallyPods its fast path.
type nameSet struct {
	table *[]uint64
	slots []uint64
}

var (
	nameSeed   = maphash.MakeSeed()
	nameTables = sync.Pool{New: func() any { return new([]uint64) }}
)

func newNameSet(n int) nameSet {
	table := nameTables.Get().(*[]uint64)
	// At most half full, so a probe ends soon.
	size := 1 << bits.Len(uint(2*n))
	if cap(*table) < size {
		*table = make([]uint64, size)
	}
	slots := (*table)[:size]
	clear(slots)
	return nameSet{table: table, slots: slots}
}

// add adds name and reports whether it was new.
func (s nameSet) add(name string) bool {
	// 0 marks a free slot.
	h := maphash.String(nameSeed, name) | 1
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			return true
		case h:
			return false
		}
	}
}

func (s nameSet) release() { nameTables.Put(s.table) }

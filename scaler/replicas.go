package scaler

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ErrNoData means the collector returned nothing for a metric.
var ErrNoData = errors.New("no data")

// tolerances is the band around a ratio of 1 inside which nothing changes.
type tolerances struct{ down, up float64 }

// within is inclusive at both ends, as upstream's Tolerances.isWithin.
func (t tolerances) within(ratio float64) bool {
	return (1-t.down) <= ratio && ratio <= (1+t.up)
}

// metricOutcome is one metric's proposal and what status reports for it.
type metricOutcome struct {
	replicas int32
	// value is the reported current value: utilization percent for
	// Utilization targets, otherwise the average or total in milli-units.
	value int64
	// demand is the load in replicas at target (see Decision.Demand);
	// hasDemand is false for Value targets, whose load is not additive.
	demand    float64
	hasDemand bool
}

// metricFailure is a failed metric with the HPA condition reason it maps to.
type metricFailure struct {
	reason string
	err    error
}

func (f *metricFailure) Error() string { return f.err.Error() }
func (f *metricFailure) Unwrap() error { return f.err }

// failedReason is the ScalingActive reason upstream sets for a failure of
// a metric of this kind.
func failedReason(k MetricKind) string {
	switch k {
	case KindResource:
		return "FailedGetResourceMetric"
	case KindPods:
		return "FailedGetPodsMetric"
	case KindObject:
		return "FailedGetObjectMetric"
	case KindExternal:
		return "FailedGetExternalMetric"
	}
	return "InvalidMetricSourceType"
}

// computeMetric is upstream's computeReplicasForMetric for one metric spec.
func computeMetric(m MetricSpec, res MetricResult, found bool, in Input, tol tolerances, now time.Time) (metricOutcome, error) {
	fail := func(err error) (metricOutcome, error) {
		return metricOutcome{}, &metricFailure{reason: failedReason(m.Kind), err: fmt.Errorf("metric %q: %w", m.Name, err)}
	}
	if !found {
		return fail(ErrNoData)
	}
	if res.Err != nil {
		return metricOutcome{}, &metricFailure{reason: failedReason(m.Kind), err: res.Err}
	}
	p := in.Config.Params
	switch {
	case m.Kind == KindResource && m.Target.Type == Utilization:
		out, err := resourceUtilizationReplicas(in.SpecReplicas, m.Target.Utilization, m.Resource, tol, in.Pods, res.PodValues, p, now)
		if err != nil {
			return fail(err)
		}
		return out, nil
	case (m.Kind == KindResource || m.Kind == KindPods) && m.Target.Type == AverageValue:
		// Only resource metrics get the CPU readiness rules; pods metrics
		// pass no resource name upstream.
		resource := ""
		if m.Kind == KindResource {
			resource = m.Resource
		}
		out, err := plainMetricReplicas(in.SpecReplicas, m.Target.AverageMilli, resource, tol, in.Pods, res.PodValues, p, now)
		if err != nil {
			return fail(err)
		}
		return out, nil
	case (m.Kind == KindObject || m.Kind == KindExternal) && m.Target.Type == Value:
		usage, err := sumValues(m, res.Values)
		if err != nil {
			return fail(err)
		}
		ratio := float64(usage) / float64(m.Target.ValueMilli)
		r, err := usageRatioReplicas(in.SpecReplicas, ratio, tol, in.Pods)
		if err != nil {
			return fail(err)
		}
		return metricOutcome{replicas: r, value: usage}, nil
	case (m.Kind == KindObject || m.Kind == KindExternal) && m.Target.Type == AverageValue:
		usage, err := sumValues(m, res.Values)
		if err != nil {
			return fail(err)
		}
		return perReplicaReplicas(in.StatusReplicas, usage, m.Target.AverageMilli, tol), nil
	}
	return metricOutcome{}, &metricFailure{
		reason: "InvalidMetricSourceType",
		err:    fmt.Errorf("metric %q: unsupported combination of kind %q and target type %q", m.Name, m.Kind, m.Target.Type),
	}
}

// sumValues is the object metric's single value, or the sum of an external
// metric's series, summed as upstream sums it for each target type. For a
// Value target a sum that would overflow saturates at MaxInt64. For an
// AverageValue target a negative running sum becomes MaxInt64, because
// upstream takes it for an overflow: a negative series there scales up to
// the limit.
func sumValues(m MetricSpec, values []int64) (int64, error) {
	if len(values) == 0 {
		return 0, ErrNoData
	}
	if m.Kind == KindObject {
		if len(values) != 1 {
			return 0, fmt.Errorf("object metric returned %d values, want exactly 1", len(values))
		}
		return values[0], nil
	}
	var sum int64
	for _, v := range values {
		if m.Target.Type == AverageValue {
			if sum += v; sum < 0 {
				return math.MaxInt64, nil
			}
			continue
		}
		if v > 0 && sum > math.MaxInt64-v {
			return math.MaxInt64, nil
		}
		sum += v
	}
	return sum, nil
}

var (
	errNoPods        = errors.New("no pods returned by selector while calculating replica count")
	errNoPodSamples  = errors.New("did not receive metrics for targeted pods (pods might be unready)")
	errNoKnownSample = errors.New("no metrics returned matched known pods")
	errDuplicatePod  = errors.New("pod names must be distinct within a target")
)

// PodLevelRequests is what upstream's HPA reads as a pod's requests when
// the pod sets a pod-level request for cpu, memory or hugepages (KEP-2837),
// nil when it sets none of these. It is the scheduler's view of the pod
// (resourcehelpers.PodRequests): for each resource the pod-level request
// when there is one, else the most the containers ask for at once: the
// regular containers and sidecars together, or an init container with the
// sidecars declared before it, whichever is more; plus the RuntimeClass
// overhead. A resource neither the pod nor a container names is absent, and
// a utilization metric on it fails as upstream's does.
func PodLevelRequests(podLevel Requests, containers []Requests, inits []InitContainer, overhead Requests) Requests {
	if !slices.ContainsFunc(podLevel, func(r Request) bool { return podLevelResource(r.Resource) }) {
		return nil
	}
	var running, sidecars, initPeak Requests
	for _, c := range containers {
		running = running.add(c)
	}
	for _, ic := range inits {
		if ic.Sidecar {
			running = running.add(ic.Requests)
			sidecars = sidecars.add(ic.Requests)
			initPeak = initPeak.max(sidecars)
			continue
		}
		initPeak = initPeak.max(Requests(nil).add(ic.Requests).add(sidecars))
	}
	out := running.max(initPeak)
	for _, r := range podLevel {
		if podLevelResource(r.Resource) {
			out = out.set(r.Resource, r.Milli)
		}
	}
	return out.add(overhead)
}

// podLevelResource is upstream's IsSupportedPodLevelResource.
func podLevelResource(name string) bool {
	return name == "cpu" || name == "memory" || strings.HasPrefix(name, "hugepages-")
}

// podRequest is upstream's calculateRequests for one pod without a
// container name: pod-level requests when set, otherwise the sum over
// containers and sidecars, each of which must have a request.
func podRequest(pod *Pod, resource string) (int64, error) {
	if pod.PodRequests != nil {
		r, ok := pod.PodRequests.Get(resource)
		if !ok {
			return 0, fmt.Errorf("missing pod-level request for %s in Pod %s", resource, pod.Name)
		}
		return r, nil
	}
	var sum int64
	for _, c := range pod.Containers {
		r, ok := c.Requests.Get(resource)
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pod.Name)
		}
		sum += r
	}
	return sum, nil
}

// utilizationResult is upstream's GetResourceUtilizationRatio: integer
// percent, truncated, over the samples whose pod has a request.
type utilizationResult struct {
	ratio       float64
	utilization int32
	rawAverage  int64
	usage       int64
	request     int64
	entries     int
}

// utilizationOf is upstream's GetResourceUtilizationRatio on the sums of
// usage and requests over entries samples of pods.
func utilizationOf(usage, request int64, entries int, target int32) (utilizationResult, error) {
	r := utilizationResult{usage: usage, request: request, entries: entries}
	if r.request == 0 {
		return r, errNoKnownSample
	}
	r.utilization = int32((r.usage * 100) / r.request)
	r.ratio = float64(r.utilization) / float64(target)
	r.rawAverage = r.usage / int64(r.entries)
	return r, nil
}

// resourceUtilizationReplicas is upstream's GetResourceReplicas.
func resourceUtilizationReplicas(current, target int32, resource string, tol tolerances, pods []Pod, podValues map[string]PodSample, p Params, now time.Time) (metricOutcome, error) {
	// Missing pods on a scale-down use 100 % of their request, or the
	// target when it is above 100 %.
	t, err := tallyPods(pods, podValues, resource, true, int64(max(100, target)), p, now)
	if err != nil {
		return metricOutcome{}, err
	}
	if t.requestErr != nil {
		return metricOutcome{}, t.requestErr
	}
	first, err := utilizationOf(t.usable.usage, t.usable.request, t.usable.pods, target)
	if err != nil {
		return metricOutcome{}, err
	}
	replicas, err := perPodReplicas(current, first.ratio, tol, t.ready, t.unready, t.missing,
		func(scaleUpWithUnready bool) (float64, int, error) {
			s := t.filled(first.ratio, scaleUpWithUnready, t.missingFill)
			r, err := utilizationOf(s.usage, s.request, s.pods, target)
			n, _ := t.all(s)
			return r.ratio, n, err
		})
	if err != nil {
		return metricOutcome{}, err
	}
	return metricOutcome{
		replicas:  replicas,
		value:     int64(first.utilization),
		demand:    float64(first.usage) * 100 * float64(first.entries) / (float64(target) * float64(first.request)),
		hasDemand: true,
	}, nil
}

// plainMetricReplicas is upstream's calcPlainMetricReplicas: per-pod
// averages of pods metrics and of resource AverageValue targets.
func plainMetricReplicas(current int32, target int64, resource string, tol tolerances, pods []Pod, podValues map[string]PodSample, p Params, now time.Time) (metricOutcome, error) {
	t, err := tallyPods(pods, podValues, resource, false, 0, p, now)
	if err != nil {
		return metricOutcome{}, err
	}
	n, total := t.all(t.usable)
	ratio, average := averageRatio(total, n, target)
	replicas, err := perPodReplicas(current, ratio, tol, t.ready, t.unready, t.missing,
		func(scaleUpWithUnready bool) (float64, int, error) {
			// Missing pods on a scale-down use exactly the target.
			n, total := t.all(t.filled(ratio, scaleUpWithUnready, int64(t.missing)*target))
			r, _ := averageRatio(total, n, target)
			return r, n, nil
		})
	if err != nil {
		return metricOutcome{}, err
	}
	return metricOutcome{replicas: replicas, value: average, demand: float64(total) / float64(target), hasDemand: true}, nil
}

// perPodReplicas is the common rest of the per-pod calculators: with no
// unready pods on a scale-up and none missing, the first-pass ratio decides
// over the ready pods; otherwise second recomputes the ratio with missing
// and unready pods filled in (see podTally.filled), over n samples, and
// secondPass decides.
func perPodReplicas(current int32, ratio float64, tol tolerances, ready, unready, missing int,
	second func(scaleUpWithUnready bool) (newRatio float64, n int, err error)) (int32, error) {
	scaleUpWithUnready := unready > 0 && ratio > 1
	if !scaleUpWithUnready && missing == 0 {
		if tol.within(ratio) {
			return current, nil
		}
		return int32(math.Ceil(ratio * float64(ready))), nil
	}
	newRatio, n, err := second(scaleUpWithUnready)
	if err != nil {
		return 0, err
	}
	return secondPass(current, ratio, newRatio, n, tol), nil
}

// secondPass holds within tolerance or on a direction flip, and never moves
// against the first pass's direction.
func secondPass(current int32, ratio, newRatio float64, n int, tol tolerances) int32 {
	if tol.within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current
	}
	r := int32(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1 && r > current) || (newRatio > 1 && r < current) {
		return current
	}
	return r
}

// averageRatio is upstream's GetMetricUsageRatio on the sum of n samples:
// the truncated integer average against the target.
func averageRatio(total int64, n int, target int64) (ratio float64, average int64) {
	average = total / int64(n)
	return float64(average) / float64(target), average
}

// usageRatioReplicas is upstream's getUsageRatioReplicaCount for Value
// targets: the ratio times the ready pods (not the current replicas), and
// tolerance ignored when scaling from zero.
func usageRatioReplicas(current int32, ratio float64, tol tolerances, pods []Pod) (int32, error) {
	if current == 0 {
		return int32(math.Ceil(ratio)), nil
	}
	if tol.within(ratio) {
		return current, nil
	}
	if len(pods) == 0 {
		return 0, fmt.Errorf("unable to calculate ready pods: %w", errNoPods)
	}
	ready := 0
	for _, pod := range pods {
		if pod.Phase == PodRunning && pod.Ready != nil && pod.Ready.Status == ConditionTrue {
			ready++
		}
	}
	x := ratio * float64(ready)
	if x > math.MaxInt32 {
		return math.MaxInt32, nil
	}
	return int32(math.Ceil(x)), nil
}

// perReplicaReplicas is upstream's Get{Object,External}PerPodMetricReplicas:
// AverageValue targets of one value, against status.replicas.
func perReplicaReplicas(statusReplicas int32, usage, targetAvg int64, tol tolerances) metricOutcome {
	// A saturated sum measures no load, and one such sync would leave the
	// forecaster expecting an enormous load for a season.
	out := metricOutcome{replicas: statusReplicas, demand: float64(usage) / float64(targetAvg), hasDemand: usage != math.MaxInt64}
	ratio := float64(usage) / (float64(targetAvg) * float64(statusReplicas))
	if !tol.within(ratio) {
		c := math.Ceil(float64(usage) / float64(targetAvg))
		if c > math.MaxInt32 {
			out.replicas = math.MaxInt32
		} else {
			out.replicas = int32(c)
		}
	}
	switch {
	case usage == math.MaxInt64:
		out.value = math.MaxInt64
	case statusReplicas == 0:
		// Upstream divides by zero here; only the reported value is affected.
		out.value = usage
	default:
		out.value = int64(math.Ceil(float64(usage) / float64(statusReplicas)))
	}
	return out
}

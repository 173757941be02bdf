package main

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/scaler/release"
	"github.com/trimtab/trimtab/scaler/release/router"
)

// Metric names, as a user would write them in the Release.
const (
	metricErrors  = "error-ratio"
	metricLatency = "latency-p99"
)

// releaseFalseRollbackRate is the controller's default
// --analysis.false-rollback-rate; it splits it evenly over the steps.
const releaseFalseRollbackRate = 0.01

// epoch is when the canary's first step takes its traffic.
var epoch = time.Unix(1_700_000_000, 0).UTC()

// decider runs on one trial's traffic and returns, for each of its rows,
// the second after the step start at which the canary is rolled back, or
// -1 when it is not within the step. Rows of one decider share work.
type decider struct {
	rows []string
	run  func(*traffic) ([]int, error)
}

// newRelease is the Release under test: the default canary steps (10 % for
// 15 minutes first) with a baseline, looks every second, and two metrics.
func newRelease() *trimtabv1.Release {
	prom := func(q string) trimtabv1.MetricSource {
		return trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: q}}
	}
	return &trimtabv1.Release{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "bench"},
		Spec: trimtabv1.ReleaseSpec{
			Strategy: trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Baseline: true}},
			Analysis: trimtabv1.Analysis{IntervalSeconds: 1, Metrics: []trimtabv1.Metric{
				{Name: metricErrors, Critical: true, MetricSource: prom(
					`sum(rate(http_requests_total{code=~"5..",pod=~"{{.PodRegex}}"}[{{.Interval}}])) / sum(rate(http_requests_total{pod=~"{{.PodRegex}}"}[{{.Interval}}]))`)},
				{Name: metricLatency, MetricSource: prom(
					`histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{pod=~"{{.PodRegex}}"}[{{.Interval}}])))`)},
			}},
			ProgressDeadlineSeconds: 600,
		},
	}
}

// simCollector answers the analyst's range queries from a trial's traffic,
// as Prometheus would with a 1 s scrape interval. It serves what the
// controller asks at a 1 s analysis interval: one point per second, each
// over a rate window of 2 s. The points are computed once per trial, since
// every look reads them again.
type simCollector struct {
	// points[variant][metric][i] is the point at the end of second i+1.
	points map[collector.Variant]map[string][]collector.Sample
}

func newSimCollector(t *traffic) simCollector {
	c := simCollector{points: map[collector.Variant]map[string][]collector.Sample{}}
	for name, v := range map[collector.Variant]*variant{router.Canary: &t.canary, router.Baseline: &t.baseline} {
		ratio, p99 := make([]collector.Sample, horizon), make([]collector.Sample, horizon)
		for s := range horizon {
			at := epoch.Add(time.Duration(s+1) * time.Second)
			from := spanStart(s+1, 2)
			ratio[s] = collector.Sample{Time: at, Value: v.errorRatio(from, s+1)}
			p99[s] = collector.Sample{Time: at, Value: v.p99(from, s+1)}
		}
		c.points[name] = map[string][]collector.Sample{metricErrors: ratio, metricLatency: p99}
	}
	return c
}

// Collect implements controller.Collector.
func (c simCollector) Collect(_ context.Context, qs []collector.Query) []collector.Result {
	out := make([]collector.Result, len(qs))
	for i, q := range qs {
		out[i] = c.one(q)
	}
	return out
}

func (c simCollector) one(q collector.Query) collector.Result {
	if q.Range == nil || q.Range.Step != time.Second || q.Window() != 2*time.Second {
		return collector.Result{Err: collector.Errorf(collector.ReasonConfig,
			"the simulation serves range queries with a 1s step and a 2s window, as the controller asks at a 1 s interval; got %+v, window %v", q.Range, q.Window())}
	}
	points, ok := c.points[q.Target.Variant][q.Metric.Name]
	if !ok {
		return collector.Result{Err: collector.Errorf(collector.ReasonConfig, "no simulated series for %s of %s", q.Metric.Name, q.Target.Variant)}
	}
	// Point i sits at epoch + (i+1) s; the range is inclusive at both ends.
	first := max(0, int((q.Range.Start.Sub(epoch)+time.Second-1)/time.Second)-1)
	last := min(len(points), int(q.Range.End.Sub(epoch)/time.Second))
	if first >= last {
		return collector.Result{Err: collector.Errorf(collector.ReasonNoData, "no samples in the range")}
	}
	return collector.Result{Series: []collector.Series{{Samples: points[first:last]}}}
}

// spanStart is the first second a rate window of window seconds ending at
// second end reads. With 1 s scrapes not aligned with the evaluation
// times the window holds window scrapes, whose increments span the last
// window−1 seconds: the controller's 2 s window (twice the interval) is
// exactly the last second, and Flagger's 1m window the last 59 s.
func spanStart(end, window int) int { return max(0, end-max(1, window-1)) }

// runRelease drives the real release state machine and the given analyst
// second by second, as the reconciler does, until the first step ends, and
// returns the second of the rollback or -1.
func runRelease(t *traffic, a controller.Analyst) (int, error) {
	rel := newRelease()
	plan, err := release.NewPlan(rel.Spec)
	if err != nil {
		return 0, err
	}
	obs := release.Observed{TargetRevision: "canary", PrimaryRevision: "stable", PrimaryReady: true, CanaryReadyWeight: 100}
	rel.Status = trimtabv1.ReleaseStatus{State: release.StateIdle, StableRevision: "stable"}
	now := epoch
	for now.Sub(epoch) <= horizon*time.Second {
		d := decide(a, rel, plan, obs, now)
		rel.Status = d.Status
		switch {
		case d.Status.State == release.StateRolledBack:
			return int(now.Sub(epoch) / time.Second), nil
		case d.Status.Step > 1 || d.Status.State != release.StateProgressing:
			return -1, nil
		case !d.Status.StepStartTime.Time.Equal(epoch):
			return 0, fmt.Errorf("the first step started at %v, not at %v", d.Status.StepStartTime.Time, epoch)
		}
		now = now.Add(d.RequeueAfter)
	}
	return -1, nil
}

// controllerDecider is trimtab as it ships: the controller's analyst with
// its default false rollback rate.
func controllerDecider(name string) decider {
	return decider{rows: []string{name}, run: func(t *traffic) ([]int, error) {
		rb, err := runRelease(t, &controller.ReleaseAnalyst{Collector: newSimCollector(t), FalseRollbackRate: releaseFalseRollbackRate})
		return []int{rb}, err
	}}
}

// decide is the reconciler's loop around release.Next: it answers the looks
// Next asks for and asks again.
func decide(a controller.Analyst, rel *trimtabv1.Release, plan release.Plan, obs release.Observed, now time.Time) release.Decision {
	var d release.Decision
	for range 4 {
		d = release.Next(plan, rel.Status, obs, now)
		if d.Need != release.NeedLook {
			break
		}
		l := a.Look(context.Background(), rel, plan, d.Status, now)
		obs.Look = &l
	}
	return d
}

// flagger replays Flagger's builtin checks on the same traffic: a ticker
// every interval from the step start; each tick first rolls back when
// failedChecks ≥ threshold, otherwise checks the canary's success rate and
// p99 over the last interval and counts one failed check when either is
// out of bounds. failedChecks is cumulative (fluxcd/flagger
// pkg/controller/scheduler.go, advanceCanary).
type flagger struct {
	minSuccessPct, maxP99MS float64
	threshold               int
}

const (
	flaggerInterval = 60      // seconds; also the metrics' [1m] window
	stepSeconds     = 15 * 60 // the first step's analysis
)

func flaggerDecider(name string, configs ...flagger) decider {
	d := decider{run: func(t *traffic) ([]int, error) {
		out := make([]int, len(configs))
		for i, f := range configs {
			out[i] = f.rollback(t)
		}
		return out, nil
	}}
	for _, f := range configs {
		d.rows = append(d.rows, fmt.Sprintf("%s (≥ %g %%, ≤ %g ms), threshold %d", name, f.minSuccessPct, f.maxP99MS, f.threshold))
	}
	return d
}

func (f flagger) rollback(t *traffic) int {
	failed := 0
	for tick := flaggerInterval; tick <= stepSeconds+flaggerInterval; tick += flaggerInterval {
		if failed >= f.threshold {
			return tick
		}
		if tick > stepSeconds {
			break
		}
		from := spanStart(tick, flaggerInterval)
		success := 100 * (1 - t.canary.errorRatio(from, tick))
		if !(success >= f.minSuccessPct) || !(t.canary.p99(from, tick) <= f.maxP99MS) {
			failed++
		}
	}
	return -1
}

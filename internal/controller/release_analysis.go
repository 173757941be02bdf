package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/trimtab/trimtab/analyzer"
	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler/release"
	"github.com/trimtab/trimtab/scaler/release/router"
)

// ReleaseLabel on variant pods names their Release, so queries and
// Services never mix two releases' pods in one namespace.
const ReleaseLabel = "trimtab.dev/release"

// Collector gathers metric samples for a batch of queries.
type Collector interface {
	Collect(ctx context.Context, qs []collector.Query) []collector.Result
}

// ReleaseAnalyst collects the canary's and its reference's samples since
// the step began and takes one sequential look with the analyzer.
type ReleaseAnalyst struct {
	Collector Collector
	// FalseRollbackRate is the chance that a whole release of a canary
	// identical to its baseline rolls back; each step gets an equal share.
	FalseRollbackRate float64
}

// Look implements Analyst.
func (a *ReleaseAnalyst) Look(ctx context.Context, rel *trimtabv1.Release, plan release.Plan, st trimtabv1.ReleaseStatus, now time.Time) release.Look {
	step := plan.Steps[st.Step-1]
	reference := router.Primary
	if plan.Baseline {
		reference = router.Baseline
	}
	// The first sample is the first whose window lies inside the step;
	// Next takes no look before it.
	first := now
	if st.StepStartTime != nil && st.StepStartTime.Add(plan.Window()).Before(now) {
		first = st.StepStartTime.Add(plan.Window())
	}
	metrics := rel.Spec.Analysis.Metrics
	qs := make([]collector.Query, 0, 2*len(metrics))
	for _, m := range metrics {
		for _, v := range []string{router.Canary, reference} {
			qs = append(qs, collector.Query{
				Owner:    collector.Owner{Kind: "release", Name: rel.Name},
				Metric:   m,
				Target:   variantTarget(rel, v, st),
				Interval: plan.Window(),
				Range:    &collector.Range{Start: first, End: now, Step: plan.Interval},
			})
		}
	}
	results := a.Collector.Collect(ctx, qs)
	inputs := make([]analyzer.MetricInput, len(metrics))
	problems := map[string]string{}
	for i, m := range metrics {
		canary, cErr := results[2*i].Values()
		base, bErr := results[2*i+1].Values()
		// Each side on its own: joined, one side's missing data would
		// hide the other's failure. A failure that only means "no data
		// this time" (a timeout, an unreachable source) is still named:
		// the analyzer says no data, the reason says why.
		var errs []error
		for _, err := range []error{cErr, bErr} {
			if err != nil && collector.ReasonOf(err) != collector.ReasonNoData {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			problems[m.Name] = errors.Join(errs...).Error()
		}
		inputs[i] = analyzer.MetricInput{MetricConfig: metricConfig(m), Canary: canary, Baseline: base}
	}
	// Half of the step's budget goes to the sequential analysis of the
	// growing window (small regressions, the final verdict), half to the
	// recent-window checks (fast rollback on a clear one).
	stepAlpha := a.FalseRollbackRate / float64(len(plan.Steps))
	duration := max(step.Analysis, time.Second)
	cfg := judgeConfig(rel.Spec.Analysis)
	seq := analyzer.Plan{Duration: duration, FalseRollbackRate: stepAlpha / 2}
	d, err := analyzer.Decide(seq, cfg, sequentialState(st.Analysis), inputs, now)
	if err != nil {
		return release.Look{Action: release.LookHold, Verdict: "Error", Reason: fmt.Sprintf("the analysis cannot run: %v", err)}
	}
	if d.Action == analyzer.Continue {
		looks := int((duration + plan.Interval - 1) / plan.Interval)
		if bad, why, err := analyzer.RecentCheck(stepAlpha/2, looks, cfg, recent(inputs, recentSamples(plan.Interval))); err == nil && bad {
			d.Action, d.Reason = analyzer.Rollback, why
		}
	}
	verdict := string(d.Result.Verdict)
	if onlyMissingData(d.Result.Metrics) {
		// A look before any metric has its samples (a step's first
		// minutes) scores 0; recorded as Fail it would read as a failing
		// canary. What decides then is the no-data policy, in Action.
		verdict = verdictNoData
	}
	look := release.Look{
		Action:  release.LookAction(d.Action),
		Score:   d.Result.Score,
		Verdict: verdict,
		Reason:  d.Reason,
		Analysis: trimtabv1.AnalysisProgress{
			StartTime:  metav1.NewTime(d.State.Start),
			Looks:      int32(d.State.Looks),
			SpentAlpha: strconv.FormatFloat(d.State.Spent, 'g', 6, 64),
		},
	}
	for _, r := range d.Result.Metrics {
		reason := r.Reason
		if p, ok := problems[r.Name]; ok {
			reason = p
		}
		look.Metrics = append(look.Metrics, trimtabv1.MetricOutcome{
			Name: r.Name, Classification: string(r.Classification), Reason: reason,
			Baseline: summary(r.Baseline), Canary: summary(r.Canary),
		})
	}
	if len(problems) > 0 && look.Action != release.LookContinue {
		names := make([]string, 0, len(problems))
		for n, p := range problems {
			names = append(names, n+": "+p)
		}
		// Sorted: the reason is status, which must not change with map
		// order.
		slices.Sort(names)
		look.Reason += "; metric errors: " + strings.Join(names, "; ")
	}
	return look
}

// verdictNoData is a look's verdict when no metric had data to judge.
const verdictNoData = "NoData"

// onlyMissingData says whether every metric lacked data.
func onlyMissingData(ms []analyzer.MetricResult) bool {
	for _, m := range ms {
		if m.Classification != analyzer.Nodata && m.Classification != analyzer.NodataFailMetric {
			return false
		}
	}
	return len(ms) > 0
}

// recentWindow is how far back the fast check looks: long enough for a
// rank test to see a clear shift at a strict level, short enough that a
// regression fills most of it within half a minute.
const recentWindow = 30 * time.Second

// recentSamples is how many of the latest samples the fast check judges:
// the recent window's worth, and never fewer than a rank test needs.
func recentSamples(interval time.Duration) int {
	return max(int(recentWindow/interval), 10)
}

// recent keeps the last n samples of each side of each metric.
func recent(inputs []analyzer.MetricInput, n int) []analyzer.MetricInput {
	out := make([]analyzer.MetricInput, len(inputs))
	for i, in := range inputs {
		out[i] = in
		out[i].Canary = in.Canary[max(0, len(in.Canary)-n):]
		out[i].Baseline = in.Baseline[max(0, len(in.Baseline)-n):]
	}
	return out
}

// variantTarget names the pods of one variant of a release for queries.
func variantTarget(rel *trimtabv1.Release, variant string, st trimtabv1.ReleaseStatus) collector.Target {
	rev := st.StableRevision
	if variant == router.Canary {
		rev = st.CanaryRevision
	}
	return collector.Target{
		Namespace: rel.Namespace,
		Name:      variantName(rel, variant),
		Variant:   collector.Variant(variant),
		Revision:  rev,
		Selector:  labels.SelectorFromSet(labels.Set{ReleaseLabel: rel.Name, router.VariantLabel: variant}),
	}
}

// metricConfig translates a CRD metric into the analyzer's configuration.
func metricConfig(m trimtabv1.Metric) analyzer.MetricConfig {
	c := analyzer.MetricConfig{
		Name:     m.Name,
		Groups:   []string{orDefault(m.Group, "app")},
		Critical: m.Critical,
		OnNoData: analyzer.NoDataPolicy(orDefault(string(m.OnNoData), string(trimtabv1.NoDataHold))),
	}
	switch m.Direction {
	case trimtabv1.DecreaseIsBad:
		c.Direction = analyzer.Decrease
	case trimtabv1.EitherIsBad:
		c.Direction = analyzer.Either
	default:
		c.Direction = analyzer.Increase
	}
	if t := m.Threshold; t != nil {
		c.Thresholds = &analyzer.Thresholds{Min: parseBound(t.Min), Max: parseBound(t.Max)}
	}
	return c
}

// parseBound reads a threshold the API server has already checked
// against a decimal pattern.
func parseBound(s *string) *float64 {
	if s == nil {
		return nil
	}
	v, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return nil
	}
	return &v
}

func judgeConfig(a trimtabv1.Analysis) analyzer.Config {
	c := analyzer.Config{Mode: analyzer.Mode(orDefault(string(a.Mode), string(trimtabv1.JudgeTrimtab)))}
	if a.PassScore > 0 {
		c.PassScore = ptrFloat(float64(a.PassScore))
	}
	if a.MarginalScore > 0 {
		c.MarginalScore = ptrFloat(float64(a.MarginalScore))
	}
	if len(a.GroupWeights) > 0 {
		c.GroupWeights = map[string]float64{}
		for g, w := range a.GroupWeights {
			c.GroupWeights[g] = float64(w)
		}
	}
	return c
}

func sequentialState(p *trimtabv1.AnalysisProgress) analyzer.SequentialState {
	if p == nil {
		return analyzer.SequentialState{}
	}
	spent, _ := strconv.ParseFloat(p.SpentAlpha, 64)
	return analyzer.SequentialState{Start: p.StartTime.Time, Looks: int(p.Looks), Spent: spent}
}

func summary(s analyzer.Summary) string {
	if s.Count == 0 {
		return "no data"
	}
	return fmt.Sprintf("mean %.4g p50 %.4g p99 %.4g (n=%d)", s.Mean, s.P50, s.P99, s.Count)
}

func ptrFloat(v float64) *float64 { return &v }

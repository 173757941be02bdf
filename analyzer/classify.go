package analyzer

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// scratch is reused across the metrics of one judgement.
type scratch struct {
	sel                              selector
	exact                            exactScratch
	sorter                           floatSorter
	canVals, can, baseVals, baseSort []float64
}

// classify judges one metric. alphaOverride > 0 replaces the configured
// significance level (the sequential decision's per-look level).
func classify(cfg Config, in MetricInput, alphaOverride float64, sc *scratch) MetricResult {
	r := resolve(cfg, in.MetricConfig, alphaOverride)
	sc.canVals, sc.can = preprocess(in.Canary, r.nan, r.outliers, r.outlierFactor, sc.canVals, sc.can, &sc.sorter)
	sc.baseVals, sc.baseSort = preprocess(in.Baseline, r.nan, r.outliers, r.outlierFactor, sc.baseVals, sc.baseSort, &sc.sorter)
	canVals, can, baseVals, base := sc.canVals, sc.can, sc.baseVals, sc.baseSort
	res := MetricResult{
		Name:       in.Name,
		Groups:     in.Groups,
		Muted:      in.Muted,
		Alpha:      r.alpha,
		Estimate:   math.NaN(),
		CI:         [2]float64{math.NaN(), math.NaN()},
		PValue:     math.NaN(),
		EffectSize: math.NaN(),
		Ratio:      math.NaN(),
		Bound:      math.NaN(),
		Baseline:   summarize(baseVals, base),
		Canary:     summarize(canVals, can),
	}
	if r.mode == ModeKayenta {
		classifyKayenta(&res, r, canVals, can, baseVals, base, sc)
	} else {
		classifyTrimtab(&res, r, canVals, can, baseVals, base, sc)
	}
	guardRail(&res, r)
	return res
}

// classifyKayenta follows MannWhitneyClassifier.classify step by step.
func classifyKayenta(res *MetricResult, r resolved, canVals, can, baseVals, base []float64, sc *scratch) {
	if len(can) == 0 || len(base) == 0 {
		res.Ratio = 1
		if r.nan == NaNReplace {
			res.Classification = Pass
			res.Reason = fmt.Sprintf("%s: no data, passed because nanStrategy is replace", res.Name)
			return
		}
		res.Reason = "Missing data for " + res.Name
		if r.mustHaveData && !r.critical {
			res.Classification = NodataFailMetric
			return
		}
		res.Classification, res.Critical = Nodata, r.critical
		return
	}
	if slices.Equal(can, base) {
		res.Ratio = 1
		res.Classification = Pass
		res.Reason = fmt.Sprintf("%s: canary and baseline data are identical", res.Name)
		return
	}
	if can[0] == can[len(can)-1] && base[0] == base[len(base)-1] && can[0] == base[0] {
		res.Ratio = 1
		res.Classification = Pass
		res.Reason = fmt.Sprintf("%s: a single value overall", res.Name)
		return
	}
	_, res.PValue = rankTest(can, base, r.direction, &sc.exact)
	res.Ratio = meanRatio(mean(canVals), mean(baseVals))
	res.EffectSize = effectSize(r.measure, res.Ratio, can, base)
	if side, v, ok := nonFinite(can, base); ok {
		// The rank test took it; the interval search cannot, which in
		// Kayenta fails the metric's classification too (so does the noise
		// step of two constant series: Inf·N(0,1) is ±Inf or NaN).
		kayentaError(res, fmt.Errorf("the %s series holds %v, which the confidence interval cannot be searched with; fix the query or drop the point", side, v))
		return
	}
	if differencesOverflow(can, base) {
		kayentaError(res, errors.New("canary and baseline values differ by more than a float64 holds; scale the metric down"))
		return
	}
	if distinctCount(can) == 1 && distinctCount(base) == 1 {
		// Kayenta adds N(0, (v·1e-5)²) noise here. Its limit as the noise
		// vanishes is every pairwise difference equal to the shift, so the
		// estimate and both interval ends are the shift. One point per side
		// stays an Error, as Kayenta's statistic has σ = 0 there.
		if len(can) == 1 && len(base) == 1 {
			kayentaError(res, errAllTied)
			return
		}
		shift := can[0] - base[0]
		res.Estimate, res.CI = shift, [2]float64{shift, shift}
	} else {
		est, ci, err := kayentaMW(can, base, r.confidence, true)
		if err != nil {
			kayentaError(res, err)
			return
		}
		res.Estimate, res.CI = est, ci
	}
	res.Bound = r.tolerance * math.Abs(res.Estimate)
	high := r.direction != Decrease && res.CI[0] > res.Bound && gate(res.EffectSize, r.allowedInc, true)
	low := r.direction != Increase && res.CI[1] < -res.Bound && gate(res.EffectSize, r.allowedDec, false)
	outcome := "within tolerance"
	if r.sequential && (high || low) && !(res.PValue < r.alpha) {
		// Kayenta clamps the interval to [min difference, max difference],
		// so at a strict level and a handful of points it cannot widen and
		// "all canary points above all baseline points" reads as High. The
		// sequential decision's error bound needs a valid test: the rank
		// test's p-value must clear the look's level too.
		high, low = false, false
		outcome = fmt.Sprintf("not significant at this look (p=%.3g ≥ %.3g)", res.PValue, r.alpha)
	}
	switch {
	case high:
		res.Classification = High
		res.Critical = r.critical && gate(res.EffectSize, r.criticalInc, true)
		outcome = "above tolerance"
	case low:
		res.Classification = Low
		res.Critical = r.critical && gate(res.EffectSize, r.criticalDec, false)
		outcome = "below tolerance"
	default:
		res.Classification = Pass
	}
	res.Reason = fmt.Sprintf("%s %s, %s (bound ±%s = %g × |estimate|)", res.Name,
		describeShift(res.Estimate, res.CI, res.Baseline.P50), outcome, fmtNum(res.Bound), r.tolerance)
}

func kayentaError(res *MetricResult, err error) {
	res.Classification = Error
	res.Critical = false
	res.Reason = fmt.Sprintf("%s: Metric Classification Failed: %v", res.Name, err)
}

// classifyTrimtab is the default judge: significance from the rank test,
// magnitude from the exact Hodges-Lehmann estimate against a tolerance in
// metric units or relative to the baseline level.
func classifyTrimtab(res *MetricResult, r resolved, canVals, can, baseVals, base []float64, sc *scratch) {
	if side, v, ok := nonFinite(can, base); ok {
		res.Classification = Error
		res.Critical = r.critical
		res.Reason = fmt.Sprintf("%s: %s series holds %v; fix the query or drop the point", res.Name, side, v)
		return
	}
	if differencesOverflow(can, base) {
		res.Classification = Error
		res.Critical = r.critical
		res.Reason = fmt.Sprintf("%s: canary and baseline values differ by more than a float64 holds; scale the metric down", res.Name)
		return
	}
	if len(can) < r.minSamples || len(base) < r.minSamples || len(can) == 0 || len(base) == 0 {
		noData(res, r, fmt.Sprintf("%s: %d canary and %d baseline points, fewer than minSamples %d",
			res.Name, len(can), len(base), max(r.minSamples, 1)))
		return
	}
	res.Ratio = meanRatio(mean(canVals), mean(baseVals))
	res.EffectSize = effectSize(r.measure, res.Ratio, can, base)
	level := math.Abs(res.Baseline.P50)
	if level == 0 {
		level = math.Abs(res.Baseline.Mean)
	}
	res.Bound = math.Max(r.absTolerance, r.tolerance*level)
	if slices.Equal(can, base) {
		res.Classification = Pass
		res.Estimate, res.CI, res.PValue = 0, [2]float64{0, 0}, 1
		res.Reason = fmt.Sprintf("%s: canary and baseline data are identical", res.Name)
		return
	}
	side, p := rankTest(can, base, r.direction, &sc.exact)
	res.PValue = p
	res.Estimate, res.CI = sc.sel.hodgesLehmann(can, base, r.confidence)
	significant := p < r.alpha
	high := r.direction != Decrease && significant && side > 0 && res.Estimate > res.Bound && gate(res.EffectSize, r.allowedInc, true)
	low := r.direction != Increase && significant && side < 0 && res.Estimate < -res.Bound && gate(res.EffectSize, r.allowedDec, false)
	tol := "tolerance ±" + fmtNum(res.Bound)
	var outcome string
	switch {
	case high:
		res.Classification = High
		res.Critical = r.critical && gate(res.EffectSize, r.criticalInc, true)
		outcome = "above " + tol
	case low:
		res.Classification = Low
		res.Critical = r.critical && gate(res.EffectSize, r.criticalDec, false)
		outcome = "below " + tol
	case !significant:
		res.Classification = Pass
		outcome = fmt.Sprintf("not significant (p=%.3g ≥ %.3g)", p, r.alpha)
	case math.Abs(res.Estimate) > res.Bound:
		res.Classification = Pass
		outcome = "effect size within the allowed range"
	default:
		res.Classification = Pass
		outcome = "within " + tol
	}
	res.Reason = fmt.Sprintf("%s %s, %s", res.Name, describeShift(res.Estimate, res.CI, level), outcome)
}

func noData(res *MetricResult, r resolved, reason string) {
	res.Reason = reason
	switch r.onNoData {
	case NoDataFail:
		res.Classification, res.Critical = NodataFailMetric, r.critical
		res.Reason += "; onNoData is fail"
	case NoDataPass:
		res.Classification = Pass
		res.Reason += "; onNoData is pass"
	default:
		res.Classification = Nodata
		res.Reason += "; holding (onNoData is hold)"
	}
}

// differencesOverflow reports whether some canary − baseline difference
// (both sorted, finite) is beyond float64: the interval and the estimate
// are built from those differences.
func differencesOverflow(can, base []float64) bool {
	return len(can) > 0 && len(base) > 0 &&
		(math.IsInf(can[len(can)-1]-base[0], 0) || math.IsInf(can[0]-base[len(base)-1], 0))
}

// nonFinite names the first side holding ±Inf (both sorted), and the value.
func nonFinite(can, base []float64) (side string, v float64, ok bool) {
	for _, s := range []struct {
		name string
		v    []float64
	}{{"canary", can}, {"baseline", base}} {
		// Sorted: infinities sit at the ends.
		if len(s.v) > 0 && math.IsInf(s.v[0], 0) {
			return s.name, s.v[0], true
		}
		if len(s.v) > 0 && math.IsInf(s.v[len(s.v)-1], 0) {
			return s.name, s.v[len(s.v)-1], true
		}
	}
	return "", 0, false
}

// gate is Kayenta's effect-size gate: skipped when the effect size is NaN.
func gate(effect, threshold float64, increase bool) bool {
	if math.IsNaN(effect) {
		return true
	}
	if increase {
		return effect >= threshold
	}
	return effect <= threshold
}

// effectSize returns the configured measure; CLES is U/(n·m) = P(canary >
// baseline) with ties counted ½, equal to Kayenta's rank formula.
func effectSize(measure EffectMeasure, ratio float64, can, base []float64) float64 {
	if measure != CLES {
		return ratio
	}
	u, _ := rankStats(can, base)
	return u / (float64(len(can)) * float64(len(base)))
}

// guardRail applies the Flagger-style absolute thresholds on the canary.
func guardRail(res *MetricResult, r resolved) {
	t := r.thresholds
	if t == nil || res.Canary.Count == 0 {
		return
	}
	stat := t.Statistic
	if stat == "" {
		stat = StatMean
	}
	var v float64
	switch stat {
	case StatP50:
		v = res.Canary.P50
	case StatP90:
		v = res.Canary.P90
	case StatP99:
		v = res.Canary.P99
	case StatMax:
		v = res.Canary.Max
	default:
		v = res.Canary.Mean
	}
	switch {
	case t.Max != nil && v > *t.Max:
		res.Classification = High
		res.Reason = fmt.Sprintf("%s: canary %s %s above guard rail max %s", res.Name, stat, fmtNum(v), fmtNum(*t.Max))
	case t.Min != nil && v < *t.Min:
		res.Classification = Low
		res.Reason = fmt.Sprintf("%s: canary %s %s below guard rail min %s", res.Name, stat, fmtNum(v), fmtNum(*t.Min))
	default:
		return
	}
	res.GuardRail = true
	res.Critical = r.critical
}

// describeShift renders the estimate and interval relative to the baseline
// level when there is one ("+38% (CI +21%…+55%)"), in metric units otherwise.
func describeShift(est float64, ci [2]float64, level float64) string {
	level = math.Abs(level)
	if level == 0 || math.IsNaN(level) || math.IsInf(level, 0) {
		return fmt.Sprintf("shift %s (CI %s…%s)", fmtSigned(est), fmtSigned(ci[0]), fmtSigned(ci[1]))
	}
	pct := func(v float64) string { return fmtSigned(100*v/level) + "%" }
	return fmt.Sprintf("%s (CI %s…%s)", pct(est), pct(ci[0]), pct(ci[1]))
}

func fmtSigned(v float64) string {
	if v >= 0 {
		return "+" + fmtNum(v)
	}
	return fmtNum(v)
}

func fmtNum(v float64) string { return fmt.Sprintf("%.3g", v) }

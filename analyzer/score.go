package analyzer

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// nodataThreshold is Kayenta's NODATA_THRESHOLD: when at least this share (in
// percent) of the scored metrics is Nodata, the score is 0.
const nodataThreshold = 50

// defaultGroup holds trimtab-mode metrics without a group; Kayenta scores
// such metrics nowhere, which hides their failures.
const defaultGroup = "default"

// score rolls the metric results up into group scores, the summary score and
// the verdict (Kayenta's WeightedSumScorer and ThresholdScoreClassifier, with
// trimtab mode's fixes).
func score(cfg Config, metrics []MetricResult) Result {
	mode := cfg.Mode
	if mode == "" {
		mode = ModeTrimtab
	}
	res := Result{Mode: mode, Metrics: metrics}
	var scored []MetricResult
	for _, m := range metrics {
		if !m.Muted {
			scored = append(scored, m)
		}
	}
	res.Groups = groupScores(mode, scored)
	nodata := 0
	for _, m := range scored {
		if m.Classification == Nodata {
			nodata++
		}
	}
	switch {
	case firstCritical(scored) != nil:
		res.CriticalFailure = true
		res.Reason = "Canary Failed: " + firstCritical(scored).Reason
	case len(scored) > 0 && float64(nodata)/float64(len(scored))*100 >= nodataThreshold:
		res.TooManyNodata = true
		res.Reason = fmt.Sprintf("Canary Failed: %d%% or more metrics returned NODATA", nodataThreshold)
	default:
		res.Score = summaryScore(mode, cfg.GroupWeights, res.Groups)
	}
	pass, marginal := deref(cfg.PassScore, DefaultPassScore), deref(cfg.MarginalScore, DefaultMarginalScore)
	switch {
	case res.Score >= pass:
		res.Verdict = VerdictPass
	case res.Score >= marginal:
		res.Verdict = VerdictMarginal
	default:
		res.Verdict = VerdictFail
	}
	if res.Reason == "" {
		res.Reason = scoreReason(mode, res, scored, pass, marginal)
	}
	return res
}

// scoreReason explains a verdict the score decided: the score against the
// thresholds, each group's score, and in Kayenta mode the metrics that count
// nowhere for want of a group (a judgement of only such metrics scores 0).
func scoreReason(mode Mode, res Result, scored []MetricResult, pass, marginal float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "score %g (pass at %g, marginal at %g)", res.Score, pass, marginal)
	for i, g := range res.Groups {
		sep := ", "
		if i == 0 {
			sep = "; groups: "
		}
		if g.NoData {
			fmt.Fprintf(&b, "%s%s no data", sep, g.Name)
		} else {
			fmt.Fprintf(&b, "%s%s %g", sep, g.Name, g.Score)
		}
	}
	if mode == ModeKayenta {
		ungrouped := 0
		for _, m := range scored {
			if len(m.Groups) == 0 {
				ungrouped++
			}
		}
		if ungrouped > 0 {
			fmt.Fprintf(&b, "; %d metric(s) without a group count nowhere, as in Kayenta: give them a group", ungrouped)
		}
	}
	return b.String()
}

func firstCritical(scored []MetricResult) *MetricResult {
	for i := range scored {
		if scored[i].Critical && scored[i].Classification != Pass {
			return &scored[i]
		}
	}
	return nil
}

// groupScores counts, per group in order of first appearance, the share of
// Pass among Pass, High, Low and NodataFailMetric (and Error in trimtab mode:
// an error is a failure, not an abstention).
func groupScores(mode Mode, scored []MetricResult) []GroupScore {
	type tally struct{ pass, total int }
	var order []string
	tallies := map[string]*tally{}
	for _, m := range scored {
		groups := m.Groups
		if len(groups) == 0 && mode == ModeTrimtab {
			groups = []string{defaultGroup}
		}
		for _, g := range groups {
			t, ok := tallies[g]
			if !ok {
				t = &tally{}
				tallies[g] = t
				order = append(order, g)
			}
			switch m.Classification {
			case Pass:
				t.pass++
				t.total++
			case High, Low, NodataFailMetric:
				t.total++
			case Error:
				if mode == ModeTrimtab {
					t.total++
				}
			}
		}
	}
	out := make([]GroupScore, 0, len(order))
	for _, g := range order {
		t := tallies[g]
		gs := GroupScore{Name: g, NoData: t.total == 0}
		if t.total > 0 {
			gs.Score = float64(t.pass) / float64(t.total) * 100
		}
		out = append(out, gs)
	}
	return out
}

// summaryScore weighs the group scores. Kayenta: groups without a configured
// weight share what the configured weights (all of them, present or not)
// leave of 100, and a group without data counts as 100. Trimtab: groups
// without data are left out and the weights of the others are rescaled to
// 100, so neither missing data nor an absent weighted group moves the score;
// with no group left the score is 0.
func summaryScore(mode Mode, weights map[string]float64, groups []GroupScore) float64 {
	// In name order: float addition depends on the order, and map order
	// is random, which made the same input score 58.58 or 58.59.
	var configured float64
	for _, g := range slices.Sorted(maps.Keys(weights)) {
		if mode == ModeKayenta || present(groups, g) {
			configured += weights[g]
		}
	}
	unweighted := 0
	for _, g := range groups {
		if _, ok := weights[g.Name]; !ok && (mode == ModeKayenta || !g.NoData) {
			unweighted++
		}
	}
	share := 0.0
	if unweighted > 0 {
		share = (100 - configured) / float64(unweighted)
		if mode != ModeKayenta {
			share = math.Max(0, share)
		}
	}
	var sum, wsum float64
	for _, g := range groups {
		w, ok := weights[g.Name]
		if !ok {
			w = share
		}
		eff := g.Score
		if g.NoData {
			if mode != ModeKayenta {
				continue
			}
			eff = 100
		}
		sum += eff * (w / 100)
		wsum += w
	}
	if mode != ModeKayenta {
		if wsum <= 0 {
			return 0
		}
		sum = sum * 100 / wsum
	}
	return roundHalfUp2(sum)
}

func present(groups []GroupScore, name string) bool {
	for _, g := range groups {
		if g.Name == name && !g.NoData {
			return true
		}
	}
	return false
}

// roundHalfUp2 is Apache Precision.round(x, 2): the shortest decimal form of
// x rounded half away from zero at two decimals.
func roundHalfUp2(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	s := strconv.FormatFloat(math.Abs(x), 'f', -1, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	if len(frac) <= 2 {
		return x
	}
	cents, err := strconv.ParseInt(intPart+frac[:2], 10, 64)
	if err != nil { // beyond int64: two decimals are below the float's resolution
		return x
	}
	if frac[2] >= '5' {
		cents++
	}
	v, _ := strconv.ParseFloat(strconv.FormatInt(cents/100, 10)+"."+fmt.Sprintf("%02d", cents%100), 64)
	return math.Copysign(v, x)
}

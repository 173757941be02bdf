package analyzer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// benchMetrics is the benchmark workload: count metrics with size lognormal
// samples per side (σ = 0.25), half of them with a +10% canary.
func benchMetrics(count, size int) []MetricInput {
	rng := rand.New(rand.NewPCG(7, 11))
	out := make([]MetricInput, count)
	for i := range out {
		shift := 1.0
		if i%2 == 1 {
			shift = 1.1
		}
		out[i] = MetricInput{
			MetricConfig: MetricConfig{Name: fmt.Sprintf("m%d", i), Groups: []string{"app"}},
			Baseline:     lognormalSeries(rng, size, 1),
			Canary:       lognormalSeries(rng, size, shift),
		}
	}
	return out
}

func lognormalSeries(rng *rand.Rand, n int, scale float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = scale * 100 * math.Exp(0.25*rng.NormFloat64())
	}
	return v
}

// referenceJudge is a straightforward Kayenta-style judge, the yardstick for
// the speed goal: like Kayenta's MannWhitney it re-ranks the concatenated
// samples with a full sort at every evaluation of the statistic inside the
// Brent root finder, and classifies with Kayenta's CI rule.
func referenceJudge(metrics []MetricInput) []Classification {
	out := make([]Classification, len(metrics))
	for i, m := range metrics {
		x, y := slices.Clone(m.Canary), slices.Clone(m.Baseline)
		slices.Sort(x)
		slices.Sort(y)
		est, ci, err := rootFindingMW(x, y, DefaultConfidence, true, func(mu, q float64, correct bool) (float64, error) {
			return referenceStatistic(x, y, mu, q, correct), nil
		})
		bound := DefaultKayentaTolerance * math.Abs(est)
		switch {
		case err != nil:
			out[i] = Error
		case ci[0] > bound:
			out[i] = High
		case ci[1] < -bound:
			out[i] = Low
		default:
			out[i] = Pass
		}
	}
	return out
}

// referenceStatistic ranks concat(x − mu, y) by sorting, as NaturalRanking does.
func referenceStatistic(x, y []float64, mu, q float64, correct bool) float64 {
	type obs struct {
		v     float64
		fromX bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v - mu, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	var rankSum, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if all[k].fromX {
				rankSum += avg
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	n, m := float64(len(x)), float64(len(y))
	dz := rankSum - n*(n+1)/2 - n*m/2
	corr := 0.0
	if correct {
		corr = sign(dz) * 0.5
	}
	return (dz-corr)/mwSigma(n, m, ties) - q
}

// TestReferenceAgreesWithKayentaMode: the benchmark's yardstick classifies
// like kayenta mode, so the speed comparison is between equals.
func TestReferenceAgreesWithKayentaMode(t *testing.T) {
	metrics := benchMetrics(40, 60)
	ref := referenceJudge(metrics)
	res, err := Judge(Config{Mode: ModeKayenta}, metrics)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range res.Metrics {
		if m.Classification != ref[i] {
			t.Fatalf("metric %d: kayenta mode %s, reference %s", i, m.Classification, ref[i])
		}
	}
}

var sinkResult Result

func benchJudge(b *testing.B, cfg Config, metrics []MetricInput) {
	b.ReportAllocs()
	for b.Loop() {
		r, err := Judge(cfg, metrics)
		if err != nil {
			b.Fatal(err)
		}
		sinkResult = r
	}
}

// BenchmarkJudge judges 1,000 metrics × (1,000 + 1,000) samples: trimtab
// mode, kayenta mode (root finding, merge-ranked), and the straightforward
// Kayenta-style reference. After the sub-benchmarks it logs the speed-up of
// trimtab mode over the reference, both measured in this run.
func BenchmarkJudge(b *testing.B) {
	metrics := benchMetrics(1000, 1000)
	var trimtabNs, referenceNs float64
	perOp := func(b *testing.B) float64 { return float64(b.Elapsed().Nanoseconds()) / float64(b.N) }
	b.Run("trimtab", func(b *testing.B) {
		benchJudge(b, Config{}, metrics)
		trimtabNs = perOp(b)
	})
	b.Run("kayenta-mode", func(b *testing.B) { benchJudge(b, Config{Mode: ModeKayenta}, metrics) })
	b.Run("reference-kayenta", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = referenceJudge(metrics)
		}
		referenceNs = perOp(b)
	})
	if trimtabNs > 0 && referenceNs > 0 {
		// Printed, not logged: a parent benchmark's log only shows with -v.
		fmt.Printf("BenchmarkJudge speed-up: trimtab %.0f ms, reference %.0f ms per 1,000-metric judgement: %.1fx faster\n",
			trimtabNs/1e6, referenceNs/1e6, referenceNs/trimtabNs)
	}
}

// BenchmarkDecide is one look of the sequential decision on ten metrics of
// 300 + 300 samples: the per-look cost a 1 s analysis interval pays.
func BenchmarkDecide(b *testing.B) {
	metrics := benchMetrics(10, 300)
	plan := Plan{Duration: 600e9}
	st := SequentialState{Start: t0}
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decide(plan, Config{}, st, metrics, t0.Add(300e9))
		if err != nil {
			b.Fatal(err)
		}
		sinkResult = d.Result
	}
}

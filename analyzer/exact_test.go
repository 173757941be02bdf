package analyzer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// enumeratedP is the exact conditional p-value by definition: every way of
// drawing len(x) of the pooled points as the canary, counted.
func enumeratedP(x, y []float64, dir Direction) float64 {
	pool := append(append([]float64{}, x...), y...)
	n, m := len(x), len(y)
	u2 := func(can, base []float64) int {
		s := 0
		for _, c := range can {
			for _, b := range base {
				switch {
				case c > b:
					s += 2
				case c == b:
					s++
				}
			}
		}
		return s
	}
	obs := u2(x, y)
	var hit, total int
	for mask := 0; mask < 1<<len(pool); mask++ {
		var can, base []float64
		for i, v := range pool {
			if mask&(1<<i) != 0 {
				can = append(can, v)
			} else {
				base = append(base, v)
			}
		}
		if len(can) != n {
			continue
		}
		total++
		u := u2(can, base)
		switch dir {
		case Increase:
			hit += b2i(u >= obs)
		case Decrease:
			hit += b2i(u <= obs)
		default:
			hit += b2i(absInt(u-n*m) >= absInt(obs-n*m))
		}
	}
	return float64(hit) / float64(total)
}

func TestExactPValueMatchesEnumeration(t *testing.T) {
	cases := []struct {
		name string
		x, y []float64
	}{
		{"ties across the samples", []float64{1, 2, 2, 3, 5}, []float64{0, 1, 2, 2, 2, 4}},
		{"ties within the canary only", []float64{3, 3, 3, 7}, []float64{1, 2, 4, 5, 6, 8}},
		{"0/1 samples, few canary points", []float64{0, 1, 1}, []float64{0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}},
		{"0/1 samples, canary the larger side", []float64{0, 0, 1, 1, 1, 1, 0, 1, 1, 0, 1}, []float64{0, 0, 1, 0}},
		{"canary all above a tied baseline", []float64{9, 9, 9, 9}, []float64{1, 1, 1, 1}},
		{"canary all below", []float64{-3, -2, -2}, []float64{0, 0, 4, 5, 5, 6, 7}},
		{"everything tied", []float64{2, 2, 2}, []float64{2, 2, 2, 2, 2}},
		{"one canary point", []float64{4}, []float64{1, 4, 4, 6, 2, 4, 9}},
		{"one baseline point", []float64{1, 4, 4, 6, 2, 4, 9}, []float64{4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, y := sortedCopy(c.x), sortedCopy(c.y)
			var ex exactScratch
			groups := ex.tieGroups(x, y)
			for _, dir := range []Direction{Increase, Decrease, Either} {
				want := enumeratedP(x, y, dir)
				got, ok := ex.distributionP(groups, len(x), len(y), dir)
				require.True(t, ok)
				require.InDelta(t, want, got, 1e-12, "distribution, direction %s", dir)
				got, ok = ex.compositionP(groups, len(x), len(y), dir)
				require.True(t, ok)
				require.InDelta(t, want, got, 1e-12, "compositions, direction %s", dir)
			}
		})
	}
}

// binomialPMF is P(X = k) for X ~ Binomial(n, p).
func binomialPMF(n, k int, p float64) float64 {
	lg := func(v int) float64 { r, _ := math.Lgamma(float64(v + 1)); return r }
	return math.Exp(lg(n) - lg(k) - lg(n-k) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p))
}

// bernoulliRejectionRate is, exactly, how often a test rejects at level
// alpha when canary and baseline are both Bernoulli(p) samples (errors per
// interval, say) of n and m points: every outcome enumerated.
func bernoulliRejectionRate(n, m int, p, alpha float64, dir Direction, pValue func(x, y []float64) float64) float64 {
	var rate float64
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			x := append(rep(0, n-i), rep(1, i)...)
			y := append(rep(0, m-j), rep(1, j)...)
			if pValue(x, y) < alpha {
				rate += binomialPMF(n, i, p) * binomialPMF(m, j, p)
			}
		}
	}
	return rate
}

// TestTiedFewAgainstManyKeepTheLevel: few 0/1 canary points against many
// baseline points are where the normal approximation rejected above its
// level (which the first case shows); the exact test stays within it, so a
// judgement with α = 0.01 rolls back a healthy canary at most 1 % of the time.
func TestTiedFewAgainstManyKeepTheLevel(t *testing.T) {
	var ex exactScratch
	approx := bernoulliRejectionRate(5, 50, 0.2, 0.01, Increase, func(x, y []float64) float64 { _, p := mwTest(x, y, Increase); return p })
	require.Greater(t, approx, 0.016, "the normal approximation's level for 5 against 50 at p = 0.2")

	cases := []struct {
		name  string
		n, m  int
		p     float64
		alpha float64
		dir   Direction
	}{
		{"5 against 50, p 0.2", 5, 50, 0.2, 0.01, Increase},
		{"5 against 50, p 0.1, two-sided", 5, 50, 0.1, 0.01, Either},
		{"5 against 200, p 0.3", 5, 200, 0.3, 0.01, Either},
		{"5 against 200, p 0.3, one-sided", 5, 200, 0.3, 0.01, Increase},
		{"3 against 100, p 0.1, α 0.05", 3, 100, 0.1, 0.05, Either},
		{"10 against 400, p 0.05", 10, 400, 0.05, 0.01, Increase},
		{"20 against 1000, p 0.1", 20, 1000, 0.1, 0.01, Increase},
		{"balanced 20, p 0.5", 20, 20, 0.5, 0.01, Either},
		{"canary the larger side, 60 against 6", 60, 6, 0.2, 0.01, Decrease},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rate := bernoulliRejectionRate(c.n, c.m, c.p, c.alpha, c.dir, func(x, y []float64) float64 {
				_, p := rankTest(x, y, c.dir, &ex)
				return p
			})
			require.LessOrEqual(t, rate, c.alpha)
		})
	}
}

// TestUntiedApproximationKeepsItsLevel is why untied samples keep the normal
// approximation (and R's p-values): its rejection rate, computed from the
// exact null distribution of U, is within the level at every size checked.
func TestUntiedApproximationKeepsItsLevel(t *testing.T) {
	var ex exactScratch
	for _, alpha := range []float64{0.02, 0.01, 0.001} {
		for n := 1; n <= 30; n++ {
			for _, m := range []int{1, 2, 3, 5, 8, 13, 20, 30, 50, 100, 200} {
				groups := make([]tieGroup, 0, n+m)
				for range n {
					groups = append(groups, tieGroup{x: 1})
				}
				for range m {
					groups = append(groups, tieGroup{y: 1})
				}
				dist, ok := ex.nullDistribution(groups, n, m)
				if !ok {
					continue
				}
				sigma := mwSigma(float64(n), float64(m), 0)
				var total, rejected float64
				for u2, w := range dist {
					total += w
					if normSurv((float64(u2)/2-float64(n*m)/2-0.5)/sigma) < alpha {
						rejected += w
					}
				}
				require.LessOrEqual(t, rejected/total, alpha, "n=%d m=%d α=%g", n, m, alpha)
			}
		}
	}
}

func TestExactTestLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	poisson := func(k int) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = float64(rng.IntN(20))
		}
		return sortedCopy(v)
	}
	cases := []struct {
		name      string
		x, y      []float64
		wantExact bool
	}{
		{"tied counts, 20 a side: exact", poisson(20), poisson(20), true},
		{"0/1, 30 against 3000: exact", append(rep(0, 25), rep(1, 5)...), append(rep(0, 2700), rep(1, 300)...), true},
		{"three values, 40 against 2000: exact", append(append(rep(0, 30), rep(1, 8)...), rep(2, 2)...),
			append(append(rep(0, 1500), rep(1, 400)...), rep(2, 100)...), true},
		{"tied counts, 200 a side: normal approximation", poisson(200), poisson(200), false},
		{"untied: normal approximation", []float64{1.5, 2.5, 3.5}, []float64{1, 2, 3, 4}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ex exactScratch
			_, exact := ex.exactP(ex.tieGroups(c.x, c.y), len(c.x), len(c.y), Either)
			untied := len(ex.tieGroups(c.x, c.y)) == len(c.x)+len(c.y)
			require.Equal(t, c.wantExact, exact && !untied)
			_, got := rankTest(c.x, c.y, Either, &ex)
			_, approx := mwTest(c.x, c.y, Either)
			if c.wantExact {
				require.NotEqual(t, approx, got)
			} else {
				require.Equal(t, approx, got)
			}
		})
	}
}

// FuzzExactMethodsAgree: the two exact computations give the same p-value
// wherever both fit, and it is a probability. Values are bytes mod 5, so the
// samples are tied.
func FuzzExactMethodsAgree(f *testing.F) {
	f.Add([]byte{0, 1, 1, 2}, []byte{0, 0, 0, 1, 3, 4, 4}, uint8(0))
	f.Add([]byte{1}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}, uint8(1))
	f.Add([]byte{2, 2, 2, 2, 2, 2}, []byte{2, 2}, uint8(2))
	f.Fuzz(func(t *testing.T, xb, yb []byte, d uint8) {
		if len(xb) == 0 || len(yb) == 0 || len(xb) > 40 || len(yb) > 40 {
			return
		}
		tied := func(b []byte) []float64 {
			v := make([]float64, len(b))
			for i, c := range b {
				v[i] = float64(c % 5)
			}
			return sortedCopy(v)
		}
		x, y := tied(xb), tied(yb)
		dir := []Direction{Increase, Decrease, Either}[d%3]
		var ex exactScratch
		groups := ex.tieGroups(x, y)
		p1, ok1 := ex.distributionP(groups, len(x), len(y), dir)
		p2, ok2 := ex.compositionP(groups, len(x), len(y), dir)
		for _, c := range []struct {
			p  float64
			ok bool
		}{{p1, ok1}, {p2, ok2}} {
			if c.ok && !(c.p > 0 && c.p <= 1) {
				t.Fatalf("p-value %v", c.p)
			}
		}
		if ok1 && ok2 && math.Abs(p1-p2) > 1e-9*math.Max(p1, 1e-300)+1e-13 {
			t.Fatalf("distribution %v, compositions %v", p1, p2)
		}
	})
}

package analyzer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func sortedCopy(v []float64) []float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s
}

// TestMannWhitneyPValueMatchesR checks the tie- and continuity-corrected
// p-values, two-sided and one-sided, against R.
func TestMannWhitneyPValueMatchesR(t *testing.T) {
	for _, c := range rGolden {
		t.Run(c.name, func(t *testing.T) {
			x, y := sortedCopy(c.x), sortedCopy(c.y)
			_, p := mwTest(x, y, Either)
			require.InDelta(t, c.p, p, 1e-12*math.Max(1, c.p))
			_, p = mwTest(x, y, Increase)
			require.InDelta(t, c.pGreater, p, 1e-12)
			_, p = mwTest(x, y, Decrease)
			require.InDelta(t, c.pLess, p, 1e-12)
		})
	}
}

// TestKayentaIntervalMatchesR: Kayenta's CI is R's (same zeroin, same
// statistic), and with the continuity correction dropped for the estimate the
// port also lands on R's estimate.
func TestKayentaIntervalMatchesR(t *testing.T) {
	for _, c := range rGolden {
		t.Run(c.name, func(t *testing.T) {
			x, y := sortedCopy(c.x), sortedCopy(c.y)
			est, ci, err := kayentaMW(x, y, c.conf, false)
			require.NoError(t, err)
			require.InDelta(t, c.lo, ci[0], 1e-9)
			require.InDelta(t, c.hi, ci[1], 1e-9)
			require.InDelta(t, c.est, est, 1e-9)
		})
	}
}

// bruteDiffs is the sorted n·m matrix of differences, the definition the
// selector must match.
func bruteDiffs(x, y []float64) []float64 {
	d := make([]float64, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			d = append(d, a-b)
		}
	}
	slices.Sort(d)
	return d
}

// TestExactIntervalAgreesWithR: the exact interval ends are differences, and
// R's root-found ends lie within its 1e-4 solver tolerance of them (or at
// the clamped extremes, which are differences too).
func TestExactIntervalAgreesWithR(t *testing.T) {
	var s selector
	for _, c := range rGolden {
		t.Run(c.name, func(t *testing.T) {
			x, y := sortedCopy(c.x), sortedCopy(c.y)
			est, ci := s.hodgesLehmann(x, y, c.conf)
			d := bruteDiffs(x, y)
			require.Contains(t, d, ci[0])
			require.Contains(t, d, ci[1])
			require.InDelta(t, c.lo, ci[0], 1.1e-4, "lower")
			require.InDelta(t, c.hi, ci[1], 1.1e-4, "upper")
			nm := len(d)
			med := d[nm/2]
			if nm%2 == 0 {
				med = d[nm/2-1] + (d[nm/2]-d[nm/2-1])/2
			}
			require.Equal(t, med, est)
			// R's estimate is a root of a step function: within 1e-4 of the
			// flat stretch around the median.
			require.GreaterOrEqual(t, c.est, d[(nm-1)/2]-1.1e-4)
			require.LessOrEqual(t, c.est, d[nm/2]+1.1e-4)
		})
	}
}

func TestSelectorMatchesBruteForce(t *testing.T) {
	cases := map[string]struct{ x, y []float64 }{
		"one each":        {[]float64{3}, []float64{1}},
		"all tied":        {[]float64{2, 2, 2}, []float64{2, 2}},
		"heavy ties":      {[]float64{0, 0, 0, 1, 1, 1, 2, 5, 5}, []float64{0, 0, 1, 1, 1, 1, 3}},
		"distinct":        {[]float64{0.5, 1.7, 2.2, 3.9, 4.1, 8}, []float64{-1, 0.2, 0.3, 7}},
		"huge":            {[]float64{-1e308, 1e308, 0}, []float64{1e308, -1e308}},
		"single baseline": {[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []float64{4}},
	}
	var s selector
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			x, y := sortedCopy(c.x), sortedCopy(c.y)
			d := bruteDiffs(x, y)
			s.reset(x, y, 1, len(x)*len(y))
			for k := 1; k <= len(d); k++ {
				require.Equal(t, d[k-1], s.kth(k), "k=%d", k)
			}
		})
	}
}

// TestSelectorLarge exercises the interpolation and median pivots on a
// bracket too big to enumerate at once, against brute force.
func TestSelectorLarge(t *testing.T) {
	x := make([]float64, 300)
	y := make([]float64, 250)
	for i := range x {
		x[i] = math.Exp(math.Sin(float64(i)*1.7)) + float64(i%7)/3
	}
	for i := range y {
		y[i] = math.Exp(math.Cos(float64(i)*2.3)) + float64(i%5)/4
	}
	x, y = sortedCopy(x), sortedCopy(y)
	d := bruteDiffs(x, y)
	var s selector
	s.reset(x, y, 1, len(x)*len(y))
	for _, k := range []int{1, 2, 100, len(d) / 3, len(d)/2 - 1, len(d) / 2, len(d)/2 + 1, len(d) - 5, len(d)} {
		require.Equal(t, d[k-1], s.kth(k), "k=%d", k)
	}
}

// TestHodgesLehmannMatchesBruteForce compares the estimate and interval
// with the sorted difference matrix on random series, with and without ties.
func TestHodgesLehmannMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var s selector
	for _, c := range []struct {
		n, m  int
		round float64
	}{{37, 53, 0}, {200, 150, 0}, {120, 120, 0.5}, {300, 40, 10}, {9, 400, 0}} {
		x := make([]float64, c.n)
		y := make([]float64, c.m)
		for i := range x {
			x[i] = math.Exp(rng.NormFloat64()) * 10
		}
		for i := range y {
			y[i] = math.Exp(rng.NormFloat64()) * 9
		}
		if c.round > 0 {
			for i := range x {
				x[i] = math.Round(x[i] / c.round)
			}
			for i := range y {
				y[i] = math.Round(y[i] / c.round)
			}
		}
		x, y = sortedCopy(x), sortedCopy(y)
		d := bruteDiffs(x, y)
		nm := len(d)
		for _, conf := range []float64{0.9, 0.98, 0.999999} {
			est, ci := s.hodgesLehmann(x, y, conf)
			med := d[nm/2]
			if nm%2 == 0 {
				med = d[nm/2-1] + (d[nm/2]-d[nm/2-1])/2
			}
			require.Equal(t, med, est)
			sigma0 := mwSigma(float64(c.n), float64(c.m), withinTies(x)+withinTies(y))
			cc := float64(nm)/2 - 0.5 - normQuantile(1-(1-conf)/2)*sigma0
			require.Equal(t, d[clampIndex(math.Ceil(cc), nm)-1], ci[0])
			require.Equal(t, d[clampIndex(float64(nm)-math.Floor(cc), nm)-1], ci[1])
		}
	}
}

package analyzer

import (
	"errors"
	"math"
)

// errAllTied is Kayenta's "cannot compute confidence interval when all
// observations are tied"; NetflixACAJudge turns it into the label Error.
var errAllTied = errors.New("cannot compute confidence interval when all observations are tied")

// errNoRoot is an interval search that met a non-finite statistic.
var errNoRoot = errors.New("the rank statistic is not finite at this shift")

// wilcoxonDiff is the continuity-corrected normal statistic of the rank-sum
// test of (x − mu) against y, minus q: the function whose roots R's
// wilcox.test and Kayenta's MannWhitney take as interval ends. x and y are
// ascending; subtracting mu keeps x ascending, so the ranks come from a merge
// instead of a sort, with the same numbers as Kayenta's NaturalRanking
// (average ranks, half-integers, summed exactly).
func wilcoxonDiff(x, y []float64, mu, q float64, correct bool) (float64, error) {
	n, m := float64(len(x)), float64(len(y))
	var rankSum, ties float64
	i, j, pos := 0, 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		if j >= len(y) || (i < len(x) && x[i]-mu < y[j]) {
			v = x[i] - mu
		} else {
			v = y[j]
		}
		ci, cj := 0, 0
		for i < len(x) && x[i]-mu == v {
			i++
			ci++
		}
		for j < len(y) && y[j] == v {
			j++
			cj++
		}
		t := ci + cj
		if t == 0 {
			// v is NaN (an infinite shift): nothing equals it, and the
			// merge would never advance.
			return 0, errNoRoot
		}
		avg := float64(pos) + float64(t+1)/2
		rankSum += float64(ci) * avg
		ft := float64(t)
		ties += ft*ft*ft - ft
		pos += t
	}
	dz := rankSum - n*(n+1)/2 - n*m/2
	corr := 0.0
	if correct {
		corr = sign(dz) * 0.5
	}
	sigma := mwSigma(n, m, ties)
	if sigma == 0 {
		return 0, errAllTied
	}
	return (dz-corr)/sigma - q, nil
}

// kayentaMW is Kayenta's MannWhitney.mannWhitneyUTest: CI ends by Brent root
// finding with R's clamping to [muMin, muMax], and the estimate as the root of
// the statistic at q = 0. Kayenta keeps the continuity correction for the
// estimate; R drops it (correctEstimate = false reproduces R's estimate).
func kayentaMW(x, y []float64, conf float64, correctEstimate bool) (est float64, ci [2]float64, err error) {
	return rootFindingMW(x, y, conf, correctEstimate, func(mu, q float64, correct bool) (float64, error) {
		return wilcoxonDiff(x, y, mu, q, correct)
	})
}

// statistic is wilcoxonDiff for fixed series.
type statistic func(mu, q float64, correct bool) (float64, error)

// rootFindingMW finds the interval and estimate as roots of stat, the way R
// and Kayenta do.
func rootFindingMW(x, y []float64, conf float64, correctEstimate bool, stat statistic) (est float64, ci [2]float64, err error) {
	muMin := x[0] - y[len(y)-1]
	muMax := x[len(x)-1] - y[0]
	var ferr error
	f := func(q float64, correct bool) func(float64) float64 {
		return func(mu float64) float64 {
			v, e := stat(mu, q, correct)
			if e != nil && ferr == nil {
				ferr = e
			}
			return v
		}
	}
	root := func(q float64) float64 {
		g := f(q, true)
		fl, fu := g(muMin), g(muMax)
		switch {
		case fl <= 0:
			return muMin
		case fu >= 0:
			return muMax
		}
		return brent(muMin, muMax, fl, fu, g)
	}
	zq := normQuantile((1 - conf) / 2)
	ci = [2]float64{root(-zq), root(zq)}
	g := f(0, correctEstimate)
	est = brent(muMin, muMax, g(muMin), g(muMax), g)
	return est, ci, ferr
}

// brent is R's zeroin as ported in Kayenta's BrentSolver: absolute tolerance
// 1e-4, at most 1000 iterations, the last iterate when they run out. Every
// branch matters: a different root finder lands elsewhere inside the 1e-4
// window and can change a verdict at the boundary.
func brent(ax, bx, fa, fb float64, f func(float64) float64) float64 {
	const (
		maxIter = 1000
		tol     = 1e-4
		eps     = 2.220446049250313e-16
	)
	a, b := ax, bx
	c, fc := a, fa
	if ulpZero(fa) {
		return a
	}
	if ulpZero(fb) {
		return b
	}
	for it := maxIter + 1; it > 0; it-- {
		prevStep := b - a
		if math.Abs(fc) < math.Abs(fb) {
			a, b, c = b, c, b
			fa, fb, fc = fb, fc, fb
		}
		tolAct := 2*eps*math.Abs(b) + tol/2
		newStep := (c - b) / 2
		if math.Abs(newStep) <= tolAct || ulpZero(fb) {
			return b
		}
		if math.Abs(prevStep) >= tolAct && math.Abs(fa) > math.Abs(fb) {
			var p, q float64
			cb := c - b
			if a == c {
				t1 := fb / fa
				p = cb * t1
				q = 1 - t1
			} else {
				qq, t1, t2 := fa/fc, fb/fc, fb/fa
				p = t2 * (cb*qq*(qq-t1) - (b-a)*(t1-1))
				q = (qq - 1) * (t1 - 1) * (t2 - 1)
			}
			if p > 0 {
				q = -q
			} else {
				p = -p
			}
			if p < 0.75*cb*q-math.Abs(tolAct*q)/2 && p < math.Abs(prevStep*q/2) {
				newStep = p / q
			}
		}
		if math.Abs(newStep) < tolAct {
			if newStep > 0 {
				newStep = tolAct
			} else {
				newStep = -tolAct
			}
		}
		a, fa = b, fb
		b += newStep
		fb = f(b)
		if (fb > 0 && fc > 0) || (fb < 0 && fc < 0) {
			c, fc = a, fa
		}
	}
	return b
}

// ulpZero is Apache Precision.equals(v, 0): within one ulp of zero.
func ulpZero(v float64) bool {
	return v == 0 || math.Abs(v) == math.SmallestNonzeroFloat64
}

package analyzer

import (
	"math"
	"slices"
)

// normCDF is Φ(x).
func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// normSurv is 1 − Φ(x) without cancellation for large x.
func normSurv(x float64) float64 { return 0.5 * math.Erfc(x/math.Sqrt2) }

// normQuantile is Φ⁻¹(p), Wichura's AS 241 (PPND16), accurate to about 1e-16.
func normQuantile(p float64) float64 {
	switch {
	case math.IsNaN(p) || p < 0 || p > 1:
		return math.NaN()
	case p == 0:
		return math.Inf(-1)
	case p == 1:
		return math.Inf(1)
	}
	q := p - 0.5
	if math.Abs(q) <= 0.425 {
		r := 0.180625 - q*q
		return q * (((((((2509.0809287301226727*r+33430.575583588128105)*r+67265.770927008700853)*r+
			45921.953931549871457)*r+13731.693765509461125)*r+1971.5909503065514427)*r+133.14166789178437745)*r +
			3.387132872796366608) /
			(((((((5226.495278852545925*r+28729.085735721942674)*r+39307.89580009271061)*r+
				21213.794301586595867)*r+5394.1960214247511077)*r+687.1870074920579083)*r+42.313330701600911252)*r + 1)
	}
	r := p
	if q > 0 {
		r = 1 - p
	}
	r = math.Sqrt(-math.Log(r))
	var v float64
	if r <= 5 {
		r -= 1.6
		v = (((((((7.7454501427834140764e-4*r+0.0227238449892691845833)*r+0.24178072517745061177)*r+
			1.27045825245236838258)*r+3.64784832476320460504)*r+5.7694972214606914055)*r+4.6303378461565452959)*r +
			1.42343711074968357734) /
			(((((((1.05075007164441684324e-9*r+5.475938084995344946e-4)*r+0.0151986665636164571966)*r+
				0.14810397642748007459)*r+0.68976733498510000455)*r+1.6763848301838038494)*r+2.05319162663775882187)*r + 1)
	} else {
		r -= 5
		v = (((((((2.01033439929228813265e-7*r+2.71155556874348757815e-5)*r+0.0012426609473880784386)*r+
			0.026532189526576123093)*r+0.29656057182850489123)*r+1.7848265399172913358)*r+5.4637849111641143699)*r +
			6.6579046435011037772) /
			(((((((2.04426310338993978564e-15*r+1.4215117583164458887e-7)*r+1.8463183175100546818e-5)*r+
				7.868691311456132591e-4)*r+0.0148753612908506148525)*r+0.13692988092273580531)*r+0.59983220655588793769)*r + 1)
	}
	if q < 0 {
		return -v
	}
	return v
}

// mean is Apache Commons Math's Mean: the sum over n, corrected by a second
// pass. Kayenta's mean ratio uses it, so the gates compare the same numbers.
func mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var sum float64
	for _, v := range x {
		sum += v
	}
	n := float64(len(x))
	xbar := sum / n
	var corr float64
	for _, v := range x {
		corr += v - xbar
	}
	return xbar + corr/n
}

// percentileSorted is the R-7 percentile (Apache EstimationType.R_7) of the
// ascending slice s at p ∈ [0,100].
func percentileSorted(s []float64, p float64) float64 {
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	q := p / 100
	var pos float64
	switch q {
	case 0:
		pos = 0
	case 1:
		pos = float64(n)
	default:
		pos = 1 + float64(n-1)*q
	}
	if pos < 1 {
		return s[0]
	}
	if pos >= float64(n) {
		return s[n-1]
	}
	f := math.Floor(pos)
	i := int(f)
	lo, hi := s[i-1], s[i]
	return lo + (pos-f)*(hi-lo)
}

// summarize describes a series; x is in input order, s is x sorted.
func summarize(x, s []float64) Summary {
	if len(s) == 0 {
		return Summary{}
	}
	return Summary{
		Count: len(s),
		Mean:  mean(x),
		P50:   percentileSorted(s, 50),
		P90:   percentileSorted(s, 90),
		P99:   percentileSorted(s, 99),
		Min:   s[0],
		Max:   s[len(s)-1],
	}
}

// preprocess applies the NaN strategy, then the optional outlier filter, to a
// copy of x, keeping input order (the mean's rounding depends on it). It
// returns the series and a sorted copy, reusing the storage of vals and
// sorted.
func preprocess(x []float64, nan NaNStrategy, outliers OutlierStrategy, factor float64, vals, sorted []float64, fs *floatSorter) ([]float64, []float64) {
	vals = vals[:0]
	for _, v := range x {
		if math.IsNaN(v) {
			if nan == NaNReplace {
				vals = append(vals, 0)
			}
			continue
		}
		vals = append(vals, v)
	}
	sorted = append(sorted[:0], vals...)
	fs.sort(sorted)
	if outliers == OutliersRemove && len(sorted) > 0 {
		// Kayenta's IQRDetector with reduceSensitivity: the fences never cut
		// inside the 1st–99th percentile range.
		q1, q3 := percentileSorted(sorted, 25), percentileSorted(sorted, 75)
		iqr := q3 - q1
		lower := math.Min(percentileSorted(sorted, 1), q1-factor*iqr)
		upper := math.Max(percentileSorted(sorted, 99), q3+factor*iqr)
		keep := func(v float64) bool { return !(v > upper || v < lower) }
		vals = slices.DeleteFunc(vals, func(v float64) bool { return !keep(v) })
		sorted = slices.DeleteFunc(sorted, func(v float64) bool { return !keep(v) })
	}
	return vals, sorted
}

// meanRatio is Kayenta's deviation: NaN when either mean is exactly 0.
func meanRatio(canaryMean, baselineMean float64) float64 {
	if canaryMean == 0 || baselineMean == 0 {
		return math.NaN()
	}
	return canaryMean / baselineMean
}

// rankStats merges the ascending series x (canary) and y (baseline) shifted by
// nothing and returns U = #{x > y} + ½·#{x = y} and T = Σ(t³ − t) over the
// tie groups of the combined sample. O(n + m).
func rankStats(x, y []float64) (u, ties float64) {
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j >= len(y) || (i < len(x) && x[i] < y[j]):
			v = x[i]
		default:
			v = y[j]
		}
		ci, cj := 0, 0
		for i < len(x) && x[i] == v {
			i++
			ci++
		}
		lessY := float64(j)
		for j < len(y) && y[j] == v {
			j++
			cj++
		}
		u += float64(ci)*lessY + 0.5*float64(ci)*float64(cj)
		t := float64(ci + cj)
		ties += t*t*t - t
	}
	return u, ties
}

// withinTies is Σ(t³ − t) over the tie groups inside one sorted series.
func withinTies(s []float64) float64 {
	var ties float64
	for i := 0; i < len(s); {
		j := i + 1
		for j < len(s) && s[j] == s[i] {
			j++
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	return ties
}

// distinctCount reports 0, 1 or 2 (meaning "two or more") distinct values.
func distinctCount(sorted []float64) int {
	switch {
	case len(sorted) == 0:
		return 0
	case sorted[0] == sorted[len(sorted)-1]:
		return 1
	}
	return 2
}

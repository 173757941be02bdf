package analyzer

import (
	"math"
	"slices"
)

// mwTest is the two-sample Mann-Whitney test of x (canary) against y
// (baseline), both ascending, with R's tie correction and continuity
// correction (wilcox.test(exact = FALSE, correct = TRUE)). Either is
// two-sided; Increase tests x > y and Decrease x < y. When every observation
// is tied the test has no evidence: z = 0, p = 1.
func mwTest(x, y []float64, dir Direction) (z, p float64) {
	u, ties := rankStats(x, y)
	n, m := float64(len(x)), float64(len(y))
	sigma := mwSigma(n, m, ties)
	if sigma == 0 || math.IsNaN(sigma) {
		return 0, 1
	}
	dz := u - n*m/2
	switch dir {
	case Increase:
		z = (dz - 0.5) / sigma
		return z, normSurv(z)
	case Decrease:
		z = (dz + 0.5) / sigma
		return z, normCDF(z)
	}
	z = (dz - 0.5*sign(dz)) / sigma
	return z, math.Min(1, 2*math.Min(normCDF(z), normSurv(z)))
}

// mwSigma is the standard deviation of U under H0 with tie correction, in
// R's (and Kayenta's) operation order.
func mwSigma(n, m, ties float64) float64 {
	return math.Sqrt((n * m / 12) * ((n + m + 1) - ties/((n+m)*(n+m-1))))
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// hodgesLehmann returns the exact Hodges-Lehmann shift estimate (median of the
// n·m differences x_i − y_j) and the confidence interval at level conf.
//
// The interval ends are the order statistics of the differences at which R's
// wilcox.test(exact = FALSE, correct = TRUE) statistic, as a step function of
// the shift, crosses ±z: between two consecutive differences the statistic is
// (nm/2 − j − ½·sign)/σ₀, where j counts the differences below the shift and
// σ₀ carries only the within-sample ties (no difference equals a generic
// shift). R and Kayenta find the same crossing by root finding to ±1e-4; here
// it is found exactly by selection.
func (s *selector) hodgesLehmann(x, y []float64, conf float64) (est float64, ci [2]float64) {
	nm := len(x) * len(y)
	n, m := float64(len(x)), float64(len(y))
	sigma0 := mwSigma(n, m, withinTies(x)+withinTies(y))
	zq := normQuantile(1 - (1-conf)/2)
	c := float64(nm)/2 - 0.5 - zq*sigma0
	lo := clampIndex(math.Ceil(c), nm)
	hi := clampIndex(float64(nm)-math.Floor(c), nm)
	s.reset(x, y, lo, hi)
	if nm%2 == 1 {
		est = s.kth((nm + 1) / 2)
	} else {
		a, b := s.kthPair(nm / 2)
		est = a + (b-a)/2
	}
	ci = [2]float64{s.kth(lo), s.kth(hi)}
	return est, ci
}

func clampIndex(k float64, nm int) int {
	switch {
	case math.IsNaN(k) || k < 1:
		return 1
	case k > float64(nm):
		return nm
	}
	return int(k)
}

// selector finds order statistics of the pairwise differences D = x_i − y_j of
// two ascending series without building the n·m matrix. For a row i the
// differences fall as j rises, so "D ≤ t" holds on a suffix of j whose start
// moves right as i rises: one count is a two-pointer pass, O(n + m).
//
// The search keeps a bracket (a, b] with #{D ≤ a} < k ≤ #{D ≤ b} and, per
// row, the column range of the differences inside it. Pivots alternate
// between interpolation on the counts (fast on the smooth middle of the
// distribution) and the weighted median of the row middles, which discards
// at least a quarter of the bracket each time; so there are O(log nm) passes
// and the whole selection is O((n + m)·log(n + m)). When the bracket holds
// at most (n + m)/4 differences they are collected and quickselected.
type selector struct {
	x, y     []float64
	pa, pb   []int // per row: first column with D ≤ a (pa) and D ≤ b (pb)
	pLE, pLT []int // scratch of one counting pass
	buf      []float64
	wm       []weighted
	// grid is a sorted sample of differences between evenly spaced order
	// statistics of x and y; its quantiles give each search a first bracket.
	grid []float64
	// bufRank is the rank (within buf) of the last kth answer, for kthPair.
	bufRank int
	// start is a bracket shared by every search of one hodgesLehmann call,
	// with its row columns in startA and startB.
	start          bracket
	startA, startB []int
}

// gridSide is the number of order statistics per series in the grid sample.
const gridSide = 16

type weighted struct {
	v float64
	w int
}

// reset prepares searches over x and y for ranks in [kLo, kHi]: it builds
// the grid sample and brackets the whole range with two counting passes at
// grid quantiles a few binomial standard errors outside it.
func (s *selector) reset(x, y []float64, kLo, kHi int) {
	s.x, s.y = x, y
	n, m := len(x), len(y)
	s.pa = grow(s.pa, n)
	s.pb = grow(s.pb, n)
	s.pLE = grow(s.pLE, n)
	s.pLT = grow(s.pLT, n)
	s.startA = grow(s.startA, n)
	s.startB = grow(s.startB, n)
	s.grid = s.grid[:0]
	gx, gy := min(gridSide, n), min(gridSide, m)
	for i := range gx {
		xi := x[(2*i+1)*n/(2*gx)]
		for j := range gy {
			s.grid = append(s.grid, xi-y[(2*j+1)*m/(2*gy)])
		}
	}
	slices.Sort(s.grid)
	for i := range n {
		s.pa[i], s.pb[i] = m, 0
	}
	st := bracket{a: math.Inf(-1), b: math.Inf(1), cb: n * m}
	g := float64(len(s.grid))
	margin := func(k int) float64 {
		p := (float64(k) - 0.5) / float64(n*m)
		return 3*math.Sqrt(p*(1-p)/g) + 2/g
	}
	pLo := (float64(kLo)-0.5)/float64(n*m) - margin(kLo)
	pHi := (float64(kHi)-0.5)/float64(n*m) + margin(kHi)
	if i := int(math.Floor(pLo * g)); i >= 0 {
		s.narrow(&st, kLo, kHi, s.grid[i])
	}
	if i := int(math.Ceil(pHi * g)); i < len(s.grid) {
		s.narrow(&st, kLo, kHi, s.grid[i])
	}
	s.start = st
	copy(s.startA, s.pa)
	copy(s.startB, s.pb)
}

// narrow counts at t, if t is inside the bracket, and moves one end of the
// bracket to t when t lies outside [kLo, kHi]: below kLo it raises a, at or
// above kHi it lowers b.
func (s *selector) narrow(st *bracket, kLo, kHi int, t float64) (le, lt int, counted bool) {
	if !(t > st.a && t < st.b) {
		return 0, 0, false
	}
	le, lt = s.count(t)
	switch {
	case le < kLo:
		st.a, st.ca = t, le
		copy(s.pa, s.pLE)
	case lt >= kHi:
		st.b, st.cb = t, lt
		copy(s.pb, s.pLT)
	}
	return le, lt, true
}

func grow(p []int, n int) []int {
	if cap(p) < n {
		return make([]int, n)
	}
	return p[:n]
}

// count returns #{D ≤ t} and #{D < t}, leaving the per-row starts in pLE, pLT.

// count returns #{D ≤ t} and #{D < t} for a t inside the current bracket,
// leaving the per-row starts in pLE and pLT. A row's start lies between its
// bracket columns pb and pa, so only the bracket's own differences are
// compared. The second pass, for "< t", only runs when t is a difference.
// count returns #{D ≤ t} and #{D < t} for a t inside the current bracket,
// leaving the per-row starts in pLE and pLT. A row's start lies between its
// bracket columns pb and pa, so only the bracket's own differences are
// compared. The second pass, for "< t", only runs when t is a difference.
// The slices are held in locals: through s the compiler reloads them on
// every row.
func (s *selector) count(t float64) (le, lt int) {
	x, y := s.x, s.y
	n, m := len(x), len(y)
	pa, pb, pLE, pLT := s.pa[:n], s.pb[:n], s.pLE[:n], s.pLT[:n]
	p, hit := 0, false
	for i, xi := range x {
		p = max(p, pb[i])
		end := min(pa[i], m)
		for p < end && xi-y[p] > t {
			p++
		}
		pLE[i] = p
		le += m - p
		if !hit && p < m && xi-y[p] == t {
			hit = true
		}
	}
	if !hit {
		copy(pLT, pLE)
		return le, le
	}
	p = 0
	for i, xi := range x {
		p = max(p, pb[i])
		end := min(pa[i], m)
		for p < end && xi-y[p] >= t {
			p++
		}
		pLT[i] = p
		lt += m - p
	}
	return le, lt
}

// kthPair returns the k-th and (k+1)-th smallest differences. The second
// usually sits in the buffer the first search enumerated: after quickselect
// everything behind the answer is no smaller, so it is their minimum.
func (s *selector) kthPair(k int) (float64, float64) {
	first := s.kth(k)
	if s.bufRank >= 0 && s.bufRank+1 < len(s.buf) {
		return first, slices.Min(s.buf[s.bufRank+1:])
	}
	return first, s.kth(k + 1)
}

// kth returns the k-th smallest difference, 1 ≤ k ≤ n·m.
func (s *selector) kth(k int) float64 {
	n, m := len(s.x), len(s.y)
	s.bufRank = -1
	st := s.start
	if st.ca < k && k <= st.cb {
		copy(s.pa, s.startA)
		copy(s.pb, s.startB)
	} else {
		st = bracket{a: math.Inf(-1), b: math.Inf(1), cb: n * m}
		for i := range n {
			s.pa[i], s.pb[i] = m, 0
		}
	}
	limit := max(64, (n+m)/4)
	for {
		active := st.cb - st.ca
		if active <= limit {
			return s.enumerate(k - st.ca)
		}
		if math.IsInf(st.a, 0) || math.IsInf(st.b, 0) {
			if v, done := s.probe(&st, k, s.weightedMedian()); done {
				return v
			}
			continue
		}
		// Two interpolated probes, just below and just above k, so that
		// both ends of the bracket move; on the smooth middle of the
		// distribution of differences this shrinks it by an order of
		// magnitude per round.
		e := max(limit/4, active/32)
		for _, target := range []int{k - e, k + e} {
			frac := (float64(target-st.ca) - 0.5) / float64(st.cb-st.ca)
			if frac <= 0 || frac >= 1 {
				continue
			}
			t := st.a + (st.b-st.a)*frac
			if !(t > st.a && t < st.b) {
				continue
			}
			if v, done := s.probe(&st, k, t); done {
				return v
			}
		}
		// A round that left more than half of the bracket falls back to
		// the weighted median, which discards at least a quarter.
		if st.cb-st.ca > active/2 {
			if v, done := s.probe(&st, k, s.weightedMedian()); done {
				return v
			}
		}
	}
}

// bracket is the search state (a, b] with ca = #{D ≤ a} < k ≤ cb = #{D ≤ b}.
type bracket struct {
	a, b   float64
	ca, cb int
}

// probe counts at t and narrows the bracket; done reports that t itself is
// the k-th difference.
func (s *selector) probe(st *bracket, k int, t float64) (v float64, done bool) {
	le, lt, counted := s.narrow(st, k, k, t)
	return t, counted && lt < k && k <= le
}

// weightedMedian is the weighted median of the middle elements of each row's
// active range, weighted by the range length.
func (s *selector) weightedMedian() float64 {
	s.wm = s.wm[:0]
	total := 0
	for i, xi := range s.x {
		lo, hi := s.pb[i], s.pa[i] // active columns [lo, hi)
		if lo >= hi {
			continue
		}
		mid := lo + (hi-lo)/2
		s.wm = append(s.wm, weighted{xi - s.y[mid], hi - lo})
		total += hi - lo
	}
	return weightedSelect(s.wm, (total+1)/2)
}

// weightedSelect returns the value at which the cumulative weight of the
// ascending order first reaches target, by quickselect on the values.
func weightedSelect(w []weighted, target int) float64 {
	for len(w) > 1 {
		p := median3(w[0].v, w[len(w)/2].v, w[len(w)-1].v)
		// three-way partition: < p, == p, > p
		lt, i, gt := 0, 0, len(w)
		for i < gt {
			switch {
			case w[i].v < p:
				w[lt], w[i] = w[i], w[lt]
				lt++
				i++
			case w[i].v > p:
				gt--
				w[gt], w[i] = w[i], w[gt]
			default:
				i++
			}
		}
		wl, we := 0, 0
		for _, e := range w[:lt] {
			wl += e.w
		}
		for _, e := range w[lt:gt] {
			we += e.w
		}
		switch {
		case target <= wl:
			w = w[:lt]
		case target <= wl+we:
			return p
		default:
			target -= wl + we
			w = w[gt:]
		}
	}
	return w[0].v
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}

// enumerate collects the differences inside the bracket and returns the r-th
// smallest of them.
func (s *selector) enumerate(r int) float64 {
	s.buf = s.buf[:0]
	for i, xi := range s.x {
		for j := s.pb[i]; j < s.pa[i]; j++ {
			s.buf = append(s.buf, xi-s.y[j])
		}
	}
	s.bufRank = r - 1
	return quickselect(s.buf, r-1)
}

// quickselect returns the k-th smallest (0-based) element of v, reordering v.
func quickselect(v []float64, k int) float64 {
	lo, hi := 0, len(v)-1
	for lo < hi {
		p := median3(v[lo], v[lo+(hi-lo)/2], v[hi])
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

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
// The search keeps a bracket (a, b) with #{D ≤ a} < k ≤ #{D < b} and, per
// row, the column range of the differences inside it; a count only walks
// those. Each round counts at two interpolated pivots, just below and just
// above k, in one pass, so that both ends move; on the smooth middle of the
// distribution of differences this shrinks the bracket by one to two orders
// of magnitude per round. A round that leaves more than half of the bracket
// falls back to the weighted median of the row middles, which discards at
// least a quarter of it; so there are O(log nm) passes and the whole
// selection is O((n + m)·log(n + m)). When the bracket holds at most
// (n + m)/4 differences they are collected and quickselected.
type selector struct {
	x, y []float64
	// ys is y followed by +Inf, the sentinel that ends the counting walks.
	ys []float64
	// Per row: first column with D ≤ a (pa) and D < b (pb). Every column
	// slice has one spare entry after the last row, read by the walks.
	pa, pb []int
	// Columns of the counting passes: c1 and c2 for the two pivots of a
	// round, cLT for "D < t" when a pivot is itself a difference. A pivot
	// that becomes an end swaps its columns with that end's.
	c1, c2, cLT []int
	walks       [4]walk
	buf         []float64
	wm          []weighted
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

// bracket is the search state (a, b) with ca = #{D ≤ a} and cb = #{D < b}.
type bracket struct {
	a, b   float64
	ca, cb int
}

// reset prepares searches over x and y for ranks in [kLo, kHi]: it builds
// the grid sample and brackets the whole range with one counting pass at two
// points between grid quantiles a few binomial standard errors outside it.
// Midpoints between neighbouring grid values are rarely differences, which
// spares the "D < t" pass a difference needs.
func (s *selector) reset(x, y []float64, kLo, kHi int) {
	s.x, s.y = x, y
	n, m := len(x), len(y)
	s.ys = append(append(s.ys[:0], y...), math.Inf(1))
	for _, p := range []*[]int{&s.pa, &s.pb, &s.c1, &s.c2, &s.cLT, &s.startA, &s.startB} {
		*p = grow(*p, n+1)
	}
	s.grid = s.grid[:0]
	gx, gy := min(gridSide, n), min(gridSide, m)
	for i := range gx {
		xi := x[(2*i+1)*n/(2*gx)]
		for j := range gy {
			s.grid = append(s.grid, xi-y[(2*j+1)*m/(2*gy)])
		}
	}
	slices.Sort(s.grid)
	s.fullBracket()
	st := bracket{a: math.Inf(-1), b: math.Inf(1), cb: n * m}
	g := float64(len(s.grid))
	margin := func(k int) float64 {
		p := (float64(k) - 0.5) / float64(n*m)
		return 3*math.Sqrt(p*(1-p)/g) + 2/g
	}
	pLo := (float64(kLo)-0.5)/float64(n*m) - margin(kLo)
	pHi := (float64(kHi)-0.5)/float64(n*m) + margin(kHi)
	tLo, tHi := math.Inf(-1), math.Inf(1)
	if i := int(math.Floor(pLo * g)); i >= 1 {
		tLo = s.grid[i-1] + (s.grid[i]-s.grid[i-1])/2
	}
	if i := int(math.Ceil(pHi * g)); i < len(s.grid)-1 {
		tHi = s.grid[i] + (s.grid[i+1]-s.grid[i])/2
	}
	s.round(&st, kLo, kHi, tLo, tHi)
	s.start = st
	copy(s.startA, s.pa)
	copy(s.startB, s.pb)
}

// fullBracket sets every row's columns to the whole row.
func (s *selector) fullBracket() {
	m := len(s.y)
	for i := range s.pa {
		s.pa[i], s.pb[i] = m, 0
	}
}

func grow(p []int, n int) []int {
	if cap(p) < n {
		return make([]int, n)
	}
	return p[:n]
}

// round counts at the pivots t1 < t2 (either may be left out as ±Inf or
// outside the bracket) in one pass and narrows the bracket with them: a
// pivot whose count is below kLo becomes a, one with kHi or more differences
// below it becomes b. For a single rank (kLo = kHi = k), done reports that a
// pivot is itself the k-th difference, returned as v.
func (s *selector) round(st *bracket, kLo, kHi int, t1, t2 float64) (v float64, done bool) {
	in1, in2 := t1 > st.a && t1 < st.b, t2 > st.a && t2 < st.b
	var le1, le2 int
	var hit1, hit2 bool
	switch {
	case in1 && in2:
		le1, le2, hit1, hit2 = s.count2(t1, t2)
	case in1:
		le1, hit1 = s.count(t1, false, s.c1)
	case in2:
		le2, hit2 = s.count(t2, false, s.c2)
	default:
		return 0, false
	}
	if in1 {
		if v, done = s.settle(st, kLo, kHi, t1, le1, hit1, &s.c1); done {
			return v, true
		}
	}
	if in2 && t2 > st.a && t2 < st.b {
		return s.settle(st, kLo, kHi, t2, le2, hit2, &s.c2)
	}
	return 0, false
}

// settle moves an end of the bracket to the counted pivot t, taking over
// its columns; le = #{D ≤ t}, and hit says t is a difference, so that
// #{D < t} needs its own pass.
func (s *selector) settle(st *bracket, kLo, kHi int, t float64, le int, hit bool, cols *[]int) (float64, bool) {
	if le < kLo {
		st.a, st.ca = t, le
		s.pa, *cols = *cols, s.pa
		return 0, false
	}
	lt := le
	if hit {
		lt, _ = s.count(t, true, s.cLT)
		cols = &s.cLT
	}
	if lt >= kHi {
		st.b, st.cb = t, lt
		s.pb, *cols = *cols, s.pb
		return 0, false
	}
	return t, kLo == kHi
}

// count returns #{D ≤ t} (#{D < t} when strict) for a t inside the current
// bracket, leaving the per-row starts in cols; hit reports a difference
// equal to t. The rows are split into four walks that run interleaved.
func (s *selector) count(t float64, strict bool, cols []int) (c int, hit bool) {
	if strict {
		// D ≥ t ⟺ D > the next float below t.
		t = math.Nextafter(t, math.Inf(-1))
	}
	n := len(s.x)
	q := [5]int{0, n / 4, n / 2, 3 * n / 4, n}
	var h int
	for w := range 4 {
		s.walks[w] = walk{t: t, from: q[w], to: q[w+1], cols: cols}
	}
	s.walk4()
	for _, w := range s.walks {
		c += w.count
		h += w.ties
	}
	return c, !strict && h > 0
}

// count2 is count at t1 < t2 in one pass, into c1 and c2.
func (s *selector) count2(t1, t2 float64) (le1, le2 int, hit1, hit2 bool) {
	n := len(s.x)
	h := n / 2
	s.walks = [4]walk{{t: t1, from: 0, to: h, cols: s.c1}, {t: t1, from: h, to: n, cols: s.c1},
		{t: t2, from: 0, to: h, cols: s.c2}, {t: t2, from: h, to: n, cols: s.c2}}
	s.walk4()
	w := &s.walks
	return w[0].count + w[1].count, w[2].count + w[3].count, w[0].ties+w[1].ties > 0, w[2].ties+w[3].ties > 0
}

// walk is one counting walk of walk4: it counts #{D ≤ t} over the rows
// from ≤ i < to, writing the per-row starts into cols, and counts in ties
// the rows whose first difference ≤ t equals it.
type walk struct {
	t           float64
	from, to    int
	cols        []int
	count, ties int
}

// walk4 runs the four walks in s.walks.
//
// A walk is a merge of its rows with the columns: each step compares one
// difference and either moves to the next column (D > t) or ends the row.
// The steps are branch-free, so the walks cost no mispredicted branches, and
// the four are independent, so their steps overlap in the pipeline. A walk
// never passes the bracket's end pa: there D ≤ a < t, and the +Inf sentinel
// after y stops a walk at the last column. The row's bracket start pb lets a
// walk jump over differences above b.
func (s *selector) walk4() {
	x, y, pb, m := s.x, s.ys, s.pb, len(s.y)
	w0, w1, w2, w3 := &s.walks[0], &s.walks[1], &s.walks[2], &s.walks[3]
	t0, t1, t2, t3 := w0.t, w1.t, w2.t, w3.t
	k0, k1, k2, k3 := w0.cols, w1.cols, w2.cols, w3.cols
	i0, i1, i2, i3 := w0.from, w1.from, w2.from, w3.from
	e0, e1, e2, e3 := w0.to, w1.to, w2.to, w3.to
	p0, p1, p2, p3 := pb[i0], pb[i1], pb[i2], pb[i3]
	var c0, c1, c2, c3 int
	for i0 < e0 && i1 < e1 && i2 < e2 && i3 < e3 {
		i0, p0, c0 = walkStep(x, y, pb, k0, t0, i0, p0, c0)
		i1, p1, c1 = walkStep(x, y, pb, k1, t1, i1, p1, c1)
		i2, p2, c2 = walkStep(x, y, pb, k2, t2, i2, p2, c2)
		i3, p3, c3 = walkStep(x, y, pb, k3, t3, i3, p3, c3)
	}
	for i0 < e0 {
		i0, p0, c0 = walkStep(x, y, pb, k0, t0, i0, p0, c0)
	}
	for i1 < e1 {
		i1, p1, c1 = walkStep(x, y, pb, k1, t1, i1, p1, c1)
	}
	for i2 < e2 {
		i2, p2, c2 = walkStep(x, y, pb, k2, t2, i2, p2, c2)
	}
	for i3 < e3 {
		i3, p3, c3 = walkStep(x, y, pb, k3, t3, i3, p3, c3)
	}
	for w, sp := range [4]int{c0, c1, c2, c3} {
		wk := &s.walks[w]
		wk.count = (wk.to-wk.from)*m - sp
		wk.ties = 0
		for i := wk.from; i < wk.to; i++ {
			wk.ties += b2i(x[i]-y[wk.cols[i]] == wk.t)
		}
	}
}

// walkStep is one step of a counting walk in row i at column p; sp sums the
// rows' final columns.
func walkStep(x, y []float64, pb, cols []int, t float64, i, p, sp int) (int, int, int) {
	d := x[i] - y[p]
	cols[i] = p // final once the row ends
	next := b2i(d > t)
	end := next - 1 // −1 when the row ends here, else 0
	sp += p & end
	p += next
	i -= end
	jump := pb[i] - p
	return i, p + jump&^(jump>>63), sp // max(p, pb[i]) without a branch
}

func b2i(b bool) int {
	var v int
	if b {
		v = 1
	}
	return v
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
		s.fullBracket()
	}
	limit := max(64, (n+m)/4)
	for {
		active := st.cb - st.ca
		if active <= limit {
			return s.enumerate(k - st.ca)
		}
		if !math.IsInf(st.a, 0) && !math.IsInf(st.b, 0) {
			e := max(limit/4, active/64)
			if v, done := s.round(&st, k, k, s.interpolate(st, k-e), s.interpolate(st, k+e)); done {
				return v
			}
		}
		// A round that left more than half of the bracket falls back to
		// the weighted median, which discards at least a quarter.
		if st.cb-st.ca > active/2 {
			if v, done := s.round(&st, k, k, s.weightedMedian(), math.Inf(1)); done {
				return v
			}
		}
	}
}

// interpolate is the point where the straight line through the bracket's
// ends reaches rank r, or NaN when r is outside the bracket.
func (s *selector) interpolate(st bracket, r int) float64 {
	frac := (float64(r-st.ca) - 0.5) / float64(st.cb-st.ca)
	if frac <= 0 || frac >= 1 {
		return math.NaN()
	}
	return st.a + (st.b-st.a)*frac
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

package analyzer

import (
	"math"
	"slices"
)

// exactBudget bounds the work of the exact rank test, in inner-loop steps
// (about a nanosecond each): up to 20–30 points a side for values with a few
// ties, hundreds against a few for 0/1 samples. The cases where the normal
// approximation rejects above its level (few tied points against many) fit
// easily; larger samples are where it is accurate.
const exactBudget = 10_000_000

// rankTest is the Mann-Whitney test of x (canary) against y (baseline), both
// ascending. With tied values, its p-value is exact, from the distribution of
// U conditional on the observed ties (every split of the pooled values into n
// canary and m baseline points equally likely), whenever that distribution
// can be computed within exactBudget; otherwise it is mwTest's normal
// approximation. With ties the approximation rejects above its level for few
// points against many (5 against 50 0/1 points at α 0.01, one-sided: 0.017);
// without ties its continuity correction keeps it within the level at every
// size up to 30 against 200 (checked exactly), so untied samples keep R's
// p-value. side is +1 when the canary ranks above the baseline (U > nm/2),
// −1 below, 0 at the centre.
func rankTest(x, y []float64, dir Direction, ex *exactScratch) (side int, p float64) {
	if groups := ex.tieGroups(x, y); len(groups) < len(x)+len(y) {
		if p, ok := ex.exactP(groups, len(x), len(y), dir); ok {
			u, _ := rankStats(x, y)
			return cmpSide(2*u, float64(len(x)*len(y))), p
		}
	}
	z, p := mwTest(x, y, dir)
	return cmpSide(z, 0), p
}

func cmpSide(a, b float64) int {
	switch {
	case a > b:
		return 1
	case a < b:
		return -1
	}
	return 0
}

// tieGroup is one distinct value of the pooled sample: how many canary and
// baseline points hold it.
type tieGroup struct{ x, y int }

// exactScratch keeps the exact test's buffers between metrics.
type exactScratch struct {
	groups    []tieGroup
	cur, next []float64
	choose    []float64
}

func (ex *exactScratch) tieGroups(x, y []float64) []tieGroup {
	g := ex.groups[:0]
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		if j >= len(y) || (i < len(x) && x[i] < y[j]) {
			v = x[i]
		} else {
			v = y[j]
		}
		var t tieGroup
		for ; i < len(x) && x[i] == v; i++ {
			t.x++
		}
		for ; j < len(y) && y[j] == v; j++ {
			t.y++
		}
		g = append(g, t)
	}
	ex.groups = g
	return g
}

// exactP is the exact conditional p-value of the canary's U, or ok = false
// when neither way of computing it fits in exactBudget: the distribution over
// all values of U (many distinct values, small samples), or the enumeration
// of how many canary points each distinct value holds (few distinct values,
// such as 0/1 samples, at any size).
func (ex *exactScratch) exactP(groups []tieGroup, n, m int, dir Direction) (float64, bool) {
	if p, ok := ex.distributionP(groups, n, m, dir); ok {
		return p, true
	}
	return ex.compositionP(groups, n, m, dir)
}

// tailTest is the rejection region of the observed U2 = 2U: the statistic
// values at least as extreme in the test's direction.
func tailTest(groups []tieGroup, n, m int, dir Direction) func(u2 int) bool {
	obs := 0
	below := 0
	for _, g := range groups {
		obs += g.x * (2*below + g.y)
		below += g.y
	}
	switch dir {
	case Increase:
		return func(v int) bool { return v >= obs }
	case Decrease:
		return func(v int) bool { return v <= obs }
	}
	d := absInt(obs - n*m)
	return func(v int) bool { return absInt(v-n*m) >= d }
}

func (ex *exactScratch) distributionP(groups []tieGroup, n, m int, dir Direction) (float64, bool) {
	dist, ok := ex.nullDistribution(groups, n, m)
	if !ok {
		return 0, false
	}
	return min(1, sumWhere(dist, tailTest(groups, n, m, dir))/sumWhere(dist, func(int) bool { return true })), true
}

// compositionP enumerates every way (c₁ … c_G) of holding n canary points in
// the G distinct values, each of probability ∏ C(t_g, c_g) / C(n+m, n) (a
// multivariate hypergeometric), and adds those whose U is in the tail. ok is
// false when there are more ways than exactBudget allows.
func (ex *exactScratch) compositionP(groups []tieGroup, n, m int, dir Direction) (float64, bool) {
	G := len(groups)
	// Cheap bounds first: at most ∏(t_g + 1) ways and C(n+G−1, G−1) (stars
	// and bars), and counting them exactly costs Σ (n+1)(t_g+1).
	product, bars, count := 1.0, 1.0, 0.0
	for g, grp := range groups {
		t := min(grp.x+grp.y, n)
		product *= float64(t + 1)
		if g > 0 {
			bars = bars * float64(n+g) / float64(g)
		}
		count += float64(n+1) * float64(t+1)
	}
	if min(product, bars)*float64(G) > exactBudget || count > exactBudget {
		return 0, false
	}
	// ways[g·(n+1)+k]: how many compositions put k canary points in groups g…G−1.
	ways := resetFloats(ex.next, (G+1)*(n+1))
	ex.next = ways
	ways[G*(n+1)] = 1
	for g := G - 1; g >= 0; g-- {
		t := groups[g].x + groups[g].y
		for k := 0; k <= n; k++ {
			var w float64
			for c := 0; c <= min(t, k); c++ {
				w += ways[(g+1)*(n+1)+k-c]
			}
			ways[g*(n+1)+k] = w
		}
	}
	if ways[n]*float64(G) > exactBudget {
		return 0, false
	}
	lfact := resetFloats(ex.cur, n+m+1)
	ex.cur = lfact
	for i := 2; i <= n+m; i++ {
		lfact[i] = lfact[i-1] + math.Log(float64(i))
	}
	lchoose := func(t, c int) float64 { return lfact[t] - lfact[c] - lfact[t-c] }
	inTail := tailTest(groups, n, m, dir)
	var p float64
	var walk func(g, k, below, u2 int, logw float64)
	walk = func(g, k, below, u2 int, logw float64) {
		if g == G {
			if inTail(u2) {
				p += math.Exp(logw - lchoose(n+m, n))
			}
			return
		}
		t := groups[g].x + groups[g].y
		for c := 0; c <= min(t, k); c++ {
			if ways[(g+1)*(n+1)+k-c] == 0 {
				continue
			}
			walk(g+1, k-c, below+t-c, u2+c*(2*below+t-c), logw+lchoose(t, c))
		}
	}
	walk(0, n, 0, 0, 0)
	return min(1, p), true
}

// nullDistribution is the number of ways each value of the canary's U2 = 2U
// arises when n of the pooled points are drawn as the canary, indexed by U2
// (per canary point, twice the baseline points below it plus those tied with
// it: an integer in [0, 2nm]). ok is false beyond exactBudget.
//
// It is built group by group over the pooled values in ascending order,
// choosing how many of each group's t points fall on the smaller side
// (C(t, c) ways): the state is (points chosen so far, U2 so far), and c points
// chosen after T points of which k were chosen add c·(2(T − k) + t − c). When
// the baseline is the smaller side this counts the baseline's U2, and the
// canary's is 2nm minus it.
func (ex *exactScratch) nullDistribution(groups []tieGroup, n, m int) ([]float64, bool) {
	a, b := n, m
	if m < n {
		a, b = m, n
	}
	if a == 0 {
		return nil, false
	}
	width := 2*a*b + 1
	perState := 0.0
	for _, g := range groups {
		perState += float64(min(g.x+g.y, a) + 1)
	}
	if float64(a+1)*float64(width)*perState > exactBudget {
		return nil, false
	}
	size := (a + 1) * width
	ex.cur = resetFloats(ex.cur, size)
	ex.next = resetFloats(ex.next, size)
	cur, next := ex.cur, ex.next
	cur[0] = 1
	before, hi := 0, 0 // points before the group; highest U2 reached
	for _, g := range groups {
		t := g.x + g.y
		ex.choose = binomialRow(ex.choose, t, min(t, a))
		clear(next[:size])
		newHi := hi
		for k := max(0, before-b); k <= min(a, before); k++ {
			row := cur[k*width : k*width+hi+1]
			below := before - k // points of the other side before the group
			for c := max(0, t-(b-below)); c <= min(t, a-k); c++ {
				delta := c * (2*below + t - c)
				w := ex.choose[c]
				dst := next[(k+c)*width+delta:]
				for v, cnt := range row {
					if cnt != 0 {
						dst[v] += cnt * w
					}
				}
				newHi = min(width-1, max(newHi, hi+delta))
			}
		}
		cur, next = next, cur
		before += t
		hi = newHi
	}
	dist := cur[a*width : a*width+width]
	if a != n {
		slices.Reverse(dist)
	}
	return dist, true
}

// sumWhere adds the weights at the statistic values keep selects, smallest
// weights first (the distribution's tails hold them).
func sumWhere(dist []float64, keep func(v int) bool) float64 {
	lo, hi := 0, len(dist)-1
	var s float64
	for lo <= hi {
		v := lo
		if dist[hi] < dist[lo] {
			v = hi
			hi--
		} else {
			lo++
		}
		if keep(v) {
			s += dist[v]
		}
	}
	return s
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func resetFloats(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// binomialRow is C(t, 0..upTo), rounded beyond 2^53 (a relative 1e-16).
func binomialRow(row []float64, t, upTo int) []float64 {
	row = slices.Grow(row[:0], upTo+1)[:upTo+1]
	row[0] = 1
	for c := 1; c <= upTo; c++ {
		row[c] = math.Round(row[c-1] * float64(t-c+1) / float64(c))
	}
	return row
}

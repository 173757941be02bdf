package main

import (
	"math"

	"github.com/trimtab/trimtab/scaler/sim"
)

// leastCost is a lower bound on the replica-seconds any scaler needs to keep
// violation seconds at or below maxViol on the spans of tr: one that knows
// the future second by second and whose pods start instantly, but that,
// like every policy in the simulator, changes ready replicas only at syncs
// (start-up is a whole number of syncs) and stays within [minR, maxR].
//
// Choosing per sync interval b a count R_b minimises Σ cost_b(R_b) subject
// to Σ viol_b(R_b) ≤ maxViol; for every λ ≥ 0, min Σ (cost + λ·viol) − λ·maxViol
// bounds that from below (Lagrangian duality), and bisection finds the λ
// where the unconstrained optimum's violations cross maxViol.
func leastCost(tr sim.Trace, segs []segment, capacity float64, sync int64, minR, maxR int32, maxViol float64) float64 {
	n := int(maxR-minR) + 1
	var viol [][]float32 // per interval, violation seconds for R = minR..maxR
	var lens []float64
	for _, seg := range segs {
		for s0 := seg.From; s0 < seg.To; s0 += sync {
			v := make([]float32, n)
			end := min(s0+sync, seg.To)
			for u := s0; u < end; u++ {
				d := tr.At(u) / capacity
				for i := range n {
					if d > float64(int32(i)+minR)*(1+1e-9) {
						v[i]++
					}
				}
			}
			viol, lens = append(viol, v), append(lens, float64(end-s0))
		}
	}
	// dual is min Σ (cost + λ·viol) over the counts, and that optimum's violations.
	dual := func(lambda float64) (value, violations float64) {
		for b, v := range viol {
			best, bestViol := math.Inf(1), 0.0
			for i := range n {
				c := lens[b]*float64(int32(i)+minR) + lambda*float64(v[i])
				if c < best {
					best, bestViol = c, float64(v[i])
				}
			}
			value += best
			violations += bestViol
		}
		return value, violations
	}
	lo, hi := 0.0, 1e6
	bound := 0.0
	for range 40 {
		mid := (lo + hi) / 2
		value, violations := dual(mid)
		bound = max(bound, value-mid*maxViol)
		if violations <= maxViol {
			hi = mid
		} else {
			lo = mid
		}
	}
	return bound
}

package main

import (
	"math"
	"math/rand/v2"
)

// The simulated service. Every figure of the report depends on these, so
// the report prints them.
const (
	// rps is the requests per second reaching the canary at the first step
	// (10 % of 500 req/s); the baseline, sized like the canary, gets as many.
	rps = 50
	// healthyErrors is the error probability of a healthy request.
	healthyErrors = 0.01
	// latencyMedianMS and latencySigma make request latencies lognormal:
	// exp(N(ln 100 ms, 0.5²)), so p99/p50 ≈ 3.2, a typical web service.
	latencyMedianMS = 100.0
	latencySigma    = 0.5
	// horizon is how many seconds of traffic a trial simulates: the 15-minute
	// step, its final look one second later, and one more Flagger tick.
	horizon = 960
)

// bucketsMS are client_golang's default histogram buckets (prometheus.DefBuckets)
// in milliseconds, the layout most services export; the +Inf bucket follows.
var bucketsMS = [...]float64{5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// counts holds one histogram's non-cumulative bucket counts, +Inf last.
type counts [len(bucketsMS) + 1]float64

// variant is one deployment's traffic, second by second: index i covers the
// (i+1)-th second of the step.
type variant struct {
	requests, errors []int
	latency          []counts
}

// traffic is one trial: the canary and the baseline seeing the same load.
type traffic struct {
	canary, baseline variant
	// regressAt is the second after the step start from which the canary
	// regresses (its seconds regressAt+1, … are bad); -1 means never.
	regressAt int
}

// regression is what goes wrong in the canary.
type regression struct {
	// errors is the canary's error probability after the regression starts.
	errors float64
	// latency multiplies the canary's request latencies after it starts.
	latency float64
}

// simulate draws horizon seconds of per-request traffic for both variants.
// Errors and latencies are independent per request, so a second's error
// count is Binomial(rps, p).
func simulate(rng *rand.Rand, regressAt int, r regression) traffic {
	t := traffic{canary: newVariant(), baseline: newVariant(), regressAt: regressAt}
	for s := range horizon {
		bad := regressAt >= 0 && s >= regressAt
		p, f := healthyErrors, 1.0
		if bad {
			p, f = r.errors, r.latency
		}
		t.canary.second(rng, s, p, f)
		t.baseline.second(rng, s, healthyErrors, 1)
	}
	return t
}

func newVariant() variant {
	return variant{requests: make([]int, horizon), errors: make([]int, horizon), latency: make([]counts, horizon)}
}

func (v *variant) second(rng *rand.Rand, s int, errProb, latencyFactor float64) {
	v.requests[s] = rps
	mu := math.Log(latencyMedianMS * latencyFactor)
	for range rps {
		if rng.Float64() < errProb {
			v.errors[s]++
		}
		ms := math.Exp(mu + latencySigma*rng.NormFloat64())
		v.latency[s][bucketOf(ms)]++
	}
}

// bucketOf returns the index of the first bucket whose upper bound (le)
// holds ms.
func bucketOf(ms float64) int {
	for i, le := range bucketsMS {
		if ms <= le {
			return i
		}
	}
	return len(bucketsMS)
}

// errorRatio is errors/requests over the seconds [from, to) — what
// sum(rate(errors[w]))/sum(rate(requests[w])) gives: the rates' common
// extrapolation cancels in the ratio. NaN without requests.
func (v *variant) errorRatio(from, to int) float64 {
	var e, n int
	for s := from; s < to; s++ {
		e += v.errors[s]
		n += v.requests[s]
	}
	if n == 0 {
		return math.NaN()
	}
	return float64(e) / float64(n)
}

// p99 is histogram_quantile(0.99, sum by (le) (rate(bucket[w]))) over the
// seconds [from, to), in ms.
func (v *variant) p99(from, to int) float64 {
	var c counts
	for s := from; s < to; s++ {
		for i, n := range v.latency[s] {
			c[i] += n
		}
	}
	return histogramQuantile(0.99, c)
}

// histogramQuantile is PromQL's histogram_quantile on non-cumulative
// counts: the rank q·total is located in its bucket and interpolated
// linearly between the bucket's bounds (0 below the first); a rank in the
// +Inf bucket gives the highest finite bound. NaN without observations.
func histogramQuantile(q float64, c counts) float64 {
	var total float64
	for _, n := range c {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * total
	var below float64
	for i, n := range c {
		if below+n < rank {
			below += n
			continue
		}
		if i == len(bucketsMS) {
			return bucketsMS[len(bucketsMS)-1]
		}
		lo := 0.0
		if i > 0 {
			lo = bucketsMS[i-1]
		}
		return lo + (bucketsMS[i]-lo)*(rank-below)/n
	}
	return bucketsMS[len(bucketsMS)-1]
}

// expectedP99 is the p99 that histogram_quantile converges to on a long
// window of lognormal latencies with the given median factor: the
// quantile of the expected bucket shares. Linear interpolation inside the
// wide 250–500 ms bucket puts it well above the true p99.
func expectedP99(latencyFactor float64) float64 {
	var c counts
	prev := 0.0
	for i, le := range bucketsMS {
		cdf := normCDF((math.Log(le) - math.Log(latencyMedianMS*latencyFactor)) / latencySigma)
		c[i] = cdf - prev
		prev = cdf
	}
	c[len(bucketsMS)] = 1 - prev
	return histogramQuantile(0.99, c)
}

func normCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

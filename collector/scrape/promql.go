package scrape

import (
	"math"
	"sort"
)

// point is one scraped value; t is milliseconds since the epoch.
type point struct {
	t int64
	v float64
}

// extrapolatedRate is PromQL's rate() over the points of one series inside
// the window (start, end] in milliseconds, following Prometheus's
// extrapolatedRate (promql/functions.go): the increase between the first
// and last point, corrected for counter resets, extrapolated towards the
// window edges by at most half an average scrape interval (or to where the
// counter would have been zero), divided by the window. truncated says the
// series has points before pts[0] that the ring buffer no longer holds: the
// gap to the window's start is then not where the series began, and is
// extrapolated in full (still not past the counter's zero). ok is false
// with fewer than two points.
func extrapolatedRate(pts []point, start, end int64, truncated bool) (rate float64, ok bool) {
	if len(pts) < 2 {
		return 0, false
	}
	first, last := pts[0], pts[len(pts)-1]
	result := last.v - first.v
	prev := first.v
	for _, p := range pts[1:] {
		if p.v < prev {
			result += prev
		}
		prev = p.v
	}
	sampled := float64(last.t-first.t) / 1000
	if sampled <= 0 {
		return 0, false
	}
	toStart := float64(first.t-start) / 1000
	toEnd := float64(end-last.t) / 1000
	avg := sampled / float64(len(pts)-1)
	if result > 0 && first.v >= 0 {
		if toZero := sampled * (first.v / result); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avg * 1.1
	extrapolate := sampled
	if toStart < threshold || truncated {
		extrapolate += toStart
	} else {
		extrapolate += avg / 2
	}
	if toEnd < threshold {
		extrapolate += toEnd
	} else {
		extrapolate += avg / 2
	}
	return result * (extrapolate / sampled) / (float64(end-start) / 1000), true
}

// bucket is one cumulative histogram bucket.
type bucket struct {
	le    float64
	count float64
}

// histogramQuantile is PromQL's histogram_quantile over cumulative buckets
// (promql/quantile.go, classic buckets): buckets are sorted and made
// monotonic, the rank q·count is located, and the value is interpolated
// linearly inside its bucket; a rank in the +Inf bucket returns the highest
// finite bound. It returns NaN without a +Inf bucket or observations, and
// ±Inf for q outside [0,1], as PromQL does.
func histogramQuantile(q float64, buckets []bucket) float64 {
	if q < 0 {
		return math.Inf(-1)
	}
	if q > 1 {
		return math.Inf(1)
	}
	sort.Slice(buckets, func(i, j int) bool { return buckets[i].le < buckets[j].le })
	if len(buckets) < 2 || !math.IsInf(buckets[len(buckets)-1].le, 1) {
		return math.NaN()
	}
	// Rates of cumulative counts can dip by float error or scrape skew
	// between buckets; PromQL forces monotonicity the same way.
	for i := 1; i < len(buckets); i++ {
		if buckets[i].count < buckets[i-1].count {
			buckets[i].count = buckets[i-1].count
		}
	}
	observations := buckets[len(buckets)-1].count
	if observations == 0 {
		return math.NaN()
	}
	rank := q * observations
	b := sort.Search(len(buckets)-1, func(i int) bool { return buckets[i].count >= rank })
	if b == len(buckets)-1 {
		return buckets[len(buckets)-2].le
	}
	if b == 0 && buckets[0].le <= 0 {
		return buckets[0].le
	}
	var bucketStart, countBefore float64
	bucketEnd := buckets[b].le
	count := buckets[b].count
	if b > 0 {
		bucketStart = buckets[b-1].le
		countBefore = buckets[b-1].count
		count -= countBefore
		rank -= countBefore
	}
	if count == 0 {
		return bucketStart
	}
	return bucketStart + (bucketEnd-bucketStart)*(rank/count)
}

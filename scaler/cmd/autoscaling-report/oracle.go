package main

import (
	"math"
	"time"

	"github.com/trimtab/trimtab/scaler/predict"
	"github.com/trimtab/trimtab/scaler/sim"
)

// oracleHalfWindow makes smoothOracle's average 15 one-minute steps wide,
// the width the Holt-Winters model reads its seasonal slots through.
const oracleHalfWindow = 7

// smoothOracle is a forecaster that knows the future of the load's smooth
// shape but not its noise: its point forecast is the trace's centred moving
// average over 2·half+1 steps (what a perfect seasonal model could at best
// learn), its band Z times the root-mean-square departure of the trace from
// that average over the past hour. Replayed with the same policy, it shows
// what any forecaster of the smooth load could win; the noise it cannot
// know is what remains.
type smoothOracle struct {
	start, step int64
	mean, sigma []float64 // per trace step, in rps
	capacity, z float64
}

func newSmoothOracle(tr sim.Trace, capacity, z float64, half int) *smoothOracle {
	n := len(tr.RPS)
	o := &smoothOracle{start: tr.Start, step: tr.Step, mean: make([]float64, n), sigma: make([]float64, n), capacity: capacity, z: z}
	prefix := make([]float64, n+1)
	for i, x := range tr.RPS {
		prefix[i+1] = prefix[i] + x
	}
	for i := range n {
		lo, hi := max(0, i-half), min(n-1, i+half)
		o.mean[i] = (prefix[hi+1] - prefix[lo]) / float64(hi-lo+1)
	}
	hour := int(max(1, 3600/tr.Step))
	var sq float64 // sum of squared departures over the window before i
	for i := range n {
		if i > 0 {
			d := tr.RPS[i-1] - o.mean[i-1]
			sq += d * d
		}
		if i > hour {
			d := tr.RPS[i-1-hour] - o.mean[i-1-hour]
			sq -= d * d
		}
		if w := min(i, hour); w > 0 {
			o.sigma[i] = math.Sqrt(max(sq, 0) / float64(w))
		}
	}
	return o
}

// Observe implements sim.Forecaster: the oracle learns nothing.
func (o *smoothOracle) Observe(time.Time, float64) {}

// Forecast implements sim.Forecaster, in replicas at target.
func (o *smoothOracle) Forecast(from time.Time, horizon time.Duration) (predict.Forecast, bool) {
	first := int((from.Unix() - o.start) / o.step)
	last := min(int((from.Add(horizon).Unix()-o.start)/o.step), len(o.mean)-1)
	if first < 0 || first >= len(o.mean) {
		return predict.Forecast{}, false
	}
	var f predict.Forecast
	for i := first; i <= last; i++ {
		f.Peak = max(f.Peak, o.mean[i]/o.capacity)
		f.Upper = max(f.Upper, (o.mean[i]+o.z*o.sigma[first])/o.capacity)
	}
	return f, true
}

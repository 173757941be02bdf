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

// smoothOracle is a forecaster that reads the trace itself, up to a given
// number of steps past the current one (its foresight). Its point forecast
// for a step is the trace's moving average over 2·half+1 steps, centred on
// that step when the foresight reaches far enough and otherwise ending at
// the last step it may know. Its band is the policy's Z times the root-mean-square of
// its own errors over the past hour: the departures of each step from the
// point it would have forecast for that step when it was current.
//
// With unlimited foresight the point is the centred average: what a perfect
// model of the load's smooth shape could at best learn. With none it is the
// trailing average up to the current step, which a causal forecaster can
// compute (in the simulation the load is constant within a step, and the
// 30 s metrics window reveals the current step within a sync or two).
// Replayed with the same policy, the foresights in between show how much of
// the load's near future a forecaster must know to meet a goal.
type smoothOracle struct {
	start, step int64
	rps         []float64
	prefix      []float64 // prefix[i] = sum of rps[:i]
	sigma       []float64 // per step, in rps
	capacity    float64
	half, ahead int
}

// newSmoothOracle builds the oracle; ahead is the foresight in trace steps,
// or a negative number for unlimited foresight.
func newSmoothOracle(tr sim.Trace, capacity float64, half, ahead int) *smoothOracle {
	n := len(tr.RPS)
	if ahead < 0 {
		ahead = n
	}
	o := &smoothOracle{start: tr.Start, step: tr.Step, rps: tr.RPS, prefix: make([]float64, n+1), sigma: make([]float64, n),
		capacity: capacity, half: half, ahead: ahead}
	for i, x := range tr.RPS {
		o.prefix[i+1] = o.prefix[i] + x
	}
	hour := int(max(1, 3600/tr.Step))
	departure := func(i int) float64 { return tr.RPS[i] - o.point(i, i) }
	var sq float64 // sum of squared departures over the hour before i
	for i := range n {
		if i > 0 {
			d := departure(i - 1)
			sq += d * d
		}
		if i > hour {
			d := departure(i - 1 - hour)
			sq -= d * d
		}
		if w := min(i, hour); w > 0 {
			o.sigma[i] = math.Sqrt(max(sq, 0) / float64(w))
		}
	}
	return o
}

// point is the forecast for step i made while step current runs: the
// average over the window centred on i, moved back so that it ends no
// later than the last step the oracle may know.
func (o *smoothOracle) point(i, current int) float64 {
	n := len(o.rps)
	hi := min(i+o.half, current+o.ahead, n-1)
	lo := max(0, hi-2*o.half)
	return (o.prefix[hi+1] - o.prefix[lo]) / float64(hi-lo+1)
}

// Observe implements sim.Forecaster: the oracle learns nothing.
func (o *smoothOracle) Observe(time.Time, float64) {}

// Forecast implements sim.Forecaster, in replicas at target.
func (o *smoothOracle) Forecast(from time.Time, horizon time.Duration, z float64) (predict.Forecast, bool) {
	first := int((from.Unix() - o.start) / o.step)
	last := min(int((from.Add(horizon).Unix()-o.start)/o.step), len(o.rps)-1)
	if first < 0 || first >= len(o.rps) {
		return predict.Forecast{}, false
	}
	var f predict.Forecast
	for i := first; i <= last; i++ {
		p := o.point(i, first)
		f.Peak = max(f.Peak, p/o.capacity)
		f.Upper = max(f.Upper, (p+z*o.sigma[first])/o.capacity)
	}
	return f, true
}

package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
	"github.com/trimtab/trimtab/scaler/sim"
)

type oracle struct {
	tr       sim.Trace
	ma       []float64 // centered moving average per trace step
	sig      []float64 // trailing rms of residual
	capacity float64
	z        float64
}

func newOracle(tr sim.Trace, capacity, z float64, half, trail int) *oracle {
	n := len(tr.RPS)
	o := &oracle{tr: tr, ma: make([]float64, n), sig: make([]float64, n), capacity: capacity, z: z}
	for i := range n {
		lo, hi := max(0, i-half), min(n-1, i+half)
		var s float64
		for j := lo; j <= hi; j++ {
			s += tr.RPS[j]
		}
		o.ma[i] = s / float64(hi-lo+1)
	}
	for i := range n {
		lo := max(0, i-trail)
		var s float64
		c := 0
		for j := lo; j < i; j++ {
			d := tr.RPS[j] - o.ma[j]
			s += d * d
			c++
		}
		if c > 0 {
			o.sig[i] = math.Sqrt(s / float64(c))
		}
	}
	return o
}

func (o *oracle) Observe(time.Time, float64) {}
func (o *oracle) Forecast(from time.Time, h time.Duration) (predict.Forecast, bool) {
	i0 := int((from.Unix() - o.tr.Start) / o.tr.Step)
	i1 := int((from.Add(h).Unix() - o.tr.Start) / o.tr.Step)
	if i0 < 0 || i0 >= len(o.ma) {
		return predict.Forecast{}, false
	}
	f := predict.Forecast{}
	for i := i0; i <= min(i1, len(o.ma)-1); i++ {
		f.Peak = max(f.Peak, o.ma[i]/o.capacity)
		f.Upper = max(f.Upper, (o.ma[i]+o.z*o.sig[i0])/o.capacity)
	}
	return f, true
}

func TestOracleExperiment(t *testing.T) {
	cfg, _ := sim.ReadPolicy(must(t, "../../../docs/examples/scalingpolicy-predictive.yaml"))
	for _, sc := range scenarios[:1] {
		tr, err := readTrace(filepath.Join("../../../../shared/data/traces", sc.File))
		if err != nil {
			t.Fatal(err)
		}
		for _, capacity := range sc.Capacities {
			for _, z := range []float64{0, 0.5, 1, 1.5, 2} {
				var base, pred sim.Result
				for _, seg := range sc.Segments {
					o := sim.DefaultOptions()
					o.Capacity = capacity
					sl := tr.Slice(seg.From, seg.To)
					rc := cfg
					rc.Predictive.Mode = v1alpha1.PredictiveOff
					b, _ := sim.Run(sl, rc, o)
					o.Forecaster = newOracle(sl, capacity, z, 7, 60)
					p, err := sim.Run(sl, cfg, o)
					if err != nil {
						t.Fatal(err)
					}
					base, pred = add(base, b), add(pred, p)
				}
				r := newRow("", "", capacity, base, pred)
				fmt.Printf("cap %g z %g: cost %+.1f%% viol %+.1f%%\n", capacity, z, r.CostDelta, r.ViolDelta)
			}
		}
	}
}

func must(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

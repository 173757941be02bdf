package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
)

func cpuConfig(minR, maxR int32, mode v1alpha1.PredictiveMode) scaler.Config {
	return scaler.Config{
		MinReplicas: minR, MaxReplicas: maxR,
		Metrics:    []scaler.MetricSpec{{Name: "cpu", Kind: scaler.KindResource, Resource: "cpu", Target: scaler.Target{Type: scaler.Utilization, Utilization: 70}}},
		Params:     scaler.DefaultParams(),
		Predictive: scaler.Predictive{Mode: mode, Horizon: 5 * time.Minute, Season: time.Hour, Band: 1.75},
	}
}

// series builds a per-second trace from a function of the offset.
func series(seconds int, f func(s int) float64) Trace {
	tr := Trace{Start: 1_700_000_000, Step: 1, RPS: make([]float64, seconds)}
	for i := range tr.RPS {
		tr.RPS[i] = f(i)
	}
	return tr
}

func TestConstantLoadIsStable(t *testing.T) {
	res, err := Run(series(3600, func(int) float64 { return 5 }), cpuConfig(1, 20, v1alpha1.PredictiveOff), DefaultOptions())
	require.NoError(t, err)
	require.Equal(t, Result{ReplicaSeconds: 5 * 3600, PeakReplicas: 5}, res)
}

func TestStepUpIsFollowed(t *testing.T) {
	var last Point
	opt := DefaultOptions()
	opt.Observe = func(p Point) { last = p }
	res, err := Run(series(1800, func(s int) float64 {
		if s < 600 {
			return 2
		}
		return 8
	}), cpuConfig(1, 20, v1alpha1.PredictiveOff), opt)
	require.NoError(t, err)
	require.Equal(t, int32(8), last.Ready, "ready capacity catches up with the load")
	// Detection within a window plus a sync, then start-up; the 2× legacy cap
	// takes two steps (2 → 4 → 8), the second one after the first pods' CPU
	// samples are trusted again.
	require.Greater(t, res.ViolationSeconds, 60.0)
	require.Less(t, res.ViolationSeconds, 300.0)
	require.Equal(t, 2, res.ScaleEvents)
}

func TestScaleDownWaitsForStabilization(t *testing.T) {
	var at5 int64
	opt := DefaultOptions()
	opt.Observe = func(p Point) {
		if p.Replicas == 2 && at5 == 0 {
			at5 = p.T - 1_700_000_000
		}
	}
	_, err := Run(series(1200, func(s int) float64 {
		if s < 300 {
			return 8
		}
		return 2
	}), cpuConfig(1, 20, v1alpha1.PredictiveOff), opt)
	require.NoError(t, err)
	// The load drops at 300 s; the last recommendation of 8 is from 300 s
	// (its window still averages the high load) and the legacy window keeps
	// it for 300 s more.
	require.GreaterOrEqual(t, at5, int64(600))
	require.LessOrEqual(t, at5, int64(660))
}

// TestPredictiveBeatsReactiveOnACycle replays a sharp hourly surge: the
// forecast learns it and has capacity ready when it comes.
func TestPredictiveBeatsReactiveOnACycle(t *testing.T) {
	tr := series(8*3600, func(s int) float64 {
		if s%3600 >= 1800 && s%3600 < 2400 {
			return 20
		}
		return 4
	})
	base, err := Run(tr, cpuConfig(2, 40, v1alpha1.PredictiveOff), DefaultOptions())
	require.NoError(t, err)
	pred, err := Run(tr, cpuConfig(2, 40, v1alpha1.PredictiveOn), DefaultOptions())
	require.NoError(t, err)
	require.Positive(t, pred.ForecastSyncs)
	require.Less(t, pred.ViolationSeconds, base.ViolationSeconds/2, "base %+v pred %+v", base, pred)

	shadow, err := Run(tr, cpuConfig(2, 40, v1alpha1.PredictiveShadow), DefaultOptions())
	require.NoError(t, err)
	shadow.ForecastSyncs = base.ForecastSyncs
	require.Equal(t, base, shadow, "shadow mode changes nothing")
}

// TestBandTradesCostForViolations replays a load whose minutes are noisy
// around an hourly cycle: a wider band (spec.predictive.bandStdDevs) runs
// more replica-seconds and has fewer violation seconds.
func TestBandTradesCostForViolations(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	noise := make([]float64, 8*60)
	for i := range noise {
		noise[i] = r.NormFloat64()
	}
	tr := series(8*3600, func(s int) float64 {
		return 10 + 4*math.Sin(2*math.Pi*float64(s%3600)/3600) + 1.5*noise[s/60]
	})
	run := func(band float64) Result {
		cfg := cpuConfig(2, 40, v1alpha1.PredictiveOn)
		cfg.Predictive.Band = band
		res, err := Run(tr, cfg, DefaultOptions())
		require.NoError(t, err)
		return res
	}
	narrow, wide := run(0), run(2.5)
	require.Greater(t, wide.ReplicaSeconds, narrow.ReplicaSeconds)
	require.Less(t, wide.ViolationSeconds, narrow.ViolationSeconds/2, "narrow %+v wide %+v", narrow, wide)
}

// TestUnsetHorizonFollowsStartup: without spec.predictive.horizonSeconds the
// forecast looks as far ahead as the simulated pods' start-up plus a sync,
// which the controller would observe on them.
func TestUnsetHorizonFollowsStartup(t *testing.T) {
	tr := series(8*3600, func(s int) float64 {
		return 10 + 6*math.Sin(2*math.Pi*float64(s%3600)/3600)
	})
	run := func(horizon, startup time.Duration) Result {
		cfg := cpuConfig(2, 40, v1alpha1.PredictiveOn)
		cfg.Predictive.Horizon = horizon
		opt := DefaultOptions()
		opt.Startup = startup
		res, err := Run(tr, cfg, opt)
		require.NoError(t, err)
		return res
	}
	for _, startup := range []time.Duration{time.Minute, 3 * time.Minute} {
		t.Run(startup.String(), func(t *testing.T) {
			auto := run(0, startup)
			require.Equal(t, run(startup+DefaultOptions().Sync, startup), auto)
			require.NotEqual(t, run(30*time.Minute, startup), auto, "the horizon must matter on this trace")
		})
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	tr := series(60, func(int) float64 { return 1 })
	cases := map[string]func(*Options, *scaler.Config){
		"capacity must be a positive":    func(o *Options, _ *scaler.Config) { o.Capacity = 0 },
		"startup must be a whole number": func(o *Options, _ *scaler.Config) { o.Startup = 1500 * time.Millisecond },
		"sync must be a whole number":    func(o *Options, _ *scaler.Config) { o.Sync = 0 },
		"spec.predictive.horizonSeconds (30)": func(o *Options, c *scaler.Config) {
			c.Predictive.Mode, c.Predictive.Horizon = v1alpha1.PredictiveOn, 30*time.Second
		},
		"startup 45m0s is longer than the 30m0s the controller measures": func(o *Options, c *scaler.Config) {
			c.Predictive.Mode, c.Predictive.Horizon, o.Startup = v1alpha1.PredictiveOn, 0, 45*time.Minute
		},
		"metric window must be a whole number":    func(o *Options, _ *scaler.Config) { o.MetricWindow = 0 },
		"sim: config must come from ReplayConfig": func(_ *Options, c *scaler.Config) { c.Metrics = nil },
	}
	for want, edit := range cases {
		t.Run(want, func(t *testing.T) {
			o, c := DefaultOptions(), cpuConfig(1, 5, v1alpha1.PredictiveOff)
			edit(&o, &c)
			_, err := Run(tr, c, o)
			require.ErrorContains(t, err, want)
		})
	}
}

func TestReplayConfig(t *testing.T) {
	c := cpuConfig(1, 5, v1alpha1.PredictiveOff)
	queue := scaler.MetricSpec{Name: "queue", Kind: scaler.KindExternal, Target: scaler.Target{Type: scaler.AverageValue, AverageMilli: 1}}
	c.Metrics = append([]scaler.MetricSpec{queue}, c.Metrics...)
	memory := scaler.MetricSpec{Name: "memory", Kind: scaler.KindResource, Resource: "memory", Target: scaler.Target{Type: scaler.Utilization, Utilization: 80}}
	c.Metrics = append(c.Metrics, memory)
	got, dropped, err := ReplayConfig(c)
	require.NoError(t, err)
	require.Equal(t, []scaler.MetricSpec{c.Metrics[1]}, got.Metrics)
	require.Equal(t, []string{"queue", "memory"}, dropped, "every metric but the first Utilization one, in the policy's order")

	c.Metrics = c.Metrics[1:2]
	_, dropped, err = ReplayConfig(c)
	require.NoError(t, err)
	require.Empty(t, dropped)

	c.Metrics = []scaler.MetricSpec{queue}
	_, _, err = ReplayConfig(c)
	require.ErrorContains(t, err, "spec.metrics: replay needs a metric of kind resource with target.type Utilization")
}

func TestParseTrace(t *testing.T) {
	tr, err := ParseTrace(strings.NewReader("timestamp,rps\n100,1.5\n160,2\n\n280,4\n"))
	require.NoError(t, err)
	require.Equal(t, Trace{Start: 100, Step: 60, RPS: []float64{1.5, 2, 0, 4}, Rows: 3, StepLine: 3}, tr, "the missing row at 220 is 0")
	require.Equal(t, int64(340), tr.End())
	require.Equal(t, 2.0, tr.At(219))
	require.Equal(t, Trace{Start: 160, Step: 60, RPS: []float64{2, 0}}, tr.Slice(101, 221))

	for name, in := range map[string]string{
		"a byte order mark before a header":      "\uFEFFtimestamp,rps\n100,1.5\n160,2\n",
		"a byte order mark before the first row": "\uFEFF100,1.5\n160,2\n",
		"blank lines and CRLF before the header": "\r\n\ntimestamp,rps\r\n100,1.5\r\n160,2\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			tr, err := ParseTrace(strings.NewReader(in))
			require.NoError(t, err)
			require.Equal(t, Trace{Start: 100, Step: 60, RPS: []float64{1.5, 2}}, Trace{Start: tr.Start, Step: tr.Step, RPS: tr.RPS})
		})
	}

	cases := map[string]string{
		"":                                  "trace has no rows",
		"100,1\nabc,2\n":                    "line 2: timestamp \"abc\" is not a whole number",
		"100,1\n160\n":                      "line 2: want \"timestamp,rps\"",
		"100,1\n160,-1\n":                   "line 2: rps \"-1\" must be a finite number ≥ 0",
		"100,1\n160,NaN\n":                  "line 2: rps \"NaN\" must be a finite number",
		"100,1\n100,2\n":                    "line 2: timestamp 100 is not after",
		"100,1\n160,1\n190,1\n250,1\n205,1": "line 5: timestamp 205 is not after",
		"100,1\n160,1\n200,1\n":             "line 2: timestamp 160 is off the trace's step of 40 s, the smallest gap between rows (before line 3)",
		"60,1\n120,1\n181,1\n240,1\n":       "line 2: timestamp 120 is off the trace's step of 59 s, the smallest gap between rows (before line 4)",
		"0,1\n99999999,1\n":                 "line 2: timestamp 99999999 is more than 2 years after the first row's 0",
		"1700000000000,1\n":                 "line 1: timestamp 1700000000000 is not Unix seconds of the years 1970 to 9999; if it is in milliseconds, divide it by 1000",
		"-9223372036854775808,1\n9223372036854775807,1\n": "line 1: timestamp -9223372036854775808 is not Unix seconds",
		"x,y\nts,rps\n":          "line 2: timestamp \"ts\" is not a whole number",
		"0,1\n1,1\n31622400,1\n": "trace spans 31622401 steps of 1 s",
	}
	for in, want := range cases {
		t.Run(want, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(in))
			require.ErrorContains(t, err, want)
		})
	}
}

func FuzzParseTrace(f *testing.F) {
	f.Add("timestamp,rps\n100,1.5\n160,2\n280,4\n")
	f.Add("1,0\n2,67\n")
	f.Add("100,1\n160,1\n200,1\n")
	f.Add("x,y\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ParseTrace(strings.NewReader(in))
		if err != nil {
			return
		}
		require.NotEmpty(t, tr.RPS)
		require.Positive(t, tr.Step)
		for _, v := range tr.RPS {
			require.False(t, math.IsNaN(v) || v < 0, fmt.Sprint(v))
		}
	})
}

// BenchmarkReplayMonth replays 30 days of per-minute load (a daily cycle
// with noise) with the HPA baseline and with predictive on, and reports
// simulated days per wall-clock second. The load keeps about 5 replicas,
// or 100 times as many: a replay's cost grows with the pods each sync
// builds and Decide reads.
func BenchmarkReplayMonth(b *testing.B) {
	const days = 30
	for _, scale := range []float64{1, 100} {
		tr := Trace{Start: 1_700_000_000, Step: 60, RPS: make([]float64, days*1440)}
		for i := range tr.RPS {
			tr.RPS[i] = scale * (5 + 4*math.Sin(2*math.Pi*float64(i%1440)/1440) + float64(i*7919%13)/13)
		}
		for _, mode := range []v1alpha1.PredictiveMode{v1alpha1.PredictiveOff, v1alpha1.PredictiveOn} {
			b.Run(fmt.Sprintf("replicas=%d/%s", int(5*scale), mode), func(b *testing.B) {
				c := cpuConfig(int32(2*scale), int32(20*scale), mode)
				c.Predictive.Season = 24 * time.Hour
				var res Result
				for b.Loop() {
					var err error
					if res, err = Run(tr, c, DefaultOptions()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(days)*float64(b.N)/b.Elapsed().Seconds(), "sim-days/s")
				b.ReportMetric(res.ReplicaSeconds/(days*86400), "mean-replicas")
			})
		}
	}
}

// recorder is a Forecaster that records when it learnt, and never
// forecasts.
type recorder struct{ learnt []int64 }

func (r *recorder) Observe(t time.Time, _ float64) { r.learnt = append(r.learnt, t.Unix()) }
func (r *recorder) Forecast(time.Time, time.Duration, float64) (predict.Forecast, bool) {
	return predict.Forecast{}, false
}

// TestDemandIsLearntAtTheWindowsMiddle: the demand a sync measures is the
// mean over the metrics window before it, and the forecaster learns it as
// the load of the window's middle.
func TestDemandIsLearntAtTheWindowsMiddle(t *testing.T) {
	for _, window := range []time.Duration{30 * time.Second, 2 * time.Minute} {
		t.Run(window.String(), func(t *testing.T) {
			r := &recorder{}
			opt := DefaultOptions()
			opt.MetricWindow, opt.Forecaster = window, r
			tr := series(120, func(int) float64 { return 3 })
			_, err := Run(tr, cpuConfig(1, 20, v1alpha1.PredictiveOn), opt)
			require.NoError(t, err)
			var want []int64
			for s := tr.Start; s < tr.End(); s += 15 {
				want = append(want, s-int64(window/time.Second)/2)
			}
			require.Equal(t, want, r.learnt)
		})
	}
}

// demandRecorder is a Forecaster that records the demands it learnt, and
// never forecasts.
type demandRecorder struct{ demands []float64 }

func (r *demandRecorder) Observe(_ time.Time, d float64) { r.demands = append(r.demands, d) }
func (r *demandRecorder) Forecast(time.Time, time.Duration, float64) (predict.Forecast, bool) {
	return predict.Forecast{}, false
}

// TestFirstSyncSeesTheTracesLoad: the replay starts with the replicas the
// first row needs, so the first sync must see that load, not the zeros
// before the trace in its metrics window: with no scale-down stabilization
// a constant load was scaled down to minReplicas at the first sync, and the
// forecaster learnt a demand of 0.
func TestFirstSyncSeesTheTracesLoad(t *testing.T) {
	noStabilization := &scaler.Behavior{
		ScaleUp: scaler.Rules{SelectPolicy: v1alpha1.SelectMax, Tolerance: 0.1,
			Policies: []scaler.Policy{{Type: scaler.PercentPolicy, Value: 100, Period: 15 * time.Second}}},
		ScaleDown: scaler.Rules{SelectPolicy: v1alpha1.SelectMax, Tolerance: 0.1,
			Policies: []scaler.Policy{{Type: scaler.PercentPolicy, Value: 100, Period: 15 * time.Second}}},
	}
	tr := series(3600, func(int) float64 { return 5 })
	cases := []struct {
		name  string
		mode  v1alpha1.PredictiveMode
		check func(t *testing.T, res Result, learnt []float64)
	}{
		{"a constant load holds its replicas", v1alpha1.PredictiveOff, func(t *testing.T, res Result, _ []float64) {
			require.Equal(t, Result{ReplicaSeconds: 5 * 3600, PeakReplicas: 5}, res)
		}},
		{"the forecaster learns the load from the first sync", v1alpha1.PredictiveOn, func(t *testing.T, _ Result, learnt []float64) {
			require.NotEmpty(t, learnt)
			require.InDelta(t, 5, learnt[0], 0.01, "first demand learnt")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cpuConfig(1, 20, tc.mode)
			cfg.Behavior = noStabilization
			r := &demandRecorder{}
			opt := DefaultOptions()
			opt.Forecaster = r
			res, err := Run(tr, cfg, opt)
			require.NoError(t, err)
			tc.check(t, res, r.demands)
		})
	}
}

// TestParseTraceHeaderIsNotANumber: only a first row whose timestamp is not
// a number is a header; a data row whose timestamp is a fraction was
// dropped silently as one.
func TestParseTraceHeaderIsNotANumber(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"a fractional timestamp", "1700000000.5,3\n1700000001,4\n1700000002,5\n", `line 1: timestamp "1700000000.5" is not a whole number of Unix seconds`},
		{"an exponent", "1.7e9,3\n1700000001,4\n", `line 1: timestamp "1.7e9" is not a whole number of Unix seconds`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tc.in))
			require.ErrorContains(t, err, tc.want)
		})
	}
	tr, err := ParseTrace(strings.NewReader("time,rps\n100,1\n"))
	require.NoError(t, err, "a header is still skipped")
	require.Equal(t, Trace{Start: 100, Step: 1, RPS: []float64{1}, Rows: 1}, tr)
}

// TestTraceSliceOutsideTheTrace: Slice returns the part of the trace within
// [from, to), which is empty, not a panic, when the range lies after the
// trace or is reversed.
func TestTraceSliceOutsideTheTrace(t *testing.T) {
	tr := Trace{Start: 100, Step: 60, RPS: []float64{1.5, 2, 0, 4}}
	cases := []struct {
		name     string
		from, to int64
	}{
		{"after the trace", 1000, 2000},
		{"reversed past the end", 400, 300},
		{"before the trace", 0, 50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got Trace
			require.NotPanics(t, func() { got = tr.Slice(tc.from, tc.to) })
			require.Empty(t, got.RPS)
		})
	}
}

package predict

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var epoch = time.Unix(1_700_000_000, 0).UTC().Truncate(24 * time.Hour)

// hourly is a load with a one-hour cycle between 2 and 10.
func hourly(t time.Time) float64 {
	return 6 + 4*math.Sin(2*math.Pi*float64(t.Unix()%3600)/3600)
}

func hourModel(t *testing.T) *Model {
	t.Helper()
	m, err := New(DefaultConfig(time.Hour))
	require.NoError(t, err)
	return m
}

func TestLearnsSeason(t *testing.T) {
	m := hourModel(t)
	end := epoch.Add(4 * time.Hour)
	for ts := epoch; ts.Before(end); ts = ts.Add(15 * time.Second) {
		m.Observe(ts, hourly(ts))
	}
	// Predict the rising quarter, 15 min ahead, without seeing it.
	for _, ahead := range []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute} {
		at := end.Add(ahead)
		f, ok := m.Forecast(at, 0, 1.75)
		require.True(t, ok)
		require.InDelta(t, hourly(at), f.Peak, 0.3, "%s ahead", ahead)
	}
	// The peak over a horizon finds the maximum of the cycle.
	f, ok := m.Forecast(end, time.Hour, 1.75)
	require.True(t, ok)
	require.InDelta(t, 10, f.Peak, 0.3)
	require.GreaterOrEqual(t, f.Upper, f.Peak)
	require.Less(t, m.Accuracy().MeanAbsolute, 0.2)
}

// TestLearnsDailySeasonInFiveMinuteSlots: a day's 1,440 bins share 288
// slots, and the forecast still follows the shape between them: a morning
// ramp from 2 to 10 over two hours, seen for three days, is forecast on the
// fourth to within the noise-free ramp's change over a few minutes.
func TestLearnsDailySeasonInFiveMinuteSlots(t *testing.T) {
	daily := func(ts time.Time) float64 {
		h := float64(ts.Unix()%86400) / 3600
		return 2 + 8*min(max(h-8, 0), 2)/2 - 8*min(max(h-18, 0), 2)/2
	}
	m, err := New(DefaultConfig(24 * time.Hour))
	require.NoError(t, err)
	end := epoch.Add(3*24*time.Hour + 7*time.Hour)
	for ts := epoch; ts.Before(end); ts = ts.Add(time.Minute) {
		m.Observe(ts, daily(ts))
	}
	for _, ahead := range []time.Duration{30 * time.Minute, time.Hour + 30*time.Minute, 2 * time.Hour, 4 * time.Hour} {
		at := end.Add(ahead)
		f, ok := m.Forecast(at, 0, 1.75)
		require.True(t, ok)
		require.InDelta(t, daily(at), f.Peak, 0.5, "%s ahead", ahead)
	}
}

func TestFollowsTrend(t *testing.T) {
	m, err := New(Config{Step: time.Minute, Season: time.Hour, Alpha: 0.5, Beta: 0.3, Gamma: 0, ErrorDecay: 0.1, Warmup: 5, BinsPerSlot: 1})
	require.NoError(t, err)
	ramp := func(ts time.Time) float64 { return 0.1 * ts.Sub(epoch).Minutes() }
	end := epoch.Add(40 * time.Minute)
	for ts := epoch; ts.Before(end); ts = ts.Add(time.Minute) {
		m.Observe(ts, ramp(ts))
	}
	f, ok := m.Forecast(end, 10*time.Minute, 1.75)
	require.True(t, ok)
	require.InDelta(t, ramp(end.Add(10*time.Minute)), f.Peak, 0.2, "linear trend extrapolated")
}

func TestWarmupAndGap(t *testing.T) {
	m := hourModel(t)
	for i := range 10 {
		m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
	}
	_, ok := m.Forecast(epoch.Add(10*time.Minute), time.Minute, 1.75)
	require.False(t, ok, "no forecast before warm-up")

	for i := 10; i < 60; i++ {
		m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
	}
	f, ok := m.Forecast(epoch.Add(time.Hour), time.Minute, 1.75)
	require.True(t, ok)
	require.InDelta(t, 5, f.Peak, 1e-9)

	// A gap longer than a season re-anchors on the next full bin.
	later := epoch.Add(5 * time.Hour)
	m.Observe(later, 50)
	_, ok = m.Forecast(later, time.Minute, 1.75)
	require.False(t, ok, "after a gap of a season there is no forecast until the next bin closes")
	m.Observe(later.Add(time.Minute), 50)
	m.Observe(later.Add(2*time.Minute), 50)
	f, ok = m.Forecast(later.Add(2*time.Minute), time.Minute, 1.75)
	require.True(t, ok)
	require.InDelta(t, 50, f.Peak, 5, "level re-anchored near the new load instead of decaying from 5")

	// Observations older than the open bin are ignored.
	before := m.Accuracy()
	m.Observe(later.Add(-30*time.Minute), 1000)
	m.Observe(later.Add(3*time.Minute), 50)
	require.Equal(t, before, m.Accuracy())
}

// TestNoForecastAfterASeasonWithoutData checks that a model whose latest
// observation is a season or more old gives no forecast: the level it would
// extrapolate is stale, and the next observation re-anchors it.
func TestNoForecastAfterASeasonWithoutData(t *testing.T) {
	m := hourModel(t)
	ramp := func(i int) float64 { return 1 + 0.1*float64(i) } // a trend the gap must not extend
	for i := range 50 {
		m.Observe(epoch.Add(time.Duration(i)*time.Minute), ramp(i))
	}
	last := epoch.Add(49 * time.Minute)
	for _, tc := range []struct {
		name string
		at   time.Time
		ok   bool
	}{
		{name: "a minute later", at: last.Add(time.Minute), ok: true},
		{name: "within the season", at: last.Add(59 * time.Minute), ok: true},
		{name: "more than a season later", at: last.Add(62 * time.Minute), ok: false},
		{name: "days later", at: last.Add(72 * time.Hour), ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := m.Forecast(tc.at, time.Minute, 1.75)
			require.Equal(t, tc.ok, ok)
		})
	}
}

// TestClockGoingBackReanchors checks that one observation stamped far ahead
// (a clock that ran ahead, then was corrected) does not make the model
// ignore every correct observation until real time reaches it.
func TestClockGoingBackReanchors(t *testing.T) {
	m := hourModel(t)
	for i := range 60 {
		m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
	}
	m.Observe(epoch.Add(48*time.Hour), 5) // the glitch
	for i := 60; i < 65; i++ {
		m.Observe(epoch.Add(time.Duration(i)*time.Minute), 8)
	}
	f, ok := m.Forecast(epoch.Add(65*time.Minute), time.Minute, 1.75)
	require.True(t, ok, "forecasting again a few minutes after the clock came back")
	require.InDelta(t, 8, f.Peak, 1, "re-anchored on the load after the glitch")
}

// TestStableOnSeasonalLoad feeds three years of a steady daily cycle with
// noise: the one-step error must stay what it was after the first months.
// With a trend learnt beside the daily season (β = 0.01) it grew tenfold in
// a year and a half and then without bound, the level swinging to ±10⁴ on a
// mean of 10.
func TestStableOnSeasonalLoad(t *testing.T) {
	m, err := New(DefaultConfig(24 * time.Hour))
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	var early float64
	for s := int64(0); s < 3*365*86400; s += 60 {
		m.Observe(epoch.Add(time.Duration(s)*time.Second), 10+5*math.Sin(2*math.Pi*float64(s%86400)/86400)+r.NormFloat64())
		if s == 90*86400 {
			early = m.Accuracy().RMS
		}
	}
	require.Less(t, m.Accuracy().RMS, 1.25*early, "one-step RMS error after three years, against %.3f after 90 days", early)
	f, ok := m.Forecast(epoch.Add(3*365*24*time.Hour+6*time.Hour), 0, 0)
	require.True(t, ok)
	require.InDelta(t, 15, f.Peak, 1, "the daily peak at 06:00")
}

func TestUpperBandCoversNoise(t *testing.T) {
	// The share of noisy bins at or under the upper forecast, one step
	// ahead, for a band z deviations wide.
	coverage := func(z float64) float64 {
		m := hourModel(t)
		r := rand.New(rand.NewPCG(1, 2))
		end := epoch.Add(6 * time.Hour)
		for ts := epoch; ts.Before(end); ts = ts.Add(time.Minute) {
			m.Observe(ts, hourly(ts)+r.NormFloat64())
		}
		covered, total := 0, 0
		for ts := end; ts.Before(end.Add(2 * time.Hour)); ts = ts.Add(time.Minute) {
			f, ok := m.Forecast(ts, 0, z)
			require.True(t, ok)
			y := hourly(ts) + r.NormFloat64()
			if y <= f.Upper {
				covered++
			}
			total++
			m.Observe(ts, y)
		}
		require.InDelta(t, 1, m.Accuracy().RMS, 0.5)
		return float64(covered) / float64(total)
	}
	// On a Gaussian error z = 0 covers half, 1.75 about 96 %, 3 all but
	// 0.1 %; the bounds allow for the estimated σ.
	cases := []struct {
		name     string
		z        float64
		min, max float64
	}{
		{"no band: the point forecast", 0, 0.3, 0.7},
		{"the default band", 1.75, 0.9, 1},
		{"a wide band", 3, 0.97, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := coverage(tc.z)
			require.True(t, got >= tc.min && got <= tc.max, "coverage %v, want [%v, %v]", got, tc.min, tc.max)
		})
	}
}

func TestConfigValidate(t *testing.T) {
	base := DefaultConfig(24 * time.Hour)
	require.NoError(t, base.Validate())
	require.Equal(t, time.Minute, base.Step)
	require.Equal(t, 7*time.Minute, DefaultConfig(7*24*time.Hour).Step, "at most 1440 bins")
	require.Equal(t, 2*time.Minute, DefaultConfig(25*time.Hour).Step, "whole minutes that divide the season")
	require.Equal(t, 5, base.BinsPerSlot, "288 slots of a day")
	require.Equal(t, 1, DefaultConfig(time.Hour).BinsPerSlot, "a slot per bin up to 288 bins")
	cases := map[string]func(*Config){
		"step":            func(c *Config) { c.Step = 1500 * time.Millisecond },
		"season":          func(c *Config) { c.Season = 90 * time.Second },
		"alpha":           func(c *Config) { c.Alpha = 1.5 },
		"errorDecay":      func(c *Config) { c.ErrorDecay = 0 },
		"warmup":          func(c *Config) { c.Warmup = -1 },
		"seasonSmoothing": func(c *Config) { c.SeasonSmoothing = 720 },
		"binsPerSlot":     func(c *Config) { c.BinsPerSlot = 7 },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			c := base
			edit(&c)
			_, err := New(c)
			require.ErrorContains(t, err, name)
		})
	}
}

// TestDefaultConfigTakesEveryWholeMinuteSeason: ScalingPolicy validation
// accepts any season of whole minutes and the controller builds the model
// from DefaultConfig without another check.
func TestDefaultConfigTakesEveryWholeMinuteSeason(t *testing.T) {
	for minutes := 1; minutes <= 4*7*1440; minutes++ {
		if err := DefaultConfig(time.Duration(minutes) * time.Minute).Validate(); err != nil {
			t.Fatalf("season of %d minutes: %v", minutes, err)
		}
	}
}

// TestCheckSeason checks which seasons the model is offered: every whole
// number of minutes up to a day and of hours up to a month, each cut into
// at least 720 bins when longer than a day; not seasons it would model in a
// handful of coarse bins.
func TestCheckSeason(t *testing.T) {
	for minutes := 1; minutes <= 1440; minutes++ {
		require.NoError(t, CheckSeason(time.Duration(minutes)*time.Minute), "%d minutes", minutes)
	}
	for hours := 1; hours <= 31*24; hours++ {
		season := time.Duration(hours) * time.Hour
		require.NoError(t, CheckSeason(season), "%d hours", hours)
		if cfg := DefaultConfig(season); hours > 24 {
			require.GreaterOrEqual(t, int(cfg.Season/cfg.Step), 720, "%d hours", hours)
		}
	}
	for _, tc := range []struct {
		name   string
		season time.Duration
		want   string
	}{
		{name: "seconds", season: 90 * time.Second, want: "whole number of minutes"},
		{name: "zero", season: 0, want: "whole number of minutes"},
		{name: "a prime number of minutes over a day", season: 1447 * time.Minute, want: "make only 1 equal bins"},
		{name: "twice a prime", season: 2 * 1447 * time.Minute, want: "make only 2 equal bins"},
		{name: "over a month", season: MaxSeason + time.Hour, want: "at most 2678400 s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorContains(t, CheckSeason(tc.season), tc.want)
		})
	}
}

// TestSeasonSmoothing learns a noisy hourly cycle for a few seasons and
// compares the point forecast of the next season with the noise-free cycle:
// each slot has seen one noisy bin per season, and averaging neighbouring
// slots recovers the shape better, up to the width where it flattens it.
func TestSeasonSmoothing(t *testing.T) {
	rmse := func(smoothing int) float64 {
		c := DefaultConfig(time.Hour)
		c.SeasonSmoothing = smoothing
		m, err := New(c)
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(3, 4))
		end := epoch.Add(5 * time.Hour)
		for ts := epoch; ts.Before(end); ts = ts.Add(time.Minute) {
			m.Observe(ts, hourly(ts)+r.NormFloat64())
		}
		var sum float64
		for ts := end; ts.Before(end.Add(time.Hour)); ts = ts.Add(time.Minute) {
			f, ok := m.Forecast(ts, 0, 1.75)
			require.True(t, ok)
			sum += (f.Peak - hourly(ts)) * (f.Peak - hourly(ts))
		}
		return math.Sqrt(sum / 60)
	}
	raw := rmse(0)
	cases := []struct {
		name      string
		smoothing int
		better    bool
	}{
		{"two slots either side cut the noise", 2, true},
		{"four slots either side still do", 4, true},
		{"two thirds of the season flatten the cycle", 20, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := rmse(tc.smoothing)
			if tc.better {
				require.Less(t, got, 0.8*raw, "smoothed %v, raw %v", got, raw)
			} else {
				require.Greater(t, got, raw, "smoothed %v, raw %v", got, raw)
			}
		})
	}
	require.Equal(t, 7, DefaultConfig(24*time.Hour).SeasonSmoothing, "15 minutes of a day")
	require.Zero(t, DefaultConfig(time.Hour).SeasonSmoothing)
}

// BenchmarkModelMemory reports the heap a daily model holds during its first
// season and after it, per model: the controller keeps one per predictive
// ScalingPolicy, so at 10,000 policies every kilobyte is 10 MB.
func BenchmarkModelMemory(b *testing.B) {
	const models = 1000
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for b.Loop() {
		before := heap()
		ms := make([]*Model, models)
		for i := range ms {
			m, err := New(DefaultConfig(24 * time.Hour))
			if err != nil {
				b.Fatal(err)
			}
			ms[i] = m
		}
		for ts := epoch; ts.Before(epoch.Add(12 * time.Hour)); ts = ts.Add(time.Minute) {
			for _, m := range ms {
				m.Observe(ts, 1)
			}
		}
		firstSeason := heap()
		for ts := epoch.Add(12 * time.Hour); ts.Before(epoch.Add(25 * time.Hour)); ts = ts.Add(time.Minute) {
			for _, m := range ms {
				m.Observe(ts, 1)
			}
		}
		after := heap()
		b.ReportMetric(float64(firstSeason-before)/models, "first-season-B/model")
		b.ReportMetric(float64(after-before)/models, "seasonal-B/model")
		runtime.KeepAlive(ms)
	}
}

// TestFirstSeasonBins: during the first season the slots hold raw bins
// (one array serves both), which must read as no seasonal term; slots the
// first season never saw start with none.
func TestFirstSeasonBins(t *testing.T) {
	cases := []struct {
		name     string
		observed func(minute int) bool
		at       time.Duration // forecast from epoch+at over 20 minutes
	}{
		{"before the season completes, raw bins the horizon wraps onto are not seasonal terms", func(int) bool { return true }, 50 * time.Minute},
		{"slots the first season skipped start at zero", func(m int) bool { return m < 30 || m >= 40 }, time.Hour + 25*time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := hourModel(t)
			for i := 0; time.Duration(i)*time.Minute <= tc.at; i++ {
				if tc.observed(i % 60) {
					m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
				}
			}
			f, ok := m.Forecast(epoch.Add(tc.at), 20*time.Minute, 1.75)
			require.True(t, ok)
			require.InDelta(t, 5, f.Peak, 1e-6)
		})
	}
}

// TestHugeObservationDoesNotPoisonTheModel: Observe drops NaN and ±Inf, but
// a finite value whose one-step error squares past MaxFloat64 turns the
// error variance into +Inf, then level, season and every forecast into NaN,
// for good, while Forecast still says ok.
func TestHugeObservationDoesNotPoisonTheModel(t *testing.T) {
	cases := []struct {
		name  string
		spike float64
	}{
		{"1e160, whose error squares to +Inf", 1e160},
		{"1e300", 1e300},
		{"the largest float64", math.MaxFloat64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := hourModel(t)
			for i := range 120 {
				m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
			}
			m.Observe(epoch.Add(120*time.Minute), tc.spike)
			for i := 121; i < 241; i++ {
				m.Observe(epoch.Add(time.Duration(i)*time.Minute), 5)
			}
			f, ok := m.Forecast(epoch.Add(241*time.Minute), time.Minute, 1.75)
			require.True(t, ok)
			require.False(t, math.IsNaN(f.Peak) || math.IsInf(f.Peak, 0), "peak %v", f.Peak)
			require.False(t, math.IsNaN(f.Upper) || math.IsInf(f.Upper, 0), "upper %v", f.Upper)
			a := m.Accuracy()
			require.False(t, math.IsNaN(a.RMS) || math.IsInf(a.RMS, 0), "rms %v", a.RMS)
		})
	}
}

// TestForecastAfterAStampAheadIsForTheTimeAsked: one observation stamped
// less than a season ahead (a clock that ran ahead, then was corrected) makes
// the model ignore the correct ones until real time catches up, as
// documented; but Forecast(from) must still forecast the bins from `from`
// on, not the bins of the stamp ahead: it moved `from` up to the open bin
// and said ok, forecasting another time of day.
func TestForecastAfterAStampAheadIsForTheTimeAsked(t *testing.T) {
	cases := []struct {
		name  string
		ahead time.Duration
	}{
		{"20 minutes ahead", 20 * time.Minute},
		{"45 minutes ahead", 45 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := hourModel(t)
			end := epoch.Add(4 * time.Hour)
			for ts := epoch; ts.Before(end); ts = ts.Add(15 * time.Second) {
				m.Observe(ts, hourly(ts))
			}
			m.Observe(end.Add(tc.ahead), hourly(end.Add(tc.ahead))) // the glitch
			for ts := end; ts.Before(end.Add(5 * time.Minute)); ts = ts.Add(15 * time.Second) {
				m.Observe(ts, hourly(ts))
			}
			at := end.Add(5 * time.Minute)
			f, ok := m.Forecast(at, 0, 0)
			require.True(t, ok)
			require.InDelta(t, hourly(at), f.Peak, 0.6, "forecast for %s, not for the stamp %s ahead (%v)", at, tc.ahead, hourly(end.Add(tc.ahead)))
		})
	}
}

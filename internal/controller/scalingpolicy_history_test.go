package controller

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/scaler"
	"github.com/trimtab/trimtab/scaler/predict"
)

// TestHistoryIsLearntWhereTheLiveModelLearnt: a model warm-started from the
// demand an earlier controller exported forecasts what a model that had
// learnt the same syncs live forecasts. The load ramps by one replica a
// minute, so learning a point in the wrong bin shows in the forecast as the
// ramp's climb over the misplacement.
func TestHistoryIsLearntWhereTheLiveModelLearnt(t *testing.T) {
	const sync = 15 * time.Second
	cfg := predict.DefaultConfig(time.Hour)
	// Syncs are not aligned to the minute: the controller started at 7 s.
	origin := time.Unix(1_800_000_007, 0)
	ramp := func(at time.Time) float64 { return at.Sub(origin).Minutes() }
	end := origin.Add(3 * time.Hour)

	for _, window := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute} {
		t.Run("metrics window "+window.String(), func(t *testing.T) {
			// A sync's demand is the mean over its metrics window: on a
			// ramp, the ramp at the window's middle.
			demand := func(s time.Time) float64 { return ramp(s.Add(-window / 2)) }
			// What Prometheus answers for max(avg_over_time(...[1m])) at
			// each step historyQuery asks for: the mean of the syncs'
			// exports in the step before it.
			q := historyQuery(warmRequest{now: end}, cfg, window)
			require.Equal(t, cfg.Step, q.Range.Step)
			// Each point averages the syncs of one bin: the points stand
			// half a window past the bins' ends, and cover a season and
			// the warm-up.
			step := int64(cfg.Step / time.Second)
			require.Zero(t, q.Range.Start.Add(-window/2).Unix()%step, "first point %s", q.Range.Start)
			span := cfg.Season + time.Duration(cfg.Warmup)*cfg.Step
			require.False(t, q.Range.Start.After(end.Add(-span).Add(window/2)), "first point %s", q.Range.Start)
			require.True(t, q.Range.Start.After(end.Add(-span).Add(window/2-cfg.Step)), "first point %s", q.Range.Start)
			var history collector.Series
			for p := q.Range.Start; !p.After(q.Range.End); p = p.Add(q.Range.Step) {
				var sum float64
				var n int
				for s := origin; !s.After(p); s = s.Add(sync) {
					if s.After(p.Add(-cfg.Step)) {
						sum += demand(s)
						n++
					}
				}
				history.Samples = append(history.Samples, collector.Sample{Time: p, Value: sum / float64(n)})
			}
			// The live model learns the same syncs: those the points
			// average, from the step before the first to the last.
			last := history.Samples[len(history.Samples)-1].Time
			live, err := predict.New(cfg)
			require.NoError(t, err)
			for s := origin; !s.After(last); s = s.Add(sync) {
				if s.After(q.Range.Start.Add(-cfg.Step)) {
					live.Observe(scaler.DemandTime(s, window), demand(s))
				}
			}
			warm, bins, err := modelFromHistory(cfg, window, []collector.Series{history})
			require.NoError(t, err)
			require.Equal(t, len(history.Samples), bins)

			from := last
			want, ok := live.Forecast(from, 2*time.Minute, 0)
			require.True(t, ok)
			got, ok := warm.Forecast(from, 2*time.Minute, 0)
			require.True(t, ok)
			require.LessOrEqual(t, math.Abs(got.Peak-want.Peak), 0.1,
				"warm-started peak %.2f, live %.2f: the history was learnt %.0f s off", got.Peak, want.Peak, 60*(got.Peak-want.Peak))
		})
	}
}

// TestHistoryOfNaNIsNoHistory: NaN points are not observations, so a
// history of nothing else counts as empty, not as loaded.
func TestHistoryOfNaNIsNoHistory(t *testing.T) {
	cfg := predict.DefaultConfig(time.Hour)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	points := func(values ...float64) collector.Series {
		var s collector.Series
		for i, v := range values {
			s.Samples = append(s.Samples, collector.Sample{Time: start.Add(time.Duration(i) * cfg.Step), Value: v})
		}
		return s
	}
	cases := []struct {
		name     string
		history  collector.Series
		wantBins int
	}{
		{"only NaN", points(math.NaN(), math.NaN(), math.NaN()), 0},
		{"NaN between numbers", points(3, math.NaN(), 4), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, bins, err := modelFromHistory(cfg, 30*time.Second, []collector.Series{c.history})
			require.NoError(t, err)
			require.Equal(t, c.wantBins, bins)
		})
	}
}

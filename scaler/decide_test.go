package scaler

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// cpuAt is an input with `current` Ready pods of 1000m each, all using
// usage millicores, against a cpu Utilization target of 50%: the metric
// proposes ceil(usage/500 × current) outside tolerance.
func cpuAt(cfg Config, current int32, usage int64) Input {
	ps := pods(int(current), 1000)
	vals := map[string]int64{}
	for _, p := range ps {
		vals[p.Name] = usage
	}
	return Input{Config: cfg, SpecReplicas: current, StatusReplicas: current, Pods: ps, Results: map[string]MetricResult{"cpu": {PodValues: samples(vals)}}}
}

// recs is a history of recommendations given as (replicas, age) pairs.
func recs(pairs ...any) History {
	var h History
	for i := 0; i < len(pairs); i += 2 {
		h.Recommendations = append(h.Recommendations, Recommendation{Replicas: int32(pairs[i].(int)), Time: t0.Add(-pairs[i+1].(time.Duration))})
	}
	return h
}

func condition(d Decision, typ string) Condition {
	for _, c := range d.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return Condition{}
}

// TestDecideRules checks whole reconciles against upstream's horizontal.go,
// one named case per rule of hpa-semantics.md §2, §9, §10 and §11.
func TestDecideRules(t *testing.T) {
	legacy := legacyConfig(1, 100, cpuUtil(50))
	behavior := func(edit func(*Behavior)) Config {
		c := legacyConfig(1, 100, cpuUtil(50))
		c.Behavior = defaultBehavior()
		if edit != nil {
			edit(c.Behavior)
		}
		return c
	}
	old := recs(1, time.Hour) // a non-empty history that no window sees

	cases := []struct {
		name       string
		in         Input
		want       int32
		wantReason string
		wantConds  map[string]string // type → reason
	}{
		// §2 one reconcile
		{name: "§2 spec replicas 0 with minReplicas ≥ 1 disables scaling", in: cpuAt(legacy, 0, 0), want: 0,
			wantConds: map[string]string{ScalingActive: "ScalingDisabled"}},
		{name: "§2 above maxReplicas goes to max without reading metrics",
			in: Input{Config: legacyConfig(1, 10, cpuUtil(50)), SpecReplicas: 12}, want: 10, wantReason: "Current number of replicas above Spec.MaxReplicas"},
		{name: "§2 below minReplicas goes to min without reading metrics",
			in: Input{Config: legacyConfig(3, 10, cpuUtil(50)), SpecReplicas: 2}, want: 3, wantReason: "Current number of replicas below Spec.MinReplicas"},
		{name: "§2 a fresh history is seeded with current, blocking scale-down (legacy)", in: cpuAt(legacy, 4, 100), want: 4,
			wantConds: map[string]string{AbleToScale: "ScaleDownStabilized", ScalingActive: "ValidMetricFound"}},
		{name: "§2 a fresh history is seeded with current, blocking scale-down (behavior)", in: cpuAt(behavior(nil), 4, 100), want: 4,
			wantConds: map[string]string{AbleToScale: "ScaleDownStabilized"}},
		{name: "§2 with a legacy window of 0 the seed no longer counts: the first sync scales down", in: cpuAt(func() Config {
			c := legacyConfig(1, 100, cpuUtil(50))
			c.Params.DownscaleStabilization = 0
			return c
		}(), 5, 150), want: 2, wantConds: map[string]string{AbleToScale: "ReadyForNewScale"}},
		{name: "§2 rescale reason names the metric above target", in: withHistory(cpuAt(legacy, 4, 1000), old), want: 8, wantReason: "cpu above target"},
		{name: "§2 rescale reason when all metrics are below target", in: withHistory(cpuAt(legacy, 4, 100), old), want: 1, wantReason: "All metrics below target"},

		// §10 legacy normalization
		{name: "§10 legacy window includes a recommendation exactly 300 s old", in: withHistory(cpuAt(legacy, 8, 100), recs(8, 300*time.Second)), want: 8,
			wantConds: map[string]string{AbleToScale: "ScaleDownStabilized"}},
		{name: "§10 legacy window excludes a recommendation 301 s old", in: withHistory(cpuAt(legacy, 8, 100), recs(8, 301*time.Second)), want: 2,
			wantConds: map[string]string{AbleToScale: "ReadyForNewScale"}},
		{name: "§10 scale-up cap from 1 is 4", in: withHistory(cpuAt(legacy, 1, 5000), old), want: 4,
			wantConds: map[string]string{ScalingLimited: "ScaleUpLimit"}},
		{name: "§10 scale-up cap from 3 is 6", in: withHistory(cpuAt(legacy, 3, 5000), old), want: 6},
		{name: "§10 scale-up cap from 10 is 20", in: withHistory(cpuAt(legacy, 10, 5000), old), want: 20},
		{name: "§10 maxReplicas below the cap limits with TooManyReplicas", in: withHistory(cpuAt(legacyConfig(1, 5, cpuUtil(50)), 3, 5000), old), want: 5,
			wantConds: map[string]string{ScalingLimited: "TooManyReplicas"}},
		{name: "§10 below minReplicas clamps with TooFewReplicas", in: withHistory(cpuAt(legacyConfig(2, 10, cpuUtil(50)), 4, 10), old), want: 2,
			wantConds: map[string]string{ScalingLimited: "TooFewReplicas"}},
		{name: "§10 the cap factor is a parameter (8 in upstream's tests)", in: withHistory(cpuAt(func() Config {
			c := legacy
			c.Params.ScaleUpLimitFactor = 8
			return c
		}(), 3, 5000), old), want: 24},
		{name: "§10 legacy path ignores behavior tolerances", in: withHistory(cpuAt(legacy, 4, 540), old), want: 4},

		// §11 behavior
		{name: "§11.5 current 10, desired 30, no events: Max of Pods 14 and Percent 20 → 20", in: withHistory(cpuAt(behavior(nil), 10, 1500), old), want: 20,
			wantConds: map[string]string{ScalingLimited: "ScaleUpLimit"}},
		{name: "§11.5 after a 4 → 10 scale-up 10 s ago the period starts at 4: hold 10",
			in: withEvents(withHistory(cpuAt(behavior(nil), 10, 1500), old), []ScaleEvent{{Change: 6, Time: t0.Add(-10 * time.Second)}}, nil), want: 10},
		{name: "§11.3 an event exactly one period old no longer counts (strict)",
			in: withEvents(withHistory(cpuAt(behavior(nil), 10, 1500), old), []ScaleEvent{{Change: 6, Time: t0.Add(-15 * time.Second)}}, nil), want: 20},
		{name: "§11.3 scale-down events raise the period start for scale-up",
			in: withEvents(withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleUp.Policies = []Policy{{Type: PodsPolicy, Value: 4, Period: time.Minute}}
			}), 10, 1500), old), nil, []ScaleEvent{{Change: 4, Time: t0.Add(-5 * time.Second)}}), want: 18},
		{name: "§11.5 scaleDown Pods 4/60 s and Percent 10/60 s with Max → 6",
			in: withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleDown = Rules{SelectPolicy: v1alpha1.SelectMax, Tolerance: 0.1, Policies: []Policy{{PodsPolicy, 4, time.Minute}, {PercentPolicy, 10, time.Minute}}}
			}), 10, 100), old), want: 6, wantConds: map[string]string{ScalingLimited: "ScaleDownLimit"}},
		{name: "§11.5 scaleDown Pods 4/60 s and Percent 10/60 s with Min → 9",
			in: withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleDown = Rules{SelectPolicy: v1alpha1.SelectMin, Tolerance: 0.1, Policies: []Policy{{PodsPolicy, 4, time.Minute}, {PercentPolicy, 10, time.Minute}}}
			}), 10, 100), old), want: 9},
		{name: "§11.5 default scaleDown holds while a recommendation of 10 is 299 s old",
			in: withHistory(cpuAt(behavior(nil), 10, 100), recs(10, 299*time.Second)), want: 10, wantConds: map[string]string{AbleToScale: "ScaleDownStabilized"}},
		{name: "§11.5 default scaleDown drops to 2 once that recommendation is 300 s old (strict)",
			in: withHistory(cpuAt(behavior(nil), 10, 100), recs(10, 300*time.Second)), want: 2, wantConds: map[string]string{ScalingLimited: "DesiredWithinRange"}},
		{name: "§11.2 scale-up goes to the lowest recommendation of the up-window",
			in: withHistory(cpuAt(behavior(func(b *Behavior) { b.ScaleUp.StabilizationWindow = time.Minute }), 4, 1000), recs(5, 30*time.Second)), want: 5,
			wantConds: map[string]string{AbleToScale: "ScaleUpStabilized"}},
		{name: "§11.2 scale-up stabilization never goes below current",
			in: withHistory(cpuAt(behavior(func(b *Behavior) { b.ScaleUp.StabilizationWindow = time.Minute }), 4, 1000), recs(2, 30*time.Second)), want: 4},
		{name: "§11.3 Percent 10 from 100 is ceil(110.00000000000001) = 111 (float quirk)",
			in: withHistory(cpuAt(func() Config {
				c := behavior(func(b *Behavior) { b.ScaleUp.Policies = []Policy{{PercentPolicy, 10, time.Minute}} })
				c.MaxReplicas = 1000
				return c
			}(), 100, 1000), old), want: 111},
		{name: "§11.3 Percent 10 from 7 going up is ceil(7.700000000000001) = 8",
			in: withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleUp.Policies = []Policy{{PercentPolicy, 10, time.Minute}}
			}), 7, 1000), old), want: 8},
		{name: "§11.3 Percent 10 from 7 going down is trunc(6.3) = 6",
			in: withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleDown.Policies = []Policy{{PercentPolicy, 10, time.Minute}}
				b.ScaleDown.StabilizationWindow = 0
			}), 7, 100), old), want: 6},
		{name: "§11.3 selectPolicy Min going up takes the smallest change: Pods 14 over Percent 20",
			in: withHistory(cpuAt(behavior(func(b *Behavior) { b.ScaleUp.SelectPolicy = v1alpha1.SelectMin }), 10, 1500), old), want: 14},
		{name: "§11.3 selectPolicy Disabled forbids scale-up",
			in: withHistory(cpuAt(behavior(func(b *Behavior) { b.ScaleUp.SelectPolicy = v1alpha1.SelectDisabled }), 4, 1000), old), want: 4},
		{name: "§11.3 selectPolicy Disabled forbids scale-down",
			in: withHistory(cpuAt(behavior(func(b *Behavior) {
				b.ScaleDown.SelectPolicy = v1alpha1.SelectDisabled
				b.ScaleDown.StabilizationWindow = 0
			}), 4, 100), old), want: 4},
		{name: "§11.3 maxReplicas below the policy limit gives TooManyReplicas",
			in: withHistory(cpuAt(func() Config { c := behavior(nil); c.MaxReplicas = 12; return c }(), 10, 1500), old), want: 12,
			wantConds: map[string]string{ScalingLimited: "TooManyReplicas"}},
		{name: "§11.3 minReplicas above the policy limit gives TooFewReplicas",
			in: withHistory(cpuAt(func() Config {
				c := behavior(func(b *Behavior) { b.ScaleDown.StabilizationWindow = 0 })
				c.MinReplicas = 3
				return c
			}(), 10, 10), old), want: 3, wantConds: map[string]string{ScalingLimited: "TooFewReplicas"}},
		{name: "§3 behavior scaleUp tolerance 0.05 scales ratio 1.08",
			in: withHistory(cpuAt(behavior(func(b *Behavior) { b.ScaleUp.Tolerance = 0.05 }), 4, 540), old), want: 5},
		{name: "§3 with the HPAConfigurableTolerance gate off the global tolerance applies",
			in: withHistory(cpuAt(func() Config {
				c := behavior(func(b *Behavior) { b.ScaleUp.Tolerance = 0.05 })
				c.Params.ConfigurableTolerance = false
				return c
			}(), 4, 540), old), want: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.in, t0)
			require.Equal(t, tc.want, d.Replicas)
			if tc.wantReason != "" {
				require.Equal(t, tc.wantReason, d.Reason)
			}
			for typ, reason := range tc.wantConds {
				require.Equal(t, reason, condition(d, typ).Reason, typ)
			}
		})
	}
}

func withHistory(in Input, h History) Input {
	in.History = h
	return in
}

func withEvents(in Input, up, down []ScaleEvent) Input {
	in.History.ScaleUpEvents, in.History.ScaleDownEvents = up, down
	return in
}

// TestMultipleMetrics checks §9: the maximum wins, partial data may scale
// up but never down, and the first failure sets the condition.
func TestMultipleMetrics(t *testing.T) {
	queue := MetricSpec{Name: "queue", Kind: KindExternal, Target: Target{Type: AverageValue, AverageMilli: 500}}
	cfg := legacyConfig(1, 100, cpuUtil(50), queue)
	old := recs(1, time.Hour)
	in := func(cpu MetricResult, q MetricResult) Input {
		i := withHistory(cpuAt(cfg, 4, 0), old)
		i.Results = map[string]MetricResult{"cpu": cpu, "queue": q}
		return i
	}
	cpu := func(usage int64) MetricResult {
		return MetricResult{PodValues: tenAt(usage)} // only p0..p3 exist; the rest are extraneous and skipped
	}
	// As the collector's: every error names its metric.
	down := fmt.Errorf("metric %q: %w", "cpu", errors.New("prometheus unreachable"))
	queueDown := fmt.Errorf("metric %q: %w", "queue", errors.New("prometheus unreachable"))

	t.Run("§9 the largest proposal wins and names the reason", func(t *testing.T) {
		d := Decide(in(cpu(1000), MetricResult{Values: []int64{3000}}), t0)
		require.NoError(t, d.Err)
		require.Equal(t, int32(8), d.Replicas)
		require.Equal(t, "cpu above target", d.Reason)
		require.Equal(t, []int32{8, 6}, []int32{d.Metrics[0].Proposal, d.Metrics[1].Proposal})
	})
	t.Run("§9 partial data may scale up", func(t *testing.T) {
		d := Decide(in(MetricResult{Err: down}, MetricResult{Values: []int64{3000}}), t0)
		require.Equal(t, int32(6), d.Replicas)
		require.ErrorIs(t, d.Err, down)
		require.ErrorContains(t, d.Err, "invalid metrics (1 invalid out of 2), first error is: ")
		require.Equal(t, ConditionTrue, condition(d, ScalingActive).Status)
		require.Equal(t, "ValidMetricFound", condition(d, ScalingActive).Reason)
	})
	t.Run("a failure names its metric once", func(t *testing.T) {
		for _, tc := range []struct {
			name, err string
		}{
			{"named first", `metric "cpu": prometheus unreachable`},
			{"named after its class, as the scrape provider's no-data errors are", `no data: metric "cpu": container_cpu_usage_seconds_total is not exposed by any of the 4 pods scraped`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d := Decide(in(MetricResult{Err: errors.New(tc.err)}, MetricResult{Values: []int64{3000}}), t0)
				require.EqualError(t, d.Err, "invalid metrics (1 invalid out of 2), first error is: "+tc.err)
			})
		}
	})
	t.Run("§9 partial data never scales down, and nothing is recorded", func(t *testing.T) {
		d := Decide(in(MetricResult{Err: down}, MetricResult{Values: []int64{500}}), t0)
		require.Equal(t, int32(4), d.Replicas)
		require.Equal(t, "FailedGetResourceMetric", condition(d, ScalingActive).Reason)
		require.Equal(t, ConditionFalse, condition(d, ScalingActive).Status)
		require.Equal(t, old.Recommendations, d.History.Recommendations)
	})
	t.Run("§9 all metrics failing holds; the first failure sets the condition", func(t *testing.T) {
		i := in(cpu(1000), MetricResult{Err: queueDown})
		delete(i.Results, "cpu")
		i.Config.Metrics = []MetricSpec{queue, cpuUtil(50)}
		d := Decide(i, t0)
		require.Equal(t, int32(4), d.Replicas)
		require.Equal(t, "FailedGetExternalMetric", condition(d, ScalingActive).Reason)
		require.ErrorContains(t, d.Err, "invalid metrics (2 invalid out of 2)")
		require.ErrorIs(t, d.Err, queueDown)
		require.Equal(t, int32(1), d.History.ConsecutiveFailures)
	})
	t.Run("§9 a metric without a result is no data", func(t *testing.T) {
		i := in(cpu(1000), MetricResult{})
		delete(i.Results, "queue")
		d := Decide(i, t0)
		require.ErrorIs(t, d.Err, ErrNoData)
		require.Equal(t, int32(8), d.Replicas)
	})
	t.Run("§8 a Value proposal of 0 (no ready pods) is clamped to minReplicas", func(t *testing.T) {
		c := legacyConfig(2, 10, MetricSpec{Name: "p95", Kind: KindObject, Target: Target{Type: Value, ValueMilli: 100}})
		i := Input{Config: c, SpecReplicas: 4, History: old, Pods: []Pod{with(pod("p0", 1), readyStatus(ConditionFalse, time.Minute))},
			Results: map[string]MetricResult{"p95": {Values: []int64{200}}}}
		d := Decide(i, t0)
		require.Equal(t, int32(2), d.Replicas)
		require.Equal(t, "TooFewReplicas", condition(d, ScalingLimited).Reason)
	})
}

// TestRecordScale checks §11.4: events only with behavior, outdated
// slots reused, and the input history left untouched.
func TestRecordScale(t *testing.T) {
	b := defaultBehavior()
	var h History
	require.Equal(t, h, h.RecordScale(nil, 2, 4, t0), "no events without behavior")

	h = History{ScaleUpEvents: []ScaleEvent{{Change: 2, Time: t0.Add(-time.Minute)}, {Change: 1, Time: t0.Add(-5 * time.Second)}}}
	got := h.RecordScale(b, 4, 7, t0)
	require.Equal(t, []ScaleEvent{{Change: 3, Time: t0}, {Change: 1, Time: t0.Add(-5 * time.Second)}}, got.ScaleUpEvents)
	require.Equal(t, int32(2), h.ScaleUpEvents[0].Change, "input not modified")

	got = got.RecordScale(b, 7, 5, t0.Add(time.Second))
	require.Equal(t, []ScaleEvent{{Change: 2, Time: t0.Add(time.Second)}}, got.ScaleDownEvents)

	// An event exactly one longest period old is not outdated.
	h = History{ScaleUpEvents: []ScaleEvent{{Change: 2, Time: t0.Add(-15 * time.Second)}}}
	require.Len(t, h.RecordScale(b, 4, 5, t0).ScaleUpEvents, 2)
}

// TestStabilizationStorage checks that the unstabilized recommendation is
// stored, overwriting the last entry older than both windows.
func TestStabilizationStorage(t *testing.T) {
	b := *defaultBehavior()
	h := recs(3, 10*time.Minute, 9, 6*time.Minute, 7, time.Minute)
	rec, out := stabilize(h.Recommendations, b, 5, 2, t0)
	require.Equal(t, int32(5), rec, "highest recent recommendation 7 capped at current 5")
	require.Equal(t, []Recommendation{{3, t0.Add(-10 * time.Minute)}, {2, t0}, {7, t0.Add(-time.Minute)}}, out)

	_, out = stabilize(recs(7, time.Minute).Recommendations, b, 5, 2, t0)
	require.Len(t, out, 2, "appended when nothing is old")
}

// TestStabilizationRuns checks the stored recommendations against
// upstream's definition of the windows (every recommendation of a window
// counts), over random recommendations and windows, for both the behavior
// windows and the legacy one, and that the slots stay bounded as upstream's
// do.
func TestStabilizationRuns(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// upstream is the reference: every recommendation kept, each window
	// checked over all of them.
	upstream := func(all []Recommendation, b Behavior, current, desired int32, now time.Time) int32 {
		up, down := desired, desired
		for _, r := range all {
			if r.Time.After(now.Add(-b.ScaleUp.StabilizationWindow)) {
				up = min(up, r.Replicas)
			}
			if r.Time.After(now.Add(-b.ScaleDown.StabilizationWindow)) {
				down = max(down, r.Replicas)
			}
		}
		return min(max(current, up), down)
	}
	upstreamLegacy := func(all []Recommendation, window time.Duration, desired int32, now time.Time) int32 {
		for _, r := range all {
			if !r.Time.Before(now.Add(-window)) {
				desired = max(desired, r.Replicas)
			}
		}
		return desired
	}
	for trial := range 200 {
		b := *defaultBehavior()
		b.ScaleUp.StabilizationWindow = time.Duration(rng.IntN(5)) * time.Minute
		b.ScaleDown.StabilizationWindow = time.Duration(rng.IntN(8)) * time.Minute
		p := DefaultParams()
		p.DownscaleStabilization = time.Duration(rng.IntN(8)) * time.Minute
		var all, stored, storedLegacy []Recommendation
		var mostWithin, mostWithinLegacy int
		current := int32(5)
		now := t0
		for step := range 200 {
			now = now.Add(time.Duration(5+rng.IntN(20)) * time.Second)
			// Runs of equal values, as a steady load gives.
			desired := int32(1 + rng.IntN(4))
			if step > 0 && rng.IntN(4) > 0 {
				desired = all[len(all)-1].Replicas
			}
			want := upstream(all, b, current, desired, now)
			got, next := stabilize(stored, b, current, desired, now)
			require.Equal(t, want, got, "trial %d step %d: behavior windows", trial, step)
			stored = next

			wantLegacy := upstreamLegacy(all, p.DownscaleStabilization, desired, now)
			legacy := normalizeLegacy(storedLegacy, current, desired, 1, 100, p, now)
			gotLegacy := legacy.replicas
			if wantLegacy > max(int32(p.ScaleUpLimitFactor*float64(current)), int32(p.ScaleUpLimitMinimum)) {
				gotLegacy = wantLegacy // capped by the scale-up limit, not stabilization
			}
			require.Equal(t, wantLegacy, gotLegacy, "trial %d step %d: legacy window", trial, step)
			storedLegacy = legacy.newHistory

			all = append(all, Recommendation{Replicas: desired, Time: now})
			current = got
			within := func(window time.Duration) int {
				n := 0
				for _, r := range all {
					if !r.Time.Before(now.Add(-window)) {
						n++
					}
				}
				return n
			}
			// A slot is added only when none is older than the windows:
			// the slots never outnumber the recommendations that were once
			// within the longest window together.
			mostWithin = max(mostWithin, within(max(b.ScaleUp.StabilizationWindow, b.ScaleDown.StabilizationWindow)))
			mostWithinLegacy = max(mostWithinLegacy, within(p.DownscaleStabilization))
			require.LessOrEqual(t, len(stored), mostWithin, "trial %d step %d", trial, step)
			require.LessOrEqual(t, len(storedLegacy), mostWithinLegacy, "trial %d step %d", trial, step)
		}
	}
}

// TestRaisedWindowSeesOldRecommendations: upstream keeps a recommendation in
// its slot until it is the last one older than every window, so some outlive
// the window by far, and count again when the window is raised. Here a
// scale-down runs 10 → 9 under a 60 s window at one pod a minute; the user
// then raises the window to 600 s, which brings the first sync's 10 back
// into it: upstream holds 9 (checked against upstream's
// normalizeDesiredReplicasWithBehaviors over the same syncs).
func TestRaisedWindowSeesOldRecommendations(t *testing.T) {
	queue := MetricSpec{Name: "queue", Kind: KindExternal, Target: Target{Type: AverageValue, AverageMilli: 1000}}
	cfg := func(window time.Duration) Config {
		c := legacyConfig(1, 20, queue)
		c.Behavior = defaultBehavior()
		c.Behavior.ScaleDown = Rules{StabilizationWindow: window, SelectPolicy: v1alpha1.SelectMax, Tolerance: 0.1,
			Policies: []Policy{{Type: PodsPolicy, Value: 1, Period: time.Minute}}}
		return c
	}
	var h History
	current := int32(10)
	sync := func(c Config, sec int, desired int32) Decision {
		now := t0.Add(time.Duration(sec) * time.Second)
		d := Decide(Input{Config: c, SpecReplicas: current, StatusReplicas: current, History: h,
			Results: map[string]MetricResult{"queue": {Values: []int64{int64(desired) * 1000}}}}, now)
		h = d.History
		if d.Replicas != current {
			h = h.RecordScale(c.Behavior, current, d.Replicas, now)
			current = d.Replicas
		}
		return d
	}
	sync(cfg(time.Minute), 0, 10)
	for _, sec := range []int{15, 30, 45, 61} {
		sync(cfg(time.Minute), sec, 3)
	}
	require.Equal(t, int32(9), current, "one pod a minute")
	sync(cfg(time.Minute), 76, 4)
	require.Equal(t, int32(9), current)

	d := sync(cfg(10*time.Minute), 122, 4)
	require.Equal(t, int32(9), d.Replicas, "the first sync's 10 is within the raised window")
	require.Equal(t, "ScaleDownStabilized", condition(d, AbleToScale).Reason)
}

// TestPredictive checks desired = max(reactive, forecast) in mode on, and
// that a forecast never scales down, and is only reported in shadow.
func TestPredictive(t *testing.T) {
	old := recs(1, time.Hour)
	cfg := func(mode v1alpha1.PredictiveMode) Config {
		c := legacyConfig(1, 100, cpuUtil(50))
		c.Predictive = Predictive{Mode: mode, Horizon: 5 * time.Minute, Season: 24 * time.Hour}
		return c
	}
	cases := []struct {
		name         string
		mode         v1alpha1.PredictiveMode
		usage        int64
		forecast     *Forecast
		want         int32
		wantForecast int32
		applied      bool
	}{
		{name: "on: forecast above reactive scales up ahead", mode: v1alpha1.PredictiveOn, usage: 500, forecast: &Forecast{PeakDemand: 6.2}, want: 7, wantForecast: 7, applied: true},
		{name: "on: forecast below reactive changes nothing", mode: v1alpha1.PredictiveOn, usage: 1000, forecast: &Forecast{PeakDemand: 3}, want: 8, wantForecast: 3},
		{name: "on: forecast below current never scales down", mode: v1alpha1.PredictiveOn, usage: 500, forecast: &Forecast{PeakDemand: 1}, want: 4, wantForecast: 1},
		{name: "on: no forecast yet is reactive only", mode: v1alpha1.PredictiveOn, usage: 1000, want: 8},
		{name: "shadow: forecast reported, not acted on", mode: v1alpha1.PredictiveShadow, usage: 500, forecast: &Forecast{PeakDemand: 6.2}, want: 4, wantForecast: 7},
		{name: "off: forecast ignored", mode: v1alpha1.PredictiveOff, usage: 500, forecast: &Forecast{PeakDemand: 6.2}, want: 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := withHistory(cpuAt(cfg(tc.mode), 4, tc.usage), old)
			in.Forecast = tc.forecast
			d := Decide(in, t0)
			require.Equal(t, tc.want, d.Replicas)
			require.Equal(t, tc.wantForecast, d.ForecastReplicas)
			require.Equal(t, tc.applied, d.ForecastApplied)
			if tc.applied {
				require.Equal(t, "forecast load above target", d.Reason)
			}
		})
	}
	t.Run("on: metrics failing hold even with a forecast", func(t *testing.T) {
		in := withHistory(cpuAt(cfg(v1alpha1.PredictiveOn), 4, 500), old)
		in.Results = nil
		in.Forecast = &Forecast{PeakDemand: 9}
		require.Equal(t, int32(4), Decide(in, t0).Replicas)
	})
}

// TestFallback checks the failure policy: hold, then after the threshold
// raise to the fallback, never lower; success resets the count.
func TestFallback(t *testing.T) {
	c := legacyConfig(1, 100, cpuUtil(50))
	c.Fallback = &Fallback{FailureThreshold: 3, Replicas: 6}
	failing := withHistory(cpuAt(c, 4, 500), recs(1, time.Hour))
	failing.Results = map[string]MetricResult{"cpu": {Err: errors.New(`metric "cpu": timeout`)}}

	h := failing.History
	for i := 1; i <= 3; i++ {
		in := failing
		in.History = h
		d := Decide(in, t0.Add(time.Duration(i)*15*time.Second))
		h = d.History
		require.Equal(t, int32(i), h.ConsecutiveFailures)
		if i < 3 {
			require.Equal(t, int32(4), d.Replicas, "sync %d holds", i)
			require.False(t, d.FallbackActive)
			continue
		}
		require.True(t, d.FallbackActive)
		require.Equal(t, int32(6), d.Replicas)
		require.Equal(t, "fallback after 3 consecutive metric failures", d.Reason)
	}

	t.Run("fallback below current never scales down", func(t *testing.T) {
		in := failing
		in.Config.Fallback = &Fallback{FailureThreshold: 1, Replicas: 2}
		d := Decide(in, t0)
		require.True(t, d.FallbackActive)
		require.Equal(t, int32(4), d.Replicas)
	})
	t.Run("a successful sync resets the count", func(t *testing.T) {
		in := withHistory(cpuAt(c, 4, 500), History{ConsecutiveFailures: 7, Recommendations: recs(1, time.Hour).Recommendations})
		d := Decide(in, t0)
		require.Zero(t, d.History.ConsecutiveFailures)
		require.False(t, d.FallbackActive)
	})
}

// TestDecideIsPure runs the same input twice and checks the caller's
// history is not modified.
func TestDecideIsPure(t *testing.T) {
	c := legacyConfig(1, 100, cpuUtil(50))
	c.Behavior = defaultBehavior()
	in := withHistory(cpuAt(c, 4, 1000), recs(3, time.Hour, 5, time.Minute))
	before := fmt.Sprint(in.History)
	a, b := Decide(in, t0), Decide(in, t0)
	require.Equal(t, a, b)
	require.Equal(t, before, fmt.Sprint(in.History))
}

package analyzer

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)

func lognormal(rng *rand.Rand, n int, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = scale * 100 * math.Exp(0.25*rng.NormFloat64())
	}
	return out
}

// runAnalysis runs one sequential analysis with `looks` looks on growing
// windows of perLook points per side per look and returns the last decision
// and the look it ended at.
func runAnalysis(t *testing.T, plan Plan, cfg Config, rng *rand.Rand, looks, perLook int, canaryScale float64) (Decision, int) {
	t.Helper()
	var base, can []float64
	var st SequentialState
	var d Decision
	for k := 1; k <= looks; k++ {
		base = append(base, lognormal(rng, perLook, 1)...)
		can = append(can, lognormal(rng, perLook, canaryScale)...)
		now := t0.Add(time.Duration(k) * plan.Duration / time.Duration(looks))
		if k == 1 {
			st.Start = t0
		}
		var err error
		d, err = Decide(plan, cfg, st, []MetricInput{{MetricConfig: MetricConfig{Name: "latency", Groups: []string{"app"}}, Baseline: base, Canary: can}}, now)
		require.NoError(t, err)
		st = d.State
		if d.Action != Continue {
			return d, k
		}
	}
	return d, looks
}

// TestSequentialControlsFalseRollbacks: A/A analyses with ten looks roll back
// at most α of the time (within sampling error), while judging every look at
// the full α — what a naive controller does — exceeds α clearly. The second
// half shows the test can fail.
func TestSequentialControlsFalseRollbacks(t *testing.T) {
	const reps, looks, perLook, alpha = 400, 10, 8, 0.10
	plan := Plan{Duration: 10 * time.Minute, FalseRollbackRate: alpha}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []Mode{ModeTrimtab, ModeKayenta} {
		rollbacks := 0
		for range reps {
			d, _ := runAnalysis(t, plan, Config{Mode: mode, Tolerance: ptr(0)}, rng, looks, perLook, 1)
			if d.Action == Rollback {
				rollbacks++
			}
		}
		rate := float64(rollbacks) / reps
		se := math.Sqrt(alpha * (1 - alpha) / reps)
		t.Logf("mode %s: false rollback rate %.3f (α %.2f)", mode, rate, alpha)
		require.LessOrEqual(t, rate, alpha+3*se, "mode %s: false rollback rate %.3f", mode, rate)
	}
	naive := 0
	for range reps {
		var base, can []float64
		for range looks {
			base = append(base, lognormal(rng, perLook, 1)...)
			can = append(can, lognormal(rng, perLook, 1)...)
			res, err := Judge(Config{Confidence: 1 - alpha, Tolerance: ptr(0)}, []MetricInput{{MetricConfig: MetricConfig{Name: "l"}, Baseline: base, Canary: can}})
			require.NoError(t, err)
			if res.Verdict == VerdictFail {
				naive++
				break
			}
		}
	}
	t.Logf("naive repeated looks: %.3f", float64(naive)/reps)
	require.Greater(t, float64(naive)/reps, 1.5*alpha, "repeated fixed-level looks inflate the error rate")
}

func TestSequentialActions(t *testing.T) {
	plan := Plan{Duration: 10 * time.Minute}
	rng := rand.New(rand.NewPCG(3, 4))
	t.Run("clear regression rolls back before the end", func(t *testing.T) {
		d, look := runAnalysis(t, plan, Config{}, rng, 10, 30, 1.5)
		require.Equal(t, Rollback, d.Action)
		require.Less(t, look, 10)
		require.Equal(t, Rollback, d.State.Final)
	})
	t.Run("healthy canary promotes only at the end", func(t *testing.T) {
		d, look := runAnalysis(t, plan, Config{}, rng, 10, 30, 1)
		require.Equal(t, Promote, d.Action, d.Reason)
		require.Equal(t, 10, look)
	})
	t.Run("critical guard rail rolls back at the first look", func(t *testing.T) {
		m := MetricInput{MetricConfig: MetricConfig{Name: "errors", Critical: true, Thresholds: &Thresholds{Max: ptr(0.05)}},
			Baseline: rep(0.01, 10), Canary: rep(0.2, 10)}
		d, err := Decide(plan, Config{}, SequentialState{}, []MetricInput{m}, t0)
		require.NoError(t, err)
		require.Equal(t, Rollback, d.Action)
		require.Equal(t, 0.0, d.Fraction)
		require.Equal(t, t0, d.State.Start)
	})
	t.Run("no data waits, then holds at the end", func(t *testing.T) {
		m := MetricInput{MetricConfig: MetricConfig{Name: "latency"}, Baseline: rep(1, 10)}
		d, err := Decide(plan, Config{}, SequentialState{Start: t0}, []MetricInput{m}, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, Continue, d.Action)
		d, err = Decide(plan, Config{}, d.State, []MetricInput{m}, t0.Add(10*time.Minute))
		require.NoError(t, err)
		require.Equal(t, Hold, d.Action)
	})
	t.Run("a finished analysis repeats its action", func(t *testing.T) {
		st := SequentialState{Start: t0, Looks: 3, Final: Promote}
		d, err := Decide(plan, Config{}, st, []MetricInput{{MetricConfig: MetricConfig{Name: "m"}}}, t0.Add(time.Hour))
		require.NoError(t, err)
		require.Equal(t, Promote, d.Action)
	})
}

func TestSequentialSpending(t *testing.T) {
	plan := Plan{Duration: 100 * time.Second, FalseRollbackRate: 0.01}
	m := []MetricInput{{MetricConfig: MetricConfig{Name: "a"}, Baseline: rep(1, 10), Canary: rep(1, 10)},
		{MetricConfig: MetricConfig{Name: "b"}, Baseline: rep(1, 10), Canary: rep(1, 10)}}
	st := SequentialState{Start: t0}
	var total float64
	for k := 1; k <= 100; k++ {
		d, err := Decide(plan, Config{}, st, m, t0.Add(time.Duration(k)*time.Second))
		require.NoError(t, err)
		total += d.Alpha * 2 // two metrics
		st = d.State
	}
	require.Equal(t, Promote, st.Final)
	require.InDelta(t, 0.01, total, 1e-12, "the looks spend exactly α")
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	require.Less(t, len(raw), 120, string(raw))
	var back SequentialState
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, st, back)
}

func TestPlanValidate(t *testing.T) {
	cases := map[string]struct {
		plan Plan
		want string
	}{
		"zero duration":     {Plan{}, "plan.duration"},
		"alpha too large":   {Plan{Duration: time.Minute, FalseRollbackRate: 1}, "plan.falseRollbackRate"},
		"negative share":    {Plan{Duration: time.Minute, FinalShare: -0.1}, "plan.finalShare"},
		"defaults are fine": {Plan{Duration: time.Minute}, ""},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.plan.Validate()
			if c.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, c.want)
		})
	}
}

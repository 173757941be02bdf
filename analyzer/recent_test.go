package analyzer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRecentCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	series := func(n int, mean float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = mean * (0.9 + 0.2*rng.Float64())
		}
		return out
	}
	metric := func(base, canary []float64) MetricInput {
		return MetricInput{MetricConfig: MetricConfig{Name: "latency", Groups: []string{"app"}, Direction: Increase}, Baseline: base, Canary: canary}
	}
	cases := []struct {
		name     string
		alpha    float64
		metrics  []MetricInput
		rollback bool
		wantErr  string
	}{
		{"clear regression in 30 samples", 0.005, []MetricInput{metric(series(30, 100), series(30, 140))}, true, ""},
		{"same distribution", 0.005, []MetricInput{metric(series(30, 100), series(30, 100))}, false, ""},
		{"improvement is not a regression", 0.005, []MetricInput{metric(series(30, 100), series(30, 60))}, false, ""},
		{"too few samples hold", 0.005, []MetricInput{metric(series(3, 100), series(3, 300))}, false, ""},
		{"alpha outside (0,1)", 0, []MetricInput{metric(series(30, 100), series(30, 140))}, false, "alpha must be in (0,1)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad, why, err := RecentCheck(tc.alpha, 900, Config{}, tc.metrics)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.rollback, bad, why)
			if bad {
				require.Contains(t, why, "recent samples")
			}
		})
	}
}

// TestRecentCheckFalseRollbackRate: across many A/A steps, the checks of a
// step together roll back at most alpha of the time (allowing three
// standard errors of Monte Carlo noise; the seed makes the run exact).
func TestRecentCheckFalseRollbackRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const steps, looks, alpha = 400, 100, 0.2
	rollbacks := 0
	for range steps {
		for range looks {
			base, canary := make([]float64, 30), make([]float64, 30)
			for i := range base {
				base[i], canary[i] = rng.NormFloat64()+10, rng.NormFloat64()+10
			}
			bad, _, err := RecentCheck(alpha, looks, Config{}, []MetricInput{{MetricConfig: MetricConfig{Name: "m", Direction: Increase}, Baseline: base, Canary: canary}})
			require.NoError(t, err)
			if bad {
				rollbacks++
				break
			}
		}
	}
	se := math.Sqrt(alpha * (1 - alpha) / steps)
	require.LessOrEqual(t, float64(rollbacks)/steps, alpha+3*se, "%d of %d A/A steps rolled back", rollbacks, steps)
}

package analyzer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// judgeWithin runs Judge and fails the test if it does not return: the
// cases below used to loop forever.
func judgeWithin(t *testing.T, cfg Config, in []MetricInput) Result {
	t.Helper()
	done := make(chan Result, 1)
	go func() {
		r, err := Judge(cfg, in)
		if err != nil {
			t.Errorf("Judge: %v", err)
		}
		done <- r
	}()
	select {
	case r := <-done:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("Judge did not return")
		return Result{}
	}
}

// TestExtremeSamplesAreErrorsNotHangs: an infinite sample (a gauge, a web
// source's "Inf") made Kayenta mode's interval search loop forever, and
// finite values whose differences overflow made trimtab mode's selection do
// the same; each is now the metric's Error, saying why.
func TestExtremeSamplesAreErrorsNotHangs(t *testing.T) {
	huge := func(sign float64) []float64 {
		var v []float64
		for i := range 10 {
			v = append(v, sign*(1e308+float64(i)*1e306))
		}
		return v
	}
	cases := []struct {
		name   string
		mode   Mode
		can    []float64
		base   []float64
		reason string
	}{
		{"kayenta: +Inf in the canary", ModeKayenta, []float64{1, 2, 3, 4, math.Inf(1)}, []float64{1, 2, 3, 4, 5}, "canary series holds +Inf"},
		{"kayenta: -Inf in the baseline", ModeKayenta, []float64{1, 2, 3, 4, 5}, []float64{math.Inf(-1), 2, 3, 4, 5}, "baseline series holds -Inf"},
		{"kayenta: differences overflow", ModeKayenta, huge(1), huge(-1), "differ by more than a float64 holds"},
		{"trimtab: +Inf in the canary", ModeTrimtab, []float64{1, 2, 3, 4, math.Inf(1)}, []float64{1, 2, 3, 4, 5}, "canary series holds +Inf"},
		{"trimtab: differences overflow", ModeTrimtab, huge(1), huge(-1), "differ by more than a float64 holds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := judgeWithin(t, Config{Mode: tc.mode}, []MetricInput{{MetricConfig: MetricConfig{Name: "m", Groups: []string{"g"}}, Canary: tc.can, Baseline: tc.base}})
			require.Equal(t, Error, res.Metrics[0].Classification)
			require.Contains(t, res.Metrics[0].Reason, tc.reason)
		})
	}
}

// TestScoreIsTheSameEveryTime: group weights were summed in map order, and
// float addition depends on the order: the same input scored 58.58 or
// 58.59, on either side of a marginal threshold of 58.59.
func TestScoreIsTheSameEveryTime(t *testing.T) {
	var in []MetricInput
	add := func(g string, pass, high int) {
		for i := range pass {
			in = append(in, MetricInput{MetricConfig: MetricConfig{Name: fmt.Sprintf("%s-p%d", g, i), Groups: []string{g}},
				Canary: []float64{1, 2, 3, 4, 5}, Baseline: []float64{1, 2, 3, 4, 5}})
		}
		for i := range high {
			in = append(in, MetricInput{MetricConfig: MetricConfig{Name: fmt.Sprintf("%s-h%d", g, i), Groups: []string{g}},
				Canary: []float64{5, 5, 5, 5, 5}, Baseline: []float64{1, 1, 1, 1, 1}})
		}
	}
	add("a", 3, 1)
	add("b", 3, 1)
	add("c", 4, 1)
	add("d", 1, 1) // no configured weight
	marginal := 58.59
	for _, mode := range []Mode{ModeKayenta, ModeTrimtab} {
		t.Run(string(mode), func(t *testing.T) {
			cfg := Config{Mode: mode, GroupWeights: map[string]float64{"a": 0.2, "b": 33.3, "c": 0.7}, MarginalScore: &marginal}
			first, err := Judge(cfg, in)
			require.NoError(t, err)
			for range 300 {
				res, err := Judge(cfg, in)
				require.NoError(t, err)
				require.Equal(t, first.Score, res.Score)
				require.Equal(t, first.Verdict, res.Verdict)
			}
		})
	}
}

// TestEveryVerdictSaysWhy: a verdict the score decides names the score,
// the thresholds and the groups; in Kayenta mode, metrics without a group
// count nowhere, and a judgement of only such metrics fails at 0 saying so.
func TestEveryVerdictSaysWhy(t *testing.T) {
	same := func(name string, groups ...string) MetricInput {
		return MetricInput{MetricConfig: MetricConfig{Name: name, Groups: groups}, Canary: []float64{1, 2, 3, 4, 5}, Baseline: []float64{1, 2, 3, 4, 5}}
	}
	cases := []struct {
		name    string
		mode    Mode
		in      []MetricInput
		verdict Verdict
		reason  []string
	}{
		{"kayenta, ungrouped only", ModeKayenta, []MetricInput{same("latency")}, VerdictFail,
			[]string{"score 0 (pass at 95, marginal at 75)", "1 metric(s) without a group count nowhere"}},
		{"kayenta, grouped", ModeKayenta, []MetricInput{same("latency", "app")}, VerdictPass, []string{"score 100", "groups: app 100"}},
		{"trimtab", ModeTrimtab, []MetricInput{same("latency")}, VerdictPass, []string{"score 100", "groups: default 100"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Judge(Config{Mode: tc.mode}, tc.in)
			require.NoError(t, err)
			require.Equal(t, tc.verdict, res.Verdict)
			for _, r := range tc.reason {
				require.Contains(t, res.Reason, r)
			}
		})
	}
}

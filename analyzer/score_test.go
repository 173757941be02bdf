package analyzer

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func mr(name string, c Classification, critical bool, groups ...string) MetricResult {
	return MetricResult{Name: name, Classification: c, Critical: critical, Groups: groups, Reason: name + " reason"}
}

// TestKayentaScorerSuite replays Kayenta's ScorerSuite in kayenta mode.
func TestKayentaScorerSuite(t *testing.T) {
	cases := []struct {
		name    string
		weights map[string]float64
		results []MetricResult
		want    float64
	}{
		{"single metric pass", nil, []MetricResult{mr("a", Pass, false, "g")}, 100},
		{"single metric fail", nil, []MetricResult{mr("a", High, false, "g")}, 0},
		{"single group nodata", nil, []MetricResult{mr("a", Nodata, false, "g")}, 0},
		{"two groups, one pass, one nodata", nil, []MetricResult{mr("a", Pass, false, "p"), mr("b", Pass, false, "p"), mr("c", Nodata, false, "n")}, 100},
		{"one group, two metrics", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, false, "g")}, 50},
		{"one group, three metrics", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, false, "g"), mr("c", Low, false, "g")}, 33.33},
		{"two groups, three metrics", map[string]float64{"group-1": 75, "group-2": 25},
			[]MetricResult{mr("a", Pass, false, "group-1"), mr("b", Pass, false, "group-1"), mr("c", High, false, "group-2")}, 75},
		{"two groups equal weight", map[string]float64{"group-1": 50, "group-2": 50},
			[]MetricResult{mr("a", Pass, false, "group-1"), mr("b", High, false, "group-1"), mr("c", High, false, "group-2")}, 25},
		{"two groups equal weight, one nodata", map[string]float64{"group-1": 50, "group-2": 50},
			[]MetricResult{mr("a", Pass, false, "group-1"), mr("b", Nodata, false, "group-1"), mr("c", High, false, "group-2")}, 50},
		{"critical failure forces 0", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, true, "g")}, 0},
		{"critical pass does not", nil, []MetricResult{mr("a", Low, false, "g"), mr("b", Pass, true, "g")}, 50},
		{"critical nodata forces 0", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", Nodata, true, "g")}, 0},
		{"unequal weights, four metrics", map[string]float64{"group1": 15, "group2": 85},
			[]MetricResult{mr("a", High, false, "group1"), mr("b", Low, false, "group1"), mr("c", Pass, false, "group1"), mr("d", High, false, "group2")}, 5},
		// From the reference (§6), not in the suite:
		{"error leaves the denominator", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", Error, false, "g")}, 100},
		{"all-error group counts as 100", map[string]float64{"a": 50, "b": 50}, []MetricResult{mr("a", High, false, "a"), mr("b", Error, false, "b")}, 50},
		{"absent weighted group still takes its share", map[string]float64{"ghost": 40}, []MetricResult{mr("a", Pass, false, "g")}, 60},
		{"muted failure is not scored", nil, []MetricResult{mr("a", Pass, false, "g"), {Name: "b", Classification: High, Critical: true, Muted: true, Groups: []string{"g"}}}, 100},
		{"ungrouped metric counts nowhere", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, false)}, 100},
		{"no results", nil, nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := score(Config{Mode: ModeKayenta, GroupWeights: c.weights}, c.results)
			require.Equal(t, c.want, got.Score)
		})
	}
}

// TestTrimtabScoring covers where trimtab mode departs from Kayenta.
func TestTrimtabScoring(t *testing.T) {
	cases := []struct {
		name    string
		weights map[string]float64
		results []MetricResult
		want    float64
	}{
		{"error counts as a failure", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", Error, false, "g")}, 50},
		{"all-error group scores 0, not 100", map[string]float64{"a": 50, "b": 50}, []MetricResult{mr("a", High, false, "a"), mr("ok", Pass, false, "a"), mr("b", Error, false, "b")}, 25},
		{"nodata group is left out and weights rescale", map[string]float64{"app": 60, "business": 40},
			[]MetricResult{mr("a", Pass, false, "app"), mr("b", High, false, "app"), mr("c", Pass, false, "business"), mr("d", Nodata, false, "infra")}, 70},
		{"absent weighted group does not cap the score", map[string]float64{"ghost": 40}, []MetricResult{mr("a", Pass, false, "g")}, 100},
		{"ungrouped metrics form the default group", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, false)}, 50},
		{"kayenta's nodata rule still applies", nil, []MetricResult{mr("a", Pass, false, "g"), mr("b", Nodata, false, "g")}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := score(Config{GroupWeights: c.weights}, c.results)
			require.Equal(t, c.want, got.Score)
		})
	}
}

func TestVerdictThresholds(t *testing.T) {
	cases := []struct {
		name   string
		groups []MetricResult
		want   Verdict
	}{
		{"100 passes", []MetricResult{mr("a", Pass, false, "g")}, VerdictPass},
		{"exactly marginal is Marginal", []MetricResult{mr("a", Pass, false, "g"), mr("b", Pass, false, "g"), mr("c", Pass, false, "g"), mr("d", High, false, "g")}, VerdictMarginal},
		{"below marginal fails", []MetricResult{mr("a", Pass, false, "g"), mr("b", High, false, "g")}, VerdictFail},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := score(Config{PassScore: ptr(95), MarginalScore: ptr(75)}, c.groups)
			require.Equal(t, c.want, got.Verdict)
		})
	}
	crit := score(Config{}, []MetricResult{mr("a", Pass, false, "g"), mr("b", High, true, "g")})
	require.True(t, crit.CriticalFailure)
	require.Equal(t, "Canary Failed: b reason", crit.Reason)
}

func TestRoundHalfUp2(t *testing.T) {
	cases := map[float64]float64{33.333333333: 33.33, 0.125: 0.13, 2.675: 2.68, 66.666666: 66.67, 100: 100, 0: 0, 12.345: 12.35, -1.005: -1.01}
	for in, want := range cases {
		require.Equal(t, want, roundHalfUp2(in), "%v", in)
	}
}

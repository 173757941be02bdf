package analyzer

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const exampleRequest = `{"mode": "kayenta",
 "config": {"confidence": 0.98, "tolerance": 0.25, "passScore": 95, "marginalScore": 75, "groupWeights": {"app": 60, "business": 40}},
 "metrics": [{"name": "latency_p99", "groups": ["app"], "direction": "increase",
              "critical": false, "mustHaveData": false, "nanStrategy": "remove",
              "confidence": 0.95, "tolerance": 0.1,
              "effectSize": {"measure": "meanRatio", "allowedIncrease": 1.0, "allowedDecrease": 1.0, "criticalIncrease": 1.0, "criticalDecrease": 1.0},
              "outliers": "keep",
              "thresholds": {"max": 500, "statistic": "p99"},
              "baseline": [1.0, 2.0, null, "NaN"], "canary": [1.1, 2.2]}]}`

func TestDecodeRequest(t *testing.T) {
	req, err := DecodeRequest([]byte(exampleRequest))
	require.NoError(t, err)
	require.Equal(t, ModeKayenta, req.Config.Mode)
	require.Equal(t, 0.98, req.Config.Confidence)
	require.Equal(t, 0.25, *req.Config.Tolerance)
	require.Equal(t, map[string]float64{"app": 60, "business": 40}, req.Config.GroupWeights)
	require.Len(t, req.Metrics, 1)
	m := req.Metrics[0]
	require.Equal(t, "latency_p99", m.Name)
	require.Equal(t, Increase, m.Direction)
	require.Equal(t, 0.95, m.Confidence)
	require.Equal(t, 0.1, *m.Tolerance)
	require.Equal(t, 1.0, *m.EffectSize.CriticalDecrease)
	require.Equal(t, 500.0, *m.Thresholds.Max)
	require.Equal(t, StatP99, m.Thresholds.Statistic)
	require.Len(t, m.Baseline, 4)
	require.True(t, math.IsNaN(m.Baseline[2]))
	require.True(t, math.IsNaN(m.Baseline[3]))
	require.Equal(t, []float64{1.1, 2.2}, m.Canary)
}

func TestDecodeRequestYAML(t *testing.T) {
	req, err := DecodeRequest([]byte(`
mode: trimtab
config:
  confidence: 0.95
metrics:
  - name: errors
    direction: increase
    baseline: [0.01, 0.02, null, "NaN", "-Inf"]
    canary: [0.02]
`))
	require.NoError(t, err)
	require.Equal(t, ModeTrimtab, req.Config.Mode)
	require.True(t, math.IsInf(req.Metrics[0].Baseline[4], -1))

	// YAML's own non-finite numbers are samples too; unquoted yes/no are
	// booleans as in YAML 1.1; aliases are expanded.
	req, err = DecodeRequest([]byte(`
metrics:
  - name: errors
    critical: yes
    mustHaveData: off
    baseline: &b [.nan, .inf, -.Inf, 1, 0x10]
    canary: *b
`))
	require.NoError(t, err)
	m := req.Metrics[0]
	require.True(t, m.Critical)
	require.False(t, m.MustHaveData)
	require.True(t, math.IsNaN(m.Baseline[0]))
	require.True(t, math.IsInf(m.Baseline[1], 1))
	require.True(t, math.IsInf(m.Baseline[2], -1))
	require.Equal(t, []float64{1, 16}, m.Baseline[3:])
	require.Len(t, m.Canary, 5)

	// What Kubernetes' YAML reader accepts, so must the judge.
	for name, in := range map[string]string{
		"y is a boolean":                  "metrics:\n  - name: a\n    critical: y\n",
		"a string tagged !!str stays one": "metrics:\n  - name: !!str on\n",
		"an alias as a key":               "metrics:\n  - name: a\n    groups: [&g app]\nconfig:\n  groupWeights:\n    *g : 50\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(in))
			require.NoError(t, err)
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	cases := []struct {
		name, input, want string
	}{
		{"empty input", ``, "input: empty"},
		{"not an object", `[1,2]`, "input: want an object, got a list"},
		{"broken JSON", `{"metrics": [`, "input: not valid JSON"},
		{"unknown top-level field", `{"metrics": [{"name": "a"}], "colour": 1}`, "colour: unknown field"},
		{"unknown metric field", `{"metrics": [{"name": "a", "tolerence": 0.1}]}`, "metrics[0].tolerence: unknown field"},
		{"unknown nested field", `{"metrics": [{"name": "a", "effectSize": {"measure": "meanRatio", "allowed": 1}}]}`, "metrics[0].effectSize.allowed: unknown field"},
		{"wrong type", `{"config": {"confidence": "high"}, "metrics": [{"name": "a"}]}`, `config.confidence: want a number, got a string "high"`},
		{"wrong sample type", `{"metrics": [{"name": "a", "canary": [1, true]}]}`, "metrics[0].canary[1]: want a number"},
		{"bad sample string", `{"metrics": [{"name": "a", "canary": ["fast"]}]}`, `metrics[0].canary[0]: want a number, null or "NaN"`},
		{"huge number", `{"metrics": [{"name": "a", "canary": [1e999]}]}`, "metrics[0].canary[0]: number 1e999 is out of range"},
		{"empty metrics", `{"metrics": []}`, "metrics: at least one metric is required"},
		{"missing metrics", `{"config": {}}`, "metrics: at least one metric is required"},
		{"confidence above 1", `{"config": {"confidence": 1.5}, "metrics": [{"name": "a"}]}`, "config.confidence: must be in (0,1)"},
		{"confidence zero", `{"metrics": [{"name": "a", "confidence": 0}]}`, "metrics[0].confidence: must be in (0,1)"},
		{"negative tolerance", `{"metrics": [{"name": "a", "tolerance": -1}]}`, "metrics[0].tolerance: must be a finite number ≥ 0"},
		{"unknown direction", `{"metrics": [{"name": "a", "direction": "up"}]}`, `metrics[0].direction: unknown value "up", want one of increase, decrease, either`},
		{"unknown mode", `{"mode": "netflix", "metrics": [{"name": "a"}]}`, `mode: unknown value "netflix"`},
		{"missing name", `{"metrics": [{"canary": [1]}]}`, "metrics[0].name: must not be empty"},
		{"duplicate name", `{"metrics": [{"name": "a"}, {"name": "a"}]}`, `metrics[1].name: "a" is already used by metrics[0]`},
		{"fractional minSamples", `{"metrics": [{"name": "a", "minSamples": 2.5}]}`, "metrics[0].minSamples: want a whole number"},
		{"marginal above pass", `{"config": {"passScore": 50, "marginalScore": 70}, "metrics": [{"name": "a"}]}`, "config.marginalScore"},
		{"thresholds min above max", `{"metrics": [{"name": "a", "thresholds": {"min": 5, "max": 1}}]}`, "metrics[0].thresholds: min 5 is above max 1"},
		{"null groups", `{"metrics": [{"name": "a", "groups": null}]}`, "metrics[0].groups: want a list of strings, got null"},
		{"bad weight", `{"config": {"groupWeights": {"app": "x"}}, "metrics": [{"name": "a"}]}`, "config.groupWeights.app: want a number"},
		{"weight above 100", `{"config": {"groupWeights": {"app": 120}}, "metrics": [{"name": "a"}]}`, "config.groupWeights.app: must be in [0,100]"},
		// Of several bad weights the first by name is reported, every time.
		{"two weights above 100", `{"config": {"groupWeights": {"zeta": 120, "app": 50, "beta": 300, "alpha": -1}}, "metrics": [{"name": "a"}]}`, "config.groupWeights.alpha: must be in [0,100], got -1"},
		{"duplicate top-level field", `{"metrics": [{"name": "a"}], "metrics": [{"name": "b"}]}`, "metrics: given twice; give each field once"},
		{"duplicate metric field", `{"metrics": [{"name": "a", "canary": [1], "canary": [2]}]}`, "metrics[0].canary: given twice"},
		{"duplicate nested field", `{"metrics": [{"name": "a", "thresholds": {"max": 1, "max": 2}}]}`, "metrics[0].thresholds.max: given twice"},
		{"duplicate weight", `{"config": {"groupWeights": {"app": 10, "app": 20}}, "metrics": [{"name": "a"}]}`, "config.groupWeights.app: given twice"},
		{"duplicate YAML key", "metrics:\n  - name: a\n    name: b\n", "metrics[0].name: given twice"},
		{"YAML NaN for a number", "config:\n  confidence: .nan\nmetrics:\n  - name: a\n", `config.confidence: want a number, got a string "NaN"`},
		{"YAML infinity for a tolerance", "metrics:\n  - name: a\n    tolerance: -.inf\n", `metrics[0].tolerance: want a number, got a string "-Inf"`},
		{"YAML number out of range", "metrics:\n  - name: a\n    canary: [1e400]\n", "metrics[0].canary[0]: number 1e400 is out of range"},
		{"YAML merge key", "base: &b {name: a}\nmetrics:\n  - <<: *b\n", "metrics[0]: line 3: merge keys (<<) are not supported"},
		{"YAML list as a key", "metrics:\n  - ? [a]\n    : 1\n", "metrics[0]: line 2: a key must be a plain value"},
		{"YAML aliases of a long string", "s: &s " + strings.Repeat("x", 10_000) + "\nl: [" + strings.Repeat("*s,", 2000) + "]\n", "its aliases expand to more than a few times its size"},
		{"two weights of the wrong type", `{"config": {"groupWeights": {"zeta": "x", "app": "y"}}, "metrics": [{"name": "a"}]}`, `config.groupWeights.app: want a number, got a string "y"`},
		{"an unquoted word that is no boolean", "metrics:\n  - name: a\n    critical: oN\n", `metrics[0].critical: want true or false, got a string "oN"`},
		{"YAML aliases expanding without bound", "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n", "its aliases expand to more than a few times its size"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(c.input))
			require.Error(t, err)
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestResultJSONWritesNonFiniteAsNull(t *testing.T) {
	res, err := Judge(Config{}, []MetricInput{{MetricConfig: MetricConfig{Name: "a"}, Baseline: rep(0, 10), Canary: rep(0, 3)}})
	require.NoError(t, err)
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(raw, &back))
	m := back["metrics"].([]any)[0].(map[string]any)
	require.Nil(t, m["estimate"])
	require.Equal(t, "Nodata", m["classification"])
	require.Equal(t, float64(3), m["canary"].(map[string]any)["count"])
}

// TestDecodeRequestRefusesWhatItWouldIgnore: input that was accepted while
// part of it was silently dropped or replaced, and errors that do not say
// what is wrong.
func TestDecodeRequestRefusesWhatItWouldIgnore(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  string
	}{
		{name: "a second YAML document is not read",
			input: "metrics:\n- name: a\n  baseline: [1, 2, 3]\n  canary: [1, 2, 3]\n---\nconfig:\n  passScore: 200\n",
			want:  "document"},
		{name: "a number beyond float64 says so",
			input: `{"config": {"confidence": 1e400}, "metrics": [{"name": "a", "baseline": [1], "canary": [1]}]}`,
			want:  "config.confidence: number 1e400 is out of range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(c.input))
			require.Error(t, err)
			require.ErrorContains(t, err, c.want)
		})
	}
}

// TestDecodeRequestKeepsAnExplicitOutlierFactorOfZero: Kayenta reads
// outliers.outlierFactor with 3.0 as the default only when it is absent; an
// explicit 0 gives the fences [P1, P99]. The decoder stored 0 in a plain
// float64, which resolve then took for "unset" and replaced by 3.
func TestDecodeRequestKeepsAnExplicitOutlierFactorOfZero(t *testing.T) {
	series := `[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]`
	cases := []struct {
		name      string
		factor    string
		wantCount int
	}{
		{"explicit 0: fences at P1 and P99 drop the ends", `, "outlierFactor": 0`, 18},
		{"absent: the default 3 keeps everything", ``, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(`{"mode": "kayenta", "metrics": [{"name": "a", "outliers": "remove"` + c.factor +
				`, "baseline": ` + series + `, "canary": ` + series + `}]}`))
			require.NoError(t, err)
			res, err := Judge(req.Config, req.Metrics)
			require.NoError(t, err)
			require.Equal(t, c.wantCount, res.Metrics[0].Canary.Count)
		})
	}
}

// TestDecodeRequestReadsReleaseDirections: a metric copied from a
// Release spells its direction as the CRD does.
func TestDecodeRequestReadsReleaseDirections(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Direction
	}{
		{"judge spelling", "increase", Increase},
		{"a Release's increase-is-bad", "increase-is-bad", Increase},
		{"a Release's decrease-is-bad", "decrease-is-bad", Decrease},
		{"either, the same in both", "either", Either},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := DecodeRequest([]byte(`{"metrics": [{"name": "a", "direction": "` + tc.in + `", "baseline": [1], "canary": [1]}]}`))
			require.NoError(t, err)
			require.Equal(t, tc.want, req.Metrics[0].Direction)
		})
	}
}

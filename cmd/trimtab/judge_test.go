package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const judgeInput = `{"mode": "kayenta",
 "config": {"confidence": 0.98, "tolerance": 0.25, "passScore": 95, "marginalScore": 75, "groupWeights": {"app": 60, "business": 40}},
 "metrics": [
  {"name": "latency_p99", "groups": ["app"], "direction": "increase",
   "baseline": [100, 101, 99, 102, 98, 100, 103, 97, 100, 101, null],
   "canary":   [130, 128, 135, 131, 129, 133, 127, 132, 130, 134, "NaN"]},
  {"name": "orders", "groups": ["business"], "direction": "decrease",
   "baseline": [50, 52, 49, 51, 50, 48, 53, 50],
   "canary":   [51, 50, 52, 49, 50, 51, 49, 52]}]}`

func runJudge(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"judge"}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestJudgeJSON(t *testing.T) {
	code, out, stderr := runJudge(t, judgeInput, "--input", "-")
	require.Equal(t, 0, code, stderr)
	var res struct {
		Score   float64 `json:"score"`
		Verdict string  `json:"verdict"`
		Metrics []struct {
			Name           string     `json:"name"`
			Classification string     `json:"classification"`
			Critical       bool       `json:"critical"`
			Estimate       float64    `json:"estimate"`
			CI             [2]float64 `json:"ci"`
			PValue         float64    `json:"pValue"`
			EffectSize     float64    `json:"effectSize"`
			Baseline       struct {
				Count int     `json:"count"`
				Mean  float64 `json:"mean"`
				P50   float64 `json:"p50"`
				P99   float64 `json:"p99"`
			} `json:"baseline"`
			Reason string `json:"reason"`
		} `json:"metrics"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	require.Equal(t, "Fail", res.Verdict)
	require.Equal(t, 40.0, res.Score) // app (60) has its only metric High; business (40) passes
	require.Len(t, res.Metrics, 2)
	lat := res.Metrics[0]
	require.Equal(t, "High", lat.Classification)
	require.Equal(t, 10, lat.Baseline.Count, "null dropped")
	require.InDelta(t, 30, lat.Estimate, 1)
	require.Less(t, lat.PValue, 0.01)
	require.Contains(t, lat.Reason, "latency_p99")
	require.Equal(t, "Pass", res.Metrics[1].Classification)
}

func TestJudgeModeFlagOverridesInput(t *testing.T) {
	code, out, stderr := runJudge(t, judgeInput, "--input", "-", "--mode", "trimtab")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, `"mode": "trimtab"`)
}

func TestJudgeTable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`
metrics:
  - name: latency_p99
    baseline: [100, 101, 99, 102, 98, 100, 103, 97, 100, 101]
    canary: [100, 102, 99, 101, 98, 100, 103, 97, 101, 100]
`), 0o600))
	code, out, stderr := runJudge(t, "", "--input", path, "--format", "table")
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.GreaterOrEqual(t, len(lines), 4)
	require.True(t, strings.HasPrefix(lines[0], "METRIC"))
	require.True(t, strings.HasPrefix(lines[1], "latency_p99"))
	// aligned: the RESULT column starts at the same offset in both rows
	require.Equal(t, strings.Index(lines[0], "RESULT"), strings.Index(lines[1], "Pass"))
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "verdict: Pass"), lines[len(lines)-1])
}

func TestJudgeErrors(t *testing.T) {
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"missing --input", "", nil, "--input is required"},
		{"unknown format", judgeInput, []string{"--input", "-", "--format", "xml"}, `--format: unknown "xml"`},
		{"unknown mode", judgeInput, []string{"--input", "-", "--mode", "netflix"}, `--mode: unknown "netflix"`},
		{"missing file", "", []string{"--input", "/nonexistent/in.json"}, "--input:"},
		{"unknown field", `{"metrics": [{"name": "a", "colour": 1}]}`, []string{"--input", "-"}, "metrics[0].colour: unknown field"},
		{"wrong type", `{"metrics": [{"name": "a", "critical": "yes"}]}`, []string{"--input", "-"}, "metrics[0].critical: want true or false"},
		{"empty metrics", `{"metrics": []}`, []string{"--input", "-"}, "metrics: at least one metric is required"},
		{"confidence outside (0,1)", `{"config": {"confidence": 1}, "metrics": [{"name": "a"}]}`, []string{"--input", "-"}, "config.confidence: must be in (0,1)"},
		{"unknown flag", "", []string{"--inptu", "-"}, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, stderr := runJudge(t, c.stdin, c.args...)
			require.Equal(t, exitUsage, code)
			require.Contains(t, stderr, c.want)
		})
	}
}

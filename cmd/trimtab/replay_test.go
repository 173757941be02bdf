package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func runReplay(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"replay"}, args...), strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// hourlySurgeTrace writes 12 hours of per-minute load that surges from 4
// to 20 rps for 10 minutes every hour.
func hourlySurgeTrace(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,rps\n")
	for m := range 12 * 60 {
		rps := 4.0
		if m%60 >= 30 && m%60 < 40 {
			rps = 20
		}
		fmt.Fprintf(&b, "%d,%.4f\n", 1_700_000_000+60*m, rps)
	}
	return writeFile(t, "trace.csv", b.String())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// cpuMetric is replayPolicy's one metric, the one replay drives.
const cpuMetric = `    - name: cpu
      kind: resource
      resource: cpu
      prometheus:
        query: up
      target:
        type: Utilization
        averageUtilization: 70
`

const replayPolicy = `apiVersion: trimtab.dev/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targetRef:
    name: web
  minReplicas: 2
  maxReplicas: 40
  metrics:
` + cpuMetric + `  predictive:
    mode: "on"
    horizonSeconds: 300
    seasonSeconds: 3600
`

func TestReplayJSON(t *testing.T) {
	trace := hourlySurgeTrace(t)
	policy := writeFile(t, "policy.yaml", replayPolicy)
	code, out, stderr := runReplay(t, "--trace", trace, "--policy", policy, "--capacity", "1", "--startup", "60s", "--format", "json")
	require.Equal(t, 0, code, stderr)
	var res map[string]map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &res))
	for _, run := range []string{"baseline", "policy"} {
		for _, key := range []string{"replicaSeconds", "violationSeconds", "scaleEvents", "peakReplicas"} {
			require.Contains(t, res[run], key, run)
		}
	}
	base, pol := res["baseline"], res["policy"]
	require.Greater(t, base["violationSeconds"].(float64), 0.0)
	require.Less(t, pol["violationSeconds"].(float64), base["violationSeconds"].(float64)/2, "the surge is learnt and anticipated")
	require.Equal(t, pol["replicaSeconds"].(float64)/base["replicaSeconds"].(float64), res["ratios"]["replicaSeconds"].(float64))
	require.GreaterOrEqual(t, pol["peakReplicas"].(float64), 20.0, "20 rps at 1 rps per replica")
}

func TestReplayTableAndBaselineEquality(t *testing.T) {
	trace := hourlySurgeTrace(t)
	policy := writeFile(t, "policy.yaml", strings.Replace(replayPolicy, `mode: "on"`, `mode: "off"`, 1))
	code, out, stderr := runReplay(t, "--trace", trace, "--policy", policy)
	require.Equal(t, 0, code, stderr)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 6)
	require.Equal(t, "violation: offered load above 1 rps per ready replica (its capacity at target)", lines[0])
	require.Contains(t, lines[1], "baseline (HPA)")
	require.Regexp(t, `violation-seconds\s+(\d+)\s+(\d+)\s+1\.000`, lines[3], "predictive off: policy is the baseline")
}

// TestReplayLatencyObjective: with --slo-latency a violation second is one
// whose modelled latency quantile exceeds the limit, and the output says
// which load per replica that is.
func TestReplayLatencyObjective(t *testing.T) {
	trace := hourlySurgeTrace(t)
	policy := writeFile(t, "policy.yaml", replayPolicy)
	type output struct {
		Baseline  struct{ ViolationSeconds, ReplicaSeconds float64 }
		Violation struct {
			MaxRPSPerReplica float64 `json:"maxRpsPerReplica"`
			Latency          *struct {
				Quantile    float64
				Limit       string
				Concurrency int
				ServiceTime string
			}
		}
	}
	replay := func(args ...string) output {
		code, out, stderr := runReplay(t, append([]string{"--trace", trace, "--policy", policy, "--format", "json"}, args...)...)
		require.Equal(t, 0, code, stderr)
		var o output
		require.NoError(t, json.Unmarshal([]byte(out), &o))
		return o
	}
	strict := replay()
	require.Nil(t, strict.Violation.Latency)
	require.Equal(t, 1.0, strict.Violation.MaxRPSPerReplica)

	// 8 requests at once, 1 rps at 70 % busy: 5.6 s each, saturated at
	// 1.43 rps; a p99 of 40 s holds up to about 1.29 rps, which tolerates
	// the first seconds of the surge before the HPA reacts.
	lenient := replay("--slo-latency", "p99=40s", "--concurrency", "8")
	require.Equal(t, 0.99, lenient.Violation.Latency.Quantile)
	require.Equal(t, "40s", lenient.Violation.Latency.Limit)
	require.Equal(t, "5.6s", lenient.Violation.Latency.ServiceTime)
	require.Greater(t, lenient.Violation.MaxRPSPerReplica, 1.0)
	require.Less(t, lenient.Violation.MaxRPSPerReplica, 8/5.6)
	require.Less(t, lenient.Baseline.ViolationSeconds, strict.Baseline.ViolationSeconds)
	require.Positive(t, lenient.Baseline.ViolationSeconds)
	require.Equal(t, strict.Baseline.ReplicaSeconds, lenient.Baseline.ReplicaSeconds, "the objective scores the replay, it does not change it")

	// One request at a time taking 90 ms is idle most of the time at
	// 1 rps: a p95 of 1 s holds up to about 8 rps.
	fast := replay("--slo-latency", "1s", "--service-time", "90ms")
	require.Equal(t, "90ms", fast.Violation.Latency.ServiceTime)
	require.Less(t, fast.Baseline.ViolationSeconds, lenient.Baseline.ViolationSeconds)

	code, out, stderr := runReplay(t, "--trace", trace, "--policy", policy, "--slo-latency", "p99=40s", "--concurrency", "8")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "violation: p99 latency above 40s (M/M/8 per replica, service time 5.6s, saturated at 1.429 rps): above 1.287 rps per ready replica\n")
}

// TestReplaySyncPeriod: the policy's spec.syncPeriodSeconds is the
// simulated sync period unless --sync says otherwise.
func TestReplaySyncPeriod(t *testing.T) {
	trace := hourlySurgeTrace(t)
	policy := writeFile(t, "policy.yaml", replayPolicy)
	fast := writeFile(t, "fast.yaml", strings.Replace(replayPolicy, "  minReplicas: 2", "  minReplicas: 2\n  syncPeriodSeconds: 5", 1))
	replay := func(args ...string) string {
		code, out, stderr := runReplay(t, append([]string{"--trace", trace, "--format", "json"}, args...)...)
		require.Equal(t, 0, code, stderr)
		return out
	}
	cases := []struct {
		name      string
		args      []string
		sameAs    []string
		different bool
	}{
		{"the policy's period is replayed", []string{"--policy", fast}, []string{"--policy", policy, "--sync", "5s"}, false},
		{"--sync wins over the policy's period", []string{"--policy", fast, "--sync", "15s"}, []string{"--policy", policy}, false},
		{"5 s syncs differ from 15 s ones", []string{"--policy", fast}, []string{"--policy", policy}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.different {
				require.NotEqual(t, replay(tc.sameAs...), replay(tc.args...))
			} else {
				require.Equal(t, replay(tc.sameAs...), replay(tc.args...))
			}
		})
	}
}

func TestReplayErrors(t *testing.T) {
	trace := hourlySurgeTrace(t)
	policy := writeFile(t, "policy.yaml", replayPolicy)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing flags", []string{"--trace", trace}, "--trace and --policy are required"},
		{"missing trace file", []string{"--trace", "/nonexistent/trace.csv", "--policy", policy}, "--trace: open /nonexistent/trace.csv"},
		{"malformed row", []string{"--trace", writeFile(t, "bad.csv", "timestamp,rps\n100,1\n160,lots\n"), "--policy", policy}, "line 3: rps \"lots\""},
		{"missing policy file", []string{"--trace", trace, "--policy", "/nonexistent/p.yaml"}, "--policy: open /nonexistent/p.yaml"},
		{"unknown field", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "  minReplicas: 2", "  minReplicas: 2\n  replicas: 3", 1))}, `unknown field "spec.replicas"`},
		{"invalid field", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "averageUtilization: 70", "averageUtilization: 0", 1))}, "spec.metrics[0].target.averageUtilization"},
		{"wrong kind", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "kind: ScalingPolicy", "kind: Release", 1))}, `kind: want "ScalingPolicy"`},
		{"a Release manifest names its kind, not its fields", []string{"--trace", trace, "--policy", filepath.Join("..", "..", "docs", "examples", "release-canary.yaml")},
			`kind: want "ScalingPolicy", got "Release": replay takes a ScalingPolicy manifest`},
		{"no utilization metric", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "type: Utilization\n        averageUtilization: 70", "type: AverageValue\n        averageValue: 500m", 1))}, "spec.metrics: replay needs a metric"},
		{"horizon shorter than startup", []string{"--trace", trace, "--policy", policy, "--startup", "10m"}, "spec.predictive.horizonSeconds (300) must be at least the start-up time"},
		{"mode: on unquoted", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, `mode: "on"`, "mode: on", 1))}, `quote it, e.g. mode: "on"`},
		{"start-up longer than the controller measures", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "    horizonSeconds: 300\n", "", 1)), "--startup", "45m"},
			"startup 45m0s is longer than the 30m0s the controller measures"},
		{"millisecond timestamps", []string{"--trace", writeFile(t, "ms.csv", "1700000000000,1\n1700000060000,1\n"), "--policy", policy}, "if it is in milliseconds, divide it by 1000"},
		{"bad capacity", []string{"--trace", trace, "--policy", policy, "--capacity", "0"}, "capacity must be a positive"},
		{"bad format", []string{"--trace", trace, "--policy", policy, "--format", "xml"}, "--format: must be json or table"},
		{"bad latency objective", []string{"--trace", trace, "--policy", policy, "--slo-latency", "p95<300ms"}, `--slo-latency "p95<300ms": want DURATION (a p95) or pQ=DURATION`},
		{"bad quantile", []string{"--trace", trace, "--policy", policy, "--slo-latency", "p100=1s"}, `the quantile "p100" must be p followed by a percentage above 0 and below 100`},
		{"concurrency without an objective", []string{"--trace", trace, "--policy", policy, "--concurrency", "4"}, "--concurrency models latency and needs --slo-latency"},
		{"service time without an objective", []string{"--trace", trace, "--policy", policy, "--service-time", "50ms"}, "--service-time models latency and needs --slo-latency"},
		{"zero concurrency", []string{"--trace", trace, "--policy", policy, "--slo-latency", "1s", "--concurrency", "0"}, "--concurrency: must be from 1 to 100000, got 0"},
		{"too much concurrency", []string{"--trace", trace, "--policy", policy, "--slo-latency", "1s", "--concurrency", "200000"}, "--concurrency: must be from 1 to 100000, got 200000"},
		{"zero service time", []string{"--trace", trace, "--policy", policy, "--slo-latency", "1s", "--service-time", "0s"}, "--service-time: must be positive, got 0s"},
		{"replica saturated below its capacity", []string{"--trace", trace, "--policy", policy, "--slo-latency", "1s", "--service-time", "2s"},
			"saturates at 0.5 rps, not above its capacity at target (1 rps)"},
		{"limit below an idle replica's latency", []string{"--trace", trace, "--policy", policy, "--slo-latency", "p99=100ms"},
			"latency objective p99 ≤ 100ms: an idle replica's p99 is already 3.223619s (service time 700ms)"},
		{"bad duration", []string{"--trace", trace, "--policy", policy, "--sync", "soon"}, "invalid argument"},
		{"sync period out of range", []string{"--trace", trace, "--policy", writeFile(t, "p.yaml", strings.Replace(replayPolicy, "  minReplicas: 2", "  minReplicas: 2\n  syncPeriodSeconds: 0", 1))}, "spec.syncPeriodSeconds: must be between 1 and 600, got 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runReplay(t, tc.args...)
			require.Equal(t, exitUsage, code, stderr)
			require.Contains(t, stderr, tc.want)
		})
	}
}

// TestReplayExamplePolicies replays the committed examples: both must load.
func TestReplayExamplePolicies(t *testing.T) {
	trace := hourlySurgeTrace(t)
	for _, p := range []string{"scalingpolicy.yaml", "scalingpolicy-predictive.yaml"} {
		code, out, stderr := runReplay(t, "--trace", trace, "--policy", filepath.Join("..", "..", "docs", "examples", p), "--format", "json")
		require.Equal(t, 0, code, stderr)
		var res struct {
			Policy struct{ PeakReplicas float64 }
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res))
		require.False(t, math.IsNaN(res.Policy.PeakReplicas))
		require.LessOrEqual(t, res.Policy.PeakReplicas, 20.0, p)
	}
}

// TestReplayNotesMissingRows: the step is the smallest gap between rows,
// so one stray row on a finer step than the rest makes every other step a
// missing row counted as 0; replay says so on stderr, and only then.
func TestReplayNotesMissingRows(t *testing.T) {
	policy := writeFile(t, "policy.yaml", replayPolicy)
	var perMinute, stray strings.Builder
	perMinute.WriteString("timestamp,rps\n")
	stray.WriteString("timestamp,rps\n")
	for i := range 120 {
		fmt.Fprintf(&perMinute, "%d,5\n", 1_700_000_000+60*i)
		fmt.Fprintf(&stray, "%d,5\n", 1_700_000_000+60*i)
		if i == 0 {
			fmt.Fprintf(&stray, "%d,5\n", 1_700_000_030)
		}
	}
	for _, tc := range []struct {
		name, trace, want string
	}{
		{"every row there: no note", perMinute.String(), ""},
		{"a stray row on a 30 s step", stray.String(), "note: the trace's step is 30 s (the smallest gap between rows, before line 3); 118 of its 239 steps have no row and count as 0 rps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runReplay(t, "--trace", writeFile(t, "trace.csv", tc.trace), "--policy", policy, "--format", "json")
			require.Equal(t, 0, code, stderr)
			if tc.want == "" {
				require.Empty(t, stderr)
				return
			}
			require.Contains(t, stderr, tc.want)
		})
	}
}

// TestReplayNotesDroppedMetrics: replay drives the policy's first
// Utilization metric only; it names the others on stderr, and its results
// are those of the policy without them.
func TestReplayNotesDroppedMetrics(t *testing.T) {
	trace := hourlySurgeTrace(t)
	const (
		cpu    = cpuMetric
		memory = `    - name: memory
      kind: resource
      resource: memory
      prometheus:
        query: up
      target:
        type: Utilization
        averageUtilization: 80
`
		queue = `    - name: queue-length
      kind: external
      prometheus:
        query: up
      target:
        type: AverageValue
        averageValue: "30"
`
	)
	withMetrics := func(metrics ...string) string {
		return writeFile(t, "policy.yaml", strings.Replace(replayPolicy, cpu, strings.Join(metrics, ""), 1))
	}
	_, alone, _ := runReplay(t, "--trace", trace, "--policy", withMetrics(cpu), "--format", "json")
	for _, tc := range []struct {
		name    string
		metrics []string
		want    string
	}{
		{"one metric: no note", []string{cpu}, ""},
		{"the metrics after the driven one", []string{cpu, memory, queue},
			`note: replay drives only the policy's first Utilization metric, "cpu", with the utilization of ready capacity; it leaves out "memory", "queue-length", which it has no simulated source for` + "\n"},
		{"a metric before the driven one", []string{queue, cpu},
			`note: replay drives only the policy's first Utilization metric, "cpu", with the utilization of ready capacity; it leaves out "queue-length", which it has no simulated source for` + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runReplay(t, "--trace", trace, "--policy", withMetrics(tc.metrics...), "--format", "json")
			require.Equal(t, 0, code, stderr)
			require.Equal(t, tc.want, stderr)
			require.JSONEq(t, alone, out, "the metrics left out change the replay")
		})
	}
}

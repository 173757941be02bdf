package collector_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/collectortest"
)

// constant answers every query with value, or err when set.
func constant(value float64, err error) collectortest.ProviderFunc {
	return func(_ context.Context, qs []collector.Query) []collector.Result {
		out := make([]collector.Result, len(qs))
		for i := range out {
			if err != nil {
				out[i].Err = err
				continue
			}
			out[i].Series = []collector.Series{{Samples: []collector.Sample{{Time: time.Unix(1, 0), Value: value}}}}
		}
		return out
	}
}

func metric(name, group string, src trimtabv1.MetricSource) collector.Query {
	return collector.Query{
		Owner:  collector.Owner{Kind: "release", Name: "checkout"},
		Metric: trimtabv1.Metric{Name: name, Group: group, MetricSource: src},
		Target: collector.Target{Namespace: "shop", Name: "checkout", Variant: collector.VariantCanary},
	}
}

var (
	promSrc  = trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "up"}}
	webSrc   = trimtabv1.MetricSource{Web: &trimtabv1.WebSource{URL: "http://127.0.0.1/x", JSONPath: "{.x}"}}
	cwSrc    = trimtabv1.MetricSource{CloudWatch: &trimtabv1.CloudWatchSource{Expression: "x"}}
	bothSrcs = trimtabv1.MetricSource{Prometheus: promSrc.Prometheus, Web: webSrc.Web}
)

func TestCollectorDispatch(t *testing.T) {
	hang := collectortest.ProviderFunc(func(ctx context.Context, qs []collector.Query) []collector.Result {
		time.Sleep(5 * time.Second) // ignores ctx on purpose
		return make([]collector.Result, len(qs))
	})
	c := collector.New(map[collector.Kind]collector.Provider{
		collector.KindPrometheus: constant(0, nil),
		collector.KindWeb:        hang,
	}, collector.Options{Timeout: 200 * time.Millisecond})
	res := c.Collect(context.Background(), []collector.Query{
		metric("zero", "app", promSrc),
		metric("no-source", "app", trimtabv1.MetricSource{}),
		metric("two-sources", "app", bothSrcs),
		metric("no-provider", "app", cwSrc),
		metric("hangs", "business", webSrc),
	})
	s, err := res[0].Latest()
	require.NoError(t, err)
	require.Equal(t, 0.0, s.Value, "zero is a value, not no data")

	require.ErrorIs(t, res[1].Err, collector.ErrPermanent)
	require.ErrorContains(t, res[1].Err, "set exactly one")
	require.ErrorContains(t, res[2].Err, "sets 2 of prometheus")
	require.ErrorIs(t, res[3].Err, collector.ErrPermanent)
	require.ErrorContains(t, res[3].Err, "no cloudwatch provider configured")
	require.ErrorIs(t, res[4].Err, collector.ErrRetryable)
	require.ErrorIs(t, res[4].Err, collector.ErrNoData)
	require.Equal(t, collector.ReasonTimeout, collector.ReasonOf(res[4].Err))
}

// TestPodRegexFor matches pod names with Prometheus' own =~ matcher.
func TestPodRegexFor(t *testing.T) {
	cases := []struct {
		name       string
		pods       []string
		match, not []string
	}{
		{name: "named pods only", pods: []string{"web-0", "web-1.a"},
			match: []string{"web-0", "web-1.a"}, not: []string{"web-1xa", "web-10", "web-0-x", "xweb-0"}},
		{name: "no pods matches no pod", pods: nil,
			not: []string{"", "web-7d9f-abcde", "web-0", "no", "(no pods listed)", "no pods listed x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			re, err := labels.NewFastRegexMatcher(collector.PodRegexFor(tc.pods))
			require.NoError(t, err)
			for _, p := range tc.match {
				require.True(t, re.MatchString(p), "should match %q", p)
			}
			for _, p := range tc.not {
				require.False(t, re.MatchString(p), "should not match %q", p)
			}
		})
	}
}

func TestRenderVariables(t *testing.T) {
	q := metric("m", "app", promSrc)
	q.Target.Revision = "7d9f"
	q.Interval = 90 * time.Second
	cases := []struct {
		name, text, want, err string
		podRegex              string
	}{
		{name: "all variables", text: "{{.Namespace}} {{.Name}} {{.Variant}} {{.Revision}} {{.Interval}} {{.PodRegex}}",
			want: "shop checkout canary 7d9f 1m30s checkout-[a-z0-9]+-[a-z0-9]+"},
		{name: "pod regex from pods", text: "{{.PodRegex}}", podRegex: collector.PodRegexFor([]string{"web-1.a", "web-2"}), want: "web-1[.]a|web-2"},
		{name: "no pods listed is not the default", text: "{{.PodRegex}}", podRegex: collector.PodRegexFor(nil), want: "(no pods listed)"},
		{name: "unknown variable", text: "{{.Cluster}}", err: "prometheus.query: template: prometheus.query:1:2: executing"},
		{name: "broken template", text: "{{.Name", err: "prometheus.query: invalid template"},
		{name: "plain text", text: "up", want: "up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := q
			q.Target.PodRegex = tc.podRegex
			got, err := collector.Render("prometheus.query", tc.text, q.Vars())
			if tc.err != "" {
				require.ErrorIs(t, err, collector.ErrPermanent)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// answer is a provider that answers every query with r, as one answer
// shared by the queries that ask the same question.
func answer(r collector.Result) collectortest.ProviderFunc {
	return func(_ context.Context, qs []collector.Query) []collector.Result {
		out := make([]collector.Result, len(qs))
		for i := range out {
			out[i] = r
		}
		return out
	}
}

func series(pod string, values ...float64) collector.Series {
	s := collector.Series{}
	if pod != "" {
		s.Labels = map[string]string{"pod": pod}
	}
	for i, v := range values {
		s.Samples = append(s.Samples, collector.Sample{Time: time.Unix(int64(i), 0), Value: v})
	}
	return s
}

// at is s with only its samples at the given indexes: what is left of it
// once its NaN are dropped.
func at(s collector.Series, idx ...int) collector.Series {
	kept := s
	kept.Samples = nil
	for _, i := range idx {
		kept.Samples = append(kept.Samples, s.Samples[i])
	}
	return kept
}

// TestNaNIsNoValue: 0/0 (a ratio without traffic) is missing data, whichever
// provider answered: NaN samples, and series left without samples, are
// dropped from Series and PerPod, and an answer left with nothing is no
// data, never a number.
func TestNaNIsNoValue(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name                 string
		answer               collector.Result
		wantSeries, wantPods []collector.Series
		wantErr              string
	}{
		{name: "NaN samples are dropped from the series and the pods' series",
			answer:     collector.Result{Series: []collector.Series{series("", nan, 3)}, PerPod: []collector.Series{series("a", 1, 1), series("b", 2, nan)}},
			wantSeries: []collector.Series{at(series("", nan, 3), 1)},
			wantPods:   []collector.Series{series("a", 1, 1), at(series("b", 2, nan), 0)}},
		{name: "a pod whose every sample is NaN is dropped",
			answer:     collector.Result{Series: []collector.Series{series("", 1)}, PerPod: []collector.Series{series("a", 1), series("b", nan)}},
			wantSeries: []collector.Series{series("", 1)},
			wantPods:   []collector.Series{series("a", 1)}},
		{name: "a series without samples is dropped",
			answer:     collector.Result{Series: []collector.Series{series("", 1), series("")}},
			wantSeries: []collector.Series{series("", 1)}},
		{name: "only NaN is no data",
			answer:  collector.Result{Series: []collector.Series{series("", nan)}, PerPod: []collector.Series{series("a", nan), series("b", nan)}},
			wantErr: `metric "error-ratio": no data: query returned only NaN (for example 0/0 without traffic)`},
		{name: "no series is no data",
			answer:  collector.Result{},
			wantErr: `metric "error-ratio": no data: query returned no series`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: answer(tc.answer)}, collector.Options{})
			res := c.Collect(context.Background(), []collector.Query{metric("error-ratio", "app", promSrc)})[0]
			if tc.wantErr != "" {
				collectortest.RequireError(t, res.Err, collector.ErrNoData, collector.ReasonNoData, tc.wantErr)
				require.EqualError(t, res.Err, tc.wantErr)
				return
			}
			require.NoError(t, res.Err)
			require.Equal(t, tc.wantSeries, res.Series)
			require.Equal(t, tc.wantPods, res.PerPod)
		})
	}
}

// TestNaNDropLeavesTheProvidersAnswerAlone: a provider may hand one answer
// to every query asking the same question, and keep it in its cache (the
// Prometheus provider does both). Dropping one query's NaN must change
// neither the other queries' answers nor the cached one.
func TestNaNDropLeavesTheProvidersAnswerAlone(t *testing.T) {
	nan := math.NaN()
	shared := collector.Result{Series: []collector.Series{series("a", nan), series("b", 1, nan, 2)}}
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: answer(shared)}, collector.Options{})
	res := c.Collect(context.Background(), []collector.Query{metric("error-ratio", "app", promSrc), metric("latency", "app", promSrc)})
	for i, r := range res {
		require.NoError(t, r.Err)
		require.Equal(t, []collector.Series{at(series("b", 1, nan, 2), 0, 2)}, r.Series, "query %d", i)
	}
	require.Len(t, shared.Series, 2)
	require.Len(t, shared.Series[1].Samples, 3)
	require.True(t, math.IsNaN(shared.Series[0].Samples[0].Value), "the provider's answer was changed")
	require.True(t, math.IsNaN(shared.Series[1].Samples[1].Value), "the provider's answer was changed")
}

func TestSeveralSeriesWhereOneIsExpectedAskToAggregate(t *testing.T) {
	_, err := collector.Result{Series: []collector.Series{series("", 1), series("", 2)}}.Latest()
	require.ErrorIs(t, err, collector.ErrPermanent)
	require.ErrorContains(t, err, "aggregate it")
}

// exercised returns a registry whose collection metrics all have samples.
func exercised(t *testing.T) (*prometheus.Registry, *collector.Metrics) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := collector.NewMetrics(reg)
	c := collector.New(map[collector.Kind]collector.Provider{
		collector.KindPrometheus: constant(0.42, nil),
		collector.KindWeb:        constant(0, collector.Errorf(collector.ReasonUnavailable, "down")),
	}, collector.Options{Metrics: m})
	c.Collect(context.Background(), []collector.Query{metric("error-ratio", "app", promSrc), metric("orders", "business", webSrc)})
	pm := m.Provider("scrape")
	pm.Request(30*time.Millisecond, 4)
	pm.CacheHits(2)
	pm.Samples(100)
	pm.BufferedSeries(12)
	return reg, m
}

func TestExportedMetrics(t *testing.T) {
	reg, m := exercised(t)
	require.Equal(t, 0.42, collectortest.Value(t, reg, "trimtab_metric_value",
		map[string]string{"namespace": "shop", "owner_kind": "release", "owner": "checkout", "metric": "error-ratio", "group": "app", "variant": "canary"}))
	require.Equal(t, 1.0, collectortest.Value(t, reg, "trimtab_collector_errors_total", map[string]string{"provider": "web", "reason": "unavailable"}))
	require.Equal(t, 2.0, collectortest.Value(t, reg, "trimtab_collector_queries_total", nil))

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	m.Forget("shop", collector.Owner{Kind: "release", Name: "checkout"})
	require.Zero(t, testutil.CollectAndCount(reg, "trimtab_metric_value"), "a deleted release leaves no stale values")
}

func TestExportedMetricsPassPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `apt-get install -y --no-install-recommends prometheus`")
	}
	reg, _ := exercised(t)
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var exposition bytes.Buffer
	enc := expfmt.NewEncoder(&exposition, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
	}
	require.Contains(t, exposition.String(), "trimtab_collector_request_duration_seconds_bucket")
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &exposition
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		t.Fatalf("promtool check metrics exit %d: %s", exit.ExitCode(), stderr.String())
	}
	require.NoError(t, err)
	require.Empty(t, stderr.String())
}

// TestAnswerWithoutOneValueDeletesTheExportedValue: a query that starts
// returning two series (someone dropped the sum() from the PromQL) has no
// one value to export; the last good number must not stay exported as if
// it were current. Several series are no error to the collector (a
// scaling metric's consumer sums them, or reads them per pod), so no error
// is counted: the consumer that needs one series says so.
func TestAnswerWithoutOneValueDeletesTheExportedValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := collector.NewMetrics(reg)
	twoSeries := false
	prov := collectortest.ProviderFunc(func(_ context.Context, qs []collector.Query) []collector.Result {
		out := make([]collector.Result, len(qs))
		s := collector.Series{Samples: []collector.Sample{{Time: time.Unix(1, 0), Value: 0.42}}}
		out[0].Series = []collector.Series{s}
		if twoSeries {
			out[0].Series = append(out[0].Series, s)
		}
		return out
	})
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: prov}, collector.Options{Metrics: m})
	q := metric("error-ratio", "app", promSrc)
	c.Collect(context.Background(), []collector.Query{q})
	require.Equal(t, 1, testutil.CollectAndCount(reg, "trimtab_metric_value"))

	twoSeries = true
	res := c.Collect(context.Background(), []collector.Query{q})
	_, err := res[0].Latest()
	require.ErrorIs(t, err, collector.ErrPermanent, "a consumer of one series sees an error")
	require.Zero(t, testutil.CollectAndCount(reg, "trimtab_metric_value"), "the stale 0.42 is still exported")
	require.Zero(t, testutil.CollectAndCount(reg, "trimtab_collector_errors_total"), "several series counted as an error")
}

// TestCanceledCycleIsNotATimeout: when the controller cancels a cycle (it
// lost its lease, or is shutting down) the queries still pending are
// canceled, not "did not answer within the cycle timeout": the reason label
// and the message would send an operator after a slow provider.
func TestCanceledCycleIsNotATimeout(t *testing.T) {
	block := collectortest.ProviderFunc(func(ctx context.Context, qs []collector.Query) []collector.Result {
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // answers late, as a provider may
		return make([]collector.Result, len(qs))
	})
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: block}, collector.Options{Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	res := c.Collect(ctx, []collector.Query{metric("error-ratio", "app", promSrc)})
	require.Equal(t, collector.ReasonCanceled, collector.ReasonOf(res[0].Err), "%v", res[0].Err)
	require.EqualError(t, res[0].Err, `metric "error-ratio": canceled (retryable, no data): collection was canceled before the prometheus provider answered: context canceled`)
}

// TestEveryErrorNamesItsMetricOnce: consumers show a collector error as it
// is, so Collect names the metric where the provider's error does not, and
// keeps the error's class.
func TestEveryErrorNamesItsMetricOnce(t *testing.T) {
	cases := []struct {
		name   string
		err    error
		class  error
		reason collector.Reason
		want   string
	}{
		{name: "a retryable error without the name gets it",
			err:   collector.Errorf(collector.ReasonUnavailable, "dial tcp 127.0.0.1:1: connection refused"),
			class: collector.ErrRetryable, reason: collector.ReasonUnavailable,
			want: `metric "error-ratio": unavailable (retryable, no data): dial tcp 127.0.0.1:1: connection refused`},
		{name: "a permanent error without the name gets it",
			err:   collector.Errorf(collector.ReasonBadQuery, "prometheus.query is not valid PromQL"),
			class: collector.ErrPermanent, reason: collector.ReasonBadQuery,
			want: `metric "error-ratio": prometheus.query is not valid PromQL`},
		{name: "an error naming it first is kept as it is",
			err:   fmt.Errorf("metric %q: %w", "error-ratio", collector.Errorf(collector.ReasonNoData, "query returned no series")),
			class: collector.ErrNoData, reason: collector.ReasonNoData,
			want: `metric "error-ratio": no data: query returned no series`},
		{name: "an error naming it after its class is kept as it is",
			err:   collector.Errorf(collector.ReasonNoData, "metric %q: inflight is not exposed by any of the 2 pods scraped", "error-ratio"),
			class: collector.ErrNoData, reason: collector.ReasonNoData,
			want: `no data: metric "error-ratio": inflight is not exposed by any of the 2 pods scraped`},
		{name: "an error naming another metric gets the name",
			err:   collector.Errorf(collector.ReasonNoData, "metric %q: query returned no series", "error-ratio-5m"),
			class: collector.ErrNoData, reason: collector.ReasonNoData,
			want: `metric "error-ratio": no data: metric "error-ratio-5m": query returned no series`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: constant(0, tc.err)}, collector.Options{})
			err := c.Collect(context.Background(), []collector.Query{metric("error-ratio", "app", promSrc)})[0].Err
			collectortest.RequireError(t, err, tc.class, tc.reason, tc.want)
			require.EqualError(t, err, tc.want)
		})
	}
}

package prometheus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/internal/testenv"
)

// prom is one real Prometheus for the package, scraping the apps below
// every second; it needs ~6 s before the first scrape.
var prom *testenv.Prometheus

// fleetSize is how many workloads the fleet app reports; tests ask about
// manyTargets of them, the benchmark about all.
const (
	fleetSize   = 1000
	manyTargets = 50
)

func TestMain(m *testing.M) {
	start := time.Now()
	// Each app is an HTTP server on 127.0.0.1 with its own port. Counters
	// grow linearly with time at a known rate, so rate() is exact.
	apps := []http.HandlerFunc{
		versionApp("v1", 10, [3]float64{0.5, 0.9, 1}, start), // primary
		versionApp("v2", 2, [3]float64{0.1, 0.5, 1}, start),  // canary
		fleetApp(start),
	}
	var targets []string
	for _, h := range apps {
		srv := httptest.NewServer(h)
		defer srv.Close()
		targets = append(targets, strings.TrimPrefix(srv.URL, "http://"))
	}
	var err error
	if prom, err = testenv.NewPrometheus(targets...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = prom.WaitUp(ctx, len(targets), 30*time.Second)
	cancel()
	if err != nil {
		prom.Stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// rate() over the tests' 3 s window needs the series to be older than that.
	time.Sleep(4 * time.Second)
	code := m.Run()
	prom.Stop()
	os.Exit(code)
}

// versionApp serves requests at perSecond and a latency histogram whose
// cumulative shares under 0.1, 0.5 and 1 s are shares.
func versionApp(version string, perSecond float64, shares [3]float64, start time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		n := perSecond * time.Since(start).Seconds()
		fmt.Fprintf(w, "# TYPE http_requests_total counter\nhttp_requests_total{namespace=\"shop\",version=%q} %g\n", version, n)
		fmt.Fprintf(w, "# TYPE http_request_duration_seconds histogram\n")
		for i, le := range []string{"0.1", "0.5", "1"} {
			fmt.Fprintf(w, "http_request_duration_seconds_bucket{namespace=\"shop\",version=%q,le=%q} %g\n", version, le, n*shares[i])
		}
		fmt.Fprintf(w, "http_request_duration_seconds_bucket{namespace=\"shop\",version=%q,le=\"+Inf\"} %g\n", version, n)
		fmt.Fprintf(w, "http_request_duration_seconds_sum{namespace=\"shop\",version=%q} %g\nhttp_request_duration_seconds_count{namespace=\"shop\",version=%q} %g\n", version, n/4, version, n)
	}
}

// fleetApp serves jobs_total for fleetSize namespaces; namespace ns-i
// (pod web-i-abc) runs i+1 jobs per second.
func fleetApp(start time.Time) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		el := time.Since(start).Seconds()
		fmt.Fprintln(w, "# TYPE jobs_total counter")
		for i := range fleetSize {
			fmt.Fprintf(w, "jobs_total{namespace=\"ns-%d\",pod=\"web-%d-abc\"} %g\n", i, i, float64(i+1)*el)
		}
	}
}

func newProvider(m *collector.Metrics) *prometheus.Provider {
	return prometheus.New(prometheus.Options{DefaultURL: prom.URL, Metrics: m, Step: time.Second})
}

func promQuery(tmpl, ns, variant, revision string) collector.Query {
	return collector.Query{
		Owner:    collector.Owner{Kind: "release", Name: "shop"},
		Metric:   trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: tmpl}}},
		Target:   collector.Target{Namespace: ns, Name: "web", Variant: collector.Variant(variant), Revision: revision},
		Interval: 3 * time.Second, // shorter than the series age at test start (see TestMain)
	}
}

func newMetrics() (*collector.Metrics, *promclient.Registry) {
	reg := promclient.NewRegistry()
	return collector.NewMetrics(reg), reg
}

func requests(t *testing.T, reg *promclient.Registry) float64 {
	t.Helper()
	return collectortest.Value(t, reg, "trimtab_collector_requests_total", map[string]string{"provider": "prometheus"})
}

func TestPrometheusVariantsSeparatedAndBatched(t *testing.T) {
	m, reg := newMetrics()
	p := newProvider(m)
	rate := `sum(rate(http_requests_total{namespace="{{.Namespace}}",version="{{.Revision}}"}[{{.Interval}}]))`
	p90 := `histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="{{.Namespace}}",version="{{.Revision}}"}[{{.Interval}}])))`
	qs := []collector.Query{
		promQuery(rate, "shop", "primary", "v1"),
		promQuery(rate, "shop", "canary", "v2"),
		promQuery(p90, "shop", "primary", "v1"),
		promQuery(p90, "shop", "canary", "v2"),
	}
	// One evaluation time for both collections, so the second is in the
	// same step whatever the wall clock does in between.
	at := time.Now()
	for i := range qs {
		qs[i].At = at
	}
	res := p.Collect(context.Background(), qs)
	cases := []struct {
		name string
		want float64
	}{
		{"primary request rate", 10},
		{"canary request rate", 2},
		{"primary p90", 0.5},
		{"canary p90", 0.9}, // 0.5 + 0.5*(0.9-0.5)/(1-0.5)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, res[i].Err)
			s, err := res[i].Latest()
			require.NoError(t, err)
			require.InEpsilon(t, tc.want, s.Value, 0.05)
		})
	}
	require.Equal(t, 2.0, requests(t, reg), "one request per template, not per target")

	// The same step again is answered from the cache.
	res = p.Collect(context.Background(), qs)
	require.NoError(t, res[0].Err)
	require.Equal(t, 2.0, requests(t, reg))
}

func TestPrometheusOneQueryForManyTargets(t *testing.T) {
	cases := []struct {
		name          string
		tmpl          string
		maxBatch      int
		maxQueryBytes int
		requests      float64
	}{
		{name: "equality matchers are grouped", tmpl: `sum(rate(jobs_total{namespace="{{.Namespace}}"}[{{.Interval}}]))`, requests: 1},
		{name: "pod regexes are tagged", tmpl: `sum(rate(jobs_total{pod=~"{{.PodRegex}}"}[{{.Interval}}]))`, requests: 1},
		{name: "MaxBatch splits by targets", tmpl: `sum(rate(jobs_total{namespace="{{.Namespace}}"}[{{.Interval}}]))`, maxBatch: 20, requests: 3},
		// The tagged form of 50 targets is about 6 KB: halved three
		// times, every part of 6 or 7 targets is under 1 KB.
		{name: "a combined query over MaxQueryBytes is halved", tmpl: `sum(rate(jobs_total{pod=~"{{.PodRegex}}"}[{{.Interval}}]))`, maxQueryBytes: 1000, requests: 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, reg := newMetrics()
			p := prometheus.New(prometheus.Options{DefaultURL: prom.URL, Metrics: m, Step: time.Second, MaxBatch: tc.maxBatch, MaxQueryBytes: tc.maxQueryBytes})
			res := p.Collect(context.Background(), fleetQueries(tc.tmpl, manyTargets))
			for i, r := range res {
				require.NoError(t, r.Err, "target %d", i)
				s, err := r.Latest()
				require.NoError(t, err)
				require.InEpsilon(t, float64(i+1), s.Value, 0.05, "target %d", i)
			}
			require.Equal(t, tc.requests, requests(t, reg))
		})
	}
}

func TestPrometheusBadInputs(t *testing.T) {
	m, _ := newMetrics()
	p := newProvider(m)
	down := promQuery(`up`, "shop", "primary", "")
	down.Metric.Prometheus.Address = "http://127.0.0.1:1"
	// Credentials in an address stay out of errors, which reach status
	// conditions, Events and logs.
	downWithSecrets := promQuery(`up`, "shop", "primary", "")
	downWithSecrets.Metric.Prometheus.Address = "http://alice:s3cret@127.0.0.1:1/?token=t0ken"
	u, err := url.Parse(prom.URL)
	require.NoError(t, err)
	u.User = url.UserPassword("alice", "s3cret")
	rejectedWithSecrets := promQuery(`sum(rate(http_requests_total[3s])) / on() http_requests_total`, "shop", "primary", "")
	rejectedWithSecrets.Metric.Prometheus.Address = u.String()
	res := collectortest.RunErrorCases(t, p, []collectortest.ErrorCase{
		{Name: "invalid PromQL is caught before sending", Query: promQuery(`sum(rate(http_requests_total[3s])`, "shop", "primary", ""),
			Class: collector.ErrPermanent, Reason: collector.ReasonBadQuery, Message: "not valid PromQL"},
		{Name: "unknown template variable", Query: promQuery(`up{x="{{.Cluster}}"}`, "shop", "primary", ""),
			Class: collector.ErrPermanent, Reason: collector.ReasonConfig, Message: "can't evaluate field Cluster"},
		{Name: "execution error from the server", Query: promQuery(`sum(rate(http_requests_total[3s])) / on() http_requests_total`, "shop", "primary", ""),
			Class: collector.ErrPermanent, Reason: collector.ReasonBadQuery, Message: "rejected the query"},
		{Name: "unreachable server", Query: down,
			Class: collector.ErrRetryable, Reason: collector.ReasonUnavailable, Message: "127.0.0.1:1"},
		{Name: "unreachable server with credentials and a token", Query: downWithSecrets,
			Class: collector.ErrRetryable, Reason: collector.ReasonUnavailable, Message: "prometheus at http://127.0.0.1:1/?<redacted>"},
		{Name: "query rejected by a server with credentials", Query: rejectedWithSecrets,
			Class: collector.ErrPermanent, Reason: collector.ReasonBadQuery, Message: "rejected the query"},
	})
	for i, r := range res {
		require.Contains(t, r.Err.Error(), `metric "m"`, "case %d names its metric", i)
		require.NotContains(t, r.Err.Error(), "s3cret", "case %d", i)
		require.NotContains(t, r.Err.Error(), "t0ken", "case %d", i)
	}
	require.ErrorIs(t, res[3].Err, collector.ErrNoData, "a provider that is down yields no data")
}

// TestPrometheusNaNAndEmptyAnswersAreNoData: what Prometheus answers for a
// ratio without traffic (0/0 is NaN) and for a metric that does not exist
// reaches consumers through the Collector as no data, and a NaN series
// beside a number is left out; batched or not.
func TestPrometheusNaNAndEmptyAnswersAreNoData(t *testing.T) {
	m, _ := newMetrics()
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindPrometheus: newProvider(m)}, collector.Options{})
	cases := []struct {
		name, tmpl string
		want       []collector.Series // without their samples' times
		err        string
	}{
		{name: "0/0 without traffic, batched", tmpl: `sum(rate(jobs_total{namespace="{{.Namespace}}"}[{{.Interval}}])) * 0 / 0`,
			err: `metric "m": no data: query returned only NaN (for example 0/0 without traffic)`},
		{name: "no series, batched", tmpl: `nonexistent_metric{namespace="{{.Namespace}}"}`,
			err: `metric "m": no data: query returned no series`},
		{name: "a NaN series beside a number", tmpl: `label_replace(vector(1), "part", "one", "", "") or label_replace(vector(0) / vector(0), "part", "none", "", "")`,
			want: []collector.Series{{Labels: map[string]string{"part": "one"}, Samples: []collector.Sample{{Value: 1}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.Collect(context.Background(), []collector.Query{promQuery(tc.tmpl, "ns-0", "primary", ""), promQuery(tc.tmpl, "ns-1", "primary", "")})
			for i, r := range res {
				if tc.err != "" {
					collectortest.RequireError(t, r.Err, collector.ErrNoData, collector.ReasonNoData, tc.err)
					require.EqualError(t, r.Err, tc.err)
					continue
				}
				require.NoError(t, r.Err)
				for j := range r.Series {
					for k := range r.Series[j].Samples {
						r.Series[j].Samples[k].Time = time.Time{}
					}
				}
				require.Equal(t, tc.want, r.Series, "query %d", i)
			}
		})
	}
}

// fleetQueries asks one template about the first n workloads of the fleet.
func fleetQueries(tmpl string, n int) []collector.Query {
	qs := make([]collector.Query, n)
	for i := range qs {
		qs[i] = promQuery(tmpl, fmt.Sprintf("ns-%d", i), "primary", "")
		qs[i].Target.PodRegex = collector.PodRegexFor([]string{fmt.Sprintf("web-%d-abc", i)})
	}
	return qs
}

// BenchmarkQueriesFor1000Workloads counts the Prometheus queries one
// collection of 1,000 workloads sharing a template costs: batched (this
// provider) against one query per object (MaxBatch 1, as KEDA does), both
// against the real Prometheus of TestMain.
func BenchmarkQueriesFor1000Workloads(b *testing.B) {
	tmpl := `sum(rate(jobs_total{namespace="{{.Namespace}}"}[{{.Interval}}]))`
	qs := fleetQueries(tmpl, fleetSize)
	for _, tc := range []struct {
		name     string
		maxBatch int
	}{{"batched", 0}, {"per-object", 1}} {
		b.Run(tc.name, func(b *testing.B) {
			reg := promclient.NewRegistry()
			m := collector.NewMetrics(reg)
			for b.Loop() {
				// A new provider per collection: no cache, every query is real.
				p := prometheus.New(prometheus.Options{DefaultURL: prom.URL, Metrics: m, Step: time.Second, MaxBatch: tc.maxBatch})
				for i, r := range p.Collect(context.Background(), qs) {
					if r.Err != nil {
						b.Fatalf("workload %d: %v", i, r.Err)
					}
				}
			}
			b.ReportMetric(collectortest.Value(b, reg, "trimtab_collector_requests_total", nil)/float64(b.N), "queries/op")
		})
	}
}

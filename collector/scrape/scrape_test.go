package scrape_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/scrape"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/internal/testenv"
)

// env is one API server for the package, started by the first test that
// needs it (each start costs ~3 s; fuzzing and unit tests need none).
var (
	env     *testenv.Env
	envErr  error
	envOnce sync.Once
)

func apiServer(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() { env, envErr = testenv.New() })
	if envErr != nil {
		t.Fatal(envErr)
	}
	return env
}

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	os.Exit(code)
}

// app is a pod's /metrics endpoint. There is no kubelet: every "pod" is an
// HTTP server on 127.0.0.1 with its own port, and the Pod object in the API
// server carries podIP 127.0.0.1 and that port in prometheus.io/port.
type app struct {
	srv         *httptest.Server
	mu          sync.Mutex
	body        string
	contentType string
}

func newApp(t *testing.T, handler http.HandlerFunc) *app {
	a := &app{contentType: "text/plain; version=0.0.4"}
	if handler == nil {
		handler = func(w http.ResponseWriter, _ *http.Request) {
			a.mu.Lock()
			defer a.mu.Unlock()
			w.Header().Set("Content-Type", a.contentType)
			_, _ = w.Write([]byte(a.body))
		}
	}
	a.srv = httptest.NewServer(handler)
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) set(body string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.body = body
}

func (a *app) port() int { return a.srv.Listener.Addr().(*net.TCPAddr).Port }

// createPod registers a running, ready pod whose metrics are served by a.
func createPod(t *testing.T, ns, name string, lbls map[string]string, a *app) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls,
			Annotations: map[string]string{"prometheus.io/port": strconv.Itoa(a.port())}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
	require.NoError(t, env.Client.Create(ctx, pod))
	pod.Status = corev1.PodStatus{
		Phase:      corev1.PodRunning,
		PodIP:      "127.0.0.1",
		PodIPs:     []corev1.PodIP{{IP: "127.0.0.1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}
	require.NoError(t, env.Client.Status().Update(ctx, pod))
}

// createNamespace creates a namespace named after prefix and returns its
// name: generated, because envtest runs no namespace controller, so a
// namespace a previous run (-count=2) deleted would still exist.
func createNamespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	require.NoError(t, apiServer(t).Client.Create(context.Background(), ns))
	return ns.Name
}

// clock is advanced by the test so rates are exact.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newProvider(t *testing.T, clk *clock, opts scrape.Options) *scrape.Provider {
	t.Helper()
	pods, err := kube.NewLeanPodReader(env.Config)
	require.NoError(t, err)
	opts.Pods = scrape.ClientLister{Reader: pods}
	opts.Now = clk.now
	if opts.MinInterval == 0 {
		opts.MinInterval = time.Millisecond
	}
	p, err := scrape.New(opts)
	require.NoError(t, err)
	return p
}

func query(ns, variant string, src trimtabv1.ScrapeSource) collector.Query {
	return collector.Query{
		Metric: trimtabv1.Metric{Name: "m", MetricSource: trimtabv1.MetricSource{Scrape: &src}},
		Target: collector.Target{Namespace: ns, Name: "web", Variant: collector.Variant(variant),
			Selector: labels.SelectorFromSet(labels.Set{"app": "web", "variant": variant})},
		Interval: time.Minute,
	}
}

// exposition is the text an app serves at scrape k (15 s apart): request
// counters growing by ok and errs per scrape, and a latency histogram
// whose cumulative buckets (le 0.1, 0.5, 1) grow by b1, b2, b3 per scrape.
func exposition(k int, ok, errs, b1, b2, b3, inflight int) string {
	return fmt.Sprintf(`# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",version="v1"} %d
http_requests_total{code="500",version="v1"} %d
# HELP http_request_duration_seconds Latency.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.1"} %d
http_request_duration_seconds_bucket{le="0.5"} %d
http_request_duration_seconds_bucket{le="1"} %d
http_request_duration_seconds_bucket{le="+Inf"} %d
http_request_duration_seconds_sum %d
http_request_duration_seconds_count %d
# HELP inflight_requests In flight.
# TYPE inflight_requests gauge
inflight_requests %d
`, ok*k, errs*k, b1*k, b2*k, b3*k, b3*k, b3*k/5, b3*k, inflight)
}

func TestScrapeRatesQuantilesPerVariant(t *testing.T) {
	ns := createNamespace(t, "scrape-variants")
	primary := []*app{newApp(t, nil), newApp(t, nil)}
	canary := newApp(t, nil)
	for i, a := range primary {
		createPod(t, ns, fmt.Sprintf("web-primary-%d", i), map[string]string{"app": "web", "variant": "primary"}, a)
	}
	createPod(t, ns, "web-canary-0", map[string]string{"app": "web", "variant": "canary"}, canary)

	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	reg := collector.NewMetrics(nil)
	p := newProvider(t, clk, scrape.Options{Metrics: reg})
	qs := []collector.Query{}
	for _, v := range []string{"primary", "canary"} {
		qs = append(qs,
			query(ns, v, trimtabv1.ScrapeSource{Metric: "http_requests_total", Kind: trimtabv1.ScrapeRate, MatchLabels: map[string]string{"code": "2.."}}),
			query(ns, v, trimtabv1.ScrapeSource{Metric: "http_requests_total", Kind: trimtabv1.ScrapeRatio, Denominator: "http_requests_total", MatchLabels: map[string]string{"code": "5.."}}),
			query(ns, v, trimtabv1.ScrapeSource{Metric: "http_request_duration_seconds", Kind: trimtabv1.ScrapeQuantile, Quantile: "0.9"}),
			query(ns, v, trimtabv1.ScrapeSource{Metric: "inflight_requests"}),
		)
	}
	var res []collector.Result
	for k := 0; k <= 4; k++ {
		// Primary: 10 ok/s and 1 error/s per pod; 50% of requests under
		// 0.1 s, 90% under 0.5 s. Canary: 10 ok/s, 3 errors/s, 10% under
		// 0.1 s, 50% under 0.5 s.
		for _, a := range primary {
			a.set(exposition(k, 150, 15, 50, 90, 100, 3))
		}
		canary.set(exposition(k, 150, 45, 10, 50, 100, 7))
		res = p.Collect(context.Background(), qs)
		if k == 0 {
			// One scrape cannot make a rate: explicit no data, never 0.
			require.ErrorIs(t, res[0].Err, collector.ErrNoData)
			require.NotErrorIs(t, res[0].Err, collector.ErrPermanent)
			require.Contains(t, res[0].Err.Error(), "two scrapes")
		}
		clk.advance(15 * time.Second)
	}
	// At k=4 the window (t-60s, t] holds scrapes 1..4: increase over 45 s,
	// extrapolated by one scrape interval to the window start (Prometheus's
	// extrapolatedRate), divided by 60 s: exactly the served rate.
	cases := []struct {
		name   string
		result collector.Result
		want   float64
		pods   int
	}{
		{"primary ok rate sums two pods", res[0], 20, 2},
		{"primary error ratio", res[1], 2.0 / 22, 2},
		{"primary p90 interpolated", res[2], 0.5, 2},
		{"primary inflight gauge", res[3], 6, 2},
		{"canary ok rate", res[4], 10, 1},
		{"canary error ratio", res[5], 3.0 / 13, 1},
		{"canary p90 interpolated", res[6], 0.5 + 0.5*(90-50)/(100-50), 1},
		{"canary inflight gauge", res[7], 7, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.result.Err)
			s, err := tc.result.Latest()
			require.NoError(t, err)
			require.InDelta(t, tc.want, s.Value, 1e-9)
			require.Len(t, tc.result.PerPod, tc.pods)
		})
	}
	require.InDelta(t, 10, res[0].PerPod[0].Samples[0].Value, 1e-9)
}

// TestScrapeRatioCountsPodsWithoutErrors: client libraries create a
// labelled counter (code="500") at its first increment, so a pod that has
// failed no request has no such series. Its requests still count in the
// denominator (the ratio was 1/11 here instead of 1/21), and a variant none
// of whose pods failed has an error ratio of 0, not no data.
func TestScrapeRatioCountsPodsWithoutErrors(t *testing.T) {
	ns := createNamespace(t, "scrape-ratio")
	failing, clean := newApp(t, nil), newApp(t, nil)
	createPod(t, ns, "web-primary-0", map[string]string{"app": "web", "variant": "primary"}, failing)
	createPod(t, ns, "web-primary-1", map[string]string{"app": "web", "variant": "primary"}, clean)
	canary := newApp(t, nil)
	createPod(t, ns, "web-canary-0", map[string]string{"app": "web", "variant": "canary"}, canary)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newProvider(t, clk, scrape.Options{})
	ratio := trimtabv1.ScrapeSource{Metric: "http_requests_total", Kind: trimtabv1.ScrapeRatio, Denominator: "http_requests_total", MatchLabels: map[string]string{"code": "5.."}}
	qs := []collector.Query{query(ns, "primary", ratio), query(ns, "canary", ratio)}
	okOnly := func(k int) string {
		return fmt.Sprintf("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} %d\n", 150*k)
	}
	var res []collector.Result
	for k := 0; k <= 4; k++ {
		failing.set(exposition(k, 150, 15, 50, 90, 100, 3)) // 10 ok/s, 1 error/s
		clean.set(okOnly(k))                                // 10 ok/s
		canary.set(okOnly(k))
		res = p.Collect(context.Background(), qs)
		clk.advance(15 * time.Second)
	}
	for i, want := range []float64{1.0 / 21, 0} {
		require.NoError(t, res[i].Err)
		s, err := res[i].Latest()
		require.NoError(t, err)
		require.InDelta(t, want, s.Value, 1e-9)
	}
}

// TestScrapeSummaryQuantile reads one quantile of a summary as a gauge, as
// the error for a summary read otherwise advises; without a quantile in
// matchLabels the sum of the quantiles would mean nothing and is refused.
func TestScrapeSummaryQuantile(t *testing.T) {
	ns := createNamespace(t, "scrape-summary")
	a := newApp(t, nil)
	createPod(t, ns, "web-canary-0", map[string]string{"app": "web", "variant": "canary"}, a)
	a.set("# TYPE rpc_duration_seconds summary\nrpc_duration_seconds{quantile=\"0.5\"} 0.1\nrpc_duration_seconds{quantile=\"0.99\"} 0.7\nrpc_duration_seconds_sum 10\nrpc_duration_seconds_count 50\n")
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newProvider(t, clk, scrape.Options{})
	res := p.Collect(context.Background(), []collector.Query{
		query(ns, "canary", trimtabv1.ScrapeSource{Metric: "rpc_duration_seconds", MatchLabels: map[string]string{"quantile": "0.99"}}),
		query(ns, "canary", trimtabv1.ScrapeSource{Metric: "rpc_duration_seconds"}),
	})
	require.NoError(t, res[0].Err)
	s, err := res[0].Latest()
	require.NoError(t, err)
	require.Equal(t, 0.7, s.Value)
	require.Equal(t, collector.ReasonBadQuery, collector.ReasonOf(res[1].Err))
	require.Contains(t, res[1].Err.Error(), `kind gauge with matchLabels {quantile: "0.99"}`)
}

func TestScrapeCounterResetAndOpenMetrics(t *testing.T) {
	ns := createNamespace(t, "scrape-reset")
	a := newApp(t, nil)
	a.contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	createPod(t, ns, "web-primary-0", map[string]string{"app": "web", "variant": "primary"}, a)
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newProvider(t, clk, scrape.Options{})
	q := query(ns, "primary", trimtabv1.ScrapeSource{Metric: "jobs_total", Kind: trimtabv1.ScrapeRate})
	// The process restarts between scrapes 2 and 3.
	values := []int{0, 150, 300, 50, 200}
	var res []collector.Result
	for _, v := range values {
		a.set(fmt.Sprintf(`# HELP jobs Jobs done.
# TYPE jobs counter
# UNIT jobs jobs
jobs_total{queue="a # b"} %d # {trace_id="abc"} 1.0 1700000000.000
jobs_created{queue="a # b"} 1.7e9
# EOF
`, v))
		res = p.Collect(context.Background(), []collector.Query{q})
		clk.advance(15 * time.Second)
	}
	require.NoError(t, res[0].Err)
	s, err := res[0].Latest()
	require.NoError(t, err)
	// PromQL: last-first (200-150) plus the value before the reset (300)
	// is 350 over 45 s of samples, extrapolated to the 60 s window.
	require.InDelta(t, 350.0*60/45/60, s.Value, 1e-9)
}

func TestScrapeSlowAndGarbagePods(t *testing.T) {
	ns := createNamespace(t, "scrape-faults")
	good := newApp(t, nil)
	good.set("# TYPE inflight_requests gauge\ninflight_requests 4\n")
	hang := newApp(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	garbage := newApp(t, nil)
	garbage.set("this is { not an exposition\n")
	createPod(t, ns, "good", map[string]string{"app": "web", "variant": "primary"}, good)
	createPod(t, ns, "hang", map[string]string{"app": "web", "variant": "primary", "only": "hang"}, hang)
	createPod(t, ns, "garbage", map[string]string{"app": "web", "variant": "primary", "only": "garbage"}, garbage)

	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newProvider(t, clk, scrape.Options{PodTimeout: 300 * time.Millisecond})
	all := query(ns, "primary", trimtabv1.ScrapeSource{Metric: "inflight_requests"})
	onlyHang := all
	onlyHang.Target.Selector = labels.SelectorFromSet(labels.Set{"only": "hang"})
	onlyGarbage := all
	onlyGarbage.Target.Selector = labels.SelectorFromSet(labels.Set{"only": "garbage"})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := p.Collect(ctx, []collector.Query{all, onlyHang, onlyGarbage})
	require.NoError(t, ctx.Err(), "a hanging pod must not stall the cycle")

	require.NoError(t, res[0].Err)
	s, err := res[0].Latest()
	require.NoError(t, err)
	require.Equal(t, 4.0, s.Value, "only the good pod contributes")
	require.Len(t, res[0].Warnings, 2)

	require.ErrorIs(t, res[1].Err, collector.ErrRetryable)
	require.ErrorIs(t, res[1].Err, collector.ErrNoData)
	require.Equal(t, collector.ReasonTimeout, collector.ReasonOf(res[1].Err))
	require.Contains(t, res[1].Err.Error(), "pod hang")

	require.ErrorIs(t, res[2].Err, collector.ErrRetryable)
	require.Equal(t, collector.ReasonBadResponse, collector.ReasonOf(res[2].Err))
	require.Contains(t, res[2].Err.Error(), "pod garbage")
}

func TestScrapeBadInputs(t *testing.T) {
	ns := createNamespace(t, "scrape-bad")
	a := newApp(t, nil)
	a.set("# TYPE inflight_requests gauge\ninflight_requests 4\n# TYPE jobs_total counter\njobs_total 3\n")
	createPod(t, ns, "web-0", map[string]string{"app": "web", "variant": "primary"}, a)
	noPort := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "noport", Labels: map[string]string{"app": "web", "variant": "canary"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}}}
	require.NoError(t, env.Client.Create(context.Background(), noPort))
	noPort.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	require.NoError(t, env.Client.Status().Update(context.Background(), noPort))

	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p := newProvider(t, clk, scrape.Options{})
	collectortest.RunErrorCases(t, p, []collectortest.ErrorCase{
		{Name: "rate of a gauge", Query: query(ns, "primary", trimtabv1.ScrapeSource{Metric: "inflight_requests", Kind: trimtabv1.ScrapeRate}),
			Class: collector.ErrPermanent, Reason: collector.ReasonBadQuery, Message: "exposes as a gauge; use kind gauge"},
		{Name: "quantile of a counter", Query: query(ns, "primary", trimtabv1.ScrapeSource{Metric: "jobs_total", Kind: trimtabv1.ScrapeQuantile, Quantile: "0.5"}),
			Class: collector.ErrPermanent, Reason: collector.ReasonBadQuery, Message: "use kind rate"},
		{Name: "quantile without value", Query: query(ns, "primary", trimtabv1.ScrapeSource{Metric: "x", Kind: trimtabv1.ScrapeQuantile}),
			Class: collector.ErrPermanent, Reason: collector.ReasonConfig, Message: "scrape.quantile"},
		{Name: "invalid matchLabels regex", Query: query(ns, "primary", trimtabv1.ScrapeSource{Metric: "x", MatchLabels: map[string]string{"code": "5(("}}),
			Class: collector.ErrPermanent, Reason: collector.ReasonConfig, Message: "scrape.matchLabels[code]"},
		{Name: "pod without metrics port", Query: query(ns, "canary", trimtabv1.ScrapeSource{Metric: "x"}),
			Class: collector.ErrPermanent, Reason: collector.ReasonConfig, Message: "container port named \"metrics\""},
		{Name: "no pods match", Query: query(ns, "baseline", trimtabv1.ScrapeSource{Metric: "x"}),
			Class: collector.ErrNoData, Reason: collector.ReasonNoData, Message: "no running, ready pods"},
		{Name: "metric not exposed", Query: query(ns, "primary", trimtabv1.ScrapeSource{Metric: "missing_total", Kind: trimtabv1.ScrapeRate}),
			Class: collector.ErrNoData, Reason: collector.ReasonNoData, Message: "not exposed by any of the 1 pods"},
	})
}

// TestRateWindowLongerThanBuffer: a counter growing 10/s, collected every
// 5 s (MinInterval, many consumers) for 15 minutes with a 15 minute
// interval. The ring keeps 120 points, 10 minutes of them: the rate must
// still be about 10/s, not the 6.6/s left when the missing first third of
// the window is treated as "the series started late".
func TestRateWindowLongerThanBuffer(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	start := clk.now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE jobs_total counter\njobs_total %g\n", 10*clk.now().Sub(start).Seconds()+1e6)
	}))
	defer srv.Close()
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", srv)}, Now: clk.now, MinInterval: 5 * time.Second})
	require.NoError(t, err)
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "jobs_total", Kind: trimtabv1.ScrapeRate})
	q.Interval = 15 * time.Minute
	var res collector.Result
	for range 15*12 + 1 {
		res = p.Collect(context.Background(), []collector.Query{q})[0]
		clk.advance(5 * time.Second)
	}
	s, err := res.Latest()
	require.NoError(t, err)
	require.InDelta(t, 10, s.Value, 0.1)
}

// TestRatioDenominatorMustBeACounter: kind ratio rates its denominator, so
// a gauge there is the documented permanent bad_query "rate of a gauge",
// not a silently meaningless number.
func TestRatioDenominatorMustBeACounter(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	k := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE errors_total counter\nerrors_total %d\n# TYPE inflight_requests gauge\ninflight_requests %d\n", k, 100*k)
	}))
	defer srv.Close()
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", srv)}, Now: clk.now, MinInterval: time.Millisecond})
	require.NoError(t, err)
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "errors_total", Kind: trimtabv1.ScrapeRatio, Denominator: "inflight_requests"})
	var res collector.Result
	for k = 0; k < 4; k++ {
		res = p.Collect(context.Background(), []collector.Query{q})[0]
		clk.advance(15 * time.Second)
	}
	require.ErrorIs(t, res.Err, collector.ErrPermanent, "got value %v", res.Series)
	require.Equal(t, collector.ReasonBadQuery, collector.ReasonOf(res.Err))
	require.ErrorContains(t, res.Err, "inflight_requests")
}

// TestRangeQueryPointsAreBounded: a range of more points than Prometheus
// allows (11,000) is refused, naming the fix, instead of costing an
// evaluation per point over every pod; one just below is answered.
func TestRangeQueryPointsAreBounded(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE inflight gauge\ninflight 3\n")
	}))
	defer srv.Close()
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", srv)}, Now: clk.now})
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		points int
		ok     bool
	}{
		{"11,000 points", 11_000, true},
		{"11,001 points", 11_001, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "inflight"})
			q.Range = &collector.Range{Start: clk.now().Add(-time.Duration(tc.points-1) * time.Millisecond), End: clk.now(), Step: time.Millisecond}
			res := p.Collect(context.Background(), []collector.Query{q})[0]
			if tc.ok {
				require.NoError(t, res.Err)
				return
			}
			require.Equal(t, collector.ReasonBadQuery, collector.ReasonOf(res.Err), "%v", res.Err)
			require.ErrorContains(t, res.Err, "a range of 11001 points (11s at a 1ms step) is more than 11000; widen the step")
		})
	}
}

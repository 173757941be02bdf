package scrape_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/scrape"
	"github.com/trimtab/trimtab/internal/kube"
)

type podList []kube.LeanPod

func (l podList) ListPods(context.Context, string, labels.Selector) ([]kube.LeanPod, error) {
	return l, nil
}

func leanPod(name string, srv *httptest.Server) kube.LeanPod {
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	return kube.LeanPod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name),
			Annotations: map[string]string{"prometheus.io/port": strconv.Itoa(port)}},
		Status: kube.LeanPodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
			Conditions: []kube.LeanPodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// TestFailedPodIsLeftOut: a pod that fails to scrape is left out (named in
// Warnings), not summed from what it buffered at its last success.
func TestFailedPodIsLeftOut(t *testing.T) {
	var broken atomic.Bool
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE inflight gauge\ninflight 10\n")
	}))
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if broken.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "# TYPE inflight gauge\ninflight 20\n")
	}))
	defer bad.Close()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", good), leanPod("web-b", bad)}, Now: clk.now})
	require.NoError(t, err)
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "inflight"})
	res := p.Collect(context.Background(), []collector.Query{q})[0]
	s, err := res.Latest()
	require.NoError(t, err)
	require.Equal(t, 30.0, s.Value)

	clk.advance(15 * time.Second)
	broken.Store(true)
	res = p.Collect(context.Background(), []collector.Query{q})[0]
	s, err = res.Latest()
	require.NoError(t, err)
	t.Logf("value %v, per pod %d series, warnings %q", s.Value, len(res.PerPod), res.Warnings)
	require.Equal(t, 10.0, s.Value, "web-b failed to scrape this cycle and must be left out")
}

// TestConcurrentScrapesDoNotFakeAReset: two consumers (two release
// workers, or a release's analysis and a ScalingPolicy) collect at once and
// both find the pod due. Scraped twice, the response generated first could
// arrive last and be appended after the newer one: a counter going back,
// which rate() counts as a reset. The second consumer takes the first's
// scrape instead.
func TestConcurrentScrapesDoNotFakeAReset(t *testing.T) {
	var n atomic.Int32
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var v int
		switch k := n.Add(1); k {
		case 1:
			v = 0
		case 2:
			v = 150
		case 3: // consumer A at t=30: generated first, delivered last
			v = 300
			close(arrived)
			<-release
		default:
			v = 450
		}
		fmt.Fprintf(w, "# TYPE jobs_total counter\njobs_total %d\n", v)
	}))
	defer srv.Close()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", srv)}, Now: clk.now})
	require.NoError(t, err)
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "jobs_total", Kind: trimtabv1.ScrapeRate})
	collect := func() collector.Result { return p.Collect(context.Background(), []collector.Query{q})[0] }

	collect() // t=0
	clk.advance(15 * time.Second)
	collect() // t=15
	clk.advance(15 * time.Second)
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { collect(); close(doneA) }() // consumer A
	<-arrived
	go func() { collect(); close(doneB) }() // consumer B: the endpoint is still due
	time.Sleep(100 * time.Millisecond)      // B joins A's scrape (or runs its own)
	clk.advance(time.Millisecond)
	close(release)
	<-doneA
	<-doneB
	clk.advance(15 * time.Second)
	res := collect() // t=45
	s, err := res.Latest()
	require.NoError(t, err)
	// Without the duplicate, PromQL over 0,150,300,450 (extrapolation stops
	// at the counter's zero) gives 450/60 = 7.5/s; the app serves 10/s.
	t.Logf("rate at t=45: %v", s.Value)
	require.InDelta(t, 7.5, s.Value, 0.1)
	require.Equal(t, int32(4), n.Load(), "consumer B took A's scrape instead of its own")
}

// TestTokenInPathRedacted: a token in scrape.path's query string stays out
// of errors and Warnings, as the web provider's does.
func TestTokenInPathRedacted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", srv)}, Now: clk.now})
	require.NoError(t, err)
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "inflight", Path: "/metrics?token=s3cr3t"})
	res := p.Collect(context.Background(), []collector.Query{q})[0]
	require.Error(t, res.Err)
	require.NotContains(t, res.Err.Error(), "s3cr3t")
}

// TestScrapeURLTokenNotInErrorForUnparsablePath: a prometheus.io/path
// annotation written as a YAML block scalar ends in a newline, which makes
// the scrape URL unparsable. The error, which goes into conditions and
// Events, must not quote the token in its query string.
func TestScrapeURLTokenNotInErrorForUnparsablePath(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	pod := leanPod("web-a", srv)
	pod.Annotations["prometheus.io/path"] = "/metrics?token=s3cr3t\n"
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p, err := scrape.New(scrape.Options{Pods: podList{pod}, Now: clk.now})
	require.NoError(t, err)
	res := p.Collect(context.Background(), []collector.Query{query("shop", "primary", trimtabv1.ScrapeSource{Metric: "x"})})[0]
	require.Error(t, res.Err)
	require.NotContains(t, res.Err.Error(), "s3cr3t")
	require.NotContains(t, strings.Join(res.Warnings, "\n"), "s3cr3t")
}

// TestNaNGaugeReachesNoConsumer: a pod whose gauge reads NaN (an
// exporter's 0/0) hands no consumer a NaN through the Collector: not the
// variant's value, nor a pod's value in a range, which the variant's
// value at that time (NaN too) does not hide.
func TestNaNGaugeReachesNoConsumer(t *testing.T) {
	var ratio atomic.Value
	ratio.Store("NaN")
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "# TYPE cache_hit_ratio gauge\ncache_hit_ratio %s\n", ratio.Load())
	}))
	defer flaky.Close()
	steady := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# TYPE cache_hit_ratio gauge\ncache_hit_ratio 0.5\n")
	}))
	defer steady.Close()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	p, err := scrape.New(scrape.Options{Pods: podList{leanPod("web-a", flaky), leanPod("web-b", steady)}, Now: clk.now})
	require.NoError(t, err)
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindScrape: p}, collector.Options{})
	q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "cache_hit_ratio"})
	t0 := clk.now()
	res := c.Collect(context.Background(), []collector.Query{q})[0]
	require.ErrorIs(t, res.Err, collector.ErrNoData, "NaN handed out as a value: %+v", res.Series)

	clk.advance(15 * time.Second)
	t1 := clk.now()
	ratio.Store("0.25")
	q.Range = &collector.Range{Start: t0, End: t1, Step: 15 * time.Second}
	res = c.Collect(context.Background(), []collector.Query{q})[0]
	require.NoError(t, res.Err)
	require.Equal(t, []collector.Series{{Samples: []collector.Sample{{Time: t1, Value: 0.75}}}}, res.Series)
	require.Equal(t, []collector.Series{
		{Labels: map[string]string{"pod": "web-a"}, Samples: []collector.Sample{{Time: t1, Value: 0.25}}},
		{Labels: map[string]string{"pod": "web-b"}, Samples: []collector.Sample{{Time: t0, Value: 0.5}, {Time: t1, Value: 0.5}}},
	}, res.PerPod)
}

// TestNaNGaugeIsNamed: a variant without a value because a pod's gauge
// reads NaN says so, naming the metric and the pods, rather than that no
// series match; a gauge that matchLabels leave out still says that.
func TestNaNGaugeIsNamed(t *testing.T) {
	serve := func(body string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, body) }))
		t.Cleanup(srv.Close)
		return srv
	}
	nan := `# TYPE cache_hit_ratio gauge
cache_hit_ratio{cache="sessions"} NaN
cache_hit_ratio{cache="pages"} 0.5
`
	steady := "# TYPE cache_hit_ratio gauge\ncache_hit_ratio{cache=\"sessions\"} 0.5\n"
	cases := []struct {
		name        string
		pods        podList
		matchLabels map[string]string
		message     string
		notMessage  []string
	}{
		{name: "one pod of two", pods: podList{leanPod("web-b", serve(steady)), leanPod("web-a", serve(nan))},
			message:    `no data: metric "hits": cache_hit_ratio reads NaN (an exporter's 0/0, say) on pod web-a, which makes the sum over the pods NaN`,
			notMessage: []string{"web-b", "no series"}},
		{name: "the series matchLabels pick", pods: podList{leanPod("web-a", serve(nan)), leanPod("web-b", serve(steady))}, matchLabels: map[string]string{"cache": "sessions"},
			message: "cache_hit_ratio reads NaN (an exporter's 0/0, say) on pod web-a,"},
		{name: "a few pods of many, sorted", pods: podList{leanPod("web-e", serve(nan)), leanPod("web-d", serve(nan)), leanPod("web-c", serve(steady)),
			leanPod("web-b", serve(nan)), leanPod("web-a", serve(nan))},
			message: "cache_hit_ratio reads NaN (an exporter's 0/0, say) on pods web-a, web-b, web-d and 1 more,", notMessage: []string{"web-c", "web-e"}},
		{name: "matchLabels leave the NaN series out", pods: podList{leanPod("web-a", serve(nan))}, matchLabels: map[string]string{"cache": "users"},
			message: `no data: metric "hits": no series of cache_hit_ratio match matchLabels`, notMessage: []string{"NaN"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			p, err := scrape.New(scrape.Options{Pods: tc.pods, Now: clk.now})
			require.NoError(t, err)
			c := collector.New(map[collector.Kind]collector.Provider{collector.KindScrape: p}, collector.Options{})
			q := query("shop", "primary", trimtabv1.ScrapeSource{Metric: "cache_hit_ratio", MatchLabels: tc.matchLabels})
			q.Metric.Name = "hits"
			res := c.Collect(context.Background(), []collector.Query{q})[0]
			require.ErrorIs(t, res.Err, collector.ErrNoData)
			require.ErrorContains(t, res.Err, tc.message)
			for _, s := range tc.notMessage {
				require.NotContains(t, res.Err.Error(), s)
			}
		})
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/secretheaders"
	"github.com/trimtab/trimtab/collector/web"
	"github.com/trimtab/trimtab/internal/testenv"
)

func webQuery(name, url, path string, secret string, timeout int32) collector.Query {
	src := &trimtabv1.WebSource{URL: url, JSONPath: path, TimeoutSeconds: timeout}
	if secret != "" {
		src.HeadersSecretRef = &trimtabv1.LocalObjectReference{Name: secret}
	}
	return collector.Query{
		Metric: trimtabv1.Metric{Name: name, Group: "business", Direction: trimtabv1.DecreaseIsBad, MetricSource: trimtabv1.MetricSource{Web: src}},
		Target: collector.Target{Namespace: "shop", Name: "checkout", Variant: collector.VariantCanary, Revision: "v2"},
	}
}

func TestWebBusinessMetrics(t *testing.T) {
	env := testenv.Start(t)
	ctx := context.Background()
	require.NoError(t, env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}))
	require.NoError(t, env.Client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "stats-token"},
		Data: map[string][]byte{"X-Token": []byte("s3cr3t-header")}}))

	var hits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/stats/{variant}", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("X-Token") != "s3cr3t-header" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"variant":%q,"orders":{"perMinute":120,"asText":"12.5","nothing":null,"byRegion":{"eu":1},"inf":"+Inf","minusInf":"-Infinity","huge":"1e999"}}`, r.PathValue("variant"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	mux.HandleFunc("/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	mux.HandleFunc("/timeout", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusRequestTimeout) })
	srv := httptest.NewServer(mux) // 127.0.0.1, one port for every endpoint
	t.Cleanup(srv.Close)

	p := web.New(web.Options{Secrets: secretheaders.ClientGetter{Reader: env.Client}, Backoff: collector.Backoff{Attempts: 2, Base: 10 * time.Millisecond}})
	stats := srv.URL + "/stats/{{.Variant}}?token=url-secret"
	cases := []struct {
		name    string
		q       collector.Query
		want    float64
		class   error
		reason  collector.Reason
		message string
	}{
		{name: "orders per minute", q: webQuery("orders", stats, "{.orders.perMinute}", "stats-token", 5), want: 120},
		{name: "numeric string", q: webQuery("orders-text", stats, "{.orders.asText}", "stats-token", 5), want: 12.5},
		{name: "missing JSONPath", q: webQuery("missing", stats, "{.orders.perHour}", "stats-token", 5),
			class: collector.ErrPermanent, reason: collector.ReasonBadQuery, message: "matches nothing"},
		{name: "invalid JSONPath", q: webQuery("invalid", stats, "{.orders[", "stats-token", 5),
			class: collector.ErrPermanent, reason: collector.ReasonConfig, message: "web.jsonPath"},
		{name: "object instead of number", q: webQuery("object", stats, "{.orders.byRegion}", "stats-token", 5),
			class: collector.ErrPermanent, reason: collector.ReasonBadQuery, message: "not a number"},
		{name: "string instead of number", q: webQuery("string", stats, "{.variant}", "stats-token", 5),
			class: collector.ErrPermanent, reason: collector.ReasonBadQuery, message: `the string "canary"`},
		{name: "null is no data", q: webQuery("null", stats, "{.orders.nothing}", "stats-token", 5),
			class: collector.ErrNoData, reason: collector.ReasonNoData, message: "selects null"},
		// An infinite business metric is a broken answer, not a value: the
		// path is right, and the next answer may be finite.
		{name: "+Inf is a broken answer", q: webQuery("inf", stats, "{.orders.inf}", "stats-token", 5),
			class: collector.ErrRetryable, reason: collector.ReasonBadResponse,
			message: `metric "inf": GET ` + srv.URL + `/stats/canary?<redacted>: bad_response (retryable, no data): web.jsonPath {.orders.inf} selects the string "+Inf", which is infinite: the endpoint must serve a finite number`},
		{name: "-Infinity is a broken answer", q: webQuery("minus-inf", stats, "{.orders.minusInf}", "stats-token", 5),
			class: collector.ErrRetryable, reason: collector.ReasonBadResponse, message: `web.jsonPath {.orders.minusInf} selects the string "-Infinity", which is infinite`},
		{name: "a number beyond a float64 is a broken answer", q: webQuery("huge", stats, "{.orders.huge}", "stats-token", 5),
			class: collector.ErrRetryable, reason: collector.ReasonBadResponse, message: `web.jsonPath {.orders.huge} selects the string "1e999", which is infinite`},
		{name: "missing headers", q: webQuery("unauthorized", stats, "{.orders.perMinute}", "", 5),
			class: collector.ErrPermanent, reason: collector.ReasonConfig, message: "HTTP 401"},
		{name: "missing secret", q: webQuery("nosecret", stats, "{.orders.perMinute}", "nope", 5),
			class: collector.ErrPermanent, reason: collector.ReasonConfig, message: "Secret shop/nope not found"},
		{name: "slow endpoint", q: webQuery("slow", srv.URL+"/slow", "{.x}", "", 1),
			class: collector.ErrRetryable, reason: collector.ReasonTimeout, message: "no answer within 1s"},
		{name: "endpoint down", q: webQuery("down", "http://127.0.0.1:1/stats", "{.x}", "", 1),
			class: collector.ErrRetryable, reason: collector.ReasonUnavailable, message: "connection refused"},
		{name: "bad gateway", q: webQuery("gateway", srv.URL+"/broken", "{.x}", "", 1),
			class: collector.ErrRetryable, reason: collector.ReasonUnavailable, message: "HTTP 502"},
		{name: "request timeout (a proxy's 408) is retried", q: webQuery("timeout", srv.URL+"/timeout", "{.x}", "", 1),
			class: collector.ErrRetryable, reason: collector.ReasonUnavailable, message: "HTTP 408"},
	}
	qs := make([]collector.Query, len(cases))
	for i, tc := range cases {
		qs[i] = tc.q
	}
	res := p.Collect(ctx, qs)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := res[i]
			if tc.class == nil {
				require.NoError(t, r.Err)
				s, err := r.Latest()
				require.NoError(t, err)
				require.Equal(t, tc.want, s.Value)
				return
			}
			collectortest.RequireError(t, r.Err, tc.class, tc.reason, tc.message)
			require.NotContains(t, r.Err.Error(), "url-secret", "query strings are redacted")
			require.NotContains(t, r.Err.Error(), "s3cr3t-header", "header values never appear")
		})
	}
	// Nine queries share one URL and header set: one request, not nine; the
	// request without headers is its own (401, permanent, not retried).
	require.Equal(t, int32(2), hits.Load())

	// A controller whose ServiceAccount may not read the Secret cannot get
	// it by retrying: the error says what to grant, as a permanent config
	// error.
	t.Run("a Secret the controller may not read", func(t *testing.T) {
		nobody, err := env.ClientAs("web-nobody")
		require.NoError(t, err)
		p := web.New(web.Options{Secrets: secretheaders.ClientGetter{Reader: nobody}})
		res := p.Collect(ctx, []collector.Query{webQuery("orders", stats, "{.orders.perMinute}", "stats-token", 5)})[0]
		require.ErrorIs(t, res.Err, collector.ErrPermanent)
		require.Equal(t, collector.ReasonConfig, collector.ReasonOf(res.Err))
		require.ErrorContains(t, res.Err, "web.headersSecretRef: the controller may not read Secret shop/stats-token: grant its ServiceAccount get on secrets in shop")
	})
}

// TestNaNStringIsNoData: 0/0 formatted by the application, in any of the
// spellings languages print, is missing data, not a value: the provider
// passes it on as NaN and Collector.Collect drops it.
func TestNaNStringIsNoData(t *testing.T) {
	for _, spelling := range []string{"NaN", "nan", "-nan", "+NaN"} {
		t.Run(spelling, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, `{"checkout":{"successRatio":%q}}`, spelling)
			}))
			defer srv.Close()
			c := collector.New(map[collector.Kind]collector.Provider{collector.KindWeb: web.New(web.Options{})}, collector.Options{})
			res := c.Collect(context.Background(), []collector.Query{webQuery("success", srv.URL+"/stats", "{.checkout.successRatio}", "", 0)})[0]
			collectortest.RequireError(t, res.Err, collector.ErrNoData, collector.ReasonNoData, `metric "success": no data: query returned only NaN`)
		})
	}
}

// TestRequestsInFlightAreBounded: one batch of thousands of web metrics
// (one URL per workload) must not open thousands of connections at once;
// the Prometheus provider bounds its one-by-one queries to 16, the scrape
// provider its scrapes to 32.
func TestRequestsInFlightAreBounded(t *testing.T) {
	var inFlight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		fmt.Fprint(w, `{"v":1}`)
	}))
	defer srv.Close()
	p := web.New(web.Options{})
	var qs []collector.Query
	for i := range 200 {
		qs = append(qs, webQuery("orders", fmt.Sprintf("%s/stats/%d", srv.URL, i), "{.v}", "", 0))
	}
	for _, r := range p.Collect(context.Background(), qs) {
		require.NoError(t, r.Err)
	}
	require.LessOrEqual(t, peak.Load(), int32(32), "requests in flight at once")
}

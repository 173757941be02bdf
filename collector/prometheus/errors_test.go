package prometheus_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/prometheus"
)

// rejectingAPI rejects every query, as Prometheus does one it cannot
// execute: a permanent error, which the provider caches.
type rejectingAPI struct{}

func (rejectingAPI) Query(context.Context, prometheus.Request) (prometheus.Answer, error) {
	return prometheus.Answer{}, &prometheus.Error{Status: 422, Type: "execution", Msg: "found duplicate series for the match group"}
}

func namedQuery(metric, query, ns string) collector.Query {
	return collector.Query{
		Metric: trimtabv1.Metric{Name: metric, MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: query}}},
		Target: collector.Target{Namespace: ns, Name: "web", Variant: collector.VariantPrimary},
	}
}

// TestCachedErrorNamesItsMetric: every error names its metric, also one
// served from the cache within the step.
func TestCachedErrorNamesItsMetric(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 1, 0, time.UTC)
	p := prometheus.New(prometheus.Options{DefaultURL: "http://prom:9090",
		NewAPI: func(string, *http.Client) (prometheus.API, error) { return rejectingAPI{}, nil }, Now: func() time.Time { return now }})
	q := namedQuery("error-rate", `sum(rate(x{namespace="{{.Namespace}}"}[1m]))`, "shop")
	first := p.Collect(context.Background(), []collector.Query{q})[0].Err
	require.ErrorContains(t, first, `metric "error-rate"`)
	second := p.Collect(context.Background(), []collector.Query{q})[0].Err // same step: cache hit
	require.ErrorContains(t, second, `metric "error-rate"`)
}

// TestThrottlingIsRetryable: a 429 from a Prometheus-compatible front end
// (Thanos, Mimir, Cortex) is retryable, not a permanent bad_query that
// would also split the batch into more requests.
func TestThrottlingIsRetryable(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many outstanding requests", http.StatusTooManyRequests)
	}))
	defer srv.Close()
	p := prometheus.New(prometheus.Options{DefaultURL: srv.URL,
		Backoff: collector.Backoff{Attempts: 3, Base: time.Millisecond}})
	tmpl := `sum(rate(x{namespace="{{.Namespace}}"}[1m]))`
	res := p.Collect(context.Background(), []collector.Query{namedQuery("a", tmpl, "ns-a"), namedQuery("b", tmpl, "ns-b")})
	t.Logf("requests sent: %d; error: %v; reason: %s", requests.Load(), res[0].Err, collector.ReasonOf(res[0].Err))
	require.True(t, errors.Is(res[0].Err, collector.ErrRetryable), "429 must be retryable, got %s", collector.ReasonOf(res[0].Err))
}

// TestAddressPasswordNotInError: a prometheus.address that url.Parse
// rejects ("%" not escaped) is not quoted with its password in the error,
// which goes into the object's condition.
func TestAddressPasswordNotInError(t *testing.T) {
	p := prometheus.New(prometheus.Options{})
	q := namedQuery("m", `up`, "ns")
	q.Metric.Prometheus.Address = "http://admin:s3cr%tpw@prom.example:9090"
	err := p.Collect(context.Background(), []collector.Query{q})[0].Err
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cr%tpw")
}

package prometheus_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/prometheus"
)

// TestHTTPAPIAnswers decodes the API's answers as Prometheus writes them,
// served by a test server on 127.0.0.1.
func TestHTTPAPIAnswers(t *testing.T) {
	at := time.UnixMilli(1764329774500)
	for _, tc := range []struct {
		name        string
		status      int
		contentType string // default application/json
		body        string
		want        []collector.Series
		wantWarning string
		wantErr     string
		wantReason  collector.Reason
	}{
		{name: "vector", body: `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"namespace":"shop","pod":"web-1"},"value":[1764329774.5,"0.25"]},
			{"metric":{},"value":[1764329774.5,"NaN"]}]}}`,
			want: []collector.Series{
				{Labels: map[string]string{"namespace": "shop", "pod": "web-1"}, Samples: []collector.Sample{{Time: at, Value: 0.25}}},
				{Labels: map[string]string{}, Samples: []collector.Sample{{Time: at, Value: math.NaN()}}},
			}},
		{name: "result before resultType, with warnings", body: `{"status":"success","warnings":["PromQL info: metric might not be a counter"],
			"data":{"result":[{"metric":{"pod":"web-1"},"value":[1764329774.5,"+Inf"]}],"resultType":"vector"}}`,
			want:        []collector.Series{{Labels: map[string]string{"pod": "web-1"}, Samples: []collector.Sample{{Time: at, Value: math.Inf(1)}}}},
			wantWarning: "PromQL info: metric might not be a counter"},
		{name: "matrix", body: `{"status":"success","data":{"resultType":"matrix","result":[
			{"metric":{"pod":"web-1"},"values":[[1764329774.5,"1"],[1764329789.5,"2e3"]]}]}}`,
			want: []collector.Series{{Labels: map[string]string{"pod": "web-1"},
				Samples: []collector.Sample{{Time: at, Value: 1}, {Time: at.Add(15 * time.Second), Value: 2000}}}}},
		{name: "empty vector", body: `{"status":"success","data":{"resultType":"vector","result":[]}}`, want: []collector.Series{}},
		{name: "scalar", body: `{"status":"success","data":{"resultType":"scalar","result":[1764329774.5,"42"]}}`,
			want: []collector.Series{{Samples: []collector.Sample{{Time: at, Value: 42}}}}},
		{name: "string", body: `{"status":"success","data":{"resultType":"string","result":[1764329774.5,"hello"]}}`,
			wantErr: "query returned a string", wantReason: collector.ReasonBadQuery},
		{name: "native histogram", body: `{"status":"success","data":{"resultType":"vector","result":[
			{"metric":{"pod":"web-1"},"histogram":[1764329774.5,{"count":"3","sum":"1.5"}]}]}}`,
			wantErr: "native histogram samples; wrap the query in histogram_quantile", wantReason: collector.ReasonBadQuery},
		{name: "execution error", status: http.StatusUnprocessableEntity,
			body:    `{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}`,
			wantErr: "rejected the query: found duplicate series for the match group", wantReason: collector.ReasonBadQuery},
		{name: "bad data", status: http.StatusBadRequest,
			body:    `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\""}`,
			wantErr: `rejected the query: invalid parameter "query"`, wantReason: collector.ReasonBadQuery},
		{name: "evaluation timeout", status: http.StatusServiceUnavailable,
			body:    `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
			wantErr: "query timed out in expression evaluation", wantReason: collector.ReasonTimeout},
		{name: "unavailable", status: http.StatusServiceUnavailable, body: `<html>maintenance</html>`,
			wantErr: "server error: 503", wantReason: collector.ReasonUnavailable},
		{name: "wrong credentials", status: http.StatusUnauthorized, body: "Unauthorized",
			wantErr: "refused the credentials (client error: 401)", wantReason: collector.ReasonConfig},
		{name: "throttled", status: http.StatusTooManyRequests, body: "too many outstanding requests",
			wantErr: "client error: 429 (throttled; retrying)", wantReason: collector.ReasonUnavailable},
		{name: "not the API", status: http.StatusNotFound, body: "404 page not found",
			wantErr: "client error: 404", wantReason: collector.ReasonBadQuery},
		{name: "error in a 200", body: `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`,
			wantErr: "rejected the query: many-to-many matching not allowed", wantReason: collector.ReasonBadQuery},
		{name: "truncated body", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{}`,
			wantErr: "decode the answer", wantReason: collector.ReasonBadResponse},
		{name: "point without a value", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764329774.5]}]}}`,
			wantErr: "is not [time, value]", wantReason: collector.ReasonBadResponse},
		{name: "scalar that is a string, not a point", body: `{"status":"success","data":{"resultType":"scalar","result":"1764329774.5,\"1\"]"}}`,
			wantErr: "is not [time, value]", wantReason: collector.ReasonBadResponse},
		{name: "value not a string", body: `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764329774.5,1]}]}}`,
			wantErr: "the value is not a string", wantReason: collector.ReasonBadResponse},
		{name: "a login page", contentType: "text/html; charset=utf-8", body: `<html><form action="/login">`,
			wantErr: "decode the answer: invalid character '<' looking for beginning of value (the answer is text/html; charset=utf-8: check that the address leads to Prometheus itself, not to a login page", wantReason: collector.ReasonBadResponse},
		{name: "unknown result type", body: `{"status":"success","data":{"resultType":"table","result":[]}}`,
			wantErr: `unknown resultType "table"`, wantReason: collector.ReasonBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", cmp.Or(tc.contentType, "application/json"))
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			p := prometheus.New(prometheus.Options{DefaultURL: srv.URL, Backoff: collector.Backoff{Attempts: 1}})
			res := p.Collect(context.Background(), []collector.Query{namedQuery("m", `sum(x{namespace="{{.Namespace}}"})`, "shop")})[0]
			if tc.wantErr != "" {
				require.ErrorContains(t, res.Err, tc.wantErr)
				require.Equal(t, tc.wantReason, collector.ReasonOf(res.Err))
				return
			}
			require.NoError(t, res.Err)
			// NaN != NaN: compare the values' bits through their strings.
			require.Equal(t, seriesText(tc.want), seriesText(res.Series))
			if tc.wantWarning != "" {
				require.Contains(t, res.Warnings, tc.wantWarning)
			}
		})
	}
}

func seriesText(ss []collector.Series) []string {
	out := []string{}
	for _, s := range ss {
		for _, p := range s.Samples {
			out = append(out, fmt.Sprintf("%v %s %s", s.Labels, p.Time.UTC().Format(time.RFC3339Nano), strconv.FormatFloat(p.Value, 'g', -1, 64)))
		}
	}
	return out
}

// TestHTTPAPIRequests checks what is sent: a form in a POST to the API
// under the server's path prefix, with the time, the range and the
// timeout; a server that refuses POST is asked with a GET.
func TestHTTPAPIRequests(t *testing.T) {
	at := time.UnixMilli(1764329774500)
	for _, tc := range []struct {
		name       string
		refusePost int
		req        prometheus.Request
		wantMethod string
		wantPath   string
		wantForm   url.Values
	}{
		{name: "instant", req: prometheus.Request{Query: "up", At: at, Timeout: 10 * time.Second},
			wantMethod: http.MethodPost, wantPath: "/prom/api/v1/query",
			wantForm: url.Values{"query": {"up"}, "time": {"1764329774.5"}, "timeout": {"10s"}}},
		{name: "range", req: prometheus.Request{Query: "up", Range: &prometheus.Range{Start: at, End: at.Add(time.Hour), Step: 90 * time.Second}},
			wantMethod: http.MethodPost, wantPath: "/prom/api/v1/query_range",
			wantForm: url.Values{"query": {"up"}, "start": {"1764329774.5"}, "end": {"1764333374.5"}, "step": {"90"}}},
		{name: "POST not allowed", refusePost: http.StatusMethodNotAllowed, req: prometheus.Request{Query: "up", At: at},
			wantMethod: http.MethodGet, wantPath: "/prom/api/v1/query", wantForm: url.Values{"query": {"up"}, "time": {"1764329774.5"}}},
		{name: "POST not implemented", refusePost: http.StatusNotImplemented, req: prometheus.Request{Query: "up", At: at},
			wantMethod: http.MethodGet, wantPath: "/prom/api/v1/query", wantForm: url.Values{"query": {"up"}, "time": {"1764329774.5"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var method, path string
			var form url.Values
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost && tc.refusePost != 0 {
					w.WriteHeader(tc.refusePost)
					return
				}
				require.NoError(t, r.ParseForm())
				method, path, form = r.Method, r.URL.Path, r.Form
				_, _ = io.WriteString(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
			}))
			defer srv.Close()
			api, err := prometheus.NewHTTPAPI(srv.URL+"/prom", srv.Client())
			require.NoError(t, err)
			_, err = api.Query(context.Background(), tc.req)
			require.NoError(t, err)
			require.Equal(t, tc.wantMethod, method)
			require.Equal(t, tc.wantPath, path)
			require.Equal(t, tc.wantForm, form)
		})
	}
}

// TestHTTPAPIAgainstPrometheus asks the real Prometheus for a vector, a
// matrix and a scalar.
func TestHTTPAPIAgainstPrometheus(t *testing.T) {
	api, err := prometheus.NewHTTPAPI(prom.URL, http.DefaultClient)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second)
	for _, tc := range []struct {
		name        string
		req         prometheus.Request
		wantSeries  int
		wantSamples int
		wantLabels  map[string]string
	}{
		{name: "vector", req: prometheus.Request{Query: `sum by (namespace, pod) (jobs_total{namespace="ns-3"})`, At: now},
			wantSeries: 1, wantSamples: 1, wantLabels: map[string]string{"namespace": "ns-3", "pod": "web-3-abc"}},
		{name: "matrix", req: prometheus.Request{Query: `sum by (namespace) (jobs_total{namespace="ns-3"})`,
			Range: &prometheus.Range{Start: now.Add(-2 * time.Second), End: now, Step: time.Second}},
			wantSeries: 1, wantSamples: 3, wantLabels: map[string]string{"namespace": "ns-3"}},
		{name: "scalar", req: prometheus.Request{Query: `scalar(sum(jobs_total{namespace="ns-3"}))`, At: now}, wantSeries: 1, wantSamples: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans, err := api.Query(context.Background(), tc.req)
			require.NoError(t, err)
			require.Len(t, ans.Series, tc.wantSeries)
			s := ans.Series[0]
			require.Len(t, s.Samples, tc.wantSamples)
			if tc.wantLabels != nil {
				require.Equal(t, tc.wantLabels, s.Labels)
			}
			last := s.Samples[len(s.Samples)-1]
			require.True(t, last.Time.Equal(now), "evaluated at %v, asked %v", last.Time, now)
			require.Greater(t, last.Value, 0.0)
		})
	}
	t.Run("an invalid query is Prometheus's error", func(t *testing.T) {
		_, err := api.Query(context.Background(), prometheus.Request{Query: `sum(`, At: now})
		var pe *prometheus.Error
		require.True(t, errors.As(err, &pe), "%v", err)
		require.Equal(t, "bad_data", pe.Type)
		require.Equal(t, http.StatusBadRequest, pe.Status)
	})
}

// TestHTTPAPIRefusesAddressesItCannotCall: an address is an http:// or
// https:// URL with a host; anything else is refused before any request,
// saying how to write it.
func TestHTTPAPIRefusesAddressesItCannotCall(t *testing.T) {
	for _, tc := range []struct{ name, address string }{
		{name: "no scheme", address: "prometheus.monitoring:9090"},
		{name: "another scheme", address: "ftp://prometheus.monitoring:9090"},
		{name: "no host", address: "http:///api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := prometheus.NewHTTPAPI(tc.address, http.DefaultClient)
			require.ErrorContains(t, err, "write it as http://prometheus.monitoring:9090")
		})
	}
	t.Run("through the provider, a config error naming the field", func(t *testing.T) {
		p := prometheus.New(prometheus.Options{})
		q := namedQuery("m", `up`, "ns")
		q.Metric.Prometheus.Address = "prometheus.monitoring:9090"
		err := p.Collect(context.Background(), []collector.Query{q})[0].Err
		require.ErrorContains(t, err, `prometheus.address "prometheus.monitoring:9090": not an http:// or https:// URL`)
		require.Equal(t, collector.ReasonConfig, collector.ReasonOf(err))
	})
}

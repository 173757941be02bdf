package manager

import (
	"compress/gzip"
	"io"
	"net/http"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/scaler"
)

// TestMetricsEndpoint scrapes /metrics as Prometheus does: the registries'
// families and the streamed per-policy series make one valid exposition,
// plain or gzipped, and name[] picks families.
func TestMetricsEndpoint(t *testing.T) {
	m := start(t, Options{})
	m.policySeries.Record("shop", "web", scaler.Observation{Current: 3, Decision: scaler.Decision{Replicas: 4, Demand: 3.5, HasDemand: true}})
	scrape := func(query, encoding string) (*http.Response, map[string]*dto.MetricFamily) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+m.MetricsAddr()+"/metrics"+query, nil)
		require.NoError(t, err)
		// Set explicitly, the header keeps the transport from decoding gzip.
		req.Header.Set("Accept-Encoding", encoding)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(resp.Body)
			require.NoError(t, err)
			body = gz
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(body)
		require.NoError(t, err, "/metrics is not valid text exposition")
		return resp, families
	}
	for _, tc := range []struct {
		name, encoding, wantEncoding string
	}{
		{"plain", "identity", ""},
		{"gzipped", "gzip", "gzip"},
		{"gzip refused with q=0", "gzip;q=0, identity", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, families := scrape("", tc.encoding)
			require.Equal(t, tc.wantEncoding, resp.Header.Get("Content-Encoding"))
			require.Contains(t, resp.Header.Get("Content-Type"), "text/plain; version=0.0.4")
			for _, name := range []string{"go_goroutines", "controller_runtime_reconcile_total", "trimtab_scaler_cycle_policies", "trimtab_scaler_desired_replicas"} {
				require.Contains(t, families, name)
			}
			desired := families["trimtab_scaler_desired_replicas"].GetMetric()
			require.Len(t, desired, 1)
			require.Equal(t, 4.0, desired[0].GetGauge().GetValue())
		})
	}
	t.Run("name[] picks families from both the registries and the policies", func(t *testing.T) {
		_, families := scrape("?name[]=go_goroutines&name[]=trimtab_scaler_demand_replicas", "identity")
		var names []string
		for name := range families {
			names = append(names, name)
		}
		slices.Sort(names)
		require.Equal(t, []string{"go_goroutines", "trimtab_scaler_demand_replicas"}, names)
	})
}

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"gzip;q=0.1", true},
		{"x-gzip", false},
		{"identity", false},
	} {
		t.Run(tc.header, func(t *testing.T) {
			require.Equal(t, tc.want, acceptsGzip(tc.header))
		})
	}
}

package scaler

import (
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

// discardResponse is an http.ResponseWriter that keeps nothing, as a
// socket to the scraper would.
type discardResponse struct{ *httptest.ResponseRecorder }

func (discardResponse) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkRecorderScrape serves the series of 10,000 predictive policies
// (eleven each: with a fallback and a failed metric) once through a prometheus.Registry and promhttp, the
// reference, and once streamed by WriteText, and reports what each scrape
// allocates and takes, and the ratios.
func BenchmarkRecorderScrape(b *testing.B) {
	r := NewRecorder()
	on := Config{Predictive: Predictive{Mode: v1alpha1.PredictiveOn}, Fallback: &Fallback{FailureThreshold: 3, Replicas: 4}}
	for i := range 10000 {
		r.Record(fmt.Sprintf("team-%03d", i/100), fmt.Sprintf("service-%05d", i), Observation{Config: on, Current: 4,
			Decision: Decision{Replicas: 5, Demand: 3.7, HasDemand: true, ForecastReplicas: 5, ForecastApplied: true},
			Forecast: &Forecast{PeakDemand: 4.4}, Accuracy: &predict.Accuracy{MeanAbsolute: 0.3, RMS: 0.4},
			MetricFailures: []MetricFailure{{Metric: "cpu", Reason: "no_data"}}})
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(r)
	handler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	measure := func(scrape func()) (mb, ms float64) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		for range b.N {
			scrape()
		}
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / float64(b.N) / (1 << 20), float64(elapsed.Milliseconds()) / float64(b.N)
	}
	regMB, regMS := measure(func() {
		handler.ServeHTTP(discardResponse{httptest.NewRecorder()}, httptest.NewRequest("GET", "/metrics", nil))
	})
	streamMB, streamMS := measure(func() {
		if err := r.WriteText(io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(regMB, "registry-MB/scrape")
	b.ReportMetric(streamMB, "stream-MB/scrape")
	b.ReportMetric(regMB/streamMB, "alloc-ratio")
	b.ReportMetric(regMS, "registry-ms/scrape")
	b.ReportMetric(streamMS, "stream-ms/scrape")
	b.ReportMetric(regMS/streamMS, "time-ratio")
	b.ReportMetric(0, "ns/op")
}

package scrape

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/internal/kube"
)

// exposition builds a realistic exposition of about size bytes: per
// handler, request counters by method and code, a 12-bucket latency
// histogram, and a few process gauges, as a Go service exposes.
func exposition(size int, openMetrics bool) []byte {
	var b bytes.Buffer
	counter := "http_requests_total"
	if openMetrics {
		b.WriteString("# TYPE http_requests counter\n# HELP http_requests Requests.\n")
	} else {
		b.WriteString("# TYPE http_requests_total counter\n# HELP http_requests_total Requests.\n")
	}
	var hist bytes.Buffer
	hist.WriteString("# TYPE http_request_duration_seconds histogram\n# HELP http_request_duration_seconds Latency.\n")
	les := []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"}
	for h := 0; b.Len()+hist.Len() < size; h++ {
		handler := fmt.Sprintf("/api/v1/resource%d/{id}", h)
		for _, method := range []string{"GET", "POST"} {
			for _, code := range []string{"200", "404", "500"} {
				fmt.Fprintf(&b, "%s{handler=%q,method=%q,code=%q} %d\n", counter, handler, method, code, h*1000+len(code))
			}
			for i, le := range les {
				fmt.Fprintf(&hist, "http_request_duration_seconds_bucket{handler=%q,method=%q,le=%q} %d\n", handler, method, le, (i+1)*100)
			}
			fmt.Fprintf(&hist, "http_request_duration_seconds_sum{handler=%q,method=%q} 123.4\n", handler, method)
			fmt.Fprintf(&hist, "http_request_duration_seconds_count{handler=%q,method=%q} 1200\n", handler, method)
		}
	}
	b.Write(hist.Bytes())
	b.WriteString("# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 1.2e+08\n")
	if openMetrics {
		b.WriteString("# EOF\n")
	}
	return b.Bytes()
}

// BenchmarkParse1MB reports expfmt's parsing throughput (MB/s) on a 1 MB
// exposition, in the classic text format and in OpenMetrics (which is
// normalized first), plus the cost of flattening families into samples.
func BenchmarkParse1MB(b *testing.B) {
	for _, tc := range []struct {
		name        string
		openMetrics bool
		contentType string
	}{
		{"text", false, "text/plain; version=0.0.4"},
		{"openmetrics", true, "application/openmetrics-text; version=1.0.0"},
	} {
		body := exposition(1<<20, tc.openMetrics)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parse(body, tc.contentType); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	body := exposition(1<<20, false)
	b.Run("text+flatten", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			fams, err := parse(body, "text/plain")
			if err != nil {
				b.Fatal(err)
			}
			var out []sample
			for _, f := range fams {
				out = flatten(f, out[:0])
			}
		}
	})
}

// staticPods is an in-memory PodLister: the benchmark measures scraping,
// not the API server (the integration tests use a real one).
type staticPods []kube.LeanPod

func (s staticPods) ListPods(context.Context, string, labels.Selector) ([]kube.LeanPod, error) {
	return s, nil
}

// BenchmarkScrapeCycle500 scrapes 500 endpoints (each its own HTTP server
// on 127.0.0.1, ~20 KB of exposition) and computes one rate per variant,
// with the default 32 workers and, as the reference, one worker.
func BenchmarkScrapeCycle500(b *testing.B) {
	const endpoints = 500
	body := exposition(20<<10, false)
	pods := make(staticPods, endpoints)
	for i := range pods {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write(body)
		}))
		b.Cleanup(srv.Close)
		port := srv.Listener.Addr().(*net.TCPAddr).Port
		pods[i] = kube.LeanPod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "bench", Name: "web-" + strconv.Itoa(i), UID: types.UID(strconv.Itoa(i)),
				Annotations: map[string]string{"prometheus.io/port": strconv.Itoa(port)}},
			Status: kube.LeanPodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1",
				Conditions: []kube.LeanPodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	q := collector.Query{
		Metric: trimtabv1.Metric{Name: "rps", MetricSource: trimtabv1.MetricSource{Scrape: &trimtabv1.ScrapeSource{
			Metric: "http_requests_total", Kind: trimtabv1.ScrapeRate, MatchLabels: map[string]string{"code": "5.."}}}},
		Target: collector.Target{Namespace: "bench", Name: "web", Variant: collector.VariantPrimary, Selector: labels.SelectorFromSet(labels.Set{"app": "web"})},
	}
	for _, workers := range []int{32, 1} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			p, err := New(Options{Pods: pods, Workers: workers, MinInterval: time.Nanosecond})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				res := p.Collect(context.Background(), []collector.Query{q})
				if len(res[0].Warnings) > 0 {
					b.Fatal(strings.Join(res[0].Warnings, "; "))
				}
			}
			b.ReportMetric(float64(endpoints)*float64(b.N)/b.Elapsed().Seconds(), "endpoints/s")
		})
	}
}

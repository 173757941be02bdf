package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/prometheus"
)

// BenchmarkDecodeAnswer decodes the answer of the scaling benchmarks' CPU
// template at 10,000 policies, 20,000 per-pod series of three labels, served
// on 127.0.0.1: through NewHTTPAPI, and through client_golang's api/v1 (the
// reference, which the provider used before) plus the copy into
// collector.Series that it needed. Reported per answer: allocated bytes
// (alloc-MB), held-MB (the heap the answer holds at its largest: for the
// reference the model values and their copy, both alive while one is
// turned into the other) and the ratios to the reference.
func BenchmarkDecodeAnswer(b *testing.B) {
	const series = 20_000
	var body strings.Builder
	body.WriteString(`{"status":"success","data":{"resultType":"vector","result":[`)
	for i := range series {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"metric":{"namespace":"proc-10000-300-p-%03d","deployment":"w%d","pod":"w%d-7d9f8c6b5-%05d"},"value":[1764329774.5,"0.%d"]}`, i/200, i/2, i/2, i, i)
	}
	body.WriteString(`]}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body.String()) }))
	defer srv.Close()
	at := time.UnixMilli(1764329774500)

	ours, err := prometheus.NewHTTPAPI(srv.URL, srv.Client())
	if err != nil {
		b.Fatal(err)
	}
	c, err := promapi.NewClient(promapi.Config{Address: srv.URL, Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	reference := promv1.NewAPI(c)

	var refAlloc, refHeld float64
	for _, v := range []struct {
		name   string
		decode func() (held []any, n int, err error)
	}{
		{name: "client_golang", decode: func() ([]any, int, error) {
			val, _, _, err := reference.Query(context.Background(), "q", at)
			if err != nil {
				return nil, 0, err
			}
			vec := val.(model.Vector)
			out := make([]collector.Series, len(vec))
			for i, s := range vec {
				labels := make(map[string]string, len(s.Metric))
				for k, v := range s.Metric {
					labels[string(k)] = string(v)
				}
				out[i] = collector.Series{Labels: labels, Samples: []collector.Sample{{Time: s.Timestamp.Time(), Value: float64(s.Value)}}}
			}
			return []any{vec, out}, len(out), nil
		}},
		{name: "NewHTTPAPI", decode: func() ([]any, int, error) {
			ans, err := ours.Query(context.Background(), prometheus.Request{Query: "q", At: at})
			return []any{ans.Series}, len(ans.Series), err
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			var held, alloc float64
			for b.Loop() {
				before := memStats()
				kept, n, err := v.decode()
				if err != nil {
					b.Fatal(err)
				}
				if n != series {
					b.Fatalf("%d series, want %d", n, series)
				}
				after := memStats()
				held, alloc = float64(after.HeapAlloc-before.HeapAlloc)/1e6, float64(after.TotalAlloc-before.TotalAlloc)/1e6
				runtime.KeepAlive(kept)
			}
			b.ReportMetric(held, "held-MB")
			b.ReportMetric(alloc, "alloc-MB")
			if v.name == "client_golang" {
				refHeld, refAlloc = held, alloc
			} else if refHeld > 0 {
				b.ReportMetric(held/refHeld, "held-ratio")
				b.ReportMetric(alloc/refAlloc, "alloc-ratio")
			}
		})
	}
}

// memStats is the heap after a collection.
func memStats() runtime.MemStats {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

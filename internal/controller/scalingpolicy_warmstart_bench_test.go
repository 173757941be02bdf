package controller_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/internal/testenv"
)

// BenchmarkForecastWarmStart measures what a restart costs predictive
// scaling with --predictive.history-url: 1,000 predictive policies (daily
// season) start cold in a new controller, which reads each model's past
// from a real Prometheus backfilled with a day and 45 minutes of what an
// earlier controller exported for them (a point a minute). Reported:
// warm-s (from the controller's start until every model is loaded),
// after-first-cycle-s (the part of it after the first cycle, which creates
// the models and queues their reads),
// history-requests (to that Prometheus, counted on the wire),
// policies/request, and peak-heap-MiB of the whole process while loading.
//
// Run with `make bench-scaling`; the backfill alone takes about a minute.
func BenchmarkForecastWarmStart(b *testing.B) {
	const n = 1000
	v := scalingBenchVariant{policies: n, predictive: true}
	for b.Loop() {
		benchWarmStart(b, v)
	}
}

func benchWarmStart(b *testing.B, v scalingBenchVariant) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.StopTimer()
	world := startBenchWorld(ctx, b, v, "warm-"+v.slug())
	markSynced(ctx, b, world.exp.workloads)
	now := time.Now()
	history := testenv.StartPrometheusWithHistory(b, dailyDemandHistory(world.exp.workloads, now.Add(-(24*time.Hour+45*time.Minute)), now))
	historyWire := &countingTransport{next: &http.Transport{MaxIdleConnsPerHost: 4}}
	source := prometheus.New(prometheus.Options{DefaultURL: history.URL, HTTPClient: &http.Client{Transport: historyWire}})
	bc := newBenchController(b, world.prom.URL, source)

	runtime.GC()
	peak := sampleHeap(ctx)
	b.StartTimer()
	started := time.Now()
	go func() { _ = bc.mgr.Start(ctx) }()
	if !bc.mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	go func() { _ = bc.sp.Start(ctx) }()
	// The first cycle creates the models and queues their reads.
	waitGauge(ctx, b, bc.reg, "trimtab_scaler_cycle_policies", func(synced float64) bool { return synced >= float64(v.policies) })
	firstCycle := time.Since(started)
	loaded := func() float64 {
		return collectortest.Value(b, bc.reg, "trimtab_scaler_forecast_warm_starts_total", map[string]string{"result": "loaded"})
	}
	for loaded() < float64(v.policies) {
		for _, result := range []string{"no_history", "error", "dropped"} {
			if got := collectortest.Value(b, bc.reg, "trimtab_scaler_forecast_warm_starts_total", map[string]string{"result": result}); got > 0 {
				b.Fatalf("%v warm starts ended %s", got, result)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	requests := historyWire.queries.Load()
	b.ReportMetric(time.Since(started).Seconds(), "warm-s")
	b.ReportMetric((time.Since(started) - firstCycle).Seconds(), "after-first-cycle-s")
	b.ReportMetric(float64(requests), "history-requests")
	b.ReportMetric(float64(v.policies)/float64(max(requests, 1)), "policies/request")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(0, "ns/op")
	b.StartTimer()
}

// dailyDemandHistory is what a Prometheus scraping an earlier controller
// once a minute would hold for every workload: a daily cycle, shifted per
// workload so that no two series are alike, as OpenMetrics with
// timestamps.
func dailyDemandHistory(workloads []benchWorkload, from, to time.Time) []byte {
	var sb strings.Builder
	sb.WriteString("# TYPE trimtab_scaler_demand_replicas gauge\n")
	for i, wl := range workloads {
		series := fmt.Sprintf("trimtab_scaler_demand_replicas{name=%q,namespace=%q} ", wl.name, wl.ns)
		for ts := from.Truncate(time.Minute).Add(30 * time.Second); ts.Before(to); ts = ts.Add(time.Minute) {
			phase := 2 * math.Pi * (float64(ts.Unix()%86400)/86400 + float64(i)/float64(len(workloads)))
			fmt.Fprintf(&sb, "%s%.3f %d\n", series, 5+3*math.Sin(phase), ts.Unix())
		}
	}
	sb.WriteString("# EOF\n")
	return []byte(sb.String())
}

// markSynced gives each workload's policy the status an earlier controller
// would have left: a policy without one is new, and its model starts cold.
func markSynced(ctx context.Context, b *testing.B, workloads []benchWorkload) {
	b.Helper()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for _, wl := range workloads {
		g.Go(func() error {
			p := &trimtabv1.ScalingPolicy{}
			if err := env.Client.Get(gctx, client.ObjectKey{Namespace: wl.ns, Name: wl.name}, p); err != nil {
				return err
			}
			p.Status.ObservedGeneration = p.Generation
			return env.Client.Status().Update(gctx, p)
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

package controller_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	promapi "github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/providers"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/internal/manager"
	"github.com/trimtab/trimtab/internal/testenv"
	"github.com/trimtab/trimtab/scaler"
)

// BenchmarkScalingCycle measures one full scaling cycle over many
// ScalingPolicies against the real API server and a real Prometheus: every
// policy has a Deployment with two ready pods, a CPU utilization metric
// from per-pod series and either a p95 latency (object) or a queue length
// (external) metric: three query templates shared by all policies. The
// collector is built as in production (providers.NewCollector). Every
// iteration changes every value (inside the tolerance, so nothing scales)
// and waits for Prometheus to scrape it, untimed; the timed part is the
// cycle. The values' changes alone do not make statuses due (the value
// refresh is longer than the benchmark's clock runs), so after the first
// cycle, whose statuses are all written, the cycles queue few writes.
//
// Reported: s/cycle, first-cycle-s (informers filling the cache plus the
// first status of every policy), peak-heap-MiB (HeapInuse of the whole test
// process, sampled every 10 ms from the controller's start; the exporter
// serving the benchmark's series lives in it too), live-heap-MiB (after a
// GC at the end), gc-cores (the garbage collector's CPU time over the wall
// time since the controller started: 0.5 is half a core), queries/cycle (requests to
// Prometheus's query API, counted on the wire) and templates. The
// container variant runs under the soft memory limit `trimtab controller`
// sets in a container limited to 300 MiB (gomemlimit-MiB).
//
// The heap is not all a container's limit counts:
// BenchmarkScalingControllerProcess runs the production binary against the
// same worlds and reports its resident set.
//
// The 10,000-policy variants take minutes to set up; run them with
// `make bench-scaling`.
func BenchmarkScalingCycle(b *testing.B) {
	for _, v := range scalingBenchVariants {
		b.Run(v.name(), func(b *testing.B) { benchScalingCycle(b, v) })
	}
}

// scalingBenchVariant is one size of the scaling benchmarks' world.
type scalingBenchVariant struct {
	policies int
	// containerMiB, when set, is the container's memory limit: the run
	// gets the soft limit `trimtab controller` derives from it.
	containerMiB int64
	// predictive puts every policy in predictive mode on, so that the
	// controller keeps a forecast model for each.
	predictive bool
}

// scalingBenchVariants are shared by the in-process and the process
// benchmark, so that their figures compare variant by variant.
var scalingBenchVariants = []scalingBenchVariant{{1000, 0, false}, {10000, 0, false}, {10000, 300, false}, {10000, 300, true}}

// name is one level deep, so that -bench can pick each variant alone
// ('policies=10000$' or 'policies=10000,container').
func (v scalingBenchVariant) name() string {
	name := fmt.Sprintf("policies=%d", v.policies)
	if v.containerMiB > 0 {
		name += fmt.Sprintf(",container=%dMiB", v.containerMiB)
	}
	if v.predictive {
		name += ",predictive"
	}
	return name
}

// slug tells the variants' namespaces and Leases apart.
func (v scalingBenchVariant) slug() string {
	s := fmt.Sprintf("%d-%d", v.policies, v.containerMiB)
	if v.predictive {
		s += "-p"
	}
	return s
}

// benchWorld is what a scaling benchmark runs against: n workloads (a
// policy, a Deployment and two ready pods each) in the shared API server,
// and a real Prometheus scraping their series from exp.
type benchWorld struct {
	exp  *benchExporter
	prom *testenv.Prometheus
}

// startBenchWorld creates v's workloads in namespaces named after
// nsPrefix, 100 to a namespace, and returns once Prometheus has scraped
// phase 0. The objects are deleted, the exporter and Prometheus stopped,
// at b's cleanup.
func startBenchWorld(ctx context.Context, b *testing.B, v scalingBenchVariant, nsPrefix string) *benchWorld {
	b.Helper()
	n := v.policies
	exp := &benchExporter{}
	for i := range n {
		exp.workloads = append(exp.workloads, benchWorkload{ns: fmt.Sprintf("%s-%03d", nsPrefix, i/100), name: fmt.Sprintf("w%d", i)})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(exp.serve), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Close() })
	prom := testenv.StartPrometheus(b, ln.Addr().String())

	setupStart := time.Now()
	createBenchWorkloads(ctx, b, exp.workloads, v.predictive)
	b.Logf("created %d policies, Deployments and %d pods in %v", n, 2*n, time.Since(setupStart).Round(time.Second))
	waitPhase(ctx, b, prom, 0)
	return &benchWorld{exp: exp, prom: prom}
}

// benchExporter serves every benchmark pod's CPU and every workload's
// latency and queue, scaled by a phase the benchmark advances per cycle.
type benchExporter struct {
	workloads []benchWorkload
	phase     atomic.Int64
}

type benchWorkload struct{ ns, name string }

func (e *benchExporter) serve(w http.ResponseWriter, _ *http.Request) {
	// 50-55 % of a 100m request, 100-110 ms, 20-22 messages: always
	// different, never enough to scale at minReplicas 2. Written as it
	// goes: the exposition shares the measured heap with the controller.
	f := 1 + float64(e.phase.Load()%10)/100
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "bench_phase %d\n", e.phase.Load())
	for _, wl := range e.workloads {
		for i := range 2 {
			fmt.Fprintf(bw, "bench_cpu_cores{namespace=%q,deployment=%q,pod=\"%s-0-%d\"} %g\n", wl.ns, wl.name, wl.name, i, 0.05*f)
		}
		fmt.Fprintf(bw, "bench_latency_seconds{namespace=%q,deployment=%q} %g\n", wl.ns, wl.name, 0.1*f)
		fmt.Fprintf(bw, "bench_queue_messages{namespace=%q,deployment=%q} %g\n", wl.ns, wl.name, 20*f)
	}
	_ = bw.Flush()
}

// countingTransport counts requests to Prometheus's query API.
type countingTransport struct {
	next    http.RoundTripper
	queries atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/api/v1/query") || strings.HasSuffix(r.URL.Path, "/api/v1/query_range") {
		c.queries.Add(1)
	}
	return c.next.RoundTrip(r)
}

func benchScalingCycle(b *testing.B, v scalingBenchVariant) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n, containerLimit := v.policies, v.containerMiB<<20
	world := startBenchWorld(ctx, b, v, "bench-"+v.slug())
	exp, prom := world.exp, world.prom

	bc := newBenchController(b, prom.URL, nil)
	mgr, sp, reg, wire, tick := bc.mgr, bc.sp, bc.reg, bc.wire, bc.tick

	if containerLimit > 0 {
		limit := manager.SoftMemoryLimit(containerLimit)
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
		b.ReportMetric(float64(limit)/(1<<20), "gomemlimit-MiB")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	gcBefore := gcCPUSeconds()
	peak := sampleHeap(ctx)
	started := time.Now()
	go func() { _ = mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		b.Fatal("cache did not sync")
	}
	// The benchmark runs every cycle itself: none of Start's own can take
	// a measured cycle's policies.
	defer sp.StartWorkers(ctx)()
	// The first cycle fills the informers and writes every policy's first
	// status.
	st, err := sp.Cycle(ctx)
	if err != nil || st.Policies != n {
		b.Fatalf("the first cycle synced %d policies of %d: %v", st.Policies, n, err)
	}
	first := st.Duration.Seconds()
	waitGauge(ctx, b, reg, "trimtab_scaler_status_backlog", func(v float64) bool { return v == 0 })
	firstWritten := time.Since(started)
	checkBenchStatus(ctx, b, mgr.GetClient(), exp.workloads[n-1])

	var total, written time.Duration
	var queries int64
	for b.Loop() {
		b.StopTimer()
		exp.phase.Add(1)
		waitPhase(ctx, b, prom, exp.phase.Load())
		tick()
		sent := wire.queries.Load()
		cycleStart := time.Now()
		b.StartTimer()
		st, err := sp.Cycle(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if st.Policies != n {
			b.Fatalf("the measured cycle synced %d policies of %d", st.Policies, n)
		}
		total += st.Duration
		queries += wire.queries.Load() - sent
		// Untimed: how long until every changed status is written.
		waitGauge(ctx, b, reg, "trimtab_scaler_status_backlog", func(v float64) bool { return v == 0 })
		written += time.Since(cycleStart)
		b.StartTimer()
	}
	b.StopTimer()
	idle, idleBytes := idleWake(ctx, b, sp)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	writeHeapProfile(b)
	b.ReportMetric(idle.Seconds()*1000, "idle-wake-ms")
	b.ReportMetric(float64(idleBytes)/(1<<20), "idle-wake-MB")
	b.ReportMetric((gcCPUSeconds()-gcBefore)/time.Since(started).Seconds(), "gc-cores")
	b.ReportMetric(float64(after.HeapInuse)/(1<<20), "live-heap-MiB")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/cycle")
	b.ReportMetric(first, "first-cycle-s")
	b.ReportMetric(firstWritten.Seconds(), "first-status-written-s")
	b.ReportMetric(written.Seconds()/float64(b.N), "status-written-s")
	b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(before.HeapInuse)/(1<<20), "heap-before-MiB")
	b.ReportMetric(float64(queries)/float64(b.N), "queries/cycle")
	b.ReportMetric(3, "templates")
}

// idleWake is what a cycle costs when it wakes with no policy due, as it
// does every second while one policy has a 1 s period: the mean of 20
// such wake-ups, in time and bytes allocated.
func idleWake(ctx context.Context, b *testing.B, sp *controller.ScalingPolicyController) (time.Duration, uint64) {
	const wakes = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for range wakes {
		st, err := sp.Cycle(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if st.Policies != 0 {
			b.Fatalf("an idle wake-up synced %d policies", st.Policies)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return elapsed / wakes, (after.TotalAlloc - before.TotalAlloc) / wakes
}

// benchController is the ScalingPolicy controller of an in-process
// benchmark, built as internal/manager builds it, with its manager
// not yet started.
type benchController struct {
	mgr  ctrl.Manager
	sp   *controller.ScalingPolicyController
	reg  *promclient.Registry
	wire *countingTransport // requests to the metrics' Prometheus
	// tick moves the controller's clock to the next 15 s step.
	tick func()
}

// newBenchController builds the controller against the metrics'
// Prometheus at promURL and, when set, a history provider
// (--predictive.history-url).
func newBenchController(b *testing.B, promURL string, history controller.Collector) *benchController {
	b.Helper()
	ctrl.SetLogger(logr.Discard())
	// As internal/manager configures the production cache.
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: kube.NewScheme(), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache:      controller.CacheOptions(nil),
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		b.Fatal(err)
	}
	// Setup adds them; this controller runs without it.
	if err := controller.AddIndexes(mgr); err != nil {
		b.Fatal(err)
	}
	reg := promclient.NewRegistry()
	metrics, err := controller.NewMetrics(reg)
	if err != nil {
		b.Fatal(err)
	}
	wire := &countingTransport{next: &http.Transport{MaxIdleConnsPerHost: 4}}
	pods, err := kube.AddLeanPodCache(mgr, nil)
	if err != nil {
		b.Fatal(err)
	}
	coll, err := providers.NewCollector(providers.Config{Kube: mgr.GetClient(), Pods: pods, HTTPClient: &http.Client{Transport: wire},
		PrometheusURL: promURL, Metrics: collector.NewMetrics(reg)}, collector.Options{})
	if err != nil {
		b.Fatal(err)
	}
	// Each cycle asks about a new 15 s step, as production cycles do, so no
	// answer comes from the provider's per-step cache. The provider
	// truncates the time to its step, so the clock runs one step ahead of
	// the wall clock: the truncated time is never before Prometheus's
	// latest scrape, and Prometheus answers from that scrape. It stands on
	// the period's ticks, where the policies fall due.
	var clock atomic.Int64
	step := int64(controller.DefaultScalingSyncPeriod)
	tick := func() {
		t := max(time.Now().UnixNano()+step, clock.Load()+step)
		clock.Store(t - t%step)
	}
	tick()
	sp := &controller.ScalingPolicyController{
		Client: mgr.GetClient(), Direct: mgr.GetAPIReader(), Pods: pods, Events: mgr.GetEventRecorder("bench"), Metrics: metrics, Collector: coll,
		Now: func() time.Time { return time.Unix(0, clock.Load()) },
		// A tick of the clock makes every policy due again.
		SyncPeriod: controller.DefaultScalingSyncPeriod, MetricInterval: controller.DefaultScalingMetricInterval,
		Params: scaler.DefaultParams(), Log: slog.New(slog.DiscardHandler), History: history,
	}
	return &benchController{mgr: mgr, sp: sp, reg: reg, wire: wire, tick: tick}
}

// gcCPUSeconds is the CPU time the garbage collector has used so far.
func gcCPUSeconds() float64 {
	sample := []rtmetrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	rtmetrics.Read(sample)
	return sample[0].Value.Float64()
}

// writeHeapProfile writes the live heap, while the controller still runs,
// to $TRIMTAB_BENCH_HEAP_PROFILE when it is set (go test's -memprofile is
// written after the benchmark has stopped everything).
func writeHeapProfile(b *testing.B) {
	path := os.Getenv("TRIMTAB_BENCH_HEAP_PROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// metricValue reads a gauge, or a histogram's sum, from reg.
func metricValue(b *testing.B, reg *promclient.Registry, name string) float64 {
	b.Helper()
	families, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			m := f.GetMetric()[0]
			if h := m.GetHistogram(); h != nil {
				return h.GetSampleSum()
			}
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// waitGauge polls a gauge until ok holds.
func waitGauge(ctx context.Context, b *testing.B, reg *promclient.Registry, name string, ok func(float64) bool) {
	b.Helper()
	for !ok(metricValue(b, reg, name)) {
		if ctx.Err() != nil {
			b.Fatal(ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sampleHeap records the highest HeapInuse until ctx ends.
func sampleHeap(ctx context.Context) func() uint64 {
	var peak atomic.Uint64
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return peak.Load
}

// waitPhase waits until Prometheus has scraped the exporter at phase.
func waitPhase(ctx context.Context, b *testing.B, prom *testenv.Prometheus, phase int64) {
	b.Helper()
	c, err := promapi.NewClient(promapi.Config{Address: prom.URL})
	if err != nil {
		b.Fatal(err)
	}
	api := promv1.NewAPI(c)
	deadline := time.Now().Add(30 * time.Second)
	for {
		var v float64
		res, _, _, err := api.Query(ctx, "bench_phase", time.Time{})
		if vec, ok := res.(model.Vector); ok && len(vec) == 1 {
			v = float64(vec[0].Value)
		}
		if err == nil && v == float64(phase) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("Prometheus did not scrape phase %d within 30 s (last %v, %v)", phase, v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkBenchStatus makes sure the cycle did the work it is timed on.
func checkBenchStatus(ctx context.Context, b *testing.B, c client.Reader, wl benchWorkload) {
	b.Helper()
	var p trimtabv1.ScalingPolicy
	if err := c.Get(ctx, client.ObjectKey{Namespace: wl.ns, Name: wl.name}, &p); err != nil {
		b.Fatal(err)
	}
	if len(p.Status.CurrentMetrics) != 2 || p.Status.CurrentMetrics[0].Value == "" || p.Status.CurrentMetrics[1].Value == "" {
		b.Fatalf("policy %s/%s has no metric values after a cycle: %+v", wl.ns, wl.name, p.Status)
	}
}

func createBenchWorkloads(ctx context.Context, b *testing.B, workloads []benchWorkload, predictive bool) {
	b.Helper()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	seen := map[string]bool{}
	for _, wl := range workloads {
		if !seen[wl.ns] {
			seen[wl.ns] = true
			if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: wl.ns}}); client.IgnoreAlreadyExists(err) != nil {
				b.Fatal(err)
			}
		}
	}
	// The API server outlives the variant: its objects go, so that the
	// next variant's controller sees only its own.
	b.Cleanup(func() {
		for ns := range seen {
			for _, obj := range []client.Object{&trimtabv1.ScalingPolicy{}, &appsv1.Deployment{}, &corev1.Pod{}} {
				if err := env.Client.DeleteAllOf(context.Background(), obj, client.InNamespace(ns)); err != nil {
					b.Errorf("clean up namespace %s: %v", ns, err)
				}
			}
		}
	})
	for i, wl := range workloads {
		g.Go(func() error { return createBenchWorkload(gctx, wl, i, predictive) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

func createBenchWorkload(ctx context.Context, wl benchWorkload, i int, predictive bool) error {
	labels := map[string]string{"app": wl.name}
	podSpec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1",
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: wl.name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec}},
	}
	if err := env.Client.Create(ctx, d); err != nil {
		return err
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	if err := env.Client.Status().Update(ctx, d); err != nil {
		return err
	}
	// Started an hour ago: past the HPA's CPU initialization period.
	started := metav1.NewTime(time.Now().Add(-time.Hour))
	for j := range 2 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: fmt.Sprintf("%s-0-%d", wl.name, j), Labels: labels}, Spec: podSpec}
		if err := env.Client.Create(ctx, p); err != nil {
			return err
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, StartTime: &started,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: started}}}
		if err := env.Client.Status().Update(ctx, p); err != nil {
			return err
		}
	}
	second := trimtabv1.ScalingMetric{
		Metric: trimtabv1.Metric{Name: "latency", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{
			Query: `max(bench_latency_seconds{namespace="{{.Namespace}}",deployment="{{.Name}}"})`}}},
		Kind: trimtabv1.MetricObject, Target: trimtabv1.MetricTarget{Type: trimtabv1.ValueTarget, Value: quantity("250m")},
	}
	if i%2 == 1 {
		second = trimtabv1.ScalingMetric{
			Metric: trimtabv1.Metric{Name: "queue", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{
				Query: `sum(bench_queue_messages{namespace="{{.Namespace}}",deployment="{{.Name}}"})`}}},
			Kind: trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: quantity("30")},
		}
	}
	policy := &trimtabv1.ScalingPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: wl.name},
		Spec: trimtabv1.ScalingPolicySpec{TargetRef: trimtabv1.ScaleTargetRef{Name: wl.name}, MinReplicas: ptr.To[int32](2), MaxReplicas: 10,
			Metrics: []trimtabv1.ScalingMetric{{
				Metric: trimtabv1.Metric{Name: "cpu", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{
					Query: `sum by (pod) (bench_cpu_cores{namespace="{{.Namespace}}",deployment="{{.Name}}"})`}}},
				Kind: trimtabv1.MetricResource, Resource: "cpu",
				Target: trimtabv1.MetricTarget{Type: trimtabv1.UtilizationTarget, AverageUtilization: ptr.To[int32](70)},
			}, second},
		},
	}
	if predictive {
		// A daily season: the model's largest part, its seasonal slots,
		// is allocated whole when the model is.
		policy.Spec.Predictive = &trimtabv1.Predictive{Mode: trimtabv1.PredictiveOn, HorizonSeconds: 75, SeasonSeconds: 86400}
	}
	return env.Client.Create(ctx, policy)
}

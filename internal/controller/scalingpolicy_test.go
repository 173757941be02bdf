package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	"github.com/go-logr/logr"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/cloudwatch"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/collector/providers"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/internal/testenv"
	"github.com/trimtab/trimtab/scaler/release"
)

// The ScalingPolicy tests run the real controller against the real API
// server (envtest), a real Prometheus and a real moto. There is no kubelet:
// the kubelet stand-in of harness_test.go creates each Deployment's pods and
// marks them Running and Ready. The metric values come from real HTTP
// servers on 127.0.0.1 that the test drives: loadApp, which Prometheus
// scrapes every second, and moto, into which the test puts CloudWatch data.
//
// Syncs run every 500 ms and the policies use a 3 s downscale
// stabilization window, so each case takes seconds.
const (
	testSyncPeriod     = 500 * time.Millisecond
	testMetricInterval = 2 * time.Second
	testDownWindow     = 3 * time.Second
)

// loadApp is a workload's metrics exporter: it serves, per namespace, the
// CPU usage of every ready pod of the Deployment "web" (the namespace's
// total load shared evenly, so that more replicas each use less, as a real
// service), a p95 latency and a queue length. It lists the pods from the
// API server at every scrape.
type loadApp struct {
	mu    sync.Mutex
	loads map[string]*load
	url   string
}

type load struct {
	cpuCores, latencySeconds, queue float64
}

func startLoadApp(t *testing.T) *loadApp {
	t.Helper()
	a := &loadApp{loads: map[string]*load{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.url = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return a
}

func (a *loadApp) set(ns string, l load) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.loads[ns] = &l
}

func (a *loadApp) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	loads := make(map[string]load, len(a.loads))
	for ns, l := range a.loads {
		loads[ns] = *l
	}
	a.mu.Unlock()
	var b strings.Builder
	b.WriteString("# TYPE app_cpu_usage_cores gauge\n")
	for ns, l := range loads {
		var pods corev1.PodList
		if err := env.Client.List(r.Context(), &pods, client.InNamespace(ns)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		var ready []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
				ready = append(ready, p.Name)
			}
		}
		for _, p := range ready {
			fmt.Fprintf(&b, "app_cpu_usage_cores{namespace=%q,pod=%q} %g\n", ns, p, l.cpuCores/float64(len(ready)))
		}
		fmt.Fprintf(&b, "app_latency_p95_seconds{namespace=%q} %g\n", ns, l.latencySeconds)
		fmt.Fprintf(&b, "app_queue_messages{namespace=%q} %g\n", ns, l.queue)
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}

// scalingWorld is what every case shares: one Prometheus scraping the
// load app, one moto, and one controller manager (the Release controller
// and the ScalingPolicy controller, with a collector built as in
// production but with moto's protocol and a 1 s Prometheus step).
type scalingWorld struct {
	app      *loadApp
	prom     *testenv.Prometheus
	moto     *testenv.Moto
	registry *promclient.Registry
}

func startScalingWorld(t *testing.T, configure ...func(*controller.Deps)) *scalingWorld {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	w := &scalingWorld{app: startLoadApp(t), moto: testenv.StartMoto(t), registry: promclient.NewRegistry()}
	w.prom = testenv.StartPrometheus(t, w.app.url)
	ctx, cancel := context.WithCancel(context.Background())
	mgr, err := ctrl.NewManager(env.Config, ctrl.Options{
		Scheme: kube.NewScheme(), Cache: controller.CacheOptions(nil), Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	require.NoError(t, err)
	metrics, err := controller.NewMetrics(w.registry)
	require.NoError(t, err)
	// Production streams them beside the registry; tests read them from it.
	w.registry.MustRegister(metrics.PolicySeries())
	cm := collector.NewMetrics(w.registry)
	pods, err := kube.AddLeanPodCache(mgr, nil)
	require.NoError(t, err)
	scrape, err := providers.New(collector.KindScrape, providers.Config{Pods: pods, Metrics: cm, ScrapeMinInterval: 500 * time.Millisecond})
	require.NoError(t, err)
	coll := collector.New(map[collector.Kind]collector.Provider{
		collector.KindScrape:     scrape,
		collector.KindPrometheus: prometheus.New(prometheus.Options{Step: time.Second, Metrics: cm}),
		collector.KindCloudWatch: cloudwatch.New(cloudwatch.Options{Region: "us-east-1", Metrics: cm,
			NewAPI: func(context.Context, string) (cloudwatch.API, error) { return w.motoClient(), nil }}),
	}, collector.Options{Timeout: 5 * time.Second, Metrics: cm})
	deps := controller.Deps{
		Metrics: metrics, Collector: coll, Pods: pods, ScalingSyncPeriod: testSyncPeriod, ScalingMetricInterval: testMetricInterval,
	}
	for _, f := range configure {
		f(&deps)
	}
	require.NoError(t, controller.Setup(mgr, deps))
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.NoError(t, w.prom.WaitUp(ctx, 1, 20*time.Second))
	return w
}

// motoClient talks to moto, which does not speak the SDK's default
// protocol: the test (only the test) selects awsquery.
func (w *scalingWorld) motoClient() *awscw.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return awscw.NewFromConfig(cfg, func(o *awscw.Options) {
		o.BaseEndpoint = aws.String(w.moto.URL)
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}

// workload is one case's namespace with a Deployment "web" whose pods the
// kubelet stand-in runs.
type workload struct {
	t  *testing.T
	ns string
}

func newWorkload(t *testing.T, replicas int32) *workload {
	t.Helper()
	return newStartingWorkload(t, replicas, 0)
}

// newStartingWorkload's pods become Ready startup after their creation.
func newStartingWorkload(t *testing.T, replicas int32, startup time.Duration) *workload {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "sp-"}}
	require.NoError(t, env.Client.Create(ctx, ns))
	k := &kubelet{c: env.Client, ns: ns.Name, hold: map[string]bool{}, apps: map[string]*app{"": startApp(t, 1, 0, 100)}, startup: startup}
	kctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	k.run(kctx, t)
	d := userDeployment(ns.Name, "web", "example.invalid/web:1", replicas)
	d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	require.NoError(t, env.Client.Create(ctx, d))
	return &workload{t: t, ns: ns.Name}
}

func (w *workload) replicas() int32 {
	var d appsv1.Deployment
	require.NoError(w.t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "web"}, &d))
	return ptr.Deref(d.Spec.Replicas, 1)
}

// waitReadyFor waits until the workload runs n pods that have been Ready
// for at least d: a CPU sample counts only once it covers a full metrics
// window after the pod's Ready transition (the HPA's initialization rule).
func (w *workload) waitReadyFor(n int, d time.Duration) {
	w.t.Helper()
	require.EventuallyWithT(w.t, func(c *assert.CollectT) {
		var pods corev1.PodList
		require.NoError(c, env.Client.List(context.Background(), &pods, client.InNamespace(w.ns)))
		settled := 0
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && time.Since(cond.LastTransitionTime.Time) >= d {
					settled++
				}
			}
		}
		assert.Equal(c, n, settled, "pods Ready for %s", d)
	}, 20*time.Second+d, 100*time.Millisecond)
}

func (w *workload) policy(p *trimtabv1.ScalingPolicy) *trimtabv1.ScalingPolicy {
	w.t.Helper()
	p.Namespace = w.ns
	if p.Name == "" {
		p.Name = "web"
	}
	p.Spec.TargetRef = trimtabv1.ScaleTargetRef{Name: "web"}
	require.NoError(w.t, env.Client.Create(context.Background(), p))
	// The API server outlives the test: later tests' controllers must not
	// keep syncing a policy whose metric sources are gone.
	w.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
	return p
}

// create creates p in the workload's namespace as it is, targetRef and all.
func (w *workload) create(p *trimtabv1.ScalingPolicy) *trimtabv1.ScalingPolicy {
	w.t.Helper()
	p.Namespace = w.ns
	require.NoError(w.t, env.Client.Create(context.Background(), p))
	w.t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
	return p
}

func (w *workload) get(p *trimtabv1.ScalingPolicy) *trimtabv1.ScalingPolicy {
	w.t.Helper()
	require.NoError(w.t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(p), p))
	return p
}

// waitReplicas waits for the Deployment's replica count and explains a
// failure with the policy's status.
func (w *workload) waitReplicas(p *trimtabv1.ScalingPolicy, want int32, within time.Duration) {
	w.t.Helper()
	require.Eventually(w.t, func() bool { return w.replicas() == want }, within, 100*time.Millisecond,
		"replicas %d, want %d; policy status: %+v", w.replicas(), want, w.get(p).Status)
}

// scaleEvents returns the notes of the policy's events with reason.
// waitEvents waits until the policy has at least n Events of the reason and
// returns their notes: Events are sent in the background, after the change
// they report.
func (w *workload) waitEvents(reason string, n int) []string {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		notes := w.events(reason)
		if len(notes) >= n {
			return notes
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d %s events after 10s, want %d: %q", len(notes), reason, n, notes)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *workload) events(reason string) []string {
	var evs eventsv1.EventList
	require.NoError(w.t, env.Client.List(context.Background(), &evs, client.InNamespace(w.ns)))
	// Syncs are 500 ms apart here, and creation timestamps count whole
	// seconds: the event time orders them.
	slices.SortFunc(evs.Items, func(a, b eventsv1.Event) int { return a.EventTime.Time.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range evs.Items {
		if e.Regarding.Kind == "ScalingPolicy" && e.Reason == reason {
			out = append(out, e.Note)
		}
	}
	return out
}

// eventCount counts the Events of reason about the policy name, including
// the repeats the recorder folded into an event series.
func (w *workload) eventCount(name, reason string) int {
	var evs eventsv1.EventList
	require.NoError(w.t, env.Client.List(context.Background(), &evs, client.InNamespace(w.ns)))
	n := 0
	for _, e := range evs.Items {
		if e.Regarding.Kind != "ScalingPolicy" || e.Regarding.Name != name || e.Reason != reason {
			continue
		}
		n++
		if e.Series != nil {
			n += int(e.Series.Count) - 1
		}
	}
	return n
}

// waitEventCount waits until the policy name has at least n Events of
// reason.
func (w *workload) waitEventCount(name, reason string, n int) {
	w.t.Helper()
	require.Eventually(w.t, func() bool { return w.eventCount(name, reason) >= n }, 10*time.Second, 50*time.Millisecond,
		"%s: fewer than %d %s Events", name, n, reason)
}

func condition(p *trimtabv1.ScalingPolicy, typ string) metav1.Condition {
	if c := meta.FindStatusCondition(p.Status.Conditions, typ); c != nil {
		return *c
	}
	return metav1.Condition{}
}

func quantity(s string) *resource.Quantity { return ptr.To(resource.MustParse(s)) }

// cpuMetric is CPU utilization against requests from per-pod series.
func cpuMetric(address string) trimtabv1.ScalingMetric {
	return trimtabv1.ScalingMetric{
		Metric: trimtabv1.Metric{Name: "cpu", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Address: address,
			Query: `sum by (pod) (app_cpu_usage_cores{namespace="{{.Namespace}}",pod=~"{{.PodRegex}}"})`}}},
		Kind: trimtabv1.MetricResource, Resource: "cpu",
		Target: trimtabv1.MetricTarget{Type: trimtabv1.UtilizationTarget, AverageUtilization: ptr.To[int32](70)},
	}
}

// cpuPolicy is a policy named name on CPU alone, between 1 and 10 replicas.
func cpuPolicy(address, name string) *trimtabv1.ScalingPolicy {
	return &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: trimtabv1.ScalingPolicySpec{
		MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(address)},
	}}
}

// fastBehavior lets scale-ups through at once and stabilizes scale-downs
// over testDownWindow.
func fastBehavior() *trimtabv1.ScalingBehavior {
	return &trimtabv1.ScalingBehavior{
		ScaleUp:   &trimtabv1.ScalingRules{Policies: []trimtabv1.ScalingPolicyRule{{Type: "Pods", Value: 10, PeriodSeconds: 1}}},
		ScaleDown: &trimtabv1.ScalingRules{StabilizationWindowSeconds: ptr.To(int32(testDownWindow / time.Second))},
	}
}

func TestScalingPolicy(t *testing.T) {
	w := startScalingWorld(t)
	t.Run("scales up under load and down after the stabilization window", func(t *testing.T) {
		t.Parallel()
		wl := newWorkload(t, 2)
		w.app.set(wl.ns, load{cpuCores: 0.1, latencySeconds: 0.1})
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Behavior: fastBehavior(),
			Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL), {
				Metric: trimtabv1.Metric{Name: "latency", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Address: w.prom.URL,
					Query: `max(app_latency_p95_seconds{namespace="{{.Namespace}}"})`}}},
				Kind: trimtabv1.MetricObject, Target: trimtabv1.MetricTarget{Type: trimtabv1.ValueTarget, Value: quantity("250m")},
			}},
		}})
		// Quiet: 50 % CPU on 2 pods, at the minimum.
		require.Eventually(t, func() bool {
			st := wl.get(p).Status
			return len(st.CurrentMetrics) == 2 && st.CurrentMetrics[0].Value == "50%" && st.CurrentMetrics[1].Value == "100m"
		}, 20*time.Second, 100*time.Millisecond, "status: %+v", p.Status)
		require.Equal(t, "70%", p.Status.CurrentMetrics[0].Target)
		require.Equal(t, "250m", p.Status.CurrentMetrics[1].Target)
		require.Equal(t, metav1.ConditionTrue, condition(p, "ScalingActive").Status)
		require.Equal(t, "ValidMetricFound", condition(p, "ScalingActive").Reason)
		require.Equal(t, metav1.ConditionTrue, condition(p, trimtabv1.ConditionReady).Status)
		require.Equal(t, int32(2), wl.replicas())

		// Load: 0.6 cores is 300 % of 2 pods' requests: ceil(2 × 300/70) = 9.
		w.app.set(wl.ns, load{cpuCores: 0.6, latencySeconds: 0.1})
		wl.waitReplicas(p, 9, 20*time.Second)
		require.Contains(t, wl.waitEvents(controller.ReasonSuccessfulRescale, 1), "cpu 300% > target 70%: 2 → 9")
		// Sent before the rescale's, an Event for the first, healthy Ready
		// would be here by now.
		require.Empty(t, wl.events(trimtabv1.ReasonTargetFound), "an Event for a policy that was ready from the start")
		wl.get(p)
		require.NotNil(t, p.Status.LastScaleTime)
		require.Equal(t, int32(9), p.Status.DesiredReplicas)

		// Back to quiet: 0.1 cores over 9 pods is 11 %, which proposes 2,
		// but latency (a Value target, multiplied by the ready pods as the
		// HPA does) proposes ceil(100/250 × 9) = 4, and then 2 from 4. The
		// stabilization window holds the count for the window after the
		// last sync that still saw the load, which may precede the drop by
		// up to one sync period.
		dropped := time.Now()
		w.app.set(wl.ns, load{cpuCores: 0.1, latencySeconds: 0.1})
		require.Eventually(t, func() bool { return wl.replicas() < 9 }, 20*time.Second, 50*time.Millisecond)
		took := time.Since(dropped)
		t.Logf("scaled down %v after the load dropped (window %v)", took.Round(10*time.Millisecond), testDownWindow)
		require.GreaterOrEqual(t, took, testDownWindow-testSyncPeriod, "scaled down inside the stabilization window")
		wl.waitReplicas(p, 2, 20*time.Second)
		// From 4 it usually goes straight to 2, but a sync that lists the
		// pods while the scale-down is still removing them multiplies the
		// latency by more ready pods (7 → 3), as the HPA would: any chain
		// of scale-downs from 4 to 2 is right.
		events := wl.events(controller.ReasonSuccessfulRescale)
		for deadline := time.Now().Add(10 * time.Second); len(events) < 3 || !strings.HasSuffix(events[len(events)-1], "→ 2"); events = wl.events(controller.ReasonSuccessfulRescale) {
			if time.Now().After(deadline) {
				t.Fatalf("no Event for the scale-down to 2 after 10s: %q", events)
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.Equal(t, "cpu 11% < target 70%, latency 100m < target 250m: 9 → 4", events[1])
		scaleDown := regexp.MustCompile(`^cpu \d+% < target 70%, latency 100m < target 250m: (\d+) → (\d+)$`)
		from := 4
		for _, note := range events[2:] {
			m := scaleDown.FindStringSubmatch(note)
			require.NotNil(t, m, "not a scale-down on both metrics: %q (events %q)", note, events)
			require.Equal(t, strconv.Itoa(from), m[1], "events: %q", events)
			to, _ := strconv.Atoi(m[2])
			require.Less(t, to, from, "events: %q", events)
			from = to
		}
		require.Equal(t, 2, from, "events: %q", events)
	})

	t.Run("CloudWatch backlog per replica against moto", func(t *testing.T) {
		t.Parallel()
		wl := newWorkload(t, 1)
		var backlog atomic.Int64
		backlog.Store(120)
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		cw := w.motoClient()
		go func() {
			// An SQS queue's backlog as CloudWatch sees it, every 200 ms.
			for ctx.Err() == nil {
				_, err := cw.PutMetricData(ctx, &awscw.PutMetricDataInput{Namespace: aws.String("AWS/SQS"), MetricData: []cwtypes.MetricDatum{{
					MetricName: aws.String("ApproximateNumberOfMessagesVisible"), Value: aws.Float64(float64(backlog.Load())), Timestamp: aws.Time(time.Now()),
					Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(wl.ns + "-jobs")}},
				}}})
				if err != nil && ctx.Err() == nil {
					t.Errorf("put metric data: %v", err)
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MaxReplicas: 10, Behavior: fastBehavior(),
			Metrics: []trimtabv1.ScalingMetric{{
				Metric: trimtabv1.Metric{Name: "backlog", MetricSource: trimtabv1.MetricSource{CloudWatch: &trimtabv1.CloudWatchSource{
					Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible", Statistic: "Maximum", PeriodSeconds: 1,
					Dimensions: []trimtabv1.CloudWatchDimension{{Name: "QueueName", Value: "{{.Namespace}}-jobs"}},
				}}},
				Kind: trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: quantity("30")},
			}},
		}})
		// 120 messages at 30 per replica: 4 replicas.
		wl.waitReplicas(p, 4, 20*time.Second)
		require.Contains(t, wl.waitEvents(controller.ReasonSuccessfulRescale, 1), "backlog 120 > target 30: 1 → 4")
		backlog.Store(30)
		wl.waitReplicas(p, 1, 20*time.Second)
		require.Equal(t, "30", wl.get(p).Status.CurrentMetrics[0].Target)
	})

	t.Run("scales a release's primary and canary together", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		rel := s.release(func(r *trimtabv1.Release) {
			r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 50, AnalysisSeconds: 600}}
		})
		s.waitState(rel, release.StateIdle, 30*time.Second)

		// A policy on a variant is refused: the Release sets its replicas.
		primary := s.replicas("web-primary")
		variant := &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "primary"}, Spec: trimtabv1.ScalingPolicySpec{
			TargetRef: trimtabv1.ScaleTargetRef{Name: "web-primary"}, MinReplicas: ptr.To(primary + 2), MaxReplicas: 10,
			Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		}}
		require.NoError(t, env.Client.Create(context.Background(), variant))
		require.Eventually(t, func() bool {
			ready := condition((&workload{t: t, ns: s.ns}).get(variant), trimtabv1.ConditionReady)
			return ready.Reason == trimtabv1.ReasonOwnedElsewhere && strings.Contains(ready.Message, "is a variant of Release web")
		}, 15*time.Second, 100*time.Millisecond)
		time.Sleep(3 * testSyncPeriod)
		require.Equal(t, primary, s.replicas("web-primary"), "scaled a Release's variant")
		require.NoError(t, env.Client.Delete(context.Background(), variant))

		s.newImage("example.invalid/web:2")
		s.eventually(func() bool { st := s.get(rel).Status; return st.State == release.StateProgressing && st.Weight == 50 }, 30*time.Second, rel)

		w.app.set(s.ns, load{queue: 80})
		wl := &workload{t: t, ns: s.ns}
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Behavior: fastBehavior(),
			Metrics: []trimtabv1.ScalingMetric{{
				Metric: trimtabv1.Metric{Name: "queue", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Address: w.prom.URL,
					Query: `sum(app_queue_messages{namespace="{{.Namespace}}"})`}}},
				Kind: trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: quantity("10")},
			}},
		}})
		split := func() (int32, int32) { return s.replicas("web-primary"), s.replicas("web-canary") }
		for _, step := range []struct {
			queue  float64
			total  int32
			halves int32
		}{{80, 8, 4}, {40, 4, 2}} {
			w.app.set(s.ns, load{queue: step.queue})
			s.eventually(func() bool {
				pr, ca := split()
				r := s.get(rel)
				return r.Annotations[release.AnnotationDesiredReplicas] == fmt.Sprint(step.total) && r.Status.TotalReplicas == step.total && pr == step.halves && ca == step.halves
			}, 30*time.Second, rel)
		}
		require.Equal(t, int32(0), s.replicas("web"), "the policy never scales the Release's target itself")
		ready := condition(wl.get(p), trimtabv1.ConditionReady)
		require.Equal(t, metav1.ConditionTrue, ready.Status)
		require.Contains(t, ready.Message, "Release web manages it")
		require.Eventually(t, func() bool { return wl.get(p).Status.CurrentReplicas == 4 }, 5*time.Second, 50*time.Millisecond)

		// Without the policy the user's count on the target is the size
		// again, though the policy's annotation stays on the Release.
		require.NoError(t, env.Client.Delete(context.Background(), p))
		var target appsv1.Deployment
		require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web"}, &target))
		target.Spec.Replicas = ptr.To[int32](6)
		require.NoError(t, env.Client.Update(context.Background(), &target))
		s.eventually(func() bool {
			pr, ca := split()
			return s.get(rel).Status.TotalReplicas == 6 && pr == 3 && ca == 3
		}, 30*time.Second, rel)
	})

	t.Run("refuses a target that has an HPA", func(t *testing.T) {
		t.Parallel()
		wl := newWorkload(t, 1)
		require.NoError(t, env.Client.Create(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: "web-hpa"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
		}))
		w.app.set(wl.ns, load{cpuCores: 1})
		// minReplicas 3 would scale the Deployment at the first sync.
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](3), MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		}})
		require.Eventually(t, func() bool {
			return condition(wl.get(p), trimtabv1.ConditionReady).Reason == trimtabv1.ReasonTargetHasHPA
		}, 15*time.Second, 100*time.Millisecond, "status: %+v", p.Status)
		ready := condition(p, trimtabv1.ConditionReady)
		require.Equal(t, metav1.ConditionFalse, ready.Status)
		require.Contains(t, ready.Message, fmt.Sprintf("HorizontalPodAutoscaler %s/web-hpa already scales Deployment %s/web", wl.ns, wl.ns))
		time.Sleep(5 * testSyncPeriod)
		require.Equal(t, int32(1), wl.replicas(), "scaled a Deployment that an HPA scales")
		wl.waitEvents(trimtabv1.ReasonTargetHasHPA, 1)

		// Without the HPA the policy is ready, says so in an Event, and scales.
		require.NoError(t, env.Client.Delete(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: "web-hpa"}}))
		wl.waitEvents(trimtabv1.ReasonTargetFound, 1)
		require.Eventually(t, func() bool { return wl.replicas() >= 3 }, 15*time.Second, 100*time.Millisecond, "never scaled once the HPA was gone")
	})

	t.Run("two policies on one target: neither scales", func(t *testing.T) {
		t.Parallel()
		// As the HPA with two HPAs on one workload (AmbiguousSelector).
		// One policy wants exactly 2 replicas, the other exactly 5: taking
		// turns, they would rewrite the count at every sync.
		wl := newWorkload(t, 1)
		w.app.set(wl.ns, load{cpuCores: 0.1})
		exactly := func(name string, n int32) *trimtabv1.ScalingPolicy {
			return wl.policy(&trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: trimtabv1.ScalingPolicySpec{
				MinReplicas: ptr.To(n), MaxReplicas: n, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
			}})
		}
		small, big := exactly("small", 2), exactly("big", 5)
		for _, p := range []*trimtabv1.ScalingPolicy{small, big} {
			other := map[string]string{"small": "big", "big": "small"}[p.Name]
			require.Eventually(t, func() bool {
				return condition(wl.get(p), trimtabv1.ConditionReady).Reason == trimtabv1.ReasonTargetHasPolicy
			}, 15*time.Second, 100*time.Millisecond, "%s: %+v", p.Name, p.Status)
			ready := condition(p, trimtabv1.ConditionReady)
			require.Equal(t, metav1.ConditionFalse, ready.Status)
			require.Contains(t, ready.Message, fmt.Sprintf("ScalingPolicy %s/%s also scales Deployment %s/web", wl.ns, other, wl.ns))
			require.Eventually(t, func() bool {
				active := condition(wl.get(p), "ScalingActive")
				return active.Status == metav1.ConditionFalse && active.Reason == trimtabv1.ReasonTargetHasPolicy
			}, 5*time.Second, 100*time.Millisecond, "%s: ScalingActive still says it scales: %+v", p.Name, p.Status)
		}
		// The first may have scaled once before the second existed;
		// after that the count stays.
		settled := wl.replicas()
		time.Sleep(5 * testSyncPeriod)
		require.Equal(t, settled, wl.replicas(), "two policies took turns at the replica count")

		// With one gone the other is ready again and scales.
		require.NoError(t, env.Client.Delete(context.Background(), small))
		require.Eventually(t, func() bool { return wl.replicas() == 5 }, 15*time.Second, 100*time.Millisecond, "never scaled once the other policy was gone")
		require.Equal(t, metav1.ConditionTrue, condition(wl.get(big), trimtabv1.ConditionReady).Status)
	})

	// The reconciler and the cycle both write a refused policy's status,
	// and Ready and ScalingActive both say why: the user must get one
	// Event per refusal, not one per writer or per condition.
	for _, tc := range []struct {
		name, reason string
		// refuse creates what the policy (made by policy) is refused for.
		refuse func(t *testing.T, wl *workload)
		policy func(wl *workload) []*trimtabv1.ScalingPolicy
	}{
		{name: "an HPA on the target: one TargetHasHPA Event", reason: trimtabv1.ReasonTargetHasHPA,
			refuse: func(t *testing.T, wl *workload) {
				require.NoError(t, env.Client.Create(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{
					ObjectMeta: metav1.ObjectMeta{Namespace: wl.ns, Name: "web-hpa"},
					Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
						ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
				}))
			},
			policy: func(wl *workload) []*trimtabv1.ScalingPolicy {
				return []*trimtabv1.ScalingPolicy{wl.policy(cpuPolicy(w.prom.URL, "web"))}
			}},
		{name: "two policies on the target: one TargetHasPolicy Event each", reason: trimtabv1.ReasonTargetHasPolicy,
			policy: func(wl *workload) []*trimtabv1.ScalingPolicy {
				return []*trimtabv1.ScalingPolicy{wl.policy(cpuPolicy(w.prom.URL, "one")), wl.policy(cpuPolicy(w.prom.URL, "two"))}
			}},
		{name: "a missing target: one TargetNotFound Event", reason: trimtabv1.ReasonTargetNotFound,
			policy: func(wl *workload) []*trimtabv1.ScalingPolicy {
				p := cpuPolicy(w.prom.URL, "web")
				p.Spec.TargetRef = trimtabv1.ScaleTargetRef{Name: "missing"}
				return []*trimtabv1.ScalingPolicy{wl.create(p)}
			}},
		{name: "a kind the API server does not serve: one TargetUnsupported Event", reason: trimtabv1.ReasonTargetUnsupported,
			policy: func(wl *workload) []*trimtabv1.ScalingPolicy {
				p := cpuPolicy(w.prom.URL, "web")
				p.Spec.TargetRef = trimtabv1.ScaleTargetRef{APIVersion: "example.com/v1", Kind: "Widget", Name: "web"}
				return []*trimtabv1.ScalingPolicy{wl.create(p)}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wl := newWorkload(t, 1)
			w.app.set(wl.ns, load{cpuCores: 0.1})
			if tc.refuse != nil {
				tc.refuse(t, wl)
			}
			for _, p := range tc.policy(wl) {
				require.EventuallyWithT(t, func(c *assert.CollectT) {
					wl.get(p)
					assert.Equal(c, tc.reason, condition(p, trimtabv1.ConditionReady).Reason, "%s: %+v", p.Name, p.Status)
					assert.Equal(c, tc.reason, condition(p, "ScalingActive").Reason, "%s: %+v", p.Name, p.Status)
				}, 15*time.Second, 100*time.Millisecond)
				// Every cycle writes the refused policy's status again.
				time.Sleep(5 * testSyncPeriod)
				wl.waitEventCount(p.Name, tc.reason, 1)
				// Events are sent in the background: a second would be
				// here by now.
				time.Sleep(2 * time.Second)
				require.Equal(t, 1, wl.eventCount(p.Name, tc.reason), "%s: %s Events", p.Name, tc.reason)
			}
		})
	}

	for _, tc := range []struct {
		name     string
		fallback *trimtabv1.Fallback
		// hold is the replica count while the source is down.
		hold int32
	}{
		{"source down holds: never scales down on missing data", nil, 6},
		{"fallback raises the count after failureThreshold failures", &trimtabv1.Fallback{FailureThreshold: 3, Replicas: 8}, 8},
		{"fallback never lowers the count", &trimtabv1.Fallback{FailureThreshold: 3, Replicas: 4}, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wl := newWorkload(t, 6)
			// Quiet load: with data, the policy would go to 2 at once.
			w.app.set(wl.ns, load{cpuCores: 0.1})
			src := newFlakyProxy(t, w.prom.URL)
			src.down.Store(true)
			p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
				MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Behavior: fastBehavior(), Fallback: tc.fallback,
				Metrics: []trimtabv1.ScalingMetric{cpuMetric(src.url)},
			}})
			// Well past the stabilization window and the threshold.
			require.Eventually(t, func() bool { return wl.get(p).Status.ConsecutiveFailures >= 10 }, 30*time.Second, 100*time.Millisecond, "status: %+v", p.Status)
			require.Equal(t, tc.hold, wl.replicas())
			active := condition(p, "ScalingActive")
			require.Equal(t, metav1.ConditionFalse, active.Status)
			require.Equal(t, "FailedGetResourceMetric", active.Reason)
			require.Contains(t, active.Message, "unavailable")
			require.Empty(t, p.Status.CurrentMetrics[0].Value)
			require.Contains(t, p.Status.CurrentMetrics[0].Error, `metric "cpu"`, "the status says why the metric has no value")
			require.Contains(t, p.Status.CurrentMetrics[0].Error, "unavailable")
			require.Greater(t, counter(t, w.registry, "trimtab_scaler_metric_failures_total", wl.ns, "unavailable"), 9.0)
			wl.waitEvents("FailedGetResourceMetric", 1)
			if tc.hold != 6 {
				require.Contains(t, wl.waitEvents(controller.ReasonSuccessfulRescale, 1), fmt.Sprintf("fallback after 3 consecutive metric failures: 6 → %d", tc.hold))
			}

			// The source is back: the quiet load now scales down.
			src.down.Store(false)
			wl.waitReplicas(p, 2, 20*time.Second)
			require.Eventually(t, func() bool { return wl.get(p).Status.ConsecutiveFailures == 0 }, 5*time.Second, 50*time.Millisecond)
		})
	}
}

// flakyProxy stands between the controller and Prometheus and answers 503
// while down, as a Prometheus behind an unavailable gateway.
type flakyProxy struct {
	url  string
	down atomic.Bool
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	p := &flakyProxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p.url = "http://" + ln.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

// counter sums a counter's series of one namespace and reason.
func counter(t *testing.T, reg *promclient.Registry, name, namespace, reason string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	var sum float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == namespace && labels["reason"] == reason {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestScalingPolicySyncPeriod: with the controller's sync period at an
// hour, a policy with spec.syncPeriodSeconds 1 follows its load every
// second, while one without it is synced once, when it appears (the
// reconciler wakes the cycle for a policy it has not synced yet), and not
// again within the hour.
func TestScalingPolicySyncPeriod(t *testing.T) {
	w := startScalingWorld(t, func(d *controller.Deps) { d.ScalingSyncPeriod = time.Hour })
	fast, slow := newWorkload(t, 2), newWorkload(t, 2)
	w.app.set(fast.ns, load{cpuCores: 0.1})
	w.app.set(slow.ns, load{cpuCores: 0.1})
	policy := func(wl *workload, period *int32) *trimtabv1.ScalingPolicy {
		return wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Behavior: fastBehavior(), SyncPeriodSeconds: period,
			Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		}})
	}
	synced := func(wl *workload, p *trimtabv1.ScalingPolicy) {
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			st := wl.get(p).Status
			assert.True(c, len(st.CurrentMetrics) == 1 && st.CurrentMetrics[0].Value == "50%", "status: %+v", st)
		}, 20*time.Second, 100*time.Millisecond, "%s never synced", wl.ns)
	}
	pFast := policy(fast, ptr.To[int32](1))
	synced(fast, pFast)
	// Created once Prometheus has its load (both are in the app's every
	// scrape) and its pods have been Ready for a metrics window (else the
	// HPA's CPU rules leave their samples out): its first sync is its only
	// one within the hour.
	slow.waitReadyFor(2, testMetricInterval+time.Second)
	pSlow := policy(slow, nil)
	synced(slow, pSlow)

	// 0.6 cores is 300 % of 2 pods' requests: ceil(2 × 300/70) = 9.
	w.app.set(fast.ns, load{cpuCores: 0.6})
	w.app.set(slow.ns, load{cpuCores: 0.6})
	fast.waitReplicas(pFast, 9, 20*time.Second)
	time.Sleep(3 * time.Second)
	require.Equal(t, int32(2), slow.replicas(), "the policy on the controller's hourly period was synced again")
	require.Equal(t, "50%", slow.get(pSlow).Status.CurrentMetrics[0].Value)
	require.Equal(t, slow.get(pSlow).Generation, slow.get(pSlow).Status.ObservedGeneration)

	// A changed spec is synced at once, not within the hour, and
	// observedGeneration says when the status is of the new spec: 9
	// replicas wanted, 4 allowed.
	changed := slow.get(pSlow)
	changed.Spec.MaxReplicas = 4
	require.NoError(t, env.Client.Update(context.Background(), changed))
	slow.waitReplicas(pSlow, 4, 20*time.Second)
	require.Eventually(t, func() bool {
		st := slow.get(pSlow).Status
		return st.ObservedGeneration == changed.Generation && st.DesiredReplicas == 4 && st.CurrentMetrics[0].Value == "300%"
	}, 10*time.Second, 50*time.Millisecond, "status of the new spec, with its generation")

	// Deleted, each policy is forgotten with its series: the 1 s one when
	// it falls due, the hourly one because its deletion has the next cycle
	// list every policy again.
	for _, tc := range []struct {
		wl *workload
		p  *trimtabv1.ScalingPolicy
	}{{fast, pFast}, {slow, pSlow}} {
		series := func() int {
			return len(collectortest.Series(t, w.registry, "trimtab_scaler_desired_replicas", map[string]string{"namespace": tc.wl.ns, "name": "web"}))
		}
		require.Equal(t, 1, series())
		require.NoError(t, env.Client.Delete(context.Background(), tc.p))
		require.Eventually(t, func() bool { return series() == 0 }, 10*time.Second, 50*time.Millisecond, "%s kept the series of its deleted policy", tc.wl.ns)
	}
}

// TestScalingPolicyActsWhenNoLongerRefused: with the controller's sync
// period at an hour, a policy refused at its first sync scales at once when
// what refused it goes (its target's HPA deleted, its missing target
// created), not at its next sync within the hour; and an HPA created on its
// target refuses it at once. The watches notice, not the syncs.
func TestScalingPolicyActsWhenNoLongerRefused(t *testing.T) {
	w := startScalingWorld(t, func(d *controller.Deps) { d.ScalingSyncPeriod = time.Hour })
	hpa := func(ns string) *autoscalingv2.HorizontalPodAutoscaler {
		return &autoscalingv2.HorizontalPodAutoscaler{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-hpa"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
		}
	}
	for _, tc := range []struct {
		name, reason string
		// target is the policy's; refuse makes the world refuse the
		// policy (nil: the target is missing), allow undoes it.
		target        string
		refuse, allow func(t *testing.T, wl *workload)
	}{
		{name: "the HPA on its target deleted", reason: trimtabv1.ReasonTargetHasHPA, target: "web",
			refuse: func(t *testing.T, wl *workload) {
				require.NoError(t, env.Client.Create(context.Background(), hpa(wl.ns)))
			},
			allow: func(t *testing.T, wl *workload) {
				require.NoError(t, env.Client.Delete(context.Background(), hpa(wl.ns)))
			}},
		{name: "its missing target created", reason: trimtabv1.ReasonTargetNotFound, target: "later",
			allow: func(t *testing.T, wl *workload) {
				d := userDeployment(wl.ns, "later", "example.invalid/later:1", 1)
				d.Spec.Template.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
				require.NoError(t, env.Client.Create(context.Background(), d))
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wl := newWorkload(t, 1)
			w.app.set(wl.ns, load{cpuCores: 1})
			if tc.refuse != nil {
				tc.refuse(t, wl)
			}
			// minReplicas 3 would scale the target at the policy's first
			// sync, which comes when the policy appears, refused.
			p := wl.create(&trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: trimtabv1.ScalingPolicySpec{
				TargetRef: trimtabv1.ScaleTargetRef{Name: tc.target}, MinReplicas: ptr.To[int32](3), MaxReplicas: 10,
				Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
			}})
			require.EventuallyWithT(t, func(c *assert.CollectT) {
				wl.get(p)
				assert.Equal(c, tc.reason, condition(p, trimtabv1.ConditionReady).Reason, "status: %+v", p.Status)
				assert.Equal(c, tc.reason, condition(p, "ScalingActive").Reason, "the first sync never came: %+v", p.Status)
			}, 10*time.Second, 50*time.Millisecond)

			tc.allow(t, wl)
			replicas := func() int32 {
				var d appsv1.Deployment
				require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: wl.ns, Name: tc.target}, &d))
				return ptr.Deref(d.Spec.Replicas, 1)
			}
			require.Eventually(t, func() bool { return replicas() == 3 }, 15*time.Second, 100*time.Millisecond,
				"not scaled within 15 s of no longer being refused (replicas %d)", replicas())
			// The reconciler asks for the sync before it writes Ready, so
			// the scale can land first.
			require.Eventually(t, func() bool { return condition(wl.get(p), trimtabv1.ConditionReady).Status == metav1.ConditionTrue },
				5*time.Second, 50*time.Millisecond, "Ready: %+v", condition(wl.get(p), trimtabv1.ConditionReady))
		})
	}

	t.Run("an HPA created refuses a policy that scales", func(t *testing.T) {
		t.Parallel()
		wl := newWorkload(t, 1)
		w.app.set(wl.ns, load{cpuCores: 1})
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](3), MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		}})
		wl.waitReplicas(p, 3, 15*time.Second)
		require.NoError(t, env.Client.Create(context.Background(), hpa(wl.ns)))
		require.Eventually(t, func() bool {
			return condition(wl.get(p), trimtabv1.ConditionReady).Reason == trimtabv1.ReasonTargetHasHPA
		}, 10*time.Second, 50*time.Millisecond, "the HPA was not noticed within 10 s")
	})
}

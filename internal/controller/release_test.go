package controller_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/logging"
	"github.com/trimtab/trimtab/internal/manager"
	"github.com/trimtab/trimtab/internal/testenv"
	"github.com/trimtab/trimtab/scaler/release"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.RunMain(m, &env) }

// controllerProcess runs a trimtab manager until stopped.
type controllerProcess struct {
	cancel context.CancelFunc
	done   chan error
}

func startController(t *testing.T, leaseNamespace string, tweaks ...func(*manager.Options)) *controllerProcess {
	t.Helper()
	return startControllerOn(t, env.Config, leaseNamespace, tweaks...)
}

// startControllerOn runs a trimtab manager against the API server cfg reaches.
func startControllerOn(t *testing.T, cfg *rest.Config, leaseNamespace string, tweaks ...func(*manager.Options)) *controllerProcess {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("TRIMTAB_TEST_LOG") != "" {
		logger = logging.New(context.Background(), os.Stderr, slog.LevelDebug, logging.Logfmt)
	}
	opts := manager.Options{
		MetricsAddress: "127.0.0.1:0", APIAddress: "127.0.0.1:0", ShutdownTimeout: 10 * time.Second,
		LeaderElection: true, LeaderElectionNamespace: leaseNamespace, LeaderElectionID: "trimtab",
		// Each test's controller sees only its own namespace, so tests run in parallel.
		Namespaces:    []string{leaseNamespace},
		LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 300 * time.Millisecond,
	}
	for _, tweak := range tweaks {
		tweak(&opts)
	}
	m, err := manager.New(cfg, opts, logger)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	p := &controllerProcess{cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- m.Run(ctx) }()
	t.Cleanup(p.stop)
	return p
}

func (p *controllerProcess) stop() {
	p.cancel()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
	}
}

// scenario is one namespace with a user's Deployment and Service, the apps
// that serve each variant's metrics, and a kubelet stand-in.
type scenario struct {
	t       *testing.T
	ns      string
	kubelet *kubelet
	primary *app
	canary  *app
	base    *app
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rel-"}}
	require.NoError(t, env.Client.Create(ctx, ns))
	s := &scenario{t: t, ns: ns.Name,
		primary: startApp(t, 1, 0.01, 100), canary: startApp(t, 2, 0.01, 100), base: startApp(t, 3, 0.01, 100)}
	s.kubelet = &kubelet{c: env.Client, ns: s.ns, hold: map[string]bool{},
		apps: map[string]*app{"": s.primary, "primary": s.primary, "canary": s.canary, "baseline": s.base}}
	kctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	s.kubelet.run(kctx, t)
	require.NoError(t, env.Client.Create(ctx, userDeployment(s.ns, "web", "example.invalid/web:1", 4)))
	require.NoError(t, env.Client.Create(ctx, userService(s.ns, "web")))
	return s
}

func (s *scenario) release(mutate func(*trimtabv1.Release)) *trimtabv1.Release {
	s.t.Helper()
	rel := &trimtabv1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web"},
		Spec: trimtabv1.ReleaseSpec{
			TargetRef: trimtabv1.TargetRef{Name: "web"},
			Strategy: trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Steps: []trimtabv1.CanaryStep{
				{Weight: 25, AnalysisSeconds: 15}, {Weight: 50, AnalysisSeconds: 15},
			}}},
			ProgressDeadlineSeconds: 30,
			Analysis: trimtabv1.Analysis{IntervalSeconds: 1, Metrics: []trimtabv1.Metric{
				{Name: "error-ratio", Critical: true, MetricSource: trimtabv1.MetricSource{Scrape: &trimtabv1.ScrapeSource{
					Metric: "http_requests_total", Kind: trimtabv1.ScrapeRatio, Denominator: "http_requests_total",
					MatchLabels: map[string]string{"code": "5.."}}}},
				{Name: "latency-p99", MetricSource: trimtabv1.MetricSource{Scrape: &trimtabv1.ScrapeSource{
					Metric: "http_request_duration_seconds", Kind: trimtabv1.ScrapeQuantile, Quantile: "0.99"}}},
			}},
		},
	}
	if mutate != nil {
		mutate(rel)
	}
	require.NoError(s.t, env.Client.Create(context.Background(), rel))
	return rel
}

func (s *scenario) get(rel *trimtabv1.Release) *trimtabv1.Release {
	s.t.Helper()
	require.NoError(s.t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(rel), rel))
	return rel
}

// waitState waits for a state and returns how long it took.
func (s *scenario) waitState(rel *trimtabv1.Release, state string, within time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	s.eventually(func() bool { return s.get(rel).Status.State == state }, within, rel)
	return time.Since(start)
}

// eventually polls cond and, when it never holds, fails with the Release
// as it is at the end, which is what explains the failure.
func (s *scenario) eventually(cond func() bool, within time.Duration, rel *trimtabv1.Release) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			st := s.get(rel).Status
			s.t.Fatalf("condition not met within %v; state=%s step=%d weight=%d\nconditions=%+v\nrevisions=%+v\nmetrics=%+v\nhistory=%+v",
				within, st.State, st.Step, st.Weight, st.Conditions, st.Revisions, st.Metrics, st.History[:min(3, len(st.History))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *scenario) deployment(name string) *appsv1.Deployment {
	s.t.Helper()
	var d appsv1.Deployment
	require.NoError(s.t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, &d))
	return &d
}

// replicas is a Deployment's replica count, or -1 while it does not exist
// (tests poll it while the controller creates it).
func (s *scenario) replicas(name string) int32 {
	var d appsv1.Deployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, &d); err != nil {
		return -1
	}
	return ptr.Deref(d.Spec.Replicas, 1)
}

// releaseNewImage starts the controller with a Release (mutated), waits
// for it to adopt the workload, and releases a new image.
func (s *scenario) releaseNewImage(mutate func(*trimtabv1.Release)) *trimtabv1.Release {
	s.t.Helper()
	startController(s.t, s.ns)
	rel := s.release(mutate)
	s.waitState(rel, release.StateIdle, 20*time.Second)
	s.newImage("example.invalid/web:2")
	return rel
}

// newImage changes the user's Deployment as a user would.
func (s *scenario) newImage(image string) {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		d := s.deployment("web")
		d.Spec.Template.Spec.Containers[0].Image = image
		return env.Client.Update(context.Background(), d) == nil
	}, 5*time.Second, 100*time.Millisecond)
}

func (s *scenario) eventReasons(name string) []string {
	var evs eventsv1.EventList
	require.NoError(s.t, env.Client.List(context.Background(), &evs, client.InNamespace(s.ns)))
	// Creation timestamps count whole seconds, and a release's Events may
	// come within one: the event time orders them.
	slices.SortFunc(evs.Items, func(a, b eventsv1.Event) int { return a.EventTime.Time.Compare(b.EventTime.Time) })
	var out []string
	for _, e := range evs.Items {
		if e.Regarding.Kind == "Release" && e.Regarding.Name == name {
			out = append(out, e.Reason)
		}
	}
	return out
}

func TestCanaryPromotesThroughEveryStep(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	// Decisions are also published to CloudWatch, here moto's server.
	moto := testenv.StartMoto(t)
	motoOptions := []func(*awscw.Options){func(o *awscw.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801) // moto lacks the SDK's default protocol
		o.Credentials = credentials.NewStaticCredentialsProvider("test", "test", "")
	}}
	startController(t, s.ns, func(o *manager.Options) {
		o.PublishNamespace, o.AWSRegion, o.CloudWatchEndpoint, o.CloudWatchClientOptions = "TrimtabTest", "us-east-1", moto.URL, motoOptions
	})
	rel := s.release(nil)
	s.waitState(rel, release.StateIdle, 20*time.Second)
	require.Eventually(t, func() bool { return s.replicas("web") == 0 }, 10*time.Second, 100*time.Millisecond, "the target runs no pods once the primary serves")
	require.Equal(t, int32(4), s.replicas("web-primary"))
	require.Equal(t, int32(4), rel.Status.TotalReplicas)

	s.newImage("example.invalid/web:2")
	// Record the replica split the replicas router settles on at each
	// step's weight: the primary gives up its pods once the canary's are
	// ready, so for a moment the two run more than 4 between them (and
	// near a step's end the canary grows for the next).
	seen := map[int32][2]int32{}
	s.eventually(func() bool {
		st := s.get(rel).Status
		if _, ok := seen[st.Weight]; !ok && st.State == release.StateProgressing && st.Weight > 0 {
			if p, c := s.replicas("web-primary"), s.replicas("web-canary"); p+c == 4 {
				seen[st.Weight] = [2]int32{p, c}
			}
		}
		return st.State == release.StatePromoted
	}, 60*time.Second, rel)

	require.Equal(t, map[int32][2]int32{25: {3, 1}, 50: {2, 2}}, seen)
	require.Equal(t, "example.invalid/web:2", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)
	require.Eventually(t, func() bool { return s.replicas("web-canary") == 0 && s.replicas("web-primary") == 4 }, 10*time.Second, 100*time.Millisecond)
	require.Equal(t, rel.Status.CanaryRevision, rel.Status.StableRevision)
	require.Equal(t, release.OutcomePromoted, rel.Status.Revisions[0].Outcome)
	require.NotEmpty(t, rel.Status.History)
	require.Len(t, rel.Status.Metrics, 2)
	for _, m := range rel.Status.Metrics {
		require.NotEqual(t, "no data", m.Canary, "metric %s had no canary data: %s", m.Name, m.Reason)
	}
	ready := meta.FindStatusCondition(rel.Status.Conditions, trimtabv1.ConditionReady)
	require.Equal(t, metav1.ConditionTrue, ready.Status)
	// Events are sent in the background, after the state they report.
	want := []string{release.ReasonInitialized, release.ReasonReleaseStarted, release.ReasonWeightChanged, release.ReasonPromoting, release.ReasonPromoted}
	s.eventually(func() bool { return isSubset(s.eventReasons("web"), want) }, 10*time.Second, rel)

	// Every look's score reached CloudWatch.
	cw := awscw.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(moto.URL)}, motoOptions...)
	listed, err := cw.ListMetrics(context.Background(), &awscw.ListMetricsInput{Namespace: aws.String("TrimtabTest"), MetricName: aws.String("ReleaseScore")})
	require.NoError(t, err)
	require.NotEmpty(t, listed.Metrics)
	for _, m := range listed.Metrics { // moto lists a metric once per datapoint
		dims := map[string]string{}
		for _, d := range m.Dimensions {
			dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
		}
		require.Equal(t, map[string]string{"Namespace": s.ns, "Release": "web"}, dims)
	}
}

func TestRegressionRollsBackEarly(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) {
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 50, AnalysisSeconds: 60}}
	})
	s.waitState(rel, release.StateIdle, 20*time.Second)

	// The canary serves 3% errors and 40% more latency.
	s.canary.set(0.03, 140)
	s.newImage("example.invalid/web:bad")
	s.waitState(rel, release.StateProgressing, 10*time.Second)
	took := s.waitState(rel, release.StateRolledBack, 60*time.Second)
	t.Logf("rolled back %v after the release started (step analysis 60 s)", took.Round(time.Millisecond))
	require.Less(t, took, 45*time.Second, "the rollback should come well before the end of the 60 s step")

	// Traffic is back on the primary and the canary is stopped.
	require.Eventually(t, func() bool { return s.replicas("web-canary") == 0 && s.replicas("web-primary") == 4 }, 5*time.Second, 100*time.Millisecond)
	require.Equal(t, "example.invalid/web:1", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)
	degraded := meta.FindStatusCondition(rel.Status.Conditions, trimtabv1.ConditionDegraded)
	require.Equal(t, metav1.ConditionTrue, degraded.Status)
	require.Equal(t, release.OutcomeRolledBack, rel.Status.Revisions[0].Outcome)
	s.eventually(func() bool { return slices.Contains(s.eventReasons("web"), release.ReasonRolledBack) }, 10*time.Second, rel)
}

func isSubset(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

func TestInvalidReferencesGiveConditions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		setup  func(s *scenario)
		reason string
		msg    string
	}{
		{"missing service", func(s *scenario) {
			require.NoError(t, env.Client.Delete(context.Background(), userService(s.ns, "web")))
		}, trimtabv1.ReasonServiceNotFound, "Service %s/web does not exist"},
		{"deployment with an HPA", func(s *scenario) {
			require.NoError(t, env.Client.Create(context.Background(), &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web-hpa"},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
			}))
		}, trimtabv1.ReasonTargetHasHPA, "HorizontalPodAutoscaler %s/web-hpa scales Deployment web"},
		{"foreign object in the way", func(s *scenario) {
			require.NoError(t, env.Client.Create(context.Background(), userDeployment(s.ns, "web-primary", "someone/else:1", 1)))
		}, trimtabv1.ReasonOwnedElsewhere, "Deployment %s/web-primary exists and is not managed by this Release"},
		{"bad request annotation", func(s *scenario) {}, trimtabv1.ReasonInvalidSpec, "annotation trimtab.dev/request=\"rollback-now\""},
		{"pause annotation that is no boolean", func(s *scenario) {}, trimtabv1.ReasonInvalidSpec, "annotation trimtab.dev/paused=\"yes\": want \"true\" or \"false\""},
		{"missing ingress", func(s *scenario) {}, trimtabv1.ReasonTrafficMisconfigured, "Ingress %s/web-ingress"},
		{"missing HTTPRoute", func(s *scenario) {}, trimtabv1.ReasonTrafficMisconfigured, "HTTPRoute %s/web-route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			tc.setup(s)
			startController(t, s.ns)
			rel := s.release(func(r *trimtabv1.Release) {
				switch tc.name {
				case "bad request annotation":
					r.Annotations = map[string]string{release.AnnotationRequest: "rollback-now"}
				case "pause annotation that is no boolean":
					r.Annotations = map[string]string{release.AnnotationPaused: "yes"}
				case "missing ingress":
					r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web-ingress"}
				case "missing HTTPRoute":
					r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web-route"}
				}
			})
			msg := tc.msg
			if n := countVerbs(msg); n > 0 {
				msg = fmt.Sprintf(msg, s.ns)
			}
			require.Eventually(t, func() bool {
				c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
				return c != nil && c.Reason == tc.reason
			}, 15*time.Second, 100*time.Millisecond, "conditions: %v", rel.Status.Conditions)
			c := meta.FindStatusCondition(rel.Status.Conditions, trimtabv1.ConditionReady)
			require.Equal(t, metav1.ConditionFalse, c.Status)
			require.Contains(t, c.Message, msg)
			// Nothing of the user's was touched: the target keeps serving
			// until trimtab can route.
			require.Equal(t, int32(4), s.replicas("web"))
		})
	}
}

func countVerbs(s string) int {
	n := 0
	for i := 0; i+1 < len(s); i++ {
		if s[i] == '%' && s[i+1] == 's' {
			n++
		}
	}
	return n
}

func TestTargetDeletedMidRelease(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) { r.Spec.Strategy.Canary.Steps[0].AnalysisSeconds = 120 })
	s.waitState(rel, release.StateIdle, 20*time.Second)
	s.newImage("example.invalid/web:2")
	s.waitState(rel, release.StateProgressing, 10*time.Second)
	// The primary gives its pod to the canary once the canary's is ready.
	s.eventually(func() bool { return s.replicas("web-primary") == 3 }, 10*time.Second, rel)

	require.NoError(t, env.Client.Delete(context.Background(), s.deployment("web")))
	require.Eventually(t, func() bool {
		c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
		return c != nil && c.Reason == trimtabv1.ReasonTargetNotFound
	}, 15*time.Second, 100*time.Millisecond)
	// The primary keeps serving: nothing is deleted because the target went away.
	require.Equal(t, int32(3), s.replicas("web-primary"))
}

func TestDeletingTheReleaseHandsBackToTheTarget(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	startController(t, s.ns)
	rel := s.release(nil)
	s.waitState(rel, release.StateIdle, 20*time.Second)
	require.Eventually(t, func() bool { return s.replicas("web") == 0 }, 10*time.Second, 100*time.Millisecond)

	require.NoError(t, env.Client.Delete(context.Background(), rel))
	require.Eventually(t, func() bool {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(rel), &trimtabv1.Release{})
		return apierrors.IsNotFound(err)
	}, 20*time.Second, 100*time.Millisecond, "the finalizer did not finish")
	require.Equal(t, int32(4), s.replicas("web"), "the target runs the workload again")
	for _, name := range []string{"web-primary", "web-canary"} {
		err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, &appsv1.Deployment{})
		require.True(t, apierrors.IsNotFound(err), "%s should be gone, got %v", name, err)
	}
	var svc corev1.Service
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web"}, &svc), "the user's Service stays")
}

// TestDeletingAReleaseThatDidNotAdoptLeavesTheTarget deletes Releases that
// never took the workload over: the target keeps the user's size, and a
// Release that did take it over keeps its own.
func TestDeletingAReleaseThatDidNotAdoptLeavesTheTarget(t *testing.T) {
	t.Parallel()
	gone := func(s *scenario, rel *trimtabv1.Release) {
		require.NoError(t, env.Client.Delete(context.Background(), rel))
		require.Eventually(t, func() bool {
			return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(rel), &trimtabv1.Release{}))
		}, 20*time.Second, 100*time.Millisecond, "the finalizer did not finish")
	}
	refused := func(s *scenario, rel *trimtabv1.Release, reason string) {
		s.eventually(func() bool {
			c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
			return c != nil && c.Reason == reason
		}, 15*time.Second, rel)
	}
	t.Run("refused for a missing Service: the target keeps its size", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		require.NoError(t, env.Client.Delete(context.Background(), userService(s.ns, "web")))
		startController(t, s.ns)
		rel := s.release(nil)
		refused(s, rel, trimtabv1.ReasonServiceNotFound)
		gone(s, rel)
		require.Equal(t, int32(4), s.replicas("web"), "deleting a Release that did nothing resized the user's Deployment")
	})
	t.Run("a second Release on the target: the first keeps the workload", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		startController(t, s.ns)
		rel := s.release(nil)
		s.waitState(rel, release.StateIdle, 20*time.Second)
		require.Eventually(t, func() bool { return s.replicas("web") == 0 && s.replicas("web-primary") == 4 }, 10*time.Second, 100*time.Millisecond)
		dup := s.release(func(r *trimtabv1.Release) { r.Name = "web-dup" })
		refused(s, dup, trimtabv1.ReasonOwnedElsewhere)
		gone(s, dup)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			require.Equal(t, int32(0), s.replicas("web"), "the target was scaled up behind the first Release")
			require.Equal(t, int32(4), s.replicas("web-primary"))
		}
	})
}

// TestDeletingAnNginxReleaseWaitsForTheIngress: with the nginx router the
// user's Ingress leads to <service>-primary, which the Release created.
// Deleting the Release must not delete that Service from under the
// Ingress: it waits, says why, and finishes once the Ingress is repointed.
func TestDeletingAnNginxReleaseWaitsForTheIngress(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ing := s.userIngress()
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
	})
	s.waitState(rel, release.StateIdle, 20*time.Second)
	require.NoError(t, env.Client.Delete(context.Background(), rel))
	require.Eventually(t, func() bool { return s.eventCounts(rel.Name)["DeletionWaits"] > 0 }, 20*time.Second, 100*time.Millisecond)
	time.Sleep(2 * time.Second)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-primary"}, &corev1.Service{}),
		"the Service behind the user's Ingress was deleted")
	waiting := &trimtabv1.Release{}
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(rel), waiting), "the Release is still there")
	ready := meta.FindStatusCondition(waiting.Status.Conditions, trimtabv1.ConditionReady)
	require.NotNil(t, ready)
	require.Equal(t, metav1.ConditionFalse, ready.Status, "kubectl get shows the deletion waiting")
	require.Equal(t, "DeletionWaits", ready.Reason)
	require.Contains(t, ready.Message, "Ingress web sends traffic to Service web-primary")

	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web"
	require.NoError(t, env.Client.Update(context.Background(), ing))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(rel), &trimtabv1.Release{}))
	}, 30*time.Second, 100*time.Millisecond, "the deletion did not finish once the Ingress was repointed")
	err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-primary"}, &corev1.Service{})
	require.True(t, apierrors.IsNotFound(err), "web-primary should be gone, got %v", err)
}

// TestASlowHookHoldsUpOnlyItsRelease: a Release's reconcile waits on its
// hooks, up to their retries × timeout; other Releases keep moving (and
// keep being able to roll back) meanwhile.
func TestASlowHookHoldsUpOnlyItsRelease(t *testing.T) {
	t.Parallel()
	called := make(chan struct{}, 1)
	unblock := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case called <- struct{}{}:
		default:
		}
		select {
		case <-unblock:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(unblock); hook.Close() })
	s := newScenario(t)
	require.NoError(t, env.Client.Create(context.Background(), userDeployment(s.ns, "api", "example.invalid/api:1", 2)))
	require.NoError(t, env.Client.Create(context.Background(), userService(s.ns, "api")))
	startController(t, s.ns)
	web := s.release(func(r *trimtabv1.Release) {
		r.Spec.Analysis.Hooks = []trimtabv1.Hook{{Name: "slow", Phase: trimtabv1.HookPreRollout, URL: hook.URL, TimeoutSeconds: 60}}
	})
	api := s.release(func(r *trimtabv1.Release) { r.Name, r.Spec.TargetRef.Name = "api", "api" })
	s.waitState(web, release.StateIdle, 30*time.Second)
	s.waitState(api, release.StateIdle, 30*time.Second)

	s.newImage("example.invalid/web:2")
	select {
	case <-called:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow hook was never called")
	}
	require.Eventually(t, func() bool {
		d := s.deployment("api")
		d.Spec.Template.Spec.Containers[0].Image = "example.invalid/api:2"
		return env.Client.Update(context.Background(), d) == nil
	}, 5*time.Second, 100*time.Millisecond)
	s.waitState(api, release.StateProgressing, 15*time.Second)
}

// readyReplicas is a Deployment's status.readyReplicas, -1 when it is gone.
func (s *scenario) readyReplicas(name string) int32 {
	var d appsv1.Deployment
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, &d); err != nil {
		return -1
	}
	return d.Status.ReadyReplicas
}

// TestReplicasRouterKeepsCapacity: with the replicas router the traffic
// split is the pod split, and pods move from primary to canary and back.
// A variant gives up pods only as their replacements become ready.
func TestReplicasRouterKeepsCapacity(t *testing.T) {
	t.Parallel()
	t.Run("a step waits for the canary's pods before shrinking the primary", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		startController(t, s.ns)
		rel := s.release(func(r *trimtabv1.Release) { r.Spec.ProgressDeadlineSeconds = 60 })
		s.waitState(rel, release.StateIdle, 20*time.Second)
		s.kubelet.stall("web-canary", true) // the canary's pods cannot be scheduled
		s.newImage("example.invalid/web:2")
		s.waitState(rel, release.StateProgressing, 10*time.Second)
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			require.Equal(t, int32(4), s.replicas("web-primary"), "the primary shrank while the canary had no ready pod")
		}
		s.kubelet.stall("web-canary", false)
		s.eventually(func() bool { return s.replicas("web-primary") < 4 && s.readyReplicas("web-canary") >= 1 }, 20*time.Second, rel)
	})
	t.Run("a promotion stops the canary once the primary is whole again", func(t *testing.T) {
		t.Parallel()
		s := newScenario(t)
		s.kubelet.mu.Lock()
		s.kubelet.startup = 2 * time.Second
		s.kubelet.mu.Unlock()
		startController(t, s.ns)
		rel := s.release(func(r *trimtabv1.Release) {
			r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 75, AnalysisSeconds: 5}}
			r.Spec.Analysis.Metrics = nil
		})
		s.waitState(rel, release.StateIdle, 30*time.Second)
		s.newImage("example.invalid/web:2")
		s.waitState(rel, release.StatePromoted, 60*time.Second)
		// The pods the primary grows back by take the stand-in kubelet's
		// start-up to become ready: the canary must serve until they are.
		for end := time.Now().Add(6 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if s.replicas("web-canary") == 0 {
				require.Equal(t, int32(4), s.readyReplicas("web-primary"), "the canary was stopped before the primary was whole")
			}
		}
		s.eventually(func() bool { return s.replicas("web-canary") == 0 }, 20*time.Second, rel)
	})
}

// eventCounts counts the Events of a Release by reason, including repeats
// the recorder folded into an event series.
func (s *scenario) eventCounts(name string) map[string]int {
	var evs eventsv1.EventList
	require.NoError(s.t, env.Client.List(context.Background(), &evs, client.InNamespace(s.ns)))
	out := map[string]int{}
	for _, e := range evs.Items {
		if e.Regarding.Kind != "Release" || e.Regarding.Name != name {
			continue
		}
		n := 1
		if e.Series != nil {
			n = int(e.Series.Count)
		}
		out[e.Reason] += n
	}
	return out
}

// TestRestartMidRelease stops the controller at several points of a
// release and starts a new one: the release ends as it would have without
// the restart, and no step is taken twice.
func TestRestartMidRelease(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// at says when to stop the first controller.
		at func(st trimtabv1.ReleaseStatus) bool
		// holdPrimary stalls the primary's rollout while the first
		// controller runs, so the stop lands mid-promotion.
		holdPrimary bool
	}{
		{"right after the first weight change", func(st trimtabv1.ReleaseStatus) bool { return st.Weight == 25 }, false},
		{"in the middle of the second step", func(st trimtabv1.ReleaseStatus) bool {
			return st.Step == 2 && st.Weight == 50 && st.Analysis != nil && st.Analysis.Looks >= 3
		}, false},
		{"mid-promotion", func(st trimtabv1.ReleaseStatus) bool { return st.State == release.StatePromoting }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			first := startController(t, s.ns)
			rel := s.release(func(r *trimtabv1.Release) {
				for i := range r.Spec.Strategy.Canary.Steps {
					r.Spec.Strategy.Canary.Steps[i].AnalysisSeconds = 10
				}
			})
			s.waitState(rel, release.StateIdle, 20*time.Second)
			s.newImage("example.invalid/web:2")
			if tc.holdPrimary {
				s.eventually(func() bool { return s.get(rel).Status.Step == 2 }, 40*time.Second, rel)
				s.kubelet.stall("web-primary", true)
			}
			s.eventually(func() bool { return tc.at(s.get(rel).Status) }, 60*time.Second, rel)
			// Events are sent in the background and a stop can drop the
			// newest: wait for the first weight change's, so that the count
			// below tests the state machine, not event delivery at a kill.
			s.eventually(func() bool { return s.eventCounts("web")[release.ReasonWeightChanged] >= 1 }, 10*time.Second, rel)
			first.stop()
			stoppedAt := s.get(rel).Status
			s.kubelet.stall("web-primary", false)

			startController(t, s.ns)
			s.waitState(rel, release.StatePromoted, 60*time.Second)
			require.GreaterOrEqual(t, rel.Status.Step, stoppedAt.Step, "the new controller went back a step")
			// The Promoted Event is sent in the background, after the state.
			s.eventually(func() bool { return s.eventCounts("web")[release.ReasonPromoted] >= 1 }, 10*time.Second, rel)
			counts := s.eventCounts("web")
			require.Equal(t, 1, counts[release.ReasonReleaseStarted], "events: %v", counts)
			require.Equal(t, 2, counts[release.ReasonWeightChanged], "each step's weight is set once: %v", counts)
			require.Equal(t, 1, counts[release.ReasonPromoted], "events: %v", counts)
			require.Zero(t, counts[release.ReasonRolledBack], "events: %v", counts)
			require.Equal(t, "example.invalid/web:2", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)
		})
	}
}

// waitRoute waits until the HTTPRoute carries the weights and returns how
// long that took. The controller records a decision in status before it
// changes the route, so a state seen in status is not yet traffic moved.
func (s *scenario) waitRoute(rel *trimtabv1.Release, name string, want map[string]int32, within time.Duration) time.Duration {
	s.t.Helper()
	start := time.Now()
	s.eventually(func() bool { return maps.Equal(s.routeWeights(name), want) }, within, rel)
	return time.Since(start)
}

// routeWeights reads the weights of the first rule of the HTTPRoute.
func (s *scenario) routeWeights(name string) map[string]int32 {
	s.t.Helper()
	var r gatewayv1.HTTPRoute
	require.NoError(s.t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: name}, &r))
	out := map[string]int32{}
	for _, ref := range r.Spec.Rules[0].BackendRefs {
		out[string(ref.Name)] = ptr.Deref(ref.Weight, 1)
	}
	return out
}

func TestBlueGreenWithGatewayAPI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		abort bool
	}{
		{"switch and promote", false},
		{"instant rollback inside the window", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newScenario(t)
			route := userHTTPRoute(s.ns)
			require.NoError(t, env.Client.Create(context.Background(), route))
			startController(t, s.ns)
			rel := s.release(func(r *trimtabv1.Release) {
				r.Spec.Strategy = trimtabv1.Strategy{BlueGreen: &trimtabv1.BlueGreenStrategy{PreviewService: "web-preview", AnalysisSeconds: 10, RollbackWindowSeconds: 20}}
				r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"}
			})
			s.waitState(rel, release.StateIdle, 20*time.Second)
			s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 5*time.Second)

			s.newImage("example.invalid/web:2")
			s.waitState(rel, release.StateProgressing, 10*time.Second)
			// Verification: the new version runs at full size behind the
			// preview Service and gets no live traffic.
			s.eventually(func() bool { return s.replicas("web-canary") == 4 }, 10*time.Second, rel)
			var preview corev1.Service
			require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-preview"}, &preview))
			require.Equal(t, "canary", preview.Spec.Selector["trimtab.dev/variant"])
			s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 5*time.Second)

			// The switch moves all traffic at once; the old version stays up.
			s.eventually(func() bool { return s.get(rel).Status.Weight == 100 }, 40*time.Second, rel)
			s.waitRoute(rel, "web", map[string]int32{"web-primary": 0, "web-canary": 100}, 5*time.Second)
			require.Equal(t, int32(4), s.replicas("web-primary"))
			require.Equal(t, "example.invalid/web:1", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)

			if tc.abort {
				s.annotate(rel, release.AnnotationRequest, "abort:"+rel.Status.CanaryRevision)
				took := s.waitState(rel, release.StateRolledBack, 10*time.Second)
				took += s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 5*time.Second)
				t.Logf("traffic back on the primary %v after the request", took.Round(time.Millisecond))
				require.Equal(t, "example.invalid/web:1", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)
				s.eventually(func() bool { return s.replicas("web-canary") == 0 }, 5*time.Second, rel)
				return
			}
			s.waitState(rel, release.StatePromoted, 60*time.Second)
			s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 5*time.Second)
			require.Equal(t, "example.invalid/web:2", s.deployment("web-primary").Spec.Template.Spec.Containers[0].Image)
			s.eventually(func() bool { return s.replicas("web-canary") == 0 }, 5*time.Second, rel)
		})
	}
}

func (s *scenario) annotate(rel *trimtabv1.Release, key, value string) {
	s.t.Helper()
	s.eventually(func() bool {
		cur := s.get(rel)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		if value == "" {
			delete(cur.Annotations, key)
		} else {
			cur.Annotations[key] = value
		}
		return env.Client.Update(context.Background(), cur) == nil
	}, 5*time.Second, rel)
}

// TestSteeringThroughAnnotations drives a release the way kubectl, the API
// and Slack do: a manual gate approved by request, a pause and a freeze.
func TestSteeringThroughAnnotations(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 25, AnalysisSeconds: 8, ManualGate: true}, {Weight: 50, AnalysisSeconds: 8}}
	})
	s.waitState(rel, release.StateWaitingApproval, 40*time.Second)
	rev := rel.Status.CanaryRevision

	s.annotate(rel, release.AnnotationPaused, "true")
	s.waitState(rel, release.StatePaused, 10*time.Second)
	time.Sleep(2 * time.Second)
	require.Equal(t, release.StatePaused, s.get(rel).Status.State)
	require.Equal(t, int32(25), rel.Status.Weight)
	s.annotate(rel, release.AnnotationPaused, "")
	s.waitState(rel, release.StateWaitingApproval, 40*time.Second)

	// An approval for a step that is not waiting changes nothing, and is
	// reported once however many reconciles (one a second here) see it.
	s.annotate(rel, release.AnnotationRequest, fmt.Sprintf("approve:%s:2", rev))
	s.eventually(func() bool { return s.eventCounts("web")[release.ReasonRequestIgnored] == 1 }, 10*time.Second, rel)
	time.Sleep(3 * time.Second)
	require.Equal(t, release.StateWaitingApproval, s.get(rel).Status.State)
	require.Equal(t, 1, s.eventCounts("web")[release.ReasonRequestIgnored], "events: %v", s.eventCounts("web"))
	s.annotate(rel, release.AnnotationRequest, fmt.Sprintf("approve:%s:1", rev))
	s.eventually(func() bool { return s.get(rel).Status.Weight == 50 }, 10*time.Second, rel)

	s.annotate(rel, release.AnnotationFrozen, "true")
	s.waitState(rel, release.StateFrozen, 10*time.Second)
	time.Sleep(10 * time.Second) // longer than step 2's analysis
	require.Equal(t, release.StateFrozen, s.get(rel).Status.State, "a frozen release does not move")
	require.Equal(t, int32(50), rel.Status.Weight)
	s.annotate(rel, release.AnnotationFrozen, "")
	s.waitState(rel, release.StatePromoted, 40*time.Second)
	counts := s.eventCounts("web")
	for _, reason := range []string{release.ReasonWaitingForApproval, release.ReasonPaused, release.ReasonResumed, release.ReasonApproved, release.ReasonFrozen} {
		require.Positive(t, counts[reason], "no %s event: %v", reason, counts)
	}
}

// TestNoDataHoldsThenRollsBack: the canary's pods serve no metrics, so no
// look can judge it; the release holds (never promotes) and rolls back when
// the step's analysis plus the progress deadline has passed.
func TestNoDataHoldsThenRollsBack(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.canary.silence()
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 50, AnalysisSeconds: 5}}
		r.Spec.ProgressDeadlineSeconds = 10
	})
	s.waitState(rel, release.StateProgressing, 10*time.Second)
	took := s.waitState(rel, release.StateRolledBack, 40*time.Second)
	require.Greater(t, took, 12*time.Second, "rolled back before the step and deadline had passed")
	require.Contains(t, rel.Status.Revisions[0].Reason, "no verdict within")
	require.NotContains(t, s.eventCounts("web"), release.ReasonPromoting)
	require.Contains(t, s.eventCounts("web"), release.ReasonAnalysisHeld)
	for _, m := range rel.Status.Metrics {
		require.Equal(t, "Nodata", m.Classification, "metric %s", m.Name)
	}
}

// TestRollbackTakesTrafficOffACanaryTheIngressNoLongerValidates: a user
// who points their Ingress back at Service web mid-release (the step the
// docs ask for before deleting a Release) and then aborts must not leave
// the rolled-back version with its step's share of traffic: at weight 0
// the canary Ingress trimtab controls goes, the canary's pods stop, and
// the problem is still reported.
func TestRollbackTakesTrafficOffACanaryTheIngressNoLongerValidates(t *testing.T) {
	s := newScenario(t)
	ing := s.userIngress()
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 25, AnalysisSeconds: 600}}
	})
	canaryWeight := func() string {
		var c networkingv1.Ingress
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-canary"}, &c); err != nil {
			require.True(t, apierrors.IsNotFound(err), "%v", err)
			return "no canary Ingress"
		}
		return c.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
	}
	s.eventually(func() bool { return s.get(rel).Status.Weight == 25 && canaryWeight() == "25" }, 30*time.Second, rel)
	require.Positive(t, s.replicas("web-canary"), "the canary runs at 25%")

	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web"
	require.NoError(t, env.Client.Update(context.Background(), ing))
	s.annotate(rel, release.AnnotationRequest, fmt.Sprintf("abort:%s", rel.Status.CanaryRevision))
	s.waitState(rel, release.StateRolledBack, 20*time.Second)
	require.Eventually(t, func() bool { return canaryWeight() == "no canary Ingress" }, 10*time.Second, 100*time.Millisecond,
		"the rolled-back canary still gets %s%% of the traffic", canaryWeight())
	require.Eventually(t, func() bool { return s.replicas("web-canary") == 0 }, 10*time.Second, 100*time.Millisecond,
		"the rolled-back canary still runs %d pods", s.replicas("web-canary"))
	require.Eventually(t, func() bool {
		return meta.IsStatusConditionFalse(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
	}, 10*time.Second, 100*time.Millisecond, "the Ingress problem is still reported")
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), &networkingv1.Ingress{}), "the user's Ingress was deleted")
}

// userIngress creates the user's Ingress "web" for the nginx router: one
// host and path, sent to Service web-primary as the router requires.
func (s *scenario) userIngress() *networkingv1.Ingress {
	s.t.Helper()
	pt := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web"},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "shop.example.com", IngressRuleValue: networkingv1.IngressRuleValue{
			HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &pt,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-primary", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
	require.NoError(s.t, env.Client.Create(context.Background(), ing))
	return ing
}

// TestAdoptsAWorkloadBehindANodePortService: a user's Service of type
// NodePort or LoadBalancer has nodePorts in its ports. The variant Services
// trimtab creates are ClusterIP: copied as they are, the ports are refused
// by the API server and the Release never gets past Initializing.
func TestAdoptsAWorkloadBehindANodePortService(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	var svc corev1.Service
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web"}, &svc))
	svc.Spec.Type = corev1.ServiceTypeNodePort // the API server allocates a nodePort
	require.NoError(t, env.Client.Update(context.Background(), &svc))
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(&svc), &svc))
	require.NotZero(t, svc.Spec.Ports[0].NodePort)

	startController(t, s.ns)
	rel := s.release(nil)
	s.waitState(rel, release.StateIdle, 20*time.Second)
}

// TestDeletingASecondNginxReleaseDoesNotWaitForTheFirstsIngress: a second
// Release on a target that another Release (nginx router) runs is refused
// and never creates anything. Its deletion must not wait for the first
// Release's Ingress to stop leading to web-primary: that Service is not
// the second Release's and is never deleted by it.
func TestDeletingASecondNginxReleaseDoesNotWaitForTheFirstsIngress(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	s.userIngress()
	startController(t, s.ns)
	nginx := func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
	}
	rel := s.release(nginx)
	s.waitState(rel, release.StateIdle, 20*time.Second)
	dup := s.release(func(r *trimtabv1.Release) { nginx(r); r.Name = "web-dup" })
	s.eventually(func() bool {
		c := meta.FindStatusCondition(s.get(dup).Status.Conditions, trimtabv1.ConditionReady)
		return c != nil && c.Reason == trimtabv1.ReasonOwnedElsewhere
	}, 15*time.Second, dup)

	require.NoError(t, env.Client.Delete(context.Background(), dup))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(dup), &trimtabv1.Release{}))
	}, 20*time.Second, 100*time.Millisecond, "the refused Release's deletion waits on an Ingress that leads to the other Release's Service: %v", s.eventCounts("web-dup"))
}

// TestSupersededCanaryGetsTrafficOnlyOnceTheNewRevisionIsReady: a new
// revision mid-release replaces the canary's template while pods of the
// superseded revision are still ready. Those pods must not count as the new
// revision's: the new revision gets traffic once its own pods are ready.
func TestSupersededCanaryGetsTrafficOnlyOnceTheNewRevisionIsReady(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 25, AnalysisSeconds: 600}}
		r.Spec.ProgressDeadlineSeconds = 600
	})
	s.eventually(func() bool { return s.get(rel).Status.Weight == 25 && s.readyReplicas("web-canary") == 1 }, 20*time.Second, rel)
	rev2 := rel.Status.CanaryRevision

	// The new canary pod cannot start; the old one keeps running.
	s.kubelet.stall("web-canary", true)
	s.newImage("example.invalid/web:3")
	var canary *appsv1.Deployment
	s.eventually(func() bool {
		st := s.get(rel).Status
		canary = s.deployment("web-canary")
		return st.CanaryRevision != rev2 && canary.Annotations["trimtab.dev/revision"] == st.CanaryRevision
	}, 10*time.Second, rel)
	require.Equal(t, int32(0), rel.Status.Weight)
	// What the Deployment controller reports mid-rollout: the old
	// ReplicaSet's pod is ready, the new one's is not.
	canary.Status = appsv1.DeploymentStatus{ObservedGeneration: canary.Generation,
		Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UnavailableReplicas: 1}
	require.NoError(t, env.Client.Status().Update(context.Background(), canary))

	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		st := s.get(rel).Status
		require.Equal(t, int32(0), st.Weight, "revision %s got %d%% of the traffic while its only pod is not ready: the ready pod serving it runs %s", st.CanaryRevision, st.Weight, rev2)
	}
}

// TestAHookRunsOncePerRevisionWhenTheReleaseChangesMeanwhile: hooks run
// before the status that records them is written. A change to the Release
// while a hook runs (an annotation: pause, a ScalingPolicy's
// desired-replicas) makes that write conflict; the hook must not run again
// ("each phase's hooks run once per revision").
func TestAHookRunsOncePerRevisionWhenTheReleaseChangesMeanwhile(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	entered := make(chan struct{}, 10)
	proceed := make(chan struct{})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			entered <- struct{}{}
			<-proceed
		}
	}))
	t.Cleanup(hook.Close)
	s := newScenario(t)
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Analysis.Hooks = []trimtabv1.Hook{{Name: "migrate", Phase: trimtabv1.HookPreRollout, URL: hook.URL, TimeoutSeconds: 30}}
	})
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the hook was never called")
	}
	s.annotate(rel, "example.com/note", "changed while the hook runs")
	close(proceed)
	s.eventually(func() bool { return s.get(rel).Status.Weight == 25 }, 20*time.Second, rel)
	require.Equal(t, int32(1), calls.Load(), "the pre-rollout hook ran %d times for one revision", calls.Load())
}

// TestARefusedStepHoldsUntilTheRouteTakesIt: the user's Ingress stops
// validating at 25 % (pointed back at Service web); the next step's 50 %
// is refused by the router. The release must not advance or promote on a
// weight that never flowed, must report the problem once (no Ready
// flapping, one Warning), and must go on once the Ingress is fixed, the
// step's clock starting then.
func TestARefusedStepHoldsUntilTheRouteTakesIt(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ing := s.userIngress()
	rel := s.releaseNewImage(func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
		r.Spec.Strategy.Canary.Steps = []trimtabv1.CanaryStep{{Weight: 25, AnalysisSeconds: 4}, {Weight: 50, AnalysisSeconds: 4}}
		r.Spec.Analysis.Metrics = nil
	})
	canaryWeight := func() string {
		var c networkingv1.Ingress
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-canary"}, &c); err != nil {
			return "none"
		}
		return c.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
	}
	s.eventually(func() bool { return s.get(rel).Status.Weight == 25 && canaryWeight() == "25" }, 30*time.Second, rel)
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web"
	require.NoError(t, env.Client.Update(context.Background(), ing))

	s.eventually(func() bool {
		c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
		return c != nil && c.Reason == trimtabv1.ReasonTrafficMisconfigured
	}, 15*time.Second, rel)
	for end := time.Now().Add(12 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		st := s.get(rel).Status
		require.Equal(t, release.StateProgressing, st.State, "a release whose canary never got more than 25%% went on")
		require.Equal(t, "25", canaryWeight())
		c := meta.FindStatusCondition(st.Conditions, trimtabv1.ConditionReady)
		require.Equal(t, trimtabv1.ReasonTrafficMisconfigured, c.Reason, "Ready flapped: %s", c.Message)
	}
	require.Equal(t, 1, s.eventCounts("web")[trimtabv1.ReasonTrafficMisconfigured], "one Warning for one problem: %v", s.eventCounts("web"))

	// Fixed: the step's weight flows, then both steps pass.
	require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
	ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web-primary"
	require.NoError(t, env.Client.Update(context.Background(), ing))
	// The Ingress is watched: the fix is acted on at once.
	s.eventually(func() bool { return canaryWeight() == "50" }, 20*time.Second, rel)
	s.eventually(func() bool {
		return meta.IsStatusConditionTrue(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
	}, 10*time.Second, rel)
	s.waitState(rel, release.StatePromoted, 60*time.Second)
}

// TestBaselineHasAServiceOfItsOwn: with a baseline, web metrics are read
// per variant through <service>-{{.Variant}}, so the baseline needs its
// Service as the canary has one; it goes with the Release.
func TestBaselineHasAServiceOfItsOwn(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) { r.Spec.Strategy.Canary.Baseline = true })
	s.waitState(rel, release.StateIdle, 20*time.Second)
	s.newImage("example.invalid/web:2")
	var svc corev1.Service
	s.eventually(func() bool {
		return env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-baseline"}, &svc) == nil
	}, 20*time.Second, rel)
	require.Equal(t, "baseline", svc.Spec.Selector["trimtab.dev/variant"])
	require.Equal(t, "web", svc.Spec.Selector["trimtab.dev/release"])
	require.NotEmpty(t, svc.Spec.Ports)

	require.NoError(t, env.Client.Delete(context.Background(), rel))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(context.Background(), client.ObjectKeyFromObject(&svc), &corev1.Service{}))
	}, 20*time.Second, 100*time.Millisecond, "the baseline Service outlived its Release")
}

// TestAnHPAOnTheTargetIsActedOnAtOnce: the controller watches
// HorizontalPodAutoscalers, so one created on a Release's target refuses
// the Release at once, and its deletion lets the Release go on, with the
// retry of a reported problem set far beyond the test's waits.
func TestAnHPAOnTheTargetIsActedOnAtOnce(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	startController(t, s.ns, func(o *manager.Options) { o.ReleaseRetryPeriod = time.Hour })
	rel := s.release(nil)
	s.waitState(rel, release.StateIdle, 20*time.Second)
	readyReason := func() string {
		c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
		if c == nil {
			return ""
		}
		return c.Reason
	}
	s.eventually(func() bool { return readyReason() == trimtabv1.ReasonReconciled }, 10*time.Second, rel)

	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web-hpa"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"}},
	}
	require.NoError(t, env.Client.Create(context.Background(), hpa))
	s.eventually(func() bool { return readyReason() == trimtabv1.ReasonTargetHasHPA }, 15*time.Second, rel)

	require.NoError(t, env.Client.Delete(context.Background(), hpa))
	s.eventually(func() bool { return readyReason() == trimtabv1.ReasonReconciled }, 15*time.Second, rel)
}

// TestRouteChangesAreActedOnAtOnce: the controller watches the Ingresses
// and HTTPRoutes Releases route through, so a change to them is repaired
// or reported at once. The retry of a reported problem, the only other
// way it was noticed, is set far beyond the test's waits here, and a
// Release at rest is not reconciled at all without a change it sees.
func TestRouteChangesAreActedOnAtOnce(t *testing.T) {
	t.Parallel()
	slowRetry := func(o *manager.Options) { o.ReleaseRetryPeriod = time.Hour }
	nginx := func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
	}
	canaryIngress := func(s *scenario) string {
		var c networkingv1.Ingress
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: s.ns, Name: "web-canary"}, &c); err != nil {
			require.True(t, apierrors.IsNotFound(err), "%v", err)
			return "none"
		}
		return c.Annotations["nginx.ingress.kubernetes.io/canary-weight"]
	}
	readyReason := func(s *scenario, rel *trimtabv1.Release) string {
		c := meta.FindStatusCondition(s.get(rel).Status.Conditions, trimtabv1.ConditionReady)
		if c == nil {
			return ""
		}
		return c.Reason
	}
	// atRest waits until the adoption's last changes (the target scaled
	// to 0, its pods gone) are behind the controller: from then on, only
	// a change it watches reconciles an idle Release.
	atRest := func(s *scenario, rel *trimtabv1.Release) {
		s.eventually(func() bool { return s.replicas("web") == 0 && s.deployment("web").Status.Replicas == 0 }, 10*time.Second, rel)
		time.Sleep(2 * time.Second)
	}
	cases := []struct {
		name string
		run  func(t *testing.T, s *scenario)
	}{
		{"the user reapplies their HTTPRoute without trimtab's backends: the split is set again", func(t *testing.T, s *scenario) {
			route := userHTTPRoute(s.ns)
			require.NoError(t, env.Client.Create(context.Background(), route))
			startController(t, s.ns, slowRetry)
			rel := s.release(func(r *trimtabv1.Release) {
				r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"}
			})
			s.waitState(rel, release.StateIdle, 20*time.Second)
			split := map[string]int32{"web-primary": 100, "web-canary": 0}
			s.waitRoute(rel, "web", split, 10*time.Second)
			atRest(s, rel)

			require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(route), route))
			route.Spec.Rules[0].BackendRefs = []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To(gatewayv1.PortNumber(80))}}}}
			require.NoError(t, env.Client.Update(context.Background(), route))
			s.waitRoute(rel, "web", split, 15*time.Second)
		}},
		{"the user's Ingress stops leading to the primary: reported, and once fixed, routed again", func(t *testing.T, s *scenario) {
			ing := s.userIngress()
			startController(t, s.ns, slowRetry)
			rel := s.release(nginx)
			s.waitState(rel, release.StateIdle, 20*time.Second)
			s.eventually(func() bool { return canaryIngress(s) == "0" }, 10*time.Second, rel)
			atRest(s, rel)

			require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web"
			require.NoError(t, env.Client.Update(context.Background(), ing))
			s.eventually(func() bool { return readyReason(s, rel) == trimtabv1.ReasonTrafficMisconfigured }, 15*time.Second, rel)
			require.Equal(t, "none", canaryIngress(s), "a canary Ingress the user's no longer validates")

			require.NoError(t, env.Client.Get(context.Background(), client.ObjectKeyFromObject(ing), ing))
			ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web-primary"
			require.NoError(t, env.Client.Update(context.Background(), ing))
			s.eventually(func() bool { return readyReason(s, rel) == trimtabv1.ReasonReconciled && canaryIngress(s) == "0" }, 15*time.Second, rel)
		}},
		{"the canary Ingress is deleted: it is made again", func(t *testing.T, s *scenario) {
			s.userIngress()
			startController(t, s.ns, slowRetry)
			rel := s.release(nginx)
			s.waitState(rel, release.StateIdle, 20*time.Second)
			s.eventually(func() bool { return canaryIngress(s) == "0" }, 10*time.Second, rel)
			atRest(s, rel)

			require.NoError(t, env.Client.Delete(context.Background(), &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: s.ns, Name: "web-canary"}}))
			s.eventually(func() bool { return canaryIngress(s) == "0" }, 15*time.Second, rel)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newScenario(t))
		})
	}
}

// TestTheControllerRunsWithoutTheGatewayAPI: on a cluster that does not
// serve HTTPRoutes, the controller starts (it watches HTTPRoutes only
// where they are served), and a Release that asks for the gatewayAPI
// router is told why it cannot have it. Deleting that Release finishes at
// once while the cluster has no Gateway API at all: no CRD, no route. Once
// the group is served but not v1 HTTPRoutes, a route may be stored but not
// served, still leading to the variant Services: the deletion keeps them
// and waits until HTTPRoutes are served again and trimtab can tell.
func TestTheControllerRunsWithoutTheGatewayAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bare := testenv.StartWithoutGatewayAPI(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "rel-"}}
	require.NoError(t, bare.Client.Create(ctx, ns))
	// The deletion hands the workload back to a target that runs it.
	pods := startApp(t, 1, 0.01, 100)
	k := &kubelet{c: bare.Client, ns: ns.Name, hold: map[string]bool{},
		apps: map[string]*app{"": pods, "primary": pods, "canary": pods, "baseline": pods}}
	kctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	k.run(kctx, t)
	p := startControllerOn(t, bare.Config, ns.Name)
	require.NoError(t, bare.Client.Create(ctx, userDeployment(ns.Name, "web", "example.invalid/web:1", 2)))
	require.NoError(t, bare.Client.Create(ctx, userService(ns.Name, "web")))
	// refused creates a gatewayAPI Release of web and waits until it is
	// told why it cannot be routed.
	refused := func() *trimtabv1.Release {
		t.Helper()
		rel := &trimtabv1.Release{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "web"},
			Spec: trimtabv1.ReleaseSpec{TargetRef: trimtabv1.TargetRef{Name: "web"}, Strategy: trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{}},
				Traffic: trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"}},
		}
		require.NoError(t, bare.Client.Create(ctx, rel))
		var ready *metav1.Condition
		for deadline := time.Now().Add(30 * time.Second); ready == nil || ready.Reason != trimtabv1.ReasonTrafficMisconfigured; time.Sleep(100 * time.Millisecond) {
			select {
			case err := <-p.done:
				t.Fatalf("the controller stopped: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("the Release was not told why it cannot be routed; Ready: %+v", ready)
			}
			require.NoError(t, bare.Client.Get(ctx, client.ObjectKeyFromObject(rel), rel))
			ready = meta.FindStatusCondition(rel.Status.Conditions, trimtabv1.ConditionReady)
		}
		require.Contains(t, ready.Message, "this cluster does not serve HTTPRoute")
		return rel
	}
	gone := func(rel *trimtabv1.Release) func() bool {
		return func() bool {
			return apierrors.IsNotFound(bare.Client.Get(ctx, client.ObjectKeyFromObject(rel), &trimtabv1.Release{}))
		}
	}

	// No Gateway API: nothing to restore.
	rel := refused()
	require.NoError(t, bare.Client.Delete(ctx, rel))
	require.Eventually(t, gone(rel), 30*time.Second, 100*time.Millisecond, "the deletion did not finish")
	require.Empty(t, eventNote(t, bare.Client, ns.Name, "web", "DeletionWaits"), "the deletion waited")
	for _, svc := range []string{"web-primary", "web-canary"} {
		require.True(t, apierrors.IsNotFound(bare.Client.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: svc}, &corev1.Service{})), "Service %s is left", svc)
	}

	// The group served, v1 HTTPRoutes not: a route may be stored.
	testenv.ServeHTTPRoutesOnlyInV1beta1(t, bare)
	rel = refused()
	require.NoError(t, bare.Client.Delete(ctx, rel))
	var waits string
	require.Eventually(t, func() bool {
		waits = eventNote(t, bare.Client, ns.Name, "web", "DeletionWaits")
		return waits != ""
	}, 30*time.Second, 100*time.Millisecond, "the deletion did not say why it waits")
	require.Contains(t, waits, "this cluster does not serve HTTPRoute")
	require.Contains(t, waits, "serve gateway.networking.k8s.io/v1 HTTPRoutes again (install the Gateway API's standard channel)")
	require.Contains(t, waits, "The deletion waits for that fix, keeping Services web-primary and web-canary, which the routing may still lead to")
	require.NoError(t, bare.Client.Get(ctx, client.ObjectKeyFromObject(rel), &trimtabv1.Release{}), "the Release is gone")
	for _, svc := range []string{"web-primary", "web-canary"} {
		require.NoError(t, bare.Client.Get(ctx, client.ObjectKey{Namespace: ns.Name, Name: svc}, &corev1.Service{}), "Service %s is gone", svc)
	}

	// v1 HTTPRoutes served again: the route was never created, so there
	// is nothing to restore, and the deletion finishes.
	_, err := envtest.InstallCRDs(bare.Config, envtest.CRDInstallOptions{Paths: []string{testenv.GatewayAPICRDDir()}, ErrorIfPathMissing: true})
	require.NoError(t, err)
	require.Eventually(t, gone(rel), 45*time.Second, 200*time.Millisecond, "the deletion did not finish once HTTPRoutes were served")
}

// eventNote is the note of the newest Event of reason on Release name, or
// "" when there is none.
func eventNote(t *testing.T, c client.Client, ns, name, reason string) string {
	t.Helper()
	var evs eventsv1.EventList
	require.NoError(t, c.List(context.Background(), &evs, client.InNamespace(ns)))
	note, at := "", time.Time{}
	for _, e := range evs.Items {
		if e.Regarding.Kind == "Release" && e.Regarding.Name == name && e.Reason == reason && !e.CreationTimestamp.Time.Before(at) {
			note, at = e.Note, e.CreationTimestamp.Time
		}
	}
	return note
}

// TestDeletingAGatewayAPIReleaseWaitsForADamagedRecordToBeFixed: trimtab
// cannot tell what to restore from a damaged record of the route's
// backendRefs, and does not guess. The route keeps leading to the variant
// Services, so the deletion keeps them and says what to fix; once the user
// has put their backendRefs back and removed the record, it finishes.
func TestDeletingAGatewayAPIReleaseWaitsForADamagedRecordToBeFixed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newScenario(t)
	require.NoError(t, env.Client.Create(ctx, userHTTPRoute(s.ns)))
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"}
	})
	s.waitState(rel, release.StateIdle, 20*time.Second)
	s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 10*time.Second)
	key := client.ObjectKey{Namespace: s.ns, Name: "web"}
	editRoute := func(edit func(*gatewayv1.HTTPRoute)) {
		require.Eventually(t, func() bool {
			var route gatewayv1.HTTPRoute
			require.NoError(t, env.Client.Get(ctx, key, &route))
			edit(&route)
			return env.Client.Update(ctx, &route) == nil
		}, 5*time.Second, 100*time.Millisecond)
	}
	// A tool or a hand edit damages the record.
	editRoute(func(r *gatewayv1.HTTPRoute) { r.Annotations["trimtab.dev/original-backend-refs"] = "[{" })
	var damaged gatewayv1.HTTPRoute
	require.NoError(t, env.Client.Get(ctx, key, &damaged))

	require.NoError(t, env.Client.Delete(ctx, rel))
	var waits string
	s.eventually(func() bool {
		waits = eventNote(t, env.Client, s.ns, "web", "DeletionWaits")
		return waits != ""
	}, 20*time.Second, rel)
	require.Contains(t, waits, "annotation trimtab.dev/original-backend-refs on HTTPRoute "+s.ns+"/web is not what trimtab wrote")
	require.Contains(t, waits, "in rule 0, put back the backendRefs it had before the release in place of those to Services web-primary and web-canary")
	require.Contains(t, waits, "then remove the annotation. The deletion waits for that fix, keeping Services web-primary and web-canary")
	waiting := &trimtabv1.Release{}
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(rel), waiting), "the Release is gone")
	s.eventually(func() bool {
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(rel), waiting))
		ready := meta.FindStatusCondition(waiting.Status.Conditions, trimtabv1.ConditionReady)
		return ready != nil && ready.Reason == "DeletionWaits" && ready.Message == waits
	}, 5*time.Second, rel)
	for _, svc := range []string{"web-primary", "web-canary"} {
		require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: svc}, &corev1.Service{}), "Service %s, which the route leads to, is gone", svc)
	}
	var route gatewayv1.HTTPRoute
	require.NoError(t, env.Client.Get(ctx, key, &route))
	require.Equal(t, damaged.ResourceVersion, route.ResourceVersion, "the route was changed")

	// The user's fix.
	editRoute(func(r *gatewayv1.HTTPRoute) {
		r.Spec.Rules = userHTTPRoute(s.ns).Spec.Rules
		delete(r.Annotations, "trimtab.dev/original-backend-refs")
	})
	var fixed gatewayv1.HTTPRoute
	require.NoError(t, env.Client.Get(ctx, key, &fixed))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(rel), &trimtabv1.Release{}))
	}, 30*time.Second, 100*time.Millisecond, "the deletion did not finish once the route was fixed")
	require.NoError(t, env.Client.Get(ctx, key, &route))
	require.Equal(t, fixed.Spec, route.Spec)
}

// TestDeletingAGatewayAPIReleaseHandsTheRouteBack: routing made trimtab the
// manager of the HTTPRoute's rules (one atomic list), so the user's
// server-side apply of their own manifest conflicts while the Release
// lives. Once it is deleted, the route is as the user applied it and the
// same apply succeeds.
func TestDeletingAGatewayAPIReleaseHandsTheRouteBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newScenario(t)
	apply := func() error { return testenv.ApplyHTTPRouteAsKubectl(ctx, env.Client, s.ns, "web", "web", 80) }
	require.NoError(t, apply())
	var applied gatewayv1.HTTPRoute
	require.NoError(t, env.Client.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: "web"}, &applied))
	startController(t, s.ns)
	rel := s.release(func(r *trimtabv1.Release) {
		r.Spec.Traffic = trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"}
	})
	s.waitState(rel, release.StateIdle, 20*time.Second)
	s.waitRoute(rel, "web", map[string]int32{"web-primary": 100, "web-canary": 0}, 10*time.Second)
	require.True(t, apierrors.IsConflict(apply()), "trimtab manages the rules while the Release lives")

	require.NoError(t, env.Client.Delete(ctx, rel))
	require.Eventually(t, func() bool {
		return apierrors.IsNotFound(env.Client.Get(ctx, client.ObjectKeyFromObject(rel), &trimtabv1.Release{}))
	}, 20*time.Second, 100*time.Millisecond, "the finalizer did not finish")
	var restored gatewayv1.HTTPRoute
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(&applied), &restored))
	require.Equal(t, applied.Spec, restored.Spec)
	require.NoError(t, apply(), "the user's unchanged manifest, applied again")
}

// userHTTPRoute is the user's route to their Service "web", as they would
// apply it.
func userHTTPRoute(ns string) *gatewayv1.HTTPRoute {
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: "web", Port: ptr.To(gatewayv1.PortNumber(80))}}}}}},
		},
	}
}

package manager

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.RunMain(m, &env) }

// running is a manager started by a test, with a way to stop it and wait.
type running struct {
	*Manager
	stop context.CancelFunc
	done chan error
}

func start(t *testing.T, opts Options) *running {
	t.Helper()
	opts.MetricsAddress, opts.APIAddress = "127.0.0.1:0", "127.0.0.1:0"
	opts.ShutdownTimeout = 10 * time.Second
	m, err := New(env.Config, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Manager: m, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func (r *running) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case err := <-r.done:
		require.NoError(t, err)
		r.done <- nil // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("manager did not stop within 20 s")
	}
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "mgr-"}}
	require.NoError(t, env.Client.Create(context.Background(), ns))
	return ns.Name
}

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
			},
		},
	}
}

func release(ns, name, target string) *trimtabv1.Release {
	return &trimtabv1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: trimtabv1.ReleaseSpec{
			TargetRef: trimtabv1.TargetRef{Name: target},
			Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Steps: []trimtabv1.CanaryStep{{Weight: 20}}}},
		},
	}
}

// readyCondition waits until the object's Ready condition has the reason,
// and returns the object as the API server has it.
func readyCondition(t *testing.T, obj client.Object, reason string) *metav1.Condition {
	t.Helper()
	var cond *metav1.Condition
	require.Eventually(t, func() bool {
		if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			return false
		}
		var conds []metav1.Condition
		switch o := obj.(type) {
		case *trimtabv1.Release:
			conds = o.Status.Conditions
		case *trimtabv1.ScalingPolicy:
			conds = o.Status.Conditions
		}
		cond = meta.FindStatusCondition(conds, trimtabv1.ConditionReady)
		return cond != nil && cond.Reason == reason
	}, 15*time.Second, 50*time.Millisecond, "Ready condition never got reason %s (last: %+v)", reason, cond)
	return cond
}

func TestReleaseTargetLifecycle(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	start(t, Options{})

	rel := release(ns, "web", "web")
	require.NoError(t, env.Client.Create(ctx, rel))
	cond := readyCondition(t, rel, trimtabv1.ReasonTargetNotFound)
	require.Equal(t, metav1.ConditionFalse, cond.Status)
	require.Contains(t, cond.Message, "Deployment "+ns+"/web named in spec.targetRef does not exist")
	require.Equal(t, rel.Generation, rel.Status.ObservedGeneration)
	require.Equal(t, rel.Generation, cond.ObservedGeneration)

	// The transition is visible as a Warning Event on the Release.
	require.Eventually(t, func() bool {
		var evs eventsv1.EventList
		if err := env.Client.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == "web" && e.Regarding.Kind == "Release" && e.Reason == trimtabv1.ReasonTargetNotFound && e.Type == corev1.EventTypeWarning {
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "no TargetNotFound Event")

	// Creating the Deployment clears the condition, through the Deployment
	// watch alone; the next thing missing is the Service in front of it.
	require.NoError(t, env.Client.Create(ctx, deployment(ns, "web")))
	cond = readyCondition(t, rel, trimtabv1.ReasonServiceNotFound)
	require.Equal(t, metav1.ConditionFalse, cond.Status)
	require.NoError(t, env.Client.Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Port: 80}}}}))
	cond = readyCondition(t, rel, trimtabv1.ReasonReconciled)
	require.Equal(t, metav1.ConditionTrue, cond.Status)

	// A spec change bumps generation; observedGeneration follows it.
	before := rel.Generation
	rel.Spec.ProgressDeadlineSeconds = 120
	require.NoError(t, env.Client.Update(ctx, rel))
	require.Greater(t, rel.Generation, before)
	require.Eventually(t, func() bool {
		require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(rel), rel))
		return rel.Status.ObservedGeneration == rel.Generation
	}, 10*time.Second, 50*time.Millisecond)

	// Status only moves through the status subresource: a write of status on
	// the main resource is dropped by the API server.
	rel.Status.State = "Hacked"
	require.NoError(t, env.Client.Update(ctx, rel))
	require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(rel), rel))
	require.NotEqual(t, "Hacked", rel.Status.State)

	// Deleting the target brings TargetNotFound back, and the primary
	// trimtab made stays.
	require.NoError(t, env.Client.Delete(ctx, deployment(ns, "web")))
	readyCondition(t, rel, trimtabv1.ReasonTargetNotFound)
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "web-primary"}, &appsv1.Deployment{}))
}

func TestScalingPolicyTargetNotFound(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	// With a history URL the manager builds a history provider and the
	// scaling cycle starts its forecast warmer beside everything else.
	start(t, Options{PredictiveHistoryURL: "http://127.0.0.1:1"})
	one := int32(1)
	sp := &trimtabv1.ScalingPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "api"},
		Spec: trimtabv1.ScalingPolicySpec{
			TargetRef: trimtabv1.ScaleTargetRef{Name: "api"}, MinReplicas: &one, MaxReplicas: 3,
			Metrics: []trimtabv1.ScalingMetric{{
				Metric: trimtabv1.Metric{Name: "rps", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "up"}}},
				Kind:   trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.ValueTarget, Value: ptrQuantity("10")},
			}},
		},
	}
	require.NoError(t, env.Client.Create(ctx, sp))
	readyCondition(t, sp, trimtabv1.ReasonTargetNotFound)
	require.NoError(t, env.Client.Create(ctx, deployment(ns, "api")))
	readyCondition(t, sp, trimtabv1.ReasonTargetFound)
}

func TestProbesAndMetrics(t *testing.T) {
	m := start(t, Options{})
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + m.MetricsAddr() + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, path := range []string{"/livez", "/healthz", "/readyz"} {
		require.Eventually(t, func() bool { code, _ := get(path); return code == http.StatusOK }, 10*time.Second, 50*time.Millisecond, path)
	}
	resp, err := http.Get("http://" + m.APIAddr() + "/api/v1/version")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// One scrape shows trimtab's own series beside controller-runtime's and Go's.
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, name := range []string{"trimtab_http_request_duration_seconds_count", "controller_runtime_reconcile_total", "go_goroutines", "go_build_info"} {
		require.True(t, strings.Contains(body, "\n"+name), "/metrics lacks %s", name)
	}

	problems, err := testutil.GatherAndLint(m.Registry())
	require.NoError(t, err)
	require.Empty(t, problems)

	m.shutdown(t)
	_, err = http.Get("http://" + m.MetricsAddr() + "/livez")
	require.Error(t, err, "probe server still serving after shutdown")
}

// TestPprof: profiles are served only when asked for, on their own address.
func TestPprof(t *testing.T) {
	require.Empty(t, start(t, Options{}).PprofAddr(), "profiles served without --pprof.address")

	m := start(t, Options{PprofAddress: "127.0.0.1:0"})
	require.NotEqual(t, m.MetricsAddr(), m.PprofAddr())
	resp, err := http.Get("http://" + m.PprofAddr() + "/debug/pprof/heap")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, body)
	resp, err = http.Get("http://" + m.MetricsAddr() + "/debug/pprof/heap")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "profiles leaked onto the metrics address")

	m.shutdown(t)
	_, err = http.Get("http://" + m.PprofAddr() + "/debug/pprof/")
	require.Error(t, err, "profiling server still serving after shutdown")

	_, err = New(env.Config, Options{MetricsAddress: "127.0.0.1:0", APIAddress: "127.0.0.1:0", PprofAddress: "127.0.0.1:-1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "--pprof.address 127.0.0.1:-1")
}

// TestAddressTaken: a listen address another listener holds fails New with
// a FlagError naming the flag and its value, from which the trimtab command
// names the setting as the user set it.
func TestAddressTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { held.Close() })
	busy, free := held.Addr().String(), "127.0.0.1:0"
	cases := []struct {
		name string
		opts Options
		flag string
	}{
		{name: "metrics", opts: Options{MetricsAddress: busy, APIAddress: free}, flag: "metrics.address"},
		{name: "API", opts: Options{MetricsAddress: free, APIAddress: busy}, flag: "api.address"},
		{name: "pprof", opts: Options{MetricsAddress: free, APIAddress: free, PprofAddress: busy}, flag: "pprof.address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(env.Config, tc.opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
			var fe *FlagError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tc.flag, fe.Flag)
			require.Equal(t, busy, fe.Value)
			require.ErrorIs(t, err, syscall.EADDRINUSE)
			require.EqualError(t, err, "--"+tc.flag+" "+busy+": listen tcp "+busy+": bind: address already in use")
		})
	}
}

// TestLeaderElection runs two managers against one API server: only the
// leader reconciles, and when it stops the other takes over within the
// lease duration.
func TestLeaderElection(t *testing.T) {
	ctx := context.Background()
	ns := newNamespace(t)
	const lease = 4 * time.Second
	opts := Options{
		LeaderElection: true, LeaderElectionNamespace: ns, LeaderElectionID: "trimtab-test",
		LeaseDuration: lease, RenewDeadline: 3 * time.Second, RetryPeriod: 500 * time.Millisecond,
	}
	a := start(t, opts)
	waitElected(t, a, 15*time.Second)
	b := start(t, opts)

	rel := release(ns, "first", "missing")
	require.NoError(t, env.Client.Create(ctx, rel))
	readyCondition(t, rel, trimtabv1.ReasonTargetNotFound)
	// Give the follower every chance to (wrongly) reconcile too.
	time.Sleep(2 * time.Second)
	require.Positive(t, reconciles(t, a), "the leader did not reconcile")
	require.Zero(t, reconciles(t, b), "the follower reconciled while another manager led")
	select {
	case <-b.Elected():
		t.Fatal("both managers consider themselves leader")
	default:
	}

	var l coordinationv1.Lease
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "trimtab-test"}, &l))
	holderBefore := *l.Spec.HolderIdentity

	stopped := time.Now()
	a.shutdown(t)
	waitElected(t, b, lease)
	t.Logf("follower took over %v after the leader stopped (lease duration %v)", time.Since(stopped).Round(time.Millisecond), lease)

	second := release(ns, "second", "missing")
	require.NoError(t, env.Client.Create(ctx, second))
	readyCondition(t, second, trimtabv1.ReasonTargetNotFound)
	require.Positive(t, reconciles(t, b), "the new leader did not reconcile")

	// The Lease names the new holder.
	require.NoError(t, env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: "trimtab-test"}, &l))
	require.NotNil(t, l.Spec.HolderIdentity)
	require.NotEqual(t, holderBefore, *l.Spec.HolderIdentity)
}

func waitElected(t *testing.T, r *running, within time.Duration) {
	t.Helper()
	select {
	case <-r.Elected():
	case <-time.After(within):
		t.Fatalf("not elected within %v", within)
	}
}

func reconciles(t *testing.T, r *running) float64 {
	t.Helper()
	mfs, err := r.Registry().Gather()
	require.NoError(t, err)
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "trimtab_reconcile_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetCounter().GetValue()
		}
	}
	return n
}

func ptrQuantity(s string) *resource.Quantity {
	q := resource.MustParse(s)
	return &q
}

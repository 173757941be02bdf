package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/trimtab/trimtab/scaler/release/router"
)

// app is a fake service instance that serves Prometheus metrics on a real
// HTTP server on 127.0.0.1: requests at a steady rate with a given error
// ratio, and a latency histogram of lognormal requests. Counters advance by
// random amounts each scrape, so samples vary as real traffic does.
type app struct {
	mu        sync.Mutex
	rps       float64
	errRatio  float64
	latencyMs float64 // median request latency
	silent    bool    // answers 404 instead of metrics
	last      time.Time
	total     float64
	errors    float64
	buckets   []float64 // cumulative counts for bucketBounds
	rng       *rand.Rand
	port      int
	srv       *http.Server
}

var bucketBounds = []float64{0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2.5}

func startApp(t *testing.T, seed uint64, errRatio, latencyMs float64) *app {
	t.Helper()
	a := &app{rps: 50, errRatio: errRatio, latencyMs: latencyMs, last: time.Now(), buckets: make([]float64, len(bucketBounds)), rng: rand.New(rand.NewPCG(seed, 7))}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a.port = ln.Addr().(*net.TCPAddr).Port
	a.srv = &http.Server{Handler: http.HandlerFunc(a.serve), ReadHeaderTimeout: time.Second}
	go func() { _ = a.srv.Serve(ln) }()
	t.Cleanup(func() { _ = a.srv.Close() })
	return a
}

func (a *app) set(errRatio, latencyMs float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.errRatio, a.latencyMs = errRatio, latencyMs
}

// silence makes the app answer 404 to scrapes, as one without metrics.
func (a *app) silence() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.silent = true
}

func (a *app) serve(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	if a.silent {
		a.mu.Unlock()
		http.NotFound(w, nil)
		return
	}
	now := time.Now()
	n := a.rps * now.Sub(a.last).Seconds() * (0.8 + 0.4*a.rng.Float64())
	a.last = now
	a.total += n
	a.errors += n * a.errRatio * (0.7 + 0.6*a.rng.Float64())
	mu := math.Log(a.latencyMs / 1000)
	for i, le := range bucketBounds {
		cdf := 0.5 * math.Erfc(-(math.Log(le)-mu)/(0.3*math.Sqrt2))
		a.buckets[i] += n * cdf
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE http_requests_total counter\n")
	fmt.Fprintf(&b, "http_requests_total{code=\"200\"} %.0f\n", a.total-a.errors)
	fmt.Fprintf(&b, "http_requests_total{code=\"500\"} %.0f\n", a.errors)
	fmt.Fprintf(&b, "# TYPE http_request_duration_seconds histogram\n")
	for i, le := range bucketBounds {
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{le=\"%g\"} %.0f\n", le, a.buckets[i])
	}
	fmt.Fprintf(&b, "http_request_duration_seconds_bucket{le=\"+Inf\"} %.0f\n", a.total)
	fmt.Fprintf(&b, "http_request_duration_seconds_sum %.3f\n", a.total*a.latencyMs/1000)
	fmt.Fprintf(&b, "http_request_duration_seconds_count %.0f\n", a.total)
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte(b.String()))
}

// kubelet stands in for the controllers and nodes the test API server does
// not have: there is no kubelet here, so it creates a Deployment's pods
// itself, marks them Running and Ready with pod IP 127.0.0.1 and points
// their metrics port at the app serving their variant, and writes the
// Deployment's status as a finished rollout. As a Deployment does, it
// replaces the pods when the pod template changes and keeps them when only
// the replica count does: a scale-down removes pods, a scale-up adds new
// ones.
type kubelet struct {
	c    client.Client
	ns   string
	apps map[string]*app // by variant label; "" for the target's own pods
	// hold lists Deployments whose rollouts stall: their pods and status
	// stay as they are, as when new pods cannot be scheduled.
	mu   sync.Mutex
	hold map[string]bool
	// startup is how long after its creation a pod becomes Ready, as if
	// its containers took that long to start; zero marks it Ready at once.
	startup time.Duration
}

func (k *kubelet) stall(name string, on bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.hold[name] = on
}

func (k *kubelet) run(ctx context.Context, t *testing.T) {
	go func() {
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if err := k.sync(ctx); err != nil && ctx.Err() == nil && !apierrors.IsConflict(err) {
				t.Logf("kubelet: %v", err)
			}
		}
	}()
}

func (k *kubelet) sync(ctx context.Context) error {
	var deps appsv1.DeploymentList
	if err := k.c.List(ctx, &deps, client.InNamespace(k.ns)); err != nil {
		return err
	}
	for i := range deps.Items {
		if err := k.syncDeployment(ctx, &deps.Items[i]); err != nil {
			return err
		}
	}
	return nil
}

func (k *kubelet) syncDeployment(ctx context.Context, d *appsv1.Deployment) error {
	k.mu.Lock()
	held := k.hold[d.Name]
	k.mu.Unlock()
	if held {
		return nil
	}
	want := int(ptr.Deref(d.Spec.Replicas, 1))
	var pods corev1.PodList
	if err := k.c.List(ctx, &pods, client.InNamespace(k.ns), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
		return err
	}
	tmpl, err := json.Marshal(d.Spec.Template)
	if err != nil {
		return err
	}
	h := fnv.New32a()
	_, _ = h.Write(tmpl)
	hash := strconv.FormatUint(uint64(h.Sum32()), 16)
	var mine []corev1.Pod
	for _, p := range pods.Items {
		if p.Labels["owner"] != d.Name {
			continue
		}
		if p.Labels["template"] != hash || len(mine) >= want {
			if err := k.c.Delete(ctx, &p); client.IgnoreNotFound(err) != nil {
				return err
			}
			continue
		}
		mine = append(mine, p)
	}
	variant := d.Spec.Template.Labels[router.VariantLabel]
	a := k.apps[variant]
	for i := len(mine); i < want; i++ {
		labels := map[string]string{"owner": d.Name, "template": hash}
		for k, v := range d.Spec.Template.Labels {
			labels[k] = v
		}
		p := corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: k.ns, GenerateName: d.Name + "-" + hash + "-", Labels: labels,
				Annotations: map[string]string{"prometheus.io/port": strconv.Itoa(a.port)}},
			Spec: *d.Spec.Template.Spec.DeepCopy(),
		}
		if err := k.c.Create(ctx, &p); err != nil {
			return err
		}
		mine = append(mine, p)
	}
	ready := int32(0)
	for i := range mine {
		p := &mine[i]
		if p.Status.Phase == corev1.PodRunning {
			ready++
			continue
		}
		readyAt := metav1.Now()
		if k.startup > 0 {
			if readyAt = metav1.NewTime(p.CreationTimestamp.Add(k.startup)); time.Now().Before(readyAt.Time) {
				continue // still starting
			}
		}
		ready++
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", PodIPs: []corev1.PodIP{{IP: "127.0.0.1"}},
			StartTime:  ptr.To(metav1.Now()),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: readyAt}}}
		if err := k.c.Status().Update(ctx, p); err != nil {
			return err
		}
	}
	st := appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: int32(want), UpdatedReplicas: int32(want), ReadyReplicas: ready, AvailableReplicas: ready}
	if d.Status.ObservedGeneration == st.ObservedGeneration && d.Status.Replicas == st.Replicas && d.Status.ReadyReplicas == st.ReadyReplicas && d.Status.UpdatedReplicas == st.UpdatedReplicas {
		return nil
	}
	d.Status = st
	return k.c.Status().Update(ctx, d)
}

// userDeployment is the target as a user would apply it.
func userDeployment(ns, name, image string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: image,
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			},
		},
	}
}

func userService(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}
}

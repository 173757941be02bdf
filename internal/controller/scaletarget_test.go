package controller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/controller"
)

// workerKind is a custom resource with a scale subresource, as an operator
// would define one; counterKind has one without a label selector, which
// the HPA cannot scale either.
var (
	workerKind  = schema.GroupVersionKind{Group: "test.trimtab.dev", Version: "v1", Kind: "Worker"}
	counterKind = schema.GroupVersionKind{Group: "test.trimtab.dev", Version: "v1", Kind: "Counter"}
)

// installScalableCRDs installs Worker and Counter once per API server.
func installScalableCRDs(t *testing.T) {
	t.Helper()
	crd := func(gvk schema.GroupVersionKind, selectorPath *string) *apiextensionsv1.CustomResourceDefinition {
		plural := map[string]string{"Worker": "workers", "Counter": "counters"}[gvk.Kind]
		open := true
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + gvk.Group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: gvk.Group, Scope: apiextensionsv1.NamespaceScoped,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: plural, Kind: gvk.Kind},
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: gvk.Version, Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &open}},
					Subresources: &apiextensionsv1.CustomResourceSubresources{
						Status: &apiextensionsv1.CustomResourceSubresourceStatus{},
						Scale: &apiextensionsv1.CustomResourceSubresourceScale{SpecReplicasPath: ".spec.replicas",
							StatusReplicasPath: ".status.replicas", LabelSelectorPath: selectorPath},
					},
				}},
			},
		}
	}
	_, err := envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		CRDs: []*apiextensionsv1.CustomResourceDefinition{crd(workerKind, ptr.To(".status.selector")), crd(counterKind, nil)},
	})
	require.NoError(t, err)
}

// podRunner stands in for a StatefulSet or Worker controller and the
// kubelet, which the test API server does not have: every 150 ms it makes
// the pods nameFormat names for ordinals 0 to replicas-1 exist, Running and
// Ready with 100m of CPU requested, deletes the workload's other pods, and
// reports the count in the workload's status through report.
type podRunner struct {
	ns       string
	labels   map[string]string
	replicas func(context.Context) (int32, error)
	// nameFormat is the pods' name with %d for the ordinal.
	nameFormat string
	report     func(context.Context, int32) error
}

func (r *podRunner) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		for ctx.Err() == nil {
			if err := r.sync(ctx); err != nil && ctx.Err() == nil {
				t.Logf("pod runner: %v", err)
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
}

func (r *podRunner) sync(ctx context.Context) error {
	n, err := r.replicas(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for i := range n {
		want[fmt.Sprintf(r.nameFormat, i)] = true
	}
	var pods corev1.PodList
	if err := env.Client.List(ctx, &pods, client.InNamespace(r.ns), client.MatchingLabels(r.labels)); err != nil {
		return err
	}
	for i := range pods.Items {
		p := &pods.Items[i]
		if !want[p.Name] {
			if err := env.Client.Delete(ctx, p); client.IgnoreNotFound(err) != nil {
				return err
			}
			continue
		}
		delete(want, p.Name)
	}
	for name := range want {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: name, Labels: r.labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}},
		}
		if err := env.Client.Create(ctx, p); err != nil {
			return err
		}
		p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "127.0.0.1", StartTime: ptr.To(metav1.Now()),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}}
		if err := env.Client.Status().Update(ctx, p); err != nil {
			return err
		}
	}
	return r.report(ctx, n)
}

func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "st-"}}
	require.NoError(t, env.Client.Create(context.Background(), ns))
	return ns.Name
}

// runStatefulSet creates StatefulSet ns/web and runs its pods web-0, web-1, ...
func runStatefulSet(t *testing.T, ns string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": "web"}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels}, ServiceName: "web",
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}}}},
	}
	require.NoError(t, env.Client.Create(context.Background(), sts))
	key := client.ObjectKeyFromObject(sts)
	(&podRunner{ns: ns, labels: labels,
		replicas: func(ctx context.Context) (int32, error) {
			var s appsv1.StatefulSet
			err := env.Client.Get(ctx, key, &s)
			return ptr.Deref(s.Spec.Replicas, 1), err
		},
		nameFormat: "web-%d",
		report: func(ctx context.Context, n int32) error {
			var s appsv1.StatefulSet
			if err := env.Client.Get(ctx, key, &s); err != nil || s.Status.Replicas == n {
				return err
			}
			s.Status = appsv1.StatefulSetStatus{ObservedGeneration: s.Generation, Replicas: n, ReadyReplicas: n, AvailableReplicas: n}
			return client.IgnoreNotFound(env.Client.Status().Update(ctx, &s))
		},
	}).run(t)
}

// runWorker creates Worker ns/jobs and runs its pods jobs-w0, jobs-w1, ...:
// names that neither a Deployment's nor a StatefulSet's pattern matches.
func runWorker(t *testing.T, ns string, replicas int64) {
	t.Helper()
	w := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": replicas}}}
	w.SetGroupVersionKind(workerKind)
	w.SetNamespace(ns)
	w.SetName("jobs")
	require.NoError(t, env.Client.Create(context.Background(), w))
	key := client.ObjectKeyFromObject(w)
	get := func(ctx context.Context) (*unstructured.Unstructured, error) {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(workerKind)
		return u, env.Client.Get(ctx, key, u)
	}
	(&podRunner{ns: ns, labels: map[string]string{"worker": "jobs"},
		replicas: func(ctx context.Context) (int32, error) {
			u, err := get(ctx)
			if err != nil {
				return 0, err
			}
			n, _, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
			return int32(n), err
		},
		nameFormat: "jobs-w%d",
		report: func(ctx context.Context, n int32) error {
			u, err := get(ctx)
			if err != nil {
				return err
			}
			if got, _, _ := unstructured.NestedInt64(u.Object, "status", "replicas"); got == int64(n) {
				return nil
			}
			u.Object["status"] = map[string]any{"replicas": int64(n), "selector": "worker=jobs"}
			return env.Client.Status().Update(ctx, u)
		},
	}).run(t)
}

// targetPolicy creates a CPU-utilization policy for ref in ns.
func targetPolicy(t *testing.T, ns string, ref trimtabv1.ScaleTargetRef, promURL string) *trimtabv1.ScalingPolicy {
	t.Helper()
	p := &trimtabv1.ScalingPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scale-" + ref.Name},
		Spec: trimtabv1.ScalingPolicySpec{TargetRef: ref, MaxReplicas: 10, Behavior: fastBehavior(),
			Metrics: []trimtabv1.ScalingMetric{cpuMetric(promURL)}},
	}
	require.NoError(t, env.Client.Create(context.Background(), p))
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), p) })
	return p
}

// rescales returns the notes of SuccessfulRescale Events about pol and the
// kinds of the objects they name as related.
func rescales(t *testing.T, pol *trimtabv1.ScalingPolicy) (notes, related []string) {
	var evs eventsv1.EventList
	require.NoError(t, env.Client.List(context.Background(), &evs, client.InNamespace(pol.Namespace)))
	for _, e := range evs.Items {
		if e.Regarding.Name == pol.Name && e.Reason == controller.ReasonSuccessfulRescale && e.Related != nil {
			notes, related = append(notes, e.Note), append(related, e.Related.APIVersion+" "+e.Related.Kind+" "+e.Related.Name)
		}
	}
	return notes, related
}

// TestScalingPolicyTargetKinds scales what the HPA scales besides
// Deployments: StatefulSets, from the cache, and any resource with a scale
// subresource, through it. The test API server has no StatefulSet
// controller and no kubelet: podRunner creates the pods and marks them
// Running and Ready; their CPU is served by the load app on 127.0.0.1,
// which Prometheus scrapes.
func TestScalingPolicyTargetKinds(t *testing.T) {
	installScalableCRDs(t)
	w := startScalingWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		run     func(t *testing.T, ns string)
		ref     trimtabv1.ScaleTargetRef
		scale   func(ns string) (int32, error)
		related string
	}{
		{
			name: "a StatefulSet, whose pods are <name>-<ordinal>",
			run:  func(t *testing.T, ns string) { runStatefulSet(t, ns, 1) },
			ref:  trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web"},
			scale: func(ns string) (int32, error) {
				var s appsv1.StatefulSet
				err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &s)
				return ptr.Deref(s.Spec.Replicas, 1), err
			},
			related: "apps/v1 StatefulSet web",
		},
		{
			name: "a custom resource, through its scale subresource",
			run:  func(t *testing.T, ns string) { runWorker(t, ns, 1) },
			ref:  trimtabv1.ScaleTargetRef{APIVersion: "test.trimtab.dev/v1", Kind: "Worker", Name: "jobs"},
			scale: func(ns string) (int32, error) {
				s, err := env.Clientset.CoreV1().RESTClient().Get().AbsPath("/apis/test.trimtab.dev/v1/namespaces", ns, "workers", "jobs", "scale").DoRaw(ctx)
				if err != nil {
					return 0, err
				}
				var scale struct {
					Spec struct{ Replicas int32 } `json:"spec"`
				}
				err = json.Unmarshal(s, &scale)
				return scale.Spec.Replicas, err
			},
			related: "test.trimtab.dev/v1 Worker jobs",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ns := newNamespace(t)
			tc.run(t, ns)
			// 0.3 cores on one pod that requests 100m is 300 %: ceil(300/70) = 5.
			w.app.set(ns, load{cpuCores: 0.3})
			p := targetPolicy(t, ns, tc.ref, w.prom.URL)
			require.Eventually(t, func() bool { n, err := tc.scale(ns); return err == nil && n == 5 }, 20*time.Second, 100*time.Millisecond,
				"status: %+v", func() any { _ = env.Client.Get(ctx, client.ObjectKeyFromObject(p), p); return p.Status }())
			require.Eventually(t, func() bool { notes, _ := rescales(t, p); return len(notes) == 1 }, 10*time.Second, 50*time.Millisecond)
			notes, related := rescales(t, p)
			require.Equal(t, []string{"cpu 300% > target 70%: 1 → 5"}, notes)
			require.Equal(t, []string{tc.related}, related)

			// 0.05 cores over 5 pods is 10 %: back to 1 after the window.
			w.app.set(ns, load{cpuCores: 0.05})
			require.Eventually(t, func() bool { n, err := tc.scale(ns); return err == nil && n == 1 }, 20*time.Second, 100*time.Millisecond)
			require.NoError(t, env.Client.Get(ctx, client.ObjectKeyFromObject(p), p))
			require.Equal(t, metav1.ConditionTrue, condition(p, trimtabv1.ConditionReady).Status)
		})
	}

	t.Run("an HPA on the StatefulSet refuses it; one on a Deployment of the same name does not", func(t *testing.T) {
		t.Parallel()
		ns := newNamespace(t)
		runStatefulSet(t, ns, 1)
		hpa := func(kind string) *autoscalingv2.HorizontalPodAutoscaler {
			return &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hpa-" + strings.ToLower(kind)},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5,
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: "web"}},
			}
		}
		require.NoError(t, env.Client.Create(ctx, hpa("Deployment")))
		require.NoError(t, env.Client.Create(ctx, hpa("StatefulSet")))
		w.app.set(ns, load{cpuCores: 0.3})
		p := targetPolicy(t, ns, trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "web"}, w.prom.URL)
		require.Eventually(t, func() bool {
			return env.Client.Get(ctx, client.ObjectKeyFromObject(p), p) == nil && condition(p, trimtabv1.ConditionReady).Reason == trimtabv1.ReasonTargetHasHPA
		}, 15*time.Second, 100*time.Millisecond, "status: %+v", p.Status)
		require.Contains(t, condition(p, trimtabv1.ConditionReady).Message, fmt.Sprintf("HorizontalPodAutoscaler %s/hpa-statefulset already scales StatefulSet %s/web", ns, ns))
		require.NoError(t, env.Client.Delete(ctx, hpa("StatefulSet")))
		require.Eventually(t, func() bool {
			var s appsv1.StatefulSet
			return env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, &s) == nil && ptr.Deref(s.Spec.Replicas, 1) == 5
		}, 20*time.Second, 100*time.Millisecond, "the Deployment's HPA blocked the StatefulSet")
	})

	for _, tc := range []struct {
		name     string
		setup    func(t *testing.T, ns string)
		ref      trimtabv1.ScaleTargetRef
		reason   string
		messages []string
	}{
		{
			name:   "a kind the API server does not serve",
			ref:    trimtabv1.ScaleTargetRef{APIVersion: "example.com/v1", Kind: "Nope", Name: "web"},
			reason: trimtabv1.ReasonTargetUnsupported,
			messages: []string{"the API server serves no kind Nope in example.com/v1",
				"fix spec.targetRef.apiVersion and kind"},
		},
		{
			name: "a kind without a scale subresource",
			setup: func(t *testing.T, ns string) {
				require.NoError(t, env.Client.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}))
			},
			ref:      trimtabv1.ScaleTargetRef{APIVersion: "v1", Kind: "ConfigMap", Name: "web"},
			reason:   trimtabv1.ReasonTargetUnsupported,
			messages: []string{"ConfigMap %s/web has no scale subresource", "target a Deployment, a StatefulSet or a kind whose CRD declares subresources.scale"},
		},
		{
			name:     "a custom resource that does not exist",
			ref:      trimtabv1.ScaleTargetRef{APIVersion: "test.trimtab.dev/v1", Kind: "Worker", Name: "missing"},
			reason:   trimtabv1.ReasonTargetNotFound,
			messages: []string{"Worker %s/missing named in spec.targetRef does not exist; create it or fix spec.targetRef.name"},
		},
		{
			name:     "a StatefulSet that does not exist",
			ref:      trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "missing"},
			reason:   trimtabv1.ReasonTargetNotFound,
			messages: []string{"StatefulSet %s/missing named in spec.targetRef does not exist"},
		},
		{
			name: "a scale subresource without a pod selector",
			setup: func(t *testing.T, ns string) {
				c := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": int64(1)}}}
				c.SetGroupVersionKind(counterKind)
				c.SetNamespace(ns)
				c.SetName("web")
				require.NoError(t, env.Client.Create(ctx, c))
			},
			ref:      trimtabv1.ScaleTargetRef{APIVersion: "test.trimtab.dev/v1", Kind: "Counter", Name: "web"},
			reason:   trimtabv1.ReasonInvalidSpec,
			messages: []string{"the scale subresource of Counter %s/web reports no pod selector", "labelSelectorPath"},
		},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			ns := newNamespace(t)
			if tc.setup != nil {
				tc.setup(t, ns)
			}
			p := targetPolicy(t, ns, tc.ref, w.prom.URL)
			require.Eventually(t, func() bool {
				return env.Client.Get(ctx, client.ObjectKeyFromObject(p), p) == nil && condition(p, trimtabv1.ConditionReady).Reason == tc.reason
			}, 15*time.Second, 100*time.Millisecond, "status: %+v", p.Status)
			ready := condition(p, trimtabv1.ConditionReady)
			require.Equal(t, metav1.ConditionFalse, ready.Status)
			for _, m := range tc.messages {
				if strings.Contains(m, "%s") {
					m = fmt.Sprintf(m, ns)
				}
				require.Contains(t, ready.Message, m)
			}
		})
	}
}

// TestUpdateScale writes replica counts through the scale subresource of
// each kind of target on the real API server, whose resourceVersions make
// the conflicts: a write since the read that left the replicas alone is
// retried, one that moved them is not overwritten.
func TestUpdateScale(t *testing.T) {
	installScalableCRDs(t)
	ctx := context.Background()
	ns := newNamespace(t)
	labels := map[string]string{"app": "web"}
	template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}}}
	// Each kind of target, created with 2 replicas.
	targets := []struct {
		gvk    schema.GroupVersionKind
		object func(name string) client.Object
	}{
		{appsv1.SchemeGroupVersion.WithKind("Deployment"), func(name string) client.Object {
			return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}
		}},
		{appsv1.SchemeGroupVersion.WithKind("StatefulSet"), func(name string) client.Object {
			return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: template}}
		}},
		{workerKind, func(name string) client.Object {
			u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"replicas": int64(2)}}}
			u.SetGroupVersionKind(workerKind)
			u.SetNamespace(ns)
			u.SetName(name)
			return u
		}},
	}
	// scale reads (or, with to > 0, sets by hand) the replicas of the
	// object of kind gvk named name.
	scale := func(t *testing.T, gvk schema.GroupVersionKind, name string, to int32) int32 {
		t.Helper()
		obj := &unstructured.Unstructured{}
		obj.SetGroupVersionKind(gvk)
		obj.SetNamespace(ns)
		obj.SetName(name)
		u := &unstructured.Unstructured{}
		require.NoError(t, env.Client.SubResource("scale").Get(ctx, obj, u))
		var s autoscalingv1.Scale
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s))
		if to > 0 {
			require.NoError(t, unstructured.SetNestedField(u.Object, int64(to), "spec", "replicas"))
			require.NoError(t, env.Client.SubResource("scale").Update(ctx, obj, client.WithSubResourceBody(u)))
			return to
		}
		return s.Spec.Replicas
	}
	for _, target := range targets {
		gvk := target.gvk
		for _, tc := range []struct {
			name string
			// meanwhile writes to the object after the controller read it.
			meanwhile func(t *testing.T, gvk schema.GroupVersionKind, obj client.Object)
			wantErr   error
			want      int32
		}{
			{"nothing written since the read", func(*testing.T, schema.GroupVersionKind, client.Object) {}, nil, 5},
			{"a label written since the read is retried over", func(t *testing.T, _ schema.GroupVersionKind, obj client.Object) {
				obj.SetLabels(map[string]string{"team": "checkout"})
				require.NoError(t, env.Client.Update(ctx, obj))
			}, nil, 5},
			{"replicas scaled by hand since the read are left alone", func(t *testing.T, gvk schema.GroupVersionKind, obj client.Object) {
				scale(t, gvk, obj.GetName(), 3)
			}, controller.ErrTargetMoved, 3},
		} {
			t.Run(gvk.Kind+": "+tc.name, func(t *testing.T) {
				name := strings.ToLower(gvk.Kind) + "-" + strings.Join(strings.Fields(tc.name)[:2], "-")
				obj := target.object(name)
				require.NoError(t, env.Client.Create(ctx, obj))
				rv := obj.GetResourceVersion()
				tc.meanwhile(t, gvk, obj)
				err := controller.UpdateScale(ctx, env.Client, gvk, ns, name, rv, 2, 5)
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				} else {
					require.NoError(t, err)
				}
				require.Equal(t, tc.want, scale(t, gvk, name, 0))
			})
		}
	}
	t.Run("a missing object names it", func(t *testing.T) {
		err := controller.UpdateScale(ctx, env.Client, workerKind, ns, "missing", "1", 2, 5)
		require.True(t, apierrors.IsNotFound(err), "%v", err)
		require.ErrorContains(t, err, fmt.Sprintf("scale Worker %s/missing from 2 to 5", ns))
	})
}

package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/testenv"
)

func backendRef(name string, port int32, weight *int32) gatewayv1.HTTPBackendRef {
	return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
		BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name), Port: new(gatewayv1.PortNumber(port))},
		Weight:                 weight,
	}}
}

func pathRule(path string, refs ...gatewayv1.HTTPBackendRef) gatewayv1.HTTPRouteRule {
	return gatewayv1.HTTPRouteRule{
		Matches:     []gatewayv1.HTTPRouteMatch{{Path: &gatewayv1.HTTPPathMatch{Type: new(gatewayv1.PathMatchPathPrefix), Value: new(path)}}},
		BackendRefs: refs,
	}
}

// addHeader is a per-backend filter, which must follow the user's ref to
// both variants.
var addHeader = []gatewayv1.HTTPRouteFilter{{
	Type:                  gatewayv1.HTTPRouteFilterRequestHeaderModifier,
	RequestHeaderModifier: &gatewayv1.HTTPHeaderFilter{Add: []gatewayv1.HTTPHeader{{Name: "X-Shop", Value: "1"}}},
}}

// storeRoute is a user's HTTPRoute: two rules lead to Service store (the
// one named by spec.traffic.service), one to static.
func storeRoute(ns string) *gatewayv1.HTTPRoute {
	api := backendRef("store", 8080, nil)
	api.Filters = addHeader
	return &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop", Annotations: map[string]string{"team": "shop"}},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Hostnames:       []gatewayv1.Hostname{"shop.example.com"},
			Rules: []gatewayv1.HTTPRouteRule{
				pathRule("/api", api),
				pathRule("/static", backendRef("static", 80, nil)),
				pathRule("/", backendRef("store", 8080, new(int32(1)))),
			},
		},
	}
}

// routedSetup is gatewaySetup with weight already routed to the canary.
func routedSetup(t *testing.T, weight int32) (*trimtabv1.Release, *GatewayAPI) {
	t.Helper()
	rel := gatewaySetup(t)
	g := &GatewayAPI{Client: env.Client, Reader: env.Client}
	require.NoError(t, g.Route(t.Context(), rel, weight))
	return rel, g
}

// variantRefs is what a rule leading to store on port 8080 must hold at weight w.
func variantRefs(w int32, filters []gatewayv1.HTTPRouteFilter) []gatewayv1.HTTPBackendRef {
	refs := []gatewayv1.HTTPBackendRef{backendRef("store-primary", 8080, new(100-w)), backendRef("store-canary", 8080, new(w))}
	for i := range refs {
		// As the API server defaults them.
		refs[i].Group, refs[i].Kind = new(gatewayv1.Group("")), new(gatewayv1.Kind("Service"))
		refs[i].Filters = filters
	}
	return refs
}

func gatewayRelease(t *testing.T, ns string) *trimtabv1.Release {
	return newRelease(t, ns, "web", trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "shop", Service: "store"})
}

// gatewaySetup creates a namespace with Release web for router gatewayAPI
// and the user's HTTPRoute shop.
func gatewaySetup(t *testing.T) *trimtabv1.Release {
	t.Helper()
	rel := gatewayRelease(t, newNamespace(t))
	require.NoError(t, env.Client.Create(t.Context(), storeRoute(rel.Namespace)))
	return rel
}

func TestGatewayAPIRouteSequence(t *testing.T) {
	ctx := t.Context()
	rel := gatewaySetup(t)
	ns := rel.Namespace
	original := get(t, storeRoute(ns))
	var w writes
	c := w.client(t)
	r, err := New(trimtabv1.RouterGatewayAPI, c, c, nil)
	require.NoError(t, err)

	for i, weight := range steps {
		require.NoError(t, r.Route(ctx, rel, weight), "weight %d", weight)
		require.Equal(t, int32(i+1), w.n.Load(), "one write per step")
		route := get(t, original)
		rules := route.Spec.Rules
		require.Equal(t, variantRefs(weight, addHeader), rules[0].BackendRefs, "weight %d", weight)
		require.Equal(t, variantRefs(weight, nil), rules[2].BackendRefs, "weight %d", weight)
		require.Equal(t, original.Spec.Rules[1], rules[1], "the rule to static is untouched")
		for i := range rules {
			rules[i].BackendRefs = original.Spec.Rules[i].BackendRefs
		}
		require.True(t, equality.Semantic.DeepEqual(original.Spec, route.Spec), "only backendRefs change")
		require.Equal(t, "shop", route.Annotations["team"])

		require.NoError(t, r.Route(ctx, rel, weight), "weight %d again", weight)
		require.Equal(t, int32(i+1), w.n.Load(), "a repeated Route at %d writes nothing", weight)
		require.Equal(t, route.ResourceVersion, get(t, original).ResourceVersion, "a repeated Route at %d changes nothing", weight)
	}

	require.NoError(t, r.Restore(ctx, rel))
	restored := get(t, original)
	require.Equal(t, original.Spec, restored.Spec, "backendRefs put back exactly")
	require.Equal(t, original.Annotations, restored.Annotations, "the saved refs are removed")
	writesBefore := w.n.Load()
	require.NoError(t, r.Restore(ctx, rel), "Restore with nothing left to undo")
	require.Equal(t, writesBefore, w.n.Load(), "a second Restore writes nothing")
}

// TestGatewayAPIRestoreHandsTheRouteBack: after Restore the route is as
// the user applied it and trimtab manages none of its fields, so the user
// applies their unchanged manifest server-side again without a conflict.
// The Gateway API makes a route's rules one atomic list: the release's
// writes made trimtab the manager of all of them, and a Release long gone
// stood in the way of the user's next apply.
func TestGatewayAPIRestoreHandsTheRouteBack(t *testing.T) {
	ctx := t.Context()
	rel := gatewayRelease(t, newNamespace(t))
	apply := func() error {
		return testenv.ApplyHTTPRouteAsKubectl(ctx, env.Client, rel.Namespace, "shop", "store", 8080)
	}
	require.NoError(t, apply())
	applied := get(t, &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: rel.Namespace, Name: "shop"}})

	g := &GatewayAPI{Client: env.Client, Reader: env.Client}
	for _, weight := range steps {
		require.NoError(t, g.Route(ctx, rel, weight))
	}
	require.NoError(t, g.Restore(ctx, rel))
	restored := get(t, applied)
	require.Equal(t, applied.Spec, restored.Spec)
	for _, m := range restored.ManagedFields {
		require.NotEqual(t, "trimtab", m.Manager, "trimtab still manages %s", m.FieldsV1.GetRawString())
	}

	require.NoError(t, apply(), "the user's unchanged manifest, applied again")
	reapplied := get(t, applied)
	i := slices.IndexFunc(reapplied.ManagedFields, func(m metav1.ManagedFieldsEntry) bool { return m.Manager == "kubectl" })
	require.GreaterOrEqual(t, i, 0, "managers: %v", reapplied.ManagedFields)
	require.Contains(t, reapplied.ManagedFields[i].FieldsV1.GetRawString(), `"f:rules"`, "the user manages their rules again")
	require.Equal(t, applied.Spec, reapplied.Spec)
}

// TestGatewayAPIRestoreFinishesAnInterruptedRestore: a Restore stopped
// between putting the backendRefs back and giving up trimtab's fields (a
// restart, a failed write) is finished by the next one, which finds no
// saved refs left. It reads the route's field managers from Reader: the
// controller's Client reads through a cache that drops them.
func TestGatewayAPIRestoreFinishesAnInterruptedRestore(t *testing.T) {
	ctx := t.Context()
	rel, _ := routedSetup(t, 25)
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	updates := 0
	interrupted := interceptor.NewClient(c, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if updates++; updates == 2 {
				return errors.New("connection reset by peer")
			}
			return c.Update(ctx, obj, opts...)
		},
	})
	require.ErrorContains(t, (&GatewayAPI{Client: interrupted, Reader: interrupted}).Restore(ctx, rel), "connection reset by peer")
	route := get(t, storeRoute(rel.Namespace))
	require.NotContains(t, route.Annotations, originalBackendRefsAnnotation, "the refs were put back")
	require.True(t, slices.ContainsFunc(route.ManagedFields, func(m metav1.ManagedFieldsEntry) bool { return m.Manager == "trimtab" }))

	cached := interceptor.NewClient(c, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			err := c.Get(ctx, key, obj, opts...)
			obj.SetManagedFields(nil)
			return err
		},
	})
	require.NoError(t, (&GatewayAPI{Client: cached, Reader: env.Client}).Restore(ctx, rel))
	route = get(t, route)
	require.False(t, slices.ContainsFunc(route.ManagedFields, func(m metav1.ManagedFieldsEntry) bool { return m.Manager == "trimtab" }),
		"trimtab still manages %v", route.ManagedFields)
}

func TestGatewayAPISavesWhatTheUserAppliedLast(t *testing.T) {
	ctx := t.Context()
	rel, g := routedSetup(t, 10)
	ns := rel.Namespace

	// Mid-release the user reapplies the route with rule 2 on another
	// port, and points rule 0 at another Service.
	route := get(t, storeRoute(ns))
	route.Spec.Rules[2].BackendRefs = []gatewayv1.HTTPBackendRef{backendRef("store", 9090, nil)}
	route.Spec.Rules[0].BackendRefs = []gatewayv1.HTTPBackendRef{backendRef("legacy", 80, nil)}
	require.NoError(t, env.Client.Update(ctx, route))
	reapplied := get(t, route)

	require.NoError(t, g.Route(ctx, rel, 25))
	during := get(t, route)
	require.Equal(t, reapplied.Spec.Rules[0], during.Spec.Rules[0], "a rule no longer leading to store is left alone")
	wantRefs := variantRefs(25, nil)
	for i := range wantRefs {
		wantRefs[i].Port = new(gatewayv1.PortNumber(9090))
	}
	require.Equal(t, wantRefs, during.Spec.Rules[2].BackendRefs, "the port the user applied last")

	require.NoError(t, g.Restore(ctx, rel))
	restored := get(t, route)
	require.Equal(t, reapplied.Spec, restored.Spec, "Restore gives back what the user applied last and keeps their own change")
	require.NotContains(t, restored.Annotations, originalBackendRefsAnnotation)
}

func TestGatewayAPIMisconfigured(t *testing.T) {
	cases := []struct {
		name    string
		route   func(*gatewayv1.HTTPRoute) // nil: no HTTPRoute at all
		wantMsg string
	}{
		{
			name:    "missing HTTPRoute",
			wantMsg: "HTTPRoute NS/shop not found: create it or fix spec.traffic.httpRoute",
		},
		{
			name: "no rule leads to the Service",
			route: func(r *gatewayv1.HTTPRoute) {
				r.Spec.Rules = []gatewayv1.HTTPRouteRule{pathRule("/", backendRef("web", 80, nil))}
			},
			wantMsg: "HTTPRoute NS/shop has no rule with a backendRef to Service store: point the backendRefs of the rule to release at store, or fix spec.traffic.httpRoute",
		},
		{
			name: "a Service of that name in another namespace",
			route: func(r *gatewayv1.HTTPRoute) {
				ref := backendRef("store", 80, nil)
				ref.Namespace = new(gatewayv1.Namespace("elsewhere"))
				r.Spec.Rules = []gatewayv1.HTTPRouteRule{pathRule("/", ref)}
			},
			wantMsg: "has no rule with a backendRef to Service store",
		},
		{
			name: "a rule mixes the Service with other backends",
			route: func(r *gatewayv1.HTTPRoute) {
				r.Spec.Rules[2].BackendRefs = append(r.Spec.Rules[2].BackendRefs, backendRef("legacy", 80, new(int32(1))))
			},
			wantMsg: "HTTPRoute NS/shop rule 2 sends traffic to Service store and also to Service legacy: trimtab would take their traffic away; move them to a rule of their own",
		},
		{
			name: "the saved backendRefs are damaged",
			route: func(r *gatewayv1.HTTPRoute) {
				r.Annotations[originalBackendRefsAnnotation] = "[{"
			},
			wantMsg: "annotation trimtab.dev/original-backend-refs on HTTPRoute NS/shop is not what trimtab wrote",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns := newNamespace(t)
			rel := gatewayRelease(t, ns)
			var before gatewayv1.HTTPRouteList
			if tc.route != nil {
				route := storeRoute(ns)
				tc.route(route)
				require.NoError(t, env.Client.Create(ctx, route))
			}
			require.NoError(t, env.Client.List(ctx, &before, client.InNamespace(ns)))

			var w writes
			err := (&GatewayAPI{Client: w.client(t)}).Route(ctx, rel, 10)
			require.ErrorIs(t, err, ErrMisconfigured)
			require.Contains(t, err.Error(), strings.ReplaceAll(tc.wantMsg, "NS", ns))
			require.Zero(t, w.n.Load(), "no writes")

			var after gatewayv1.HTTPRouteList
			require.NoError(t, env.Client.List(ctx, &after, client.InNamespace(ns)))
			require.Equal(t, before.Items, after.Items, "nothing created, changed or deleted")
		})
	}
}

func TestGatewayAPIRollbackTakesTheCanaryOutOfEveryRuleItCan(t *testing.T) {
	ctx := t.Context()
	rel, g := routedSetup(t, 30)
	ns := rel.Namespace

	// Mid-release the user adds a backend to rule 2, which trimtab had
	// split, and a rule mixing their Service with another one.
	route := get(t, storeRoute(ns))
	route.Spec.Rules[2].BackendRefs = append(route.Spec.Rules[2].BackendRefs, backendRef("legacy", 80, new(int32(5))))
	route.Spec.Rules = append(route.Spec.Rules, pathRule("/old", backendRef("store", 8080, nil), backendRef("legacy", 80, nil)))
	require.NoError(t, env.Client.Update(ctx, route))
	mixed := get(t, route)

	// A step up is refused as a whole: no rule gets more canary traffic.
	err := g.Route(ctx, rel, 50)
	require.ErrorIs(t, err, ErrMisconfigured)
	require.Equal(t, mixed.ResourceVersion, get(t, route).ResourceVersion, "a refused step writes nothing")

	// The rollback: every rule trimtab split goes back to the primary,
	// the mixed rule's canary ref goes to 0, and the problem is reported.
	var w writes
	err = (&GatewayAPI{Client: w.client(t)}).Route(ctx, rel, 0)
	require.ErrorIs(t, err, ErrMisconfigured)
	require.Contains(t, err.Error(), "rule 2 sends traffic to Service store and also to Service legacy")
	require.Contains(t, err.Error(), "rule 3 sends traffic to Service store and also to Service legacy")
	after := get(t, route)
	require.Equal(t, variantRefs(0, addHeader), after.Spec.Rules[0].BackendRefs)
	wantMixed := slices.Clone(mixed.Spec.Rules[2].BackendRefs)
	wantMixed[1].Weight = new(int32(0))
	require.Equal(t, wantMixed, after.Spec.Rules[2].BackendRefs, "only the canary's weight changes in a mixed rule")
	require.Equal(t, mixed.Spec.Rules[3], after.Spec.Rules[3], "a mixed rule without a canary ref is the user's alone")
	require.Equal(t, int32(1), w.n.Load(), "one write")

	err = (&GatewayAPI{Client: w.client(t)}).Route(ctx, rel, 0)
	require.ErrorIs(t, err, ErrMisconfigured, "the problem stays reported")
	require.Equal(t, int32(1), w.n.Load(), "a repeated rollback writes nothing")

	require.NoError(t, g.Restore(ctx, rel))
	restored := get(t, route)
	require.Equal(t, storeRoute(ns).Spec.Rules[0].BackendRefs[0].Name, restored.Spec.Rules[0].BackendRefs[0].Name, "the rule trimtab split is restored")
	// The variant Services go with the Release: in the rule the user
	// mixed, trimtab's refs become one to store with their weight (70 + 0),
	// and the user's backend keeps its own.
	merged := wantMixed[0]
	merged.Name = "store"
	require.Equal(t, []gatewayv1.HTTPBackendRef{merged, wantMixed[2]}, restored.Spec.Rules[2].BackendRefs)
}

// TestGatewayAPIRestoreLeavesARouteWithDamagedSavedRefs: when the
// annotation that saved the user's backendRefs no longer decodes, Restore
// cannot tell what to put back. It changes nothing (the rules keep leading
// to the variant Services, which the Release's deletion then keeps), and
// says which rules to fix by hand; once the user has, Restore finishes.
func TestGatewayAPIRestoreLeavesARouteWithDamagedSavedRefs(t *testing.T) {
	cases := []struct {
		name string
		// userFix is what the user had already put back of the route
		// they applied before Restore.
		userFix func(route, applied *gatewayv1.HTTPRoute)
		wantMsg string
	}{
		{
			name:    "the rules still lead to the variants",
			userFix: func(*gatewayv1.HTTPRoute, *gatewayv1.HTTPRoute) {},
			wantMsg: "in rules 0, 2, put back the backendRefs they had before the release in place of those to Services store-primary and store-canary (your manifest of the route has them; usually one ref to Service store on the same port), then remove the annotation",
		},
		{
			name: "one rule still leads to the variants",
			userFix: func(route, applied *gatewayv1.HTTPRoute) {
				route.Spec.Rules[0].BackendRefs = applied.Spec.Rules[0].BackendRefs
			},
			wantMsg: "in rule 2, put back the backendRefs it had before the release",
		},
		{
			name: "the user put every rule back but left the annotation",
			userFix: func(route, applied *gatewayv1.HTTPRoute) {
				route.Spec.Rules = applied.Spec.Rules
			},
			wantMsg: "no rule leads to Service store-primary or store-canary any more, so remove the annotation",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			rel, _ := routedSetup(t, 25)
			applied := storeRoute(rel.Namespace)
			route := get(t, applied)
			// Someone (a tool, a hand edit) damages the saved refs.
			route.Annotations[originalBackendRefsAnnotation] = "[{"
			tc.userFix(route, applied)
			require.NoError(t, env.Client.Update(ctx, route))
			damaged := get(t, route)

			var w writes
			c := w.client(t)
			g := &GatewayAPI{Client: c, Reader: c}
			err := g.Restore(ctx, rel)
			require.ErrorIs(t, err, ErrMisconfigured)
			require.ErrorContains(t, err, "annotation trimtab.dev/original-backend-refs on HTTPRoute "+rel.Namespace+"/shop is not what trimtab wrote (")
			require.ErrorContains(t, err, "so trimtab cannot tell what the backendRefs were: "+tc.wantMsg)
			require.Zero(t, w.n.Load(), "no writes")
			require.Equal(t, damaged, get(t, route), "the route is left as it is")

			// The user's fix: the rules back as they applied them, the
			// annotation gone.
			fixed := get(t, route)
			fixed.Spec.Rules = applied.Spec.Rules
			delete(fixed.Annotations, originalBackendRefsAnnotation)
			require.NoError(t, env.Client.Update(ctx, fixed))
			require.NoError(t, g.Restore(ctx, rel))
			restored := get(t, route)
			require.Equal(t, get(t, fixed).Spec, restored.Spec)
			require.False(t, slices.ContainsFunc(restored.ManagedFields, func(m metav1.ManagedFieldsEntry) bool { return m.Manager == "trimtab" }),
				"trimtab still manages %v", restored.ManagedFields)
		})
	}
}

func TestGatewayAPIRestoreWithoutRoute(t *testing.T) {
	ctx := t.Context()
	rel, g := routedSetup(t, 50)
	ns := rel.Namespace
	require.NoError(t, env.Client.Delete(ctx, storeRoute(ns)))
	require.NoError(t, g.Restore(ctx, rel), "a deleted route has nothing to restore")
}

func TestGatewayAPIRestoresNamedRulesAfterReorder(t *testing.T) {
	ctx := t.Context()
	ns := newNamespace(t)
	rel := gatewayRelease(t, ns)
	route := storeRoute(ns)
	for i, name := range []gatewayv1.SectionName{"api", "static", "root"} {
		route.Spec.Rules[i].Name = new(name)
	}
	require.NoError(t, env.Client.Create(ctx, route))
	original := get(t, route)
	g := &GatewayAPI{Client: env.Client, Reader: env.Client}
	require.NoError(t, g.Route(ctx, rel, 10))

	// The user moves rule root to the front during the release.
	moved := get(t, route)
	moved.Spec.Rules = append(moved.Spec.Rules[2:], moved.Spec.Rules[:2]...)
	require.NoError(t, env.Client.Update(ctx, moved))
	require.NoError(t, g.Route(ctx, rel, 25))

	require.NoError(t, g.Restore(ctx, rel))
	restored := get(t, route)
	require.NotContains(t, restored.Annotations, originalBackendRefsAnnotation)
	want := original.Spec.DeepCopy()
	want.Rules = append(want.Rules[2:], want.Rules[:2]...)
	require.Equal(t, *want, restored.Spec, "each rule gets its own refs back, found by name")
}

func TestGatewayAPIKeepsAConcurrentEdit(t *testing.T) {
	ctx := t.Context()
	rel := gatewaySetup(t)
	ns := rel.Namespace
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	require.NoError(t, err)
	updates := 0
	// Someone else edits the route between the router's read and its write.
	racing := interceptor.NewClient(c, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			updates++
			if updates == 1 {
				other := get(t, storeRoute(ns))
				other.Spec.Hostnames = append(other.Spec.Hostnames, "www.example.com")
				require.NoError(t, env.Client.Update(ctx, other))
			}
			return c.Update(ctx, obj, opts...)
		},
	})

	require.NoError(t, (&GatewayAPI{Client: racing}).Route(ctx, rel, 10))
	require.Equal(t, 2, updates, "the stale write is refused and retried from a fresh read")
	route := get(t, storeRoute(ns))
	require.Equal(t, []gatewayv1.Hostname{"shop.example.com", "www.example.com"}, route.Spec.Hostnames, "the other edit survives")
	require.Equal(t, variantRefs(10, nil), route.Spec.Rules[2].BackendRefs)
}

// TestGatewayAPIRollbackWithDamagedAnnotationTakesTheCanaryOut: the Router
// contract says an ErrMisconfigured at weight 0 promises that no route the
// router wrote still leads to the canary, and the controller then stops the
// canary's pods. A damaged trimtab.dev/original-backend-refs annotation
// must not break that promise: the canary's share would go to a Service
// without endpoints.
func TestGatewayAPIRollbackWithDamagedAnnotationTakesTheCanaryOut(t *testing.T) {
	ctx := t.Context()
	rel, g := routedSetup(t, 25)
	ns := rel.Namespace

	// Someone (a tool, a hand edit) damages the saved refs mid-release.
	route := get(t, storeRoute(ns))
	route.Annotations[originalBackendRefsAnnotation] = "[{"
	require.NoError(t, env.Client.Update(ctx, route))

	err := g.Route(ctx, rel, 0)
	require.ErrorIs(t, err, ErrMisconfigured, "the damage is still reported")
	after := get(t, route)
	for i, rule := range after.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			if string(ref.Name) == "store-canary" {
				require.NotNil(t, ref.Weight, "rule %d", i)
				require.Zero(t, *ref.Weight, "rule %d still sends %d%% to the canary, whose pods the controller now stops", i, *ref.Weight)
			}
		}
	}
	require.Equal(t, "[{", after.Annotations[originalBackendRefsAnnotation], "the damaged annotation is left for the user")
}

// TestGatewayAPIRestoreAfterAnUnnamedRuleMoves: the user removes an unnamed
// rule in front of one trimtab split, so the split rule's index changes.
// Restore must not leave that rule leading to the variant Services, which
// the Release's deletion removes next: its traffic would go nowhere.
func TestGatewayAPIRestoreAfterAnUnnamedRuleMoves(t *testing.T) {
	ctx := t.Context()
	rel, g := routedSetup(t, 10)
	ns := rel.Namespace

	// kubectl edit: the /static rule (index 1) goes; rule "/" moves from 2 to 1.
	route := get(t, storeRoute(ns))
	route.Spec.Rules = append(route.Spec.Rules[:1], route.Spec.Rules[2])
	require.NoError(t, env.Client.Update(ctx, route))
	require.NoError(t, g.Route(ctx, rel, 25))
	require.NoError(t, g.Route(ctx, rel, 0))

	require.NoError(t, g.Restore(ctx, rel))
	restored := get(t, route)
	for i, rule := range restored.Spec.Rules {
		for _, ref := range rule.BackendRefs {
			require.NotContains(t, []gatewayv1.ObjectName{"store-primary", "store-canary"}, ref.Name,
				"after Restore rule %d still leads to %s, a Service the Release's deletion removes", i, ref.Name)
		}
	}
}

// TestGatewayAPIWithoutItsCRDsSaysSo runs against an API server without
// the Gateway API CRDs, which has no HTTPRoute kind: the client's
// RESTMapper says "no matches for kind", which must not read as a missing
// HTTPRoute for Route. For Restore it reads as a deleted route only while
// discovery shows no gateway.networking.k8s.io at all: deleting a CRD
// deletes its objects, so no route is left. Once the group is served but
// not v1 HTTPRoutes, a route may be stored but not served, still leading
// to the variant Services: Restore waits for the user rather than let the
// deletion remove them. A client that still maps v1 HTTPRoutes (its
// mapping made before) reads 404 instead, which is a deleted route only if
// discovery still lists v1 httproutes.
func TestGatewayAPIWithoutItsCRDsSaysSo(t *testing.T) {
	bare := testenv.StartWithoutGatewayAPI(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "router-"}}
	require.NoError(t, bare.Client.Create(t.Context(), ns))
	rel := &trimtabv1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "web"},
		Spec: trimtabv1.ReleaseSpec{
			TargetRef: trimtabv1.TargetRef{Name: "web"},
			Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{}},
			Traffic:   trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "shop", Service: "store"},
		},
	}
	require.NoError(t, bare.Client.Create(t.Context(), rel))
	groups, err := discovery.NewDiscoveryClientForConfig(bare.Config)
	require.NoError(t, err)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "discovery unavailable", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	failing, err := discovery.NewDiscoveryClientForConfig(&rest.Config{Host: down.URL})
	require.NoError(t, err)

	const (
		notServed  = "this cluster does not serve HTTPRoute ("
		routeFix   = "): install its CRDs (for an HTTPRoute, the Gateway API's standard channel), or choose another spec.traffic.router"
		restoreFix = "so trimtab cannot put back the backendRefs it changed on HTTPRoute %s/shop: serve gateway.networking.k8s.io/v1 HTTPRoutes again (install the Gateway API's standard channel)"
	)
	type outcome int
	const (
		done outcome = iota
		waits
		retries
	)
	type tc struct {
		name   string
		call   func(*GatewayAPI) error
		groups GroupDiscovery
		// staleMapping: the client maps v1 HTTPRoutes, as one whose
		// mapping was made before v1 was turned off; reads answer 404.
		staleMapping bool
		want         outcome
		wantMsg      []string
	}
	route := func(g *GatewayAPI) error { return g.Route(t.Context(), rel, 10) }
	restore := func(g *GatewayAPI) error { return g.Restore(t.Context(), rel) }
	run := func(t *testing.T, cases []tc) {
		t.Helper()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				// A client of its own discovers what the API server serves.
				opts := client.Options{Scheme: bare.Client.Scheme()}
				if tc.staleMapping {
					mapper := meta.NewDefaultRESTMapper(nil)
					mapper.Add(schema.GroupVersionKind{Group: gatewayv1.GroupName, Version: "v1", Kind: "HTTPRoute"}, meta.RESTScopeNamespace)
					opts.Mapper = mapper
				}
				c, err := client.New(bare.Config, opts)
				require.NoError(t, err)
				err = tc.call(&GatewayAPI{Client: c, Reader: c, Groups: tc.groups})
				switch tc.want {
				case done:
					require.NoError(t, err)
				case waits:
					require.ErrorIs(t, err, ErrMisconfigured)
				case retries:
					require.Error(t, err)
					require.NotErrorIs(t, err, ErrMisconfigured)
				}
				for _, msg := range tc.wantMsg {
					require.ErrorContains(t, err, msg)
				}
			})
		}
	}

	t.Run("no group", func(t *testing.T) {
		run(t, []tc{
			{name: "Route", call: route, groups: groups, want: waits, wantMsg: []string{notServed, routeFix}},
			{name: "Restore finds nothing to restore", call: restore, groups: groups, want: done},
			{name: "Restore through a mapping made before the CRDs were deleted finds nothing to restore", call: restore, groups: groups, staleMapping: true, want: done},
			{name: "Restore without discovery cannot tell", call: restore, want: waits,
				wantMsg: []string{notServed, fmt.Sprintf(restoreFix, ns.Name)}},
			{name: "Restore retries a failed discovery", call: restore, groups: failing, want: retries,
				wantMsg: []string{"HTTPRoute " + ns.Name + "/shop is not served (", "find out whether the cluster serves the group gateway.networking.k8s.io: ", "the server is currently unable to handle the request"}},
		})
	})

	// The group is served, v1 HTTPRoutes are not: a route may be stored.
	testenv.ServeHTTPRoutesOnlyInV1beta1(t, bare)
	t.Run("group served, not v1", func(t *testing.T) {
		run(t, []tc{
			{name: "Route", call: route, groups: groups, want: waits, wantMsg: []string{notServed, routeFix}},
			{name: "Restore waits", call: restore, groups: groups, want: waits,
				wantMsg: []string{notServed, fmt.Sprintf(restoreFix, ns.Name)}},
			{name: "Restore through a mapping made before v1 was turned off waits", call: restore, groups: groups, staleMapping: true, want: waits,
				wantMsg: []string{notServed + "reading it answered 404 and discovery lists no gateway.networking.k8s.io/v1 httproutes", fmt.Sprintf(restoreFix, ns.Name)}},
			{name: "Restore through a stale mapping retries a failed discovery", call: restore, groups: failing, staleMapping: true, want: retries,
				wantMsg: []string{"HTTPRoute " + ns.Name + "/shop answered 404 (", "find out whether the cluster serves gateway.networking.k8s.io/v1 HTTPRoutes: "}},
		})
	})
}

package router

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

var prefix = networkingv1.PathTypePrefix

func ingressPath(path, service string, port networkingv1.ServiceBackendPort) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{
		Path:     path,
		PathType: &prefix,
		Backend:  networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: service, Port: port}},
	}
}

func ingressRule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

var (
	port80   = networkingv1.ServiceBackendPort{Number: 80}
	portHTTP = networkingv1.ServiceBackendPort{Name: "http"}
)

// shopIngress is a user's Ingress as the docs ask for it: web's paths lead
// to web-primary; other paths, TLS and annotations are the user's business.
func shopIngress(ns string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   ns,
			Name:        "web",
			Annotations: map[string]string{"nginx.ingress.kubernetes.io/proxy-body-size": "8m"},
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: new("nginx"),
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{"shop.example.com"}, SecretName: "shop-tls"}},
			Rules: []networkingv1.IngressRule{
				ingressRule("shop.example.com",
					ingressPath("/", "web-primary", port80),
					ingressPath("/admin", "admin", port80)),
				ingressRule("static.example.com", ingressPath("/", "static", port80)),
				ingressRule("www.example.com", ingressPath("/", "web-primary", portHTTP)),
			},
		},
	}
}

// nginxSetup creates a namespace with Release web for router nginx and the
// user's Ingress web.
func nginxSetup(t *testing.T) (*trimtabv1.Release, *networkingv1.Ingress) {
	t.Helper()
	ns := newNamespace(t)
	rel := newRelease(t, ns, "web", trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"})
	user := shopIngress(ns)
	require.NoError(t, env.Client.Create(t.Context(), user))
	return rel, user
}

func TestNGINXRouteSequence(t *testing.T) {
	ctx := t.Context()
	rel, user := nginxSetup(t)
	ns := rel.Namespace
	var w writes
	r, err := New(trimtabv1.RouterNGINX, w.client(t), env.Client, nil)
	require.NoError(t, err)

	wantSpec := networkingv1.IngressSpec{
		IngressClassName: new("nginx"),
		Rules: []networkingv1.IngressRule{
			ingressRule("shop.example.com", ingressPath("/", "web-canary", port80)),
			ingressRule("www.example.com", ingressPath("/", "web-canary", portHTTP)),
		},
	}
	canaryKey := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-canary"}}
	for i, weight := range steps {
		require.NoError(t, r.Route(ctx, rel, weight), "weight %d", weight)
		require.Equal(t, int32(i+1), w.n.Load(), "one write per step")
		canary := get(t, canaryKey)
		require.Equal(t, map[string]string{
			"nginx.ingress.kubernetes.io/canary":        "true",
			"nginx.ingress.kubernetes.io/canary-weight": strconv.Itoa(int(weight)),
		}, canary.Annotations, "weight %d", weight)
		require.Equal(t, wantSpec, canary.Spec, "weight %d", weight)
		require.True(t, metav1.IsControlledBy(canary, rel), "canary Ingress is controlled by the Release")

		require.NoError(t, r.Route(ctx, rel, weight), "weight %d again", weight)
		require.Equal(t, int32(i+1), w.n.Load(), "a repeated Route at %d writes nothing", weight)
		require.Equal(t, canary.ResourceVersion, get(t, canaryKey).ResourceVersion, "a repeated Route at %d changes nothing", weight)

		after := get(t, user)
		require.Equal(t, user.ResourceVersion, after.ResourceVersion, "the user's Ingress is never written")
	}

	require.NoError(t, r.Restore(ctx, rel))
	err = env.Client.Get(ctx, client.ObjectKeyFromObject(canaryKey), &networkingv1.Ingress{})
	require.True(t, apierrors.IsNotFound(err), "canary Ingress deleted, got %v", err)
	after := get(t, user)
	require.Equal(t, user.ResourceVersion, after.ResourceVersion, "the user's Ingress survives Restore untouched")
	require.Equal(t, user.Spec, after.Spec)
	require.NoError(t, r.Restore(ctx, rel), "Restore with nothing left to undo")
}

func TestNGINXCanarySpec(t *testing.T) {
	cases := []struct {
		name     string
		service  string
		user     func(*networkingv1.Ingress)
		wantSpec networkingv1.IngressSpec
		wantAnn  map[string]string
	}{
		{
			name: "legacy class annotation and default backend",
			user: func(ing *networkingv1.Ingress) {
				ing.Annotations = map[string]string{"kubernetes.io/ingress.class": "nginx-internal"}
				ing.Spec = networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-primary", Port: port80}}}
			},
			wantSpec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-canary", Port: port80}}},
			wantAnn:  map[string]string{"kubernetes.io/ingress.class": "nginx-internal"},
		},
		{
			name:    "spec.traffic.service names the Service",
			service: "store",
			user: func(ing *networkingv1.Ingress) {
				ing.Spec = networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{
					ingressRule("", ingressPath("/", "store-primary", port80), ingressPath("/web", "web-primary", port80)),
				}}
			},
			wantSpec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{ingressRule("", ingressPath("/", "store-canary", port80))}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns := newNamespace(t)
			rel := newRelease(t, ns, "web", trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web", Service: tc.service})
			user := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
			tc.user(user)
			require.NoError(t, env.Client.Create(ctx, user))

			require.NoError(t, (&NGINX{Client: env.Client}).Route(ctx, rel, 30))
			canary := get(t, &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-canary"}})
			require.Equal(t, tc.wantSpec, canary.Spec)
			for k, v := range tc.wantAnn {
				require.Equal(t, v, canary.Annotations[k], k)
			}
			require.Equal(t, "30", canary.Annotations["nginx.ingress.kubernetes.io/canary-weight"])
		})
	}
}

func TestNGINXFollowsTheUsersIngress(t *testing.T) {
	ctx := t.Context()
	rel, user := nginxSetup(t)
	ns := rel.Namespace
	n := &NGINX{Client: env.Client}
	require.NoError(t, n.Route(ctx, rel, 10))
	canaryKey := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-canary"}}
	// Someone else's annotation on the canary Ingress is left alone.
	canary := get(t, canaryKey)
	canary.Annotations["example.com/seen"] = "yes"
	require.NoError(t, env.Client.Update(ctx, canary))

	user = get(t, user)
	user.Spec.IngressClassName = new("nginx-public")
	user.Spec.Rules[0].HTTP.Paths = append(user.Spec.Rules[0].HTTP.Paths, ingressPath("/cart", "web-primary", port80))
	require.NoError(t, env.Client.Update(ctx, user))

	require.NoError(t, n.Route(ctx, rel, 10))
	canary = get(t, canaryKey)
	require.Equal(t, "nginx-public", *canary.Spec.IngressClassName)
	require.Equal(t, ingressRule("shop.example.com", ingressPath("/", "web-canary", port80), ingressPath("/cart", "web-canary", port80)), canary.Spec.Rules[0])
	require.Equal(t, "yes", canary.Annotations["example.com/seen"])
	require.Equal(t, "10", canary.Annotations["nginx.ingress.kubernetes.io/canary-weight"])
}

func TestNGINXMisconfigured(t *testing.T) {
	cases := []struct {
		name string
		// objects creates the user's objects in ns; other is a second
		// Release in ns.
		objects func(t *testing.T, ns string, other *trimtabv1.Release)
		wantMsg string
	}{
		{
			name:    "missing Ingress",
			objects: func(*testing.T, string, *trimtabv1.Release) {},
			wantMsg: "Ingress NS/web not found: create it or fix spec.traffic.ingress",
		},
		{
			name: "Ingress points at the user's Service",
			objects: func(t *testing.T, ns string, _ *trimtabv1.Release) {
				ing := shopIngress(ns)
				ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name = "web"
				ing.Spec.Rules[2].HTTP.Paths[0].Backend.Service.Name = "web"
				require.NoError(t, env.Client.Create(t.Context(), ing))
			},
			wantMsg: "Ingress NS/web sends no traffic to Service web-primary: point its backend at web-primary",
		},
		{
			name: "a foreign Ingress named web-canary",
			objects: func(t *testing.T, ns string, _ *trimtabv1.Release) {
				require.NoError(t, env.Client.Create(t.Context(), shopIngress(ns)))
				foreign := shopIngress(ns)
				foreign.Name = "web-canary"
				require.NoError(t, env.Client.Create(t.Context(), foreign))
			},
			wantMsg: "Ingress NS/web-canary exists and is not managed by Release NS/web: trimtab needs that name for the canary Ingress of web; rename or delete the existing one",
		},
		{
			name: "web-canary controlled by another Release",
			objects: func(t *testing.T, ns string, other *trimtabv1.Release) {
				require.NoError(t, env.Client.Create(t.Context(), shopIngress(ns)))
				require.NoError(t, (&NGINX{Client: env.Client}).Route(t.Context(), other, 40))
			},
			wantMsg: "Ingress NS/web-canary exists and is not managed by Release NS/web:",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			ns := newNamespace(t)
			traffic := trimtabv1.Traffic{Router: trimtabv1.RouterNGINX, Ingress: "web"}
			rel := newRelease(t, ns, "web", traffic)
			tc.objects(t, ns, newRelease(t, ns, "other", traffic))
			var before networkingv1.IngressList
			require.NoError(t, env.Client.List(ctx, &before, client.InNamespace(ns)))

			var w writes
			n := &NGINX{Client: w.client(t)}
			err := n.Route(ctx, rel, 10)
			require.ErrorIs(t, err, ErrMisconfigured)
			require.Contains(t, err.Error(), strings.ReplaceAll(tc.wantMsg, "NS", ns))
			require.NoError(t, n.Restore(ctx, rel), "Restore has nothing of its own to undo")
			require.Zero(t, w.n.Load(), "no writes")

			var after networkingv1.IngressList
			require.NoError(t, env.Client.List(ctx, &after, client.InNamespace(ns)))
			require.Equal(t, before.Items, after.Items, "nothing created, changed or deleted")
		})
	}
}

func TestRouteRejectsWeightsOutside0To100(t *testing.T) {
	rel := &trimtabv1.Release{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"}}
	for _, r := range []Router{&NGINX{Client: env.Client}, &GatewayAPI{Client: env.Client, Reader: env.Client}} {
		for _, w := range []int32{-1, 101} {
			err := r.Route(t.Context(), rel, w)
			require.ErrorContains(t, err, "outside 0–100")
			require.NotErrorIs(t, err, ErrMisconfigured)
		}
	}
}

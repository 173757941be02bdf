package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/internal/kube"
)

// ingress-nginx annotations that make an Ingress a canary of the Ingress
// with the same host and path, and the legacy class annotation, which the
// canary must share with the user's Ingress to be served by the same
// controller.
const (
	nginxCanaryAnnotation       = "nginx.ingress.kubernetes.io/canary"
	nginxCanaryWeightAnnotation = "nginx.ingress.kubernetes.io/canary-weight"
	ingressClassAnnotation      = "kubernetes.io/ingress.class"
)

// NGINX splits traffic with ingress-nginx's canary Ingress.
//
// The user's Ingress (spec.traffic.ingress) must send its traffic to Service
// <service>-primary, not to <service>: the user's Service selects every
// variant, so an Ingress pointing at it would spread the stable share over
// canary pods too. trimtab never edits that Ingress. Beside it, trimtab
// keeps an Ingress <ingress>-canary, controlled by the Release, with the
// same class and the hosts and paths that lead to <service>-primary, sent
// to <service>-canary instead, and annotated canary: "true" and
// canary-weight: "<weight>". ingress-nginx then sends weight percent of each
// such host and path to the canary. Restore deletes the canary Ingress.
type NGINX struct {
	Client client.Client
}

// Route creates or updates the canary Ingress for weight; it writes nothing
// when the Ingress is already as it should be. At weight 0 (a rollback) a
// user's Ingress that no longer validates does not keep the canary's
// traffic: the canary Ingress this Release controls is deleted, and the
// problem is still reported.
func (n *NGINX) Route(ctx context.Context, rel *trimtabv1.Release, weight int32) error {
	if err := checkWeight(weight); err != nil {
		return err
	}
	err := n.route(ctx, rel, weight)
	if err != nil && weight == 0 && errors.Is(err, ErrMisconfigured) {
		if rerr := n.Restore(ctx, rel); rerr != nil {
			// Not ErrMisconfigured: the canary may still get traffic.
			return fmt.Errorf("%v; and the canary Ingress could not be deleted: %w", err, rerr)
		}
	}
	return err
}

func (n *NGINX) route(ctx context.Context, rel *trimtabv1.Release, weight int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		user, err := n.userIngress(ctx, rel)
		if err != nil {
			return err
		}
		want, err := canaryIngress(rel, user, weight)
		if err != nil {
			return err
		}
		key := client.ObjectKeyFromObject(want)
		var have networkingv1.Ingress
		switch err := n.Client.Get(ctx, key, &have); {
		case apierrors.IsNotFound(err):
			if err := n.Client.Create(ctx, want, kube.FieldOwner); err != nil {
				return fmt.Errorf("create canary Ingress %s: %w", key, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("get canary Ingress %s: %w", key, err)
		}
		if !metav1.IsControlledBy(&have, rel) {
			return misconfigured("Ingress %s exists and is not managed by Release %s/%s: trimtab needs that name for the canary Ingress of %s; rename or delete the existing one", key, rel.Namespace, rel.Name, user.Name)
		}
		if !syncCanary(&have, want) {
			return nil
		}
		// have carries the resourceVersion read above, so a concurrent
		// change fails with a conflict and is retried from a fresh read.
		if err := n.Client.Update(ctx, &have, kube.FieldOwner); err != nil {
			return fmt.Errorf("update canary Ingress %s: %w", key, err)
		}
		return nil
	})
}

// Restore deletes the canary Ingress if this Release controls it; anything
// else under that name is not trimtab's and stays.
func (n *NGINX) Restore(ctx context.Context, rel *trimtabv1.Release) error {
	if rel.Spec.Traffic.Ingress == "" {
		return nil
	}
	key := client.ObjectKey{Namespace: rel.Namespace, Name: canaryIngressName(rel.Spec.Traffic.Ingress)}
	var have networkingv1.Ingress
	if err := n.Client.Get(ctx, key, &have); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("get canary Ingress %s: %w", key, err)
	}
	if !metav1.IsControlledBy(&have, rel) {
		return nil
	}
	// The preconditions make sure the object deleted is the one checked.
	pre := client.Preconditions{UID: &have.UID, ResourceVersion: &have.ResourceVersion}
	if err := n.Client.Delete(ctx, &have, pre); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete canary Ingress %s: %w", key, err)
	}
	return nil
}

// Replicas keeps the primary whole: ingress-nginx weighs requests, not pods.
func (*NGINX) Replicas(total, weight int32, s Sizing) Split {
	return separate(total, weight, s)
}

// userIngress reads the user's Ingress.
func (n *NGINX) userIngress(ctx context.Context, rel *trimtabv1.Release) (*networkingv1.Ingress, error) {
	var ing networkingv1.Ingress
	if err := getUsers(ctx, n.Client, rel, &ing, "Ingress", "spec.traffic.ingress", rel.Spec.Traffic.Ingress, VariantService(rel, Primary)); err != nil {
		return nil, err
	}
	return &ing, nil
}

func canaryIngressName(ingress string) string { return ingress + "-canary" }

// canaryIngress is the canary Ingress the Release should have: the user's
// class and the hosts and paths that lead to the primary, sent to the
// canary. Paths to other Services are left out: they are not being released.
func canaryIngress(rel *trimtabv1.Release, user *networkingv1.Ingress, weight int32) (*networkingv1.Ingress, error) {
	primary, canary := VariantService(rel, Primary), VariantService(rel, Canary)
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Name:      canaryIngressName(user.Name),
			Namespace: user.Namespace,
			Annotations: map[string]string{
				nginxCanaryAnnotation:       "true",
				nginxCanaryWeightAnnotation: strconv.Itoa(int(weight)),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(rel, releaseKind)},
		},
	}
	if class, ok := user.Annotations[ingressClassAnnotation]; ok {
		ing.Annotations[ingressClassAnnotation] = class
	}
	if user.Spec.IngressClassName != nil {
		class := *user.Spec.IngressClassName
		ing.Spec.IngressClassName = &class
	}
	if b := user.Spec.DefaultBackend; toService(b, primary) {
		ing.Spec.DefaultBackend = retarget(*b, canary)
	}
	for _, rule := range user.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		var paths []networkingv1.HTTPIngressPath
		for _, p := range rule.HTTP.Paths {
			if toService(&p.Backend, primary) {
				p := *p.DeepCopy()
				p.Backend = *retarget(p.Backend, canary)
				paths = append(paths, p)
			}
		}
		if len(paths) > 0 {
			ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{
				Host:             rule.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}},
			})
		}
	}
	if ing.Spec.DefaultBackend == nil && len(ing.Spec.Rules) == 0 {
		return nil, misconfigured("Ingress %s/%s sends no traffic to Service %s: point its backend at %s (not at %s, which selects the canary's pods too)", user.Namespace, user.Name, primary, primary, ServiceName(rel))
	}
	return ing, nil
}

func toService(b *networkingv1.IngressBackend, name string) bool {
	return b != nil && b.Service != nil && b.Service.Name == name
}

func retarget(b networkingv1.IngressBackend, service string) *networkingv1.IngressBackend {
	b = *b.DeepCopy()
	b.Service.Name = service
	return &b
}

// syncCanary makes have's spec and trimtab's annotations those of want and
// says whether anything changed. Annotations others added are kept.
func syncCanary(have, want *networkingv1.Ingress) bool {
	changed := false
	if !equality.Semantic.DeepEqual(have.Spec, want.Spec) {
		have.Spec = want.Spec
		changed = true
	}
	if have.Annotations == nil {
		have.Annotations = map[string]string{}
	}
	for _, k := range []string{nginxCanaryAnnotation, nginxCanaryWeightAnnotation, ingressClassAnnotation} {
		w, ok := want.Annotations[k]
		h, had := have.Annotations[k]
		switch {
		case ok && (!had || h != w):
			have.Annotations[k] = w
			changed = true
		case !ok && had:
			delete(have.Annotations, k)
			changed = true
		}
	}
	return changed
}

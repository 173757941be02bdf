package router

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// releaseKind is the owner kind set on objects a router creates.
var releaseKind = trimtabv1.GroupVersion.WithKind("Release")

// misconfigured reports a problem only the user can fix; the message names
// the object and says how to fix it.
func misconfigured(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMisconfigured, fmt.Sprintf(format, args...))
}

// checkWeight rejects a weight outside 0–100, which only a bug in the caller
// can produce: the API bounds step weights.
func checkWeight(weight int32) error {
	if weight < 0 || weight > 100 {
		return fmt.Errorf("traffic weight %d is outside 0–100", weight)
	}
	return nil
}

// getUsers reads into obj the user's object of kind that field (for
// example spec.traffic.ingress) names and that should send traffic to
// Service service. An empty name or a missing object is ErrMisconfigured.
func getUsers(ctx context.Context, c client.Reader, rel *trimtabv1.Release, obj client.Object, kind, field, name, service string) error {
	if name == "" {
		return misconfigured("%s is empty: name the %s that sends traffic to Service %s", field, kind, service)
	}
	key := client.ObjectKey{Namespace: rel.Namespace, Name: name}
	if err := c.Get(ctx, key, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return misconfigured("%s %s not found: create it or fix %s", kind, key, field)
		}
		if meta.IsNoMatchError(err) {
			return misconfigured("this cluster does not serve %s (%v): install its CRDs (for an HTTPRoute, the Gateway API's standard channel), or choose another spec.traffic.router", kind, err)
		}
		return fmt.Errorf("get %s %s: %w", kind, key, err)
	}
	return nil
}

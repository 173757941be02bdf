// Package router splits a release's traffic between the primary and the
// canary. Each router lives in its own file behind the Router interface;
// New picks one by spec.traffic.router and fails on a kind it does not know.
//
// Every router sees the same objects, which the Release controller keeps in
// place: Deployments <target>-primary and <target>-canary whose pods carry
// the user's labels plus trimtab.dev/variant=primary|canary, and Services
// <service>-primary and <service>-canary that select them. The user's own
// Service keeps selecting every variant.
package router

import (
	"context"
	"errors"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// VariantLabel marks the pods (and Services) of each variant.
const VariantLabel = "trimtab.dev/variant"

// Variants.
const (
	Primary  = "primary"
	Canary   = "canary"
	Baseline = "baseline"
)

// ErrMisconfigured wraps problems only the user can fix (a missing Ingress,
// a route that does not point where it should). The controller reports them
// in the Ready condition and waits for a change instead of retrying.
var ErrMisconfigured = errors.New("traffic misconfigured")

// Router moves traffic between primary and canary.
type Router interface {
	// Route sends weight percent of the traffic to the canary and the rest
	// to the primary; 0 sends everything to the primary. It is idempotent.
	// At weight 0 an error that wraps ErrMisconfigured promises that every
	// route the router wrote no longer leads to the canary, so the caller
	// may stop the canary's pods; any other error promises nothing.
	Route(ctx context.Context, rel *trimtabv1.Release, weight int32) error
	// Restore gives traffic back to the user's own routing, for a Release
	// that is being deleted: everything trimtab changed is undone, and
	// nothing the user created is deleted. An error that wraps
	// ErrMisconfigured means the router cannot tell how to undo its changes
	// until the user fixes something: it has changed nothing, and the
	// user's routing may still lead to the variant Services.
	Restore(ctx context.Context, rel *trimtabv1.Release) error
	// Replicas splits total (the workload's size) between the variants for
	// a weight. Routers that shift traffic themselves keep the primary
	// whole; the replicas router shifts traffic by this split.
	Replicas(total, weight int32, sizing Sizing) Split
}

// Sizing says how the canary (and baseline) are sized.
type Sizing struct {
	// Full runs the canary as large as the primary (blue-green).
	Full bool
	// Baseline runs a baseline of the stable version sized like the canary.
	Baseline bool
}

// Split is how many replicas each variant runs.
type Split struct {
	Primary, Canary, Baseline int32
}

// New returns the router the Release asks for, writing through c, reading
// what must be read whole from the API server through reader, and asking
// groups which API groups the cluster serves.
func New(kind trimtabv1.Router, c client.Client, reader client.Reader, groups GroupDiscovery) (Router, error) {
	switch kind {
	case "", trimtabv1.RouterReplicas:
		return Replicas{}, nil
	case trimtabv1.RouterNGINX:
		return &NGINX{Client: c}, nil
	case trimtabv1.RouterGatewayAPI:
		return &GatewayAPI{Client: c, Reader: reader, Groups: groups}, nil
	}
	return nil, fmt.Errorf("spec.traffic.router %q: unknown router; use replicas, nginx or gatewayAPI", kind)
}

// ServiceName is the user's Service in front of the target.
func ServiceName(rel *trimtabv1.Release) string {
	if rel.Spec.Traffic.Service != "" {
		return rel.Spec.Traffic.Service
	}
	return rel.Spec.TargetRef.Name
}

// VariantService names the Service trimtab keeps for one variant.
func VariantService(rel *trimtabv1.Release, variant string) string {
	return ServiceName(rel) + "-" + variant
}

// separate keeps the primary whole and runs a canary sized by the weight
// (at least one pod while the weight is above 0), or as large as the
// primary; routers that split traffic themselves use it.
func separate(total, weight int32, s Sizing) Split {
	split := Split{Primary: total}
	switch {
	case s.Full:
		split.Canary = total
	case weight > 0:
		split.Canary = max(1, (total*weight+99)/100)
	}
	if s.Baseline {
		split.Baseline = split.Canary
	}
	return split
}

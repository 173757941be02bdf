package router

import (
	"context"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// Replicas shifts traffic by the ratio of ready pods behind the user's
// Service, which selects every variant: no mesh or ingress needed. The
// workload's size stays the same, so the canary's share of pods is its share
// of traffic: canary = round(total × weight / 100), kept between 1 and
// total−1 while the weight is strictly between 0 and 100. With few replicas
// the real share is coarse (3 pods cannot carry 10%); status shows the
// weight asked for, the split shows in the Deployments.
type Replicas struct{}

// Route has nothing to do: the replica split is the routing.
func (Replicas) Route(context.Context, *trimtabv1.Release, int32) error { return nil }

// Restore has nothing to undo.
func (Replicas) Restore(context.Context, *trimtabv1.Release) error { return nil }

// Replicas splits total by weight. A baseline takes its pods from the
// primary, so the canary's share of pods (and of traffic) stays the weight.
func (Replicas) Replicas(total, weight int32, s Sizing) Split {
	if s.Full {
		// Blue-green needs a router that can send all traffic to one side;
		// the API rejects blueGreen with this router.
		return separate(total, weight, s)
	}
	var split Split
	switch {
	case weight <= 0:
		return Split{Primary: total}
	case weight >= 100:
		return Split{Canary: total}
	case total < 2:
		// One pod cannot be split; run one of each so both can be judged.
		split = Split{Primary: 1, Canary: 1}
	default:
		c := min(max((total*weight+50)/100, 1), total-1)
		split = Split{Primary: total - c, Canary: c}
	}
	if s.Baseline {
		split.Baseline = split.Canary
		split.Primary = max(1, split.Primary-split.Baseline)
	}
	return split
}

package scaler

import (
	"math"
	"slices"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// limitResult is a normalized recommendation with the AbleToScale and
// ScalingLimited conditions upstream sets while normalizing.
type limitResult struct {
	replicas   int32
	able       Condition
	limited    Condition
	newHistory []Recommendation
}

// Condition is a status condition the HPA would set.
type Condition struct {
	Type    string
	Status  ConditionStatus
	Reason  string
	Message string
}

// HPA condition types.
const (
	AbleToScale    = "AbleToScale"
	ScalingActive  = "ScalingActive"
	ScalingLimited = "ScalingLimited"
)

func limitedCondition(limited bool, reason, message string) Condition {
	s := ConditionFalse
	if limited {
		s = ConditionTrue
	}
	return Condition{Type: ScalingLimited, Status: s, Reason: reason, Message: message}
}

// normalizeLegacy is upstream's normalizeDesiredReplicas, used when the
// policy has no behavior: downscale stabilization over one window, then the
// max(factor*current, minimum) scale-up cap and min/max.
func normalizeLegacy(recs []Recommendation, current, desired, minR, maxR int32, p Params, now time.Time) limitResult {
	stabilized := desired
	cutoff := now.Add(-p.DownscaleStabilization)
	old := -1
	for i, r := range recs {
		if r.Time.Before(cutoff) {
			old = i
		} else if r.Replicas > stabilized {
			stabilized = r.Replicas
		}
	}
	res := limitResult{newHistory: storeRecommendation(recs, old, desired, now)}
	if stabilized != desired {
		res.able = Condition{AbleToScale, ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"}
	} else {
		res.able = Condition{AbleToScale, ConditionTrue, "ReadyForNewScale", "recommended size matches current size"}
	}

	scaleUpLimit := int32(math.Max(p.ScaleUpLimitFactor*float64(current), p.ScaleUpLimitMinimum))
	upper, reason, message := maxR, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
	if maxR > scaleUpLimit {
		upper, reason, message = scaleUpLimit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
	}
	switch {
	case stabilized < minR:
		res.replicas, reason, message = minR, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
	case stabilized > upper:
		res.replicas = upper
	default:
		res.replicas, reason, message = stabilized, "DesiredWithinRange", "the desired count is within the acceptable range"
	}
	res.limited = limitedCondition(res.replicas != stabilized, reason, message)
	return res
}

// storeRecommendation records the unstabilized recommendation as upstream
// does: in the slot at index old, the last entry older than every window
// (-1: appended). It never modifies recs. Upstream's slots keep some
// recommendations long past the windows (only the last old one is reused
// at each sync), and those count again when a window is raised; storing
// anything more compact would decide differently from then on.
func storeRecommendation(recs []Recommendation, old int, desired int32, now time.Time) []Recommendation {
	r := Recommendation{Replicas: desired, Time: now}
	if old >= 0 {
		out := slices.Clone(recs)
		out[old] = r
		return out
	}
	return append(slices.Clip(recs), r)
}

// normalizeBehavior is upstream's normalizeDesiredReplicasWithBehaviors:
// both stabilization windows, then the rate-limit policies.
func normalizeBehavior(h History, b Behavior, current, desired, minR, maxR int32, now time.Time) limitResult {
	stabilized, newRecs := stabilize(h.Recommendations, b, current, desired, now)
	res := limitResult{newHistory: newRecs}
	switch {
	case stabilized == desired:
		res.able = Condition{AbleToScale, ConditionTrue, "ReadyForNewScale", "recommended size matches current size"}
	case desired >= current:
		res.able = Condition{AbleToScale, ConditionTrue, "ScaleUpStabilized", "recent recommendations were lower than current one, applying the lowest recent recommendation"}
	default:
		res.able = Condition{AbleToScale, ConditionTrue, "ScaleDownStabilized", "recent recommendations were higher than current one, applying the highest recent recommendation"}
	}
	var reason, message string
	res.replicas, reason, message = rateLimit(h, b, current, stabilized, minR, maxR, now)
	res.limited = limitedCondition(res.replicas != stabilized, reason, message)
	return res
}

// stabilize is upstream's stabilizeRecommendationWithBehaviors. Windows are
// strict (a recommendation exactly one window old no longer counts).
func stabilize(recs []Recommendation, b Behavior, current, desired int32, now time.Time) (int32, []Recommendation) {
	up, down := desired, desired
	upCutoff := now.Add(-b.ScaleUp.StabilizationWindow)
	downCutoff := now.Add(-b.ScaleDown.StabilizationWindow)
	old := -1
	for i, r := range recs {
		if r.Time.After(upCutoff) {
			up = min(up, r.Replicas)
		}
		if r.Time.After(downCutoff) {
			down = max(down, r.Replicas)
		}
		if r.Time.Before(upCutoff) && r.Time.Before(downCutoff) {
			old = i
		}
	}
	rec := current
	if rec < up {
		rec = up
	}
	if rec > down {
		rec = down
	}
	return rec, storeRecommendation(recs, old, desired, now)
}

// rateLimit is upstream's convertDesiredReplicasWithBehaviorRate.
func rateLimit(h History, b Behavior, current, desired, minR, maxR int32, now time.Time) (int32, string, string) {
	switch {
	case desired > current:
		limit := scaleUpLimit(current, h, b.ScaleUp, now)
		if limit < current {
			limit = current
		}
		upper, reason, message := maxR, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
		if maxR > limit {
			upper, reason, message = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
		}
		if desired > upper {
			return upper, reason, message
		}
	case desired < current:
		limit := scaleDownLimit(current, h, b.ScaleDown, now)
		if limit > current {
			limit = current
		}
		lower, reason, message := minR, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
		if minR < limit {
			lower, reason, message = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than the maximum scale rate"
		}
		if desired < lower {
			return lower, reason, message
		}
	}
	return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
}

// periodStart is the replica count at the start of a policy period: the
// current count minus what was added plus what was removed within it.
func periodStart(current int32, h History, period time.Duration, now time.Time) int32 {
	return current - changeInPeriod(h.ScaleUpEvents, period, now) + changeInPeriod(h.ScaleDownEvents, period, now)
}

func changeInPeriod(events []ScaleEvent, period time.Duration, now time.Time) int32 {
	cutoff := now.Add(-period)
	var sum int32
	for _, e := range events {
		if e.Time.After(cutoff) {
			sum += e.Change
		}
	}
	return sum
}

// scaleUpLimit is upstream's calculateScaleUpLimitWithScalingRules.
func scaleUpLimit(current int32, h History, r Rules, now time.Time) int32 {
	// Max picks the biggest change, which going up is the highest limit.
	return policyLimit(current, h, r, now, r.SelectPolicy != v1alpha1.SelectMin, func(start int32, p Policy) int32 {
		if p.Type == PodsPolicy {
			return start + p.Value
		}
		return int32(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
	})
}

// scaleDownLimit is upstream's calculateScaleDownLimitWithBehaviors.
func scaleDownLimit(current int32, h History, r Rules, now time.Time) int32 {
	// Max picks the biggest change, which going down is the lowest limit.
	return policyLimit(current, h, r, now, r.SelectPolicy == v1alpha1.SelectMin, func(start int32, p Policy) int32 {
		if p.Type == PodsPolicy {
			return start - p.Value
		}
		return int32(float64(start) * (1 - float64(p.Value)/100))
	})
}

// policyLimit applies each policy to the replica count at its period's
// start and keeps the highest (highest true) or lowest limit.
func policyLimit(current int32, h History, r Rules, now time.Time, highest bool, limit func(start int32, p Policy) int32) int32 {
	if r.SelectPolicy == v1alpha1.SelectDisabled {
		return current
	}
	result := int32(math.MaxInt32)
	if highest {
		result = math.MinInt32
	}
	for _, p := range r.Policies {
		l := limit(periodStart(current, h, p.Period, now), p)
		if highest {
			result = max(result, l)
		} else {
			result = min(result, l)
		}
	}
	return result
}

// RecordScale returns the history with a successful change of the target
// from old to new replicas recorded, as upstream's storeScaleEvent. Call it
// only after the /scale update succeeded. Without behavior nothing is
// recorded: the legacy path has no rate-limit policies.
func (h History) RecordScale(b *Behavior, old, new int32, now time.Time) History {
	if b == nil || old == new {
		return h
	}
	if new > old {
		h.ScaleUpEvents = storeEvent(h.ScaleUpEvents, longestPeriod(b.ScaleUp), new-old, now)
	} else {
		h.ScaleDownEvents = storeEvent(h.ScaleDownEvents, longestPeriod(b.ScaleDown), old-new, now)
	}
	return h
}

func longestPeriod(r Rules) time.Duration {
	var longest time.Duration
	for _, p := range r.Policies {
		longest = max(longest, p.Period)
	}
	return longest
}

// storeEvent marks events older than the longest period outdated and puts
// the new one in the last outdated slot, or appends it.
func storeEvent(events []ScaleEvent, longest time.Duration, change int32, now time.Time) []ScaleEvent {
	out := slices.Clone(events)
	cutoff := now.Add(-longest)
	old := -1
	for i := range out {
		if out[i].Time.Before(cutoff) {
			out[i].Outdated = true
		}
		if out[i].Outdated {
			old = i
		}
	}
	e := ScaleEvent{Change: change, Time: now}
	if old >= 0 {
		out[old] = e
		return out
	}
	return append(out, e)
}

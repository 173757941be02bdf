package scaler

import (
	"fmt"
	"slices"
	"time"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// Forecasting is the condition that tells whether predictive scaling has a
// forecast and how far ahead it looks. Policies with predictive off have
// none.
const Forecasting = "Forecasting"

// Reasons of the Forecasting condition.
const (
	ReasonWarmingUp           = "WarmingUp"
	ReasonHorizonFromSpec     = "HorizonFromSpec"
	ReasonHorizonFromStartup  = "HorizonFromStartup"
	ReasonHorizonDefault      = "HorizonDefault"
	ReasonHorizonBelowStartup = "HorizonBelowStartup"
)

// DefaultHorizon is how far ahead a forecast looks when the spec leaves the
// horizon to the pods' start-up and no pod has been seen starting yet.
const DefaultHorizon = 300 * time.Second

// MaxObservedStartup bounds what counts as a pod's start-up: a Ready
// transition later than this after creation is taken for a readiness flap
// of a running pod, which says nothing about how long pods take to start.
// (A pod keeps only its latest transition, so the two look alike.) Pods
// that really take longer to start need spec.predictive.horizonSeconds.
const MaxObservedStartup = 30 * time.Minute

// PodStartup is how long the pods took from creation to becoming Ready:
// the 90th percentile (nearest rank) over the Ready pods whose Ready
// transition came within MaxObservedStartup of their creation, how many
// pods that is (0: no start-up observed), and how many Ready pods became
// Ready later. The 90th percentile because the horizon must cover the slow
// starts, not the typical one, without letting one pod that waited for a
// new node decide it alone once there are ten.
func PodStartup(pods []Pod) (startup time.Duration, observed, late int) {
	// Every sync of every predictive policy asks, and a replay's hundreds
	// of pods all take its one start-up: count first, and collect and sort
	// only start-ups that differ. Most targets have few pods, whose
	// start-ups fit on the stack.
	var lowest, highest time.Duration
	for i := range pods {
		d, ok, isLate := observedStartup(&pods[i])
		switch {
		case isLate:
			late++
		case !ok:
		case observed == 0:
			lowest, highest, observed = d, d, 1
		default:
			lowest, highest, observed = min(lowest, d), max(highest, d), observed+1
		}
	}
	if lowest == highest {
		// Also no start-up observed: 0.
		return lowest, observed, late
	}
	var buf [32]time.Duration
	startups := buf[:0]
	for i := range pods {
		if d, ok, _ := observedStartup(&pods[i]); ok {
			startups = append(startups, d)
		}
	}
	slices.Sort(startups)
	// Nearest rank: the ⌈0.9·n⌉-th smallest, in integers.
	rank := (9*len(startups) + 9) / 10
	return startups[rank-1], observed, late
}

// observedStartup is how long p took from creation to Ready, ok when it is
// a start-up PodStartup counts, and late when it became Ready more than
// MaxObservedStartup after creation.
func observedStartup(p *Pod) (d time.Duration, ok, late bool) {
	if p.Deleting || p.Ready == nil || p.Ready.Status != ConditionTrue || p.Created.IsZero() {
		return 0, false, false
	}
	switch d = p.Ready.LastTransitionTime.Sub(p.Created); {
	case d > MaxObservedStartup:
		return 0, false, true
	case d >= 0:
		return d, true, false
	}
	return 0, false, false
}

// HorizonPlan is how far a policy's forecast looks ahead, and why.
type HorizonPlan struct {
	Horizon time.Duration
	// Reason is the Forecasting condition's reason for the horizon.
	Reason string
	// Startup is the pods' observed start-up; Pods the number of pods it was
	// observed on (0: none); Late the Ready pods that became Ready more
	// than MaxObservedStartup after their creation.
	Startup time.Duration
	Pods    int
	Late    int
	// sync is the policy's sync period and untilNext the time to its next
	// sync, which the words mention.
	sync, untilNext time.Duration
}

// PlanHorizon decides the forecast horizon. A horizon set in the spec is
// used as written, with a warning when it is shorter than the pods'
// observed start-up: replicas the forecast asks for would become ready
// after the load they were asked for. Left unset, it is the observed
// start-up plus one sync period, since replicas asked for at a sync are
// ready a start-up later and the next chance to ask is a sync after that;
// when the next sync is further away than a period (untilNext: after a
// policy's first sync, which is off its period's ticks), the time to it.
// DefaultHorizon until a pod has been seen starting. With predictive off
// there is nothing to plan. It runs at every sync, so the words wait for
// Message.
func PlanHorizon(p Predictive, pods []Pod, sync, untilNext time.Duration) HorizonPlan {
	if p.Mode == v1alpha1.PredictiveOff || p.Mode == "" {
		return HorizonPlan{}
	}
	startup, n, late := PodStartup(pods)
	// Tenths of a second: the words show it.
	untilNext = (untilNext + 100*time.Millisecond - 1).Truncate(100 * time.Millisecond)
	h := HorizonPlan{Horizon: p.Horizon, Startup: startup, Pods: n, Late: late, sync: sync, untilNext: untilNext}
	switch {
	case p.Horizon > 0 && n > 0 && p.Horizon < startup:
		h.Reason = ReasonHorizonBelowStartup
	case p.Horizon > 0:
		h.Reason = ReasonHorizonFromSpec
	case n > 0:
		h.Horizon, h.Reason = startup+max(sync, untilNext), ReasonHorizonFromStartup
	default:
		h.Horizon, h.Reason = DefaultHorizon, ReasonHorizonDefault
	}
	return h
}

// Status is the Forecasting condition's status and reason, given whether
// the model has a forecast yet; Message words it. Split because a sync
// needs the message only when it writes the status. A horizon shorter than
// the pods' start-up is reported while the model still learns too: it is a
// mistake in the spec, and the sooner it is seen the better.
func (h HorizonPlan) Status(forecasting bool) (ConditionStatus, string) {
	switch {
	case !forecasting && h.Reason == ReasonHorizonBelowStartup:
		return ConditionFalse, h.Reason
	case !forecasting:
		return ConditionFalse, ReasonWarmingUp
	}
	return ConditionTrue, h.Reason
}

// Message words the Forecasting condition.
func (h HorizonPlan) Message(mode v1alpha1.PredictiveMode, forecasting bool) string {
	msg := h.explain()
	if mode == v1alpha1.PredictiveShadow {
		msg += "; shadow mode: the forecast is exported, not acted on"
	}
	switch {
	case !forecasting && h.Reason == ReasonHorizonBelowStartup:
		return msg + "; the forecaster is still learning the load"
	case !forecasting:
		return "learning the load (30 bins, or its history); scaling reactively until then, then " + msg
	}
	return msg
}

// explain says how far the forecast looks and why.
func (h HorizonPlan) explain() string {
	observed := fmt.Sprintf("the pods' observed start-up, %s (90th percentile of %d)", h.Startup, h.Pods)
	switch {
	case h.Reason == ReasonHorizonBelowStartup:
		return fmt.Sprintf("spec.predictive.horizonSeconds (%s) is shorter than %s: replicas the forecast asks for become ready after the load they are for; raise it to at least %d (start-up plus the %s sync period) or remove it to follow the start-up",
			h.Horizon, observed, int((h.Startup+h.sync+time.Second-1)/time.Second), h.sync)
	case h.Reason == ReasonHorizonFromSpec:
		return fmt.Sprintf("forecasting %s ahead (spec.predictive.horizonSeconds)", h.Horizon)
	case h.Reason == ReasonHorizonFromStartup && h.untilNext > h.sync:
		return fmt.Sprintf("forecasting %s ahead: %s plus the %s to the next sync (the %s sync period's next tick)", h.Horizon, observed, h.untilNext, h.sync)
	case h.Reason == ReasonHorizonFromStartup:
		return fmt.Sprintf("forecasting %s ahead: %s plus the %s sync period", h.Horizon, observed, h.sync)
	}
	if h.Late > 0 {
		return fmt.Sprintf("forecasting %s ahead until a pod is seen starting: %d Ready pod(s) became Ready more than %s after creation, which is taken for a readiness flap; if the pods take that long to start, set spec.predictive.horizonSeconds to cover it",
			h.Horizon, h.Late, MaxObservedStartup)
	}
	return fmt.Sprintf("forecasting %s ahead until a pod is seen starting", h.Horizon)
}

package release

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// TestBlueGreenPreviewTimeStartsWhenReady: blue-green's verification step
// (weight 0) keeps the weight, so its clock must start when the full-size
// preview is ready, not when the release started: a preview slower to
// start than analysisSeconds would otherwise get all live traffic the
// moment it is ready, unverified.
func TestBlueGreenPreviewTimeStartsWhenReady(t *testing.T) {
	spec := trimtabv1.ReleaseSpec{
		TargetRef:               trimtabv1.TargetRef{Name: "web"},
		Strategy:                trimtabv1.Strategy{BlueGreen: &trimtabv1.BlueGreenStrategy{AnalysisSeconds: 120, RollbackWindowSeconds: 300}},
		Traffic:                 trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"},
		ProgressDeadlineSeconds: 600,
	}
	s := newSim(t, spec) // no metrics: steps pass on their duration
	s.adopt()
	s.target = "rev2"
	s.canaryUp = false
	s.runFor(5*time.Minute, 10*time.Second) // the full-size preview takes 5 min to start
	require.Equal(t, int32(0), s.world.Weight)
	s.canaryUp = true
	readyAt := s.now
	s.tick()
	require.Equal(t, int32(0), s.world.Weight,
		"all traffic switched to the new version %v after its preview became ready (analysisSeconds is 120 s)", s.now.Sub(readyAt))
}

// TestHeldStepRollsBackAtItsAnnouncedDeadline: after a Hold the step's
// analysis starts afresh and says Continue for a whole step again; the
// deadline the Hold announced must still hold.
func TestHeldStepRollsBackAtItsAnnouncedDeadline(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 600})) // progress deadline 120 s
	s.adopt()
	s.target = "rev2"
	// The analyzer's behaviour: a fresh analysis (status.analysis nil)
	// starts at this look, says Continue until the step's duration has
	// passed since then, and then Hold (no data).
	var start time.Time
	s.look = func(s *sim) LookAction {
		if s.st.Analysis == nil {
			start = s.now
		}
		if s.now.Sub(start) >= 600*time.Second {
			return LookHold
		}
		return LookContinue
	}
	s.runUntil(StateProgressing, 10*time.Second, time.Minute)
	stepStart := s.st.StepStartTime.Time
	deadline := stepStart.Add(600*time.Second + 120*time.Second)
	for s.now.Before(deadline.Add(30 * time.Second)) {
		s.now = s.now.Add(10 * time.Second)
		s.tick()
	}
	require.Contains(t, s.reasons(), ReasonAnalysisHeld)
	require.Equal(t, StateRolledBack, s.st.State,
		"still %s %v after the step began; the AnalysisHeld event promised a rollback at %v (step start + 600 s + 120 s)",
		s.st.State, s.now.Sub(stepStart), deadline.Sub(stepStart))
}

// TestOneDecisionRunsEachHookPhaseOnce: with one step at 100 % and both
// pre-rollout and pre-promotion hooks, one reconcile (the controller's
// decide loop, mirrored here) crosses both phases; each phase's hooks,
// a migration or a notification, must run once.
func TestOneDecisionRunsEachHookPhaseOnce(t *testing.T) {
	spec := canarySpec(trimtabv1.CanaryStep{Weight: 100, AnalysisSeconds: 60})
	spec.Analysis.Hooks = []trimtabv1.Hook{
		{Name: "smoke", Phase: trimtabv1.HookPreRollout, URL: "http://127.0.0.1/"},
		{Name: "confirm", Phase: trimtabv1.HookPrePromotion, URL: "http://127.0.0.1/"},
	}
	p, err := NewPlan(spec)
	require.NoError(t, err)
	st := trimtabv1.ReleaseStatus{State: StateIdle, StableRevision: "rev1", CanaryRevision: "rev1"}
	// The canary's pods are ready: hooks run then, before its traffic.
	o := Observed{TargetRevision: "rev2", PrimaryRevision: "rev1", PrimaryReady: true, CanaryReadyWeight: 100}
	ran := map[trimtabv1.HookPhase]int{}
	var d Decision
	for range 4 { // internal/controller/release.go decide()
		d = Next(p, st, o, t0)
		if d.Need != NeedHooks {
			break
		}
		ran[d.NeedHook]++
		if o.Hooks == nil {
			o.Hooks = map[trimtabv1.HookPhase]HookResult{}
		}
		o.Hooks[d.NeedHook] = HookResult{Phase: d.NeedHook, Passed: true}
	}
	require.Equal(t, map[trimtabv1.HookPhase]int{trimtabv1.HookPreRollout: 1, trimtabv1.HookPrePromotion: 1}, ran, "final need %q %q", d.Need, d.NeedHook)
}

package release

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// sim is a tiny model of the cluster for the state machine: the primary
// takes the target's template when World asks for it and becomes ready at
// once, the canary is ready whenever it should run (unless told otherwise),
// and looks and hooks answer as the test says.
type sim struct {
	t        *testing.T
	plan     Plan
	st       trimtabv1.ReleaseStatus
	now      time.Time
	target   string
	primary  string
	world    World
	events   []Event
	weights  []int32 // every weight World asked for, deduplicated in order
	canaryUp bool
	paused   bool
	frozen   bool
	// refused: the router refused the weight at the last reconcile.
	refused bool
	// primaryRollingOut: the primary's rollout of its template is not
	// complete.
	primaryRollingOut bool
	request           *Request
	// look decides the analysis of each look; nil means "Continue until the
	// step's duration, then Pass".
	look func(s *sim) LookAction
	hook func(phase trimtabv1.HookPhase) bool
	// needs counts the I/O Next asked for.
	looks, hookRuns int
}

func newSim(t *testing.T, spec trimtabv1.ReleaseSpec) *sim {
	t.Helper()
	p, err := NewPlan(spec)
	require.NoError(t, err)
	return &sim{t: t, plan: p, now: t0, target: "rev1", canaryUp: true}
}

// tick runs one reconcile: Next, answering its needs, then applying World.
func (s *sim) tick() Decision {
	s.t.Helper()
	ready := int32(-1)
	if s.canaryUp {
		ready = 100
	}
	o := Observed{TargetRevision: s.target, PrimaryRevision: s.primary, PrimaryReady: s.primary != "" && !s.primaryRollingOut,
		CanaryReadyWeight: ready, RouteRefused: s.refused, Paused: s.paused, Frozen: s.frozen, Request: s.request}
	var d Decision
	for range 4 {
		d = Next(s.plan, s.st, o, s.now)
		switch d.Need {
		case NeedLook:
			s.looks++
			o.Look = s.answerLook(d.Status)
			continue
		case NeedHooks:
			s.hookRuns++
			passed := s.hook == nil || s.hook(d.NeedHook)
			if o.Hooks == nil {
				o.Hooks = map[trimtabv1.HookPhase]HookResult{}
			}
			o.Hooks[d.NeedHook] = HookResult{Phase: d.NeedHook, Passed: passed, Message: "smoke test returned 503"}
			continue
		}
		break
	}
	require.Equal(s.t, NeedNothing, d.Need, "Next still needs I/O after its answers")
	s.st = d.Status
	s.world = d.World
	s.events = append(s.events, d.Events...)
	if n := len(s.weights); n == 0 || s.weights[n-1] != d.World.Weight {
		s.weights = append(s.weights, d.World.Weight)
	}
	// The controller makes the world match: the primary takes the target's
	// template only when that is the revision World names.
	if d.World.PrimaryRevision == s.target {
		s.primary = s.target
	}
	return d
}

// answerLook judges the step as the decision that asked for the look sees it.
func (s *sim) answerLook(st trimtabv1.ReleaseStatus) *Look {
	action := LookContinue
	step := s.plan.Steps[st.Step-1]
	if s.look != nil {
		action = s.look(s)
	} else if st.StepStartTime != nil && !s.now.Before(st.StepStartTime.Add(step.Analysis)) {
		action = LookPass
	}
	score := 100.0
	if action == LookRollback {
		score = 12.5
	}
	return &Look{Action: action, Score: score, Verdict: "Pass", Reason: "look says " + string(action),
		Analysis: trimtabv1.AnalysisProgress{Looks: 1}}
}

// runFor ticks every interval for d.
func (s *sim) runFor(d, every time.Duration) {
	for end := s.now.Add(d); s.now.Before(end); s.now = s.now.Add(every) {
		s.tick()
	}
}

// runUntil ticks every interval until the state is reached, at most limit.
func (s *sim) runUntil(state string, every, limit time.Duration) time.Duration {
	s.t.Helper()
	start := s.now
	for s.now.Sub(start) <= limit {
		s.tick()
		if s.st.State == state {
			return s.now.Sub(start)
		}
		s.now = s.now.Add(every)
	}
	s.t.Fatalf("state %s not reached within %v; state %s step %d weight %d, events %v", state, limit, s.st.State, s.st.Step, s.st.Weight, s.reasons())
	return 0
}

func (s *sim) reasons() []string {
	var r []string
	for _, e := range s.events {
		r = append(r, e.Reason)
	}
	return r
}

func (s *sim) adopt() {
	s.t.Helper()
	s.tick()
	require.Equal(s.t, StateInitializing, s.st.State)
	s.tick()
	require.Equal(s.t, StateIdle, s.st.State)
	require.Equal(s.t, "rev1", s.st.StableRevision)
	require.Equal(s.t, "rev1", s.primary)
}

func canarySpec(steps ...trimtabv1.CanaryStep) trimtabv1.ReleaseSpec {
	return trimtabv1.ReleaseSpec{
		TargetRef: trimtabv1.TargetRef{Name: "web"},
		Strategy:  trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{Steps: steps}},
		Analysis: trimtabv1.Analysis{IntervalSeconds: 10, Metrics: []trimtabv1.Metric{{Name: "latency",
			MetricSource: trimtabv1.MetricSource{Scrape: &trimtabv1.ScrapeSource{Metric: "x"}}}}},
		ProgressDeadlineSeconds: 120,
	}
}

func TestCanarySuccessPromotesThroughEveryStep(t *testing.T) {
	s := newSim(t, canarySpec())
	s.adopt()
	s.target = "rev2"
	d := s.tick()
	require.Equal(t, StateProgressing, s.st.State)
	require.Equal(t, "rev2", s.st.CanaryRevision)
	require.True(t, d.World.Canary)
	require.Equal(t, "rev1", d.World.PrimaryRevision, "an unreleased revision must never reach the primary")
	require.NotNil(t, s.st.ExpectedCompletionTime)
	require.Equal(t, t0.Add(30*time.Minute+4*s.plan.Window()), s.st.ExpectedCompletionTime.Time,
		"default schedule: 15+5+5+5 minutes, each step's analysis from its first look, a window in")

	took := s.runUntil(StatePromoted, 10*time.Second, time.Hour)
	require.Equal(t, []int32{0, 10, 25, 50, 75, 0}, s.weights)
	require.InDelta(t, (30 * time.Minute).Seconds(), took.Seconds(), 60, "promotion should take the planned 30 minutes")
	require.Equal(t, "rev2", s.st.StableRevision)
	require.Equal(t, "rev2", s.primary)
	require.False(t, s.world.Canary)
	require.Equal(t, OutcomePromoted, s.st.Revisions[0].Outcome)
	require.Nil(t, s.st.ExpectedCompletionTime)
	require.Subset(t, s.reasons(), []string{ReasonInitialized, ReasonReleaseStarted, ReasonWeightChanged, ReasonPromoting, ReasonPromoted})

	// Promoted is steady: more ticks change nothing.
	before := s.st.DeepCopy()
	s.runFor(time.Minute, 10*time.Second)
	require.Equal(t, before, &s.st)
}

func TestRollbackIsImmediateAndComplete(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 20, AnalysisSeconds: 600}, trimtabv1.CanaryStep{Weight: 60, AnalysisSeconds: 600}))
	s.plan.Baseline = true
	s.adopt()
	s.target = "rev2"
	s.look = func(s *sim) LookAction {
		if s.now.Sub(t0) > 2*time.Minute {
			return LookRollback
		}
		return LookContinue
	}
	s.runUntil(StateRolledBack, 10*time.Second, 10*time.Minute)
	// The decision that rolls back also stops the canary and baseline and
	// sends all traffic to the primary.
	require.Equal(t, World{PrimaryRevision: "rev1", Sizing: SizeProportional}, s.world)
	require.Zero(t, s.world.SizeWeight)
	require.Equal(t, "rev2", s.st.FailedRevision)
	require.Equal(t, "rev1", s.primary)
	require.Equal(t, OutcomeRolledBack, s.st.Revisions[0].Outcome)
	require.Contains(t, s.events[len(s.events)-1].Message, "Rolled back revision rev2 at step 1: look says Rollback")

	// A rolled-back revision is not released again by itself...
	s.look = nil
	s.runFor(time.Minute, 10*time.Second)
	require.Equal(t, StateRolledBack, s.st.State)
	// ...but a retry request, or a new revision, starts a release.
	s.request = &Request{Verb: VerbRetry, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
	require.Equal(t, "rev2", s.st.CanaryRevision)

	// The request acts once: rolled back again, rev2 stays rolled back
	// while the same request stands...
	s.look = func(*sim) LookAction { return LookRollback }
	s.runUntil(StateRolledBack, 10*time.Second, 10*time.Minute)
	s.look = nil
	s.runFor(10*time.Minute, 10*time.Second)
	require.Equal(t, StateRolledBack, s.st.State, "one retry request released the revision again after its second rollback")
	// ...and acts again once removed and made anew.
	s.request = nil
	s.tick()
	s.request = &Request{Verb: VerbRetry, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
}

func TestHoldOnNoDataUntilTheDeadlineThenRollBack(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.look = func(s *sim) LookAction {
		if s.st.StepStartTime != nil && !s.now.Before(s.st.StepStartTime.Add(time.Minute)) {
			return LookHold
		}
		return LookContinue
	}
	took := s.runUntil(StateRolledBack, 10*time.Second, time.Hour)
	// 60 s of analysis plus the 120 s progress deadline.
	require.InDelta(t, 180, took.Seconds(), 20)
	require.Contains(t, s.reasons(), ReasonAnalysisHeld)
	require.Contains(t, s.st.Revisions[0].Reason, "no verdict within")
	require.NotContains(t, s.reasons(), ReasonPromoting, "missing data must never promote")
}

func TestFirstLookWaitsForAWindowInsideTheStep(t *testing.T) {
	// Interval 10 s: each sample is a rate over 20 s, so a look before
	// 20 s into a step would judge what the canary did before it.
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{
		{"reconciled every second", time.Second},
		{"reconciled every 7 s", 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60}))
			s.adopt()
			s.target = "rev2"
			looks := map[int32][]time.Duration{}
			s.look = func(s *sim) LookAction {
				into := s.now.Sub(s.st.StepStartTime.Time)
				looks[s.st.Step] = append(looks[s.st.Step], into)
				if into >= time.Minute {
					return LookPass
				}
				return LookContinue
			}
			s.runUntil(StatePromoted, tc.every, time.Hour)
			for step := int32(1); step <= 2; step++ {
				require.NotEmpty(t, looks[step], "step %d", step)
				require.GreaterOrEqual(t, looks[step][0], s.plan.Window(), "step %d: first look %v into the step", step, looks[step][0])
				require.Less(t, looks[step][0], s.plan.Window()+tc.every, "step %d: first look %v into the step", step, looks[step][0])
				for i := 1; i < len(looks[step]); i++ {
					require.GreaterOrEqual(t, looks[step][i]-looks[step][i-1], s.plan.Interval, "step %d: looks %v", step, looks[step])
				}
			}
		})
	}
}

func TestARefusedRouteHoldsTheStepUntilItIsTaken(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 25, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.runUntil(StateProgressing, 10*time.Second, time.Minute)
	s.runFor(30*time.Second, 10*time.Second)
	require.Equal(t, int32(25), s.st.Weight)

	// The user's routing breaks: far past the step's minute, nothing is
	// looked at and nothing advances.
	s.refused = true
	looks := s.looks
	s.runFor(10*time.Minute, 10*time.Second)
	require.Equal(t, StateProgressing, s.st.State)
	require.Equal(t, int32(1), s.st.Step, "a step whose traffic does not flow advanced")
	require.Equal(t, looks, s.looks, "looks at a step whose traffic does not flow")
	require.Equal(t, int32(25), s.world.Weight, "World still asks for the step's weight")

	// Fixed: the step's clock runs from the first reconcile that routes.
	fixed := s.now
	s.tick()
	s.refused = false
	took := s.runUntil(StatePromoting, 10*time.Second, time.Hour)
	require.InDelta(t, (2 * time.Minute).Seconds(), (s.now.Sub(fixed)).Seconds(), 30, "both steps' full minute after the fix (took %v)", took)

	// A rollback is not held up by a refused route.
	s = newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 25, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.runUntil(StateProgressing, 10*time.Second, time.Minute)
	s.refused = true
	s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateRolledBack, s.st.State)
	require.Zero(t, s.world.Weight)
}

func TestManualGateWaitsForApproval(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60, ManualGate: true}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.runUntil(StateWaitingApproval, 10*time.Second, 5*time.Minute)
	s.runFor(time.Hour, time.Minute)
	require.Equal(t, StateWaitingApproval, s.st.State, "a gate waits as long as it takes")
	require.Equal(t, int32(10), s.world.Weight)

	cases := []struct {
		name string
		req  Request
	}{
		{"approval of another revision", Request{Verb: VerbApprove, Revision: "rev9", Step: 1}},
		{"approval of another step", Request{Verb: VerbApprove, Revision: "rev2", Step: 2}},
	}
	for _, tc := range cases {
		s.request = &tc.req
		s.tick()
		require.Equal(t, StateWaitingApproval, s.st.State, tc.name)
	}
	s.request = &Request{Verb: VerbApprove, Revision: "rev2", Step: 1}
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
	require.Equal(t, int32(2), s.st.Step)
	require.Equal(t, int32(50), s.world.Weight)
	// The same approval seen again does not skip step 2's analysis.
	s.tick()
	require.Equal(t, int32(2), s.st.Step)
	s.runUntil(StatePromoted, 10*time.Second, 5*time.Minute)
}

// TestUnanalysedGateWaitsWithoutSpinning: a release with no metrics at a
// gate has nothing to do until a person approves (an annotation, which
// reconciles at once); it polled every second.
func TestUnanalysedGateWaitsWithoutSpinning(t *testing.T) {
	spec := canarySpec(trimtabv1.CanaryStep{Weight: 20, AnalysisSeconds: 60, ManualGate: true}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60})
	spec.Analysis.Metrics = nil
	s := newSim(t, spec)
	s.adopt()
	s.target = "rev2"
	s.runUntil(StateWaitingApproval, 10*time.Second, 10*time.Minute)
	s.now = s.now.Add(time.Hour)
	require.Equal(t, pollInterval, s.tick().RequeueAfter)
	s.request = &Request{Verb: VerbApprove, Revision: "rev2", Step: 1}
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
}

func TestRegressionWhileWaitingForApprovalStillRollsBack(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60, ManualGate: true}))
	s.adopt()
	s.target = "rev2"
	s.runUntil(StateWaitingApproval, 10*time.Second, 5*time.Minute)
	s.look = func(*sim) LookAction { return LookRollback }
	s.runUntil(StateRolledBack, 10*time.Second, time.Minute)
}

func TestPauseResumeAndFreeze(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 30, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.runFor(30*time.Second, 10*time.Second)

	s.paused = true
	s.tick()
	require.Equal(t, StatePaused, s.st.State)
	looks := s.looks
	s.runFor(time.Hour, time.Minute)
	require.Equal(t, StatePaused, s.st.State)
	require.Equal(t, int32(10), s.world.Weight, "a pause holds the weight")
	require.True(t, s.world.Canary)
	require.Equal(t, looks, s.looks, "no analysis while paused")

	s.paused = false
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
	require.Contains(t, s.reasons(), ReasonResumed)
	require.Equal(t, s.now, s.st.StepStartTime.Time, "the step's analysis starts again after a pause")

	// A freeze holds even against a failing analysis: nothing rolls back.
	s.frozen = true
	s.look = func(*sim) LookAction { return LookRollback }
	s.runFor(time.Hour, time.Minute)
	require.Equal(t, StateFrozen, s.st.State)
	require.Equal(t, int32(10), s.world.Weight)
	// An explicit abort is honoured while frozen.
	s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateRolledBack, s.st.State)
	require.Contains(t, s.st.Revisions[0].Reason, "aborted on request")
}

func TestNewRevisionMidAnalysisRestartsForTheNewest(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.runFor(90*time.Second, 10*time.Second)
	require.Equal(t, int32(2), s.st.Step)

	s.target = "rev3"
	s.tick()
	require.Equal(t, "rev3", s.st.CanaryRevision)
	require.Equal(t, int32(1), s.st.Step)
	require.Equal(t, OutcomeSuperseded, s.st.Revisions[0].Outcome)
	require.Equal(t, "rev2", s.st.Revisions[0].Revision)

	// Reverting the target to the stable template cancels the release.
	s.target = "rev1"
	s.tick()
	require.Equal(t, StateIdle, s.st.State)
	require.False(t, s.world.Canary)
	require.Contains(t, s.reasons(), ReasonReleaseCancelled)
}

func TestCanaryNotReadyRollsBackAtTheProgressDeadline(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.canaryUp = false
	took := s.runUntil(StateRolledBack, 5*time.Second, 10*time.Minute)
	require.InDelta(t, 120, took.Seconds(), 5)
	require.Equal(t, []int32{0}, s.weights, "a canary that is not ready never gets traffic")
}

// TestCanaryUnreadyLateInALongStepGetsTheWholeDeadline: in a step longer
// than the progress deadline, a canary pod that restarts late (a node
// drain, an OOM kill) has the whole deadline to come back; it rolled back
// at once when the deadline counted from the step's start.
func TestCanaryUnreadyLateInALongStepGetsTheWholeDeadline(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 20, AnalysisSeconds: 900}))
	s.adopt()
	s.target = "rev2"
	s.runFor(11*time.Minute, 10*time.Second) // the deadline is 120 s here
	require.Equal(t, StateProgressing, s.st.State)
	s.canaryUp = false
	s.runFor(100*time.Second, 10*time.Second)
	require.Equal(t, StateProgressing, s.st.State, "rolled back before the deadline: %v", s.st.Revisions)
	s.canaryUp = true
	s.tick()
	require.Nil(t, s.st.CanaryUnreadySince, "ready again")
	s.canaryUp = false
	took := s.runUntil(StateRolledBack, 5*time.Second, 10*time.Minute)
	require.InDelta(t, 120, took.Seconds(), 5, "a second loss gets the deadline afresh, and no more")
}

func TestHooks(t *testing.T) {
	hooks := []trimtabv1.Hook{
		{Name: "smoke", Phase: trimtabv1.HookPreRollout, URL: "http://127.0.0.1/"},
		{Name: "confirm", Phase: trimtabv1.HookPrePromotion, URL: "http://127.0.0.1/"},
		{Name: "notify", Phase: trimtabv1.HookPostRollout, URL: "http://127.0.0.1/"},
	}
	cases := []struct {
		name    string
		failing trimtabv1.HookPhase
		state   string
		reason  string
	}{
		{"all pass", "", StatePromoted, ReasonPromoted},
		{"pre-rollout fails before any traffic", trimtabv1.HookPreRollout, StateRolledBack, ReasonRolledBack},
		{"pre-promotion fails", trimtabv1.HookPrePromotion, StateRolledBack, ReasonRolledBack},
		{"post-rollout failure is reported", trimtabv1.HookPostRollout, StatePromoted, ReasonHookFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := canarySpec(trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60})
			spec.Analysis.Hooks = hooks
			s := newSim(t, spec)
			ran := map[trimtabv1.HookPhase]int{}
			s.hook = func(p trimtabv1.HookPhase) bool { ran[p]++; return p != tc.failing }
			s.adopt()
			s.target = "rev2"
			s.runUntil(tc.state, 10*time.Second, 10*time.Minute)
			s.runFor(time.Minute, 10*time.Second)
			require.Contains(t, s.reasons(), tc.reason)
			for p, n := range ran {
				require.Equal(t, 1, n, "hooks of %s ran %d times", p, n)
			}
			if tc.failing == trimtabv1.HookPreRollout {
				require.Equal(t, []int32{0}, s.weights)
			}
		})
	}
	t.Run("pre-rollout waits for the canary's pods, then runs before its traffic", func(t *testing.T) {
		spec := canarySpec(trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60})
		spec.Analysis.Hooks = hooks[:1]
		s := newSim(t, spec)
		s.adopt()
		s.target = "rev2"
		s.canaryUp = false
		var weightAtHook int32 = -1
		s.hook = func(trimtabv1.HookPhase) bool { weightAtHook = s.st.Weight; return true }
		s.runFor(time.Minute, 10*time.Second)
		require.Zero(t, s.hookRuns, "a smoke test ran against a canary without ready pods")
		require.True(t, s.world.Canary, "the canary is brought up meanwhile")
		s.canaryUp = true
		s.runFor(30*time.Second, 10*time.Second)
		require.Equal(t, 1, s.hookRuns)
		require.Zero(t, weightAtHook, "the hook ran after the canary got traffic")
		require.Equal(t, int32(50), s.st.Weight)
	})
}

func TestBlueGreen(t *testing.T) {
	spec := trimtabv1.ReleaseSpec{
		TargetRef: trimtabv1.TargetRef{Name: "web"},
		Strategy:  trimtabv1.Strategy{BlueGreen: &trimtabv1.BlueGreenStrategy{AnalysisSeconds: 120, RollbackWindowSeconds: 300}},
		Traffic:   trimtabv1.Traffic{Router: trimtabv1.RouterGatewayAPI, HTTPRoute: "web"},
	}
	t.Run("success", func(t *testing.T) {
		s := newSim(t, spec)
		s.adopt()
		s.target = "rev2"
		s.tick()
		require.Equal(t, SizeFull, s.world.Sizing)
		require.Equal(t, int32(0), s.world.Weight, "verification happens through the preview, without live traffic")
		took := s.runUntil(StatePromoted, 10*time.Second, time.Hour)
		require.Equal(t, []int32{0, 100, 0}, s.weights)
		require.InDelta(t, 420, took.Seconds(), 20)
	})
	t.Run("rollback inside the window is instant", func(t *testing.T) {
		s := newSim(t, spec)
		s.adopt()
		s.target = "rev2"
		s.runFor(130*time.Second, 10*time.Second)
		require.Equal(t, int32(100), s.world.Weight)
		require.Equal(t, "rev1", s.primary, "the old version stays up during the rollback window")
		s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
		s.tick()
		require.Equal(t, StateRolledBack, s.st.State)
		require.Equal(t, int32(0), s.world.Weight)
	})
}

func TestReleaseWithoutMetricsAdvancesOnTime(t *testing.T) {
	spec := canarySpec(trimtabv1.CanaryStep{Weight: 30, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 60, AnalysisSeconds: 60})
	spec.Analysis.Metrics = nil
	s := newSim(t, spec)
	s.adopt()
	s.target = "rev2"
	took := s.runUntil(StatePromoted, 10*time.Second, 10*time.Minute)
	require.InDelta(t, 120, took.Seconds(), 15)
	require.Zero(t, s.looks)
}

func TestPromoteRequestSkipsRemainingSteps(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 3600}))
	s.adopt()
	s.target = "rev2"
	s.tick()
	s.request = &Request{Verb: VerbPromote, Revision: "rev2"}
	s.runUntil(StatePromoted, time.Second, 10*time.Second)
	require.Equal(t, "rev2", s.primary)
}

// TestThePromotedRecordSaysWhyItWasPromoted: the revision record of a
// promotion a person asked for says so, and names the request and the
// step it skipped from, not "all steps passed"; the reason outlasts a
// primary that takes reconciles to roll out.
func TestThePromotedRecordSaysWhyItWasPromoted(t *testing.T) {
	cases := []struct {
		name       string
		request    *Request
		rollingOut bool
		want       string
	}{
		{"every step passed", nil, false, "every step passed"},
		{"a promote request", &Request{Verb: VerbPromote, Revision: "rev2"}, false,
			"promoted on request (trimtab.dev/request=promote:rev2) at step 1 of 2"},
		{"a promote request, the primary rolling out for a minute", &Request{Verb: VerbPromote, Revision: "rev2"}, true,
			"promoted on request (trimtab.dev/request=promote:rev2) at step 1 of 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60}))
			s.adopt()
			s.target = "rev2"
			s.tick()
			s.request, s.primaryRollingOut = tc.request, tc.rollingOut
			s.runUntil(StatePromoting, 10*time.Second, 10*time.Minute)
			s.runFor(time.Minute, 10*time.Second)
			s.primaryRollingOut = false
			s.runUntil(StatePromoted, 10*time.Second, time.Minute)
			require.Equal(t, OutcomePromoted, s.st.Revisions[0].Outcome)
			require.Equal(t, tc.want, s.st.Revisions[0].Reason)
			require.Empty(t, s.st.PromotionReason, "kept only while the promotion runs")
		})
	}
}

// TestIgnoredRequestsAreReportedOnceAndNeverAct: a request that cannot act
// (another revision, another step, nothing left to do) gets one
// RequestIgnored Warning saying what was asked, why it is ignored and what
// to do instead, however many reconciles see it standing, and changes
// nothing then or later: a twin release without the request goes exactly
// the same way.
func TestIgnoredRequestsAreReportedOnceAndNeverAct(t *testing.T) {
	// Step 1 has no gate, steps 2 and 3 have one.
	spec := canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 30, AnalysisSeconds: 60, ManualGate: true},
		trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60, ManualGate: true})
	progressing := func(t *testing.T) *sim {
		s := newSim(t, spec)
		s.adopt()
		s.target = "rev2"
		s.runFor(30*time.Second, 10*time.Second)
		require.Equal(t, StateProgressing, s.st.State)
		require.Equal(t, int32(1), s.st.Step)
		return s
	}
	waitingAtStep3 := func(t *testing.T) *sim {
		s := progressing(t)
		s.runUntil(StateWaitingApproval, 10*time.Second, 10*time.Minute)
		s.request = &Request{Verb: VerbApprove, Revision: "rev2", Step: 2}
		s.tick()
		s.request = nil
		s.runUntil(StateWaitingApproval, 10*time.Second, 10*time.Minute)
		require.Equal(t, int32(3), s.st.Step)
		return s
	}
	promoting := func(t *testing.T) *sim {
		s := progressing(t)
		s.primaryRollingOut = true
		s.request = &Request{Verb: VerbPromote, Revision: "rev2"}
		s.tick()
		s.request = nil
		s.tick()
		require.Equal(t, StatePromoting, s.st.State)
		require.Equal(t, "rev2", s.primary)
		return s
	}
	promoted := func(t *testing.T) *sim {
		s := promoting(t)
		s.primaryRollingOut = false
		s.tick()
		require.Equal(t, StatePromoted, s.st.State)
		return s
	}
	rolledBack := func(t *testing.T) *sim {
		s := progressing(t)
		s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
		s.tick()
		s.request = nil
		s.tick()
		require.Equal(t, StateRolledBack, s.st.State)
		return s
	}
	idle := func(t *testing.T) *sim {
		s := newSim(t, spec)
		s.adopt()
		return s
	}
	const req = "Request trimtab.dev/request="
	cases := []struct {
		name  string
		setup func(*testing.T) *sim
		req   Request
		want  string
	}{
		{"abort of another revision mid-release", progressing, Request{Verb: VerbAbort, Revision: "rev9"},
			req + "abort:rev9 ignored: the release in progress is of revision rev2, not rev9; to abort it, annotate trimtab.dev/request=abort:rev2"},
		{"promotion of another revision mid-release", progressing, Request{Verb: VerbPromote, Revision: "rev1"},
			req + "promote:rev1 ignored: the release in progress is of revision rev2, not rev1; to promote it, annotate trimtab.dev/request=promote:rev2"},
		{"approval of another revision", waitingAtStep3, Request{Verb: VerbApprove, Revision: "rev9", Step: 3},
			req + "approve:rev9:3 ignored: the release in progress is of revision rev2, not rev9; " + approveWhenAsked},
		{"approval of a step that has passed", waitingAtStep3, Request{Verb: VerbApprove, Revision: "rev2", Step: 1},
			req + "approve:rev2:1 ignored: step 1 has passed and the release is at step 3; " + approveWhenAsked},
		{"approval of a later step, which would otherwise pass its gate unseen", progressing, Request{Verb: VerbApprove, Revision: "rev2", Step: 2},
			req + "approve:rev2:2 ignored: the release is at step 1, and a step is approved after its analysis has passed; " + approveWhenAsked},
		{"approval of a step without a gate", progressing, Request{Verb: VerbApprove, Revision: "rev2", Step: 1},
			req + "approve:rev2:1 ignored: step 1 has no manual gate: it goes on when its analysis passes; to end the release early, annotate trimtab.dev/request=promote:rev2 or annotate trimtab.dev/request=abort:rev2"},
		{"retry of the revision being released", progressing, Request{Verb: VerbRetry, Revision: "rev2"},
			req + "retry:rev2 ignored: revision rev2 is being released now; nothing is left to do"},
		{"abort once the primary runs the revision", promoting, Request{Verb: VerbAbort, Revision: "rev2"},
			req + "abort:rev2 ignored: the primary runs revision rev2 already; to go back, apply the previous template to the target, which releases it"},
		{"promotion of the revision being promoted", promoting, Request{Verb: VerbPromote, Revision: "rev2"},
			req + "promote:rev2 ignored: revision rev2 is being promoted; nothing is left to do"},
		{"abort of the stable revision", promoted, Request{Verb: VerbAbort, Revision: "rev2"},
			req + "abort:rev2 ignored: revision rev2 is the stable one, which the primary serves; to go back, apply the previous template to the target, which releases it"},
		{"promotion of the stable revision", promoted, Request{Verb: VerbPromote, Revision: "rev2"},
			req + "promote:rev2 ignored: revision rev2 is the stable one already; nothing is left to do"},
		{"approval with no release in progress", promoted, Request{Verb: VerbApprove, Revision: "rev2", Step: 2},
			req + "approve:rev2:2 ignored: no release is in progress, so no step waits for approval; " + approveWhenAsked},
		{"abort of a revision never released", idle, Request{Verb: VerbAbort, Revision: "rev9"},
			req + "abort:rev9 ignored: no release of revision rev9 is in progress (the primary serves rev1); nothing is left to do"},
		{"promotion of a revision never released", idle, Request{Verb: VerbPromote, Revision: "rev9"},
			req + "promote:rev9 ignored: no release of revision rev9 is in progress (the primary serves rev1); apply its template to the target, which releases it"},
		{"retry with nothing rolled back", idle, Request{Verb: VerbRetry, Revision: "rev1"},
			req + "retry:rev1 ignored: no revision is rolled back; nothing is left to do"},
		{"promotion of a rolled-back revision", rolledBack, Request{Verb: VerbPromote, Revision: "rev2"},
			req + "promote:rev2 ignored: revision rev2 was rolled back; to release rev2 again, annotate trimtab.dev/request=retry:rev2"},
		{"abort of a rolled-back revision", rolledBack, Request{Verb: VerbAbort, Revision: "rev2"},
			req + "abort:rev2 ignored: revision rev2 was rolled back already; nothing is left to do"},
		{"retry of a revision that was not rolled back", rolledBack, Request{Verb: VerbRetry, Revision: "rev1"},
			req + "retry:rev1 ignored: revision rev1 is not the one last rolled back (rev2); to release rev2 again, annotate trimtab.dev/request=retry:rev2"},
		{"retry once the target is back at the stable template", func(t *testing.T) *sim {
			s := rolledBack(t)
			s.target = "rev1"
			return s
		}, Request{Verb: VerbRetry, Revision: "rev2"},
			req + "retry:rev2 ignored: the target's template is no longer that of revision rev2; apply it to the target again, then remove this request (trimtab.dev/request-) and make it anew"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			with, without := tc.setup(t), tc.setup(t)
			seen := len(with.events)
			with.request = &tc.req
			for range 60 {
				with.tick()
				without.tick()
				with.now, without.now = with.now.Add(10*time.Second), without.now.Add(10*time.Second)
			}
			var ignored []Event
			others := []Event{}
			for _, e := range with.events[seen:] {
				if e.Reason == ReasonRequestIgnored {
					ignored = append(ignored, e)
				} else {
					others = append(others, e)
				}
			}
			require.Equal(t, []Event{{Type: "Warning", Reason: ReasonRequestIgnored, Message: tc.want}}, ignored)
			require.Equal(t, append([]Event{}, without.events[seen:]...), others, "the ignored request changed what happened")
			require.Equal(t, tc.req.String(), with.st.HandledRequest)
			with.st.HandledRequest = ""
			require.Equal(t, without.st, with.st, "the ignored request changed the release")
			require.Equal(t, without.world, with.world)
		})
	}
}

// TestRequestsThatActAreNotReported: a request that acted stays in its
// annotation; it is never reported as ignored. An approval of the current
// step made before the step waits for it acts when it does.
func TestRequestsThatActAreNotReported(t *testing.T) {
	cases := []struct {
		name  string
		req   Request
		state string
	}{
		{"abort", Request{Verb: VerbAbort, Revision: "rev2"}, StateRolledBack},
		{"promotion", Request{Verb: VerbPromote, Revision: "rev2"}, StatePromoted},
		{"approval made while the step's analysis runs", Request{Verb: VerbApprove, Revision: "rev2", Step: 1}, StatePromoted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60, ManualGate: true}))
			s.adopt()
			s.target = "rev2"
			s.tick()
			s.request = &tc.req
			s.runUntil(tc.state, 10*time.Second, 10*time.Minute)
			s.runFor(10*time.Minute, 10*time.Second)
			require.Equal(t, tc.state, s.st.State)
			require.NotContains(t, s.reasons(), ReasonRequestIgnored)
			require.Equal(t, tc.req.String(), s.st.HandledRequest)
		})
	}
}

// TestRetryReleasesARolledBackRevisionAfterAnotherWasPromoted: a revision
// rolled back, then another promoted, then the first template applied
// again: it waits as a rolled-back revision, and a retry releases it. The
// retry acted only in state RolledBack, right after the rollback.
func TestRetryReleasesARolledBackRevisionAfterAnotherWasPromoted(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}))
	s.adopt()
	s.target = "rev2"
	s.tick()
	s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateRolledBack, s.st.State)
	s.request = nil
	s.target = "rev3"
	s.runUntil(StatePromoted, 10*time.Second, 10*time.Minute)

	s.target = "rev2"
	s.runFor(time.Minute, 10*time.Second)
	require.Equal(t, StatePromoted, s.st.State, "a rolled-back revision waits for a retry")
	s.request = &Request{Verb: VerbRetry, Revision: "rev2"}
	s.tick()
	require.Equal(t, StateProgressing, s.st.State)
	require.Equal(t, "rev2", s.st.CanaryRevision)
}

// TestAnEndedReleaseKeepsItsStepAndTheScoreThatDecidedIt: once a release
// ends, kubectl get shows the step it ended at, weight 0, and a score
// only when a look's verdict decided the end; after a person's request, a
// hook, a canary that never became ready, a step without a verdict or a
// cancellation, the last look's score would read as the reason.
func TestAnEndedReleaseKeepsItsStepAndTheScoreThatDecidedIt(t *testing.T) {
	hooks := []trimtabv1.Hook{{Name: "confirm", Phase: trimtabv1.HookPrePromotion, URL: "http://127.0.0.1/"}}
	cases := []struct {
		name   string
		run    func(s *sim)
		state  string
		step   int32
		score  string
		reason string
	}{
		{"every step passed", func(s *sim) {}, StatePromoted, 2, "100.0", "every step passed"},
		{"a failing look rolls back", func(s *sim) {
			s.look = passUntilStep2(func(*sim) LookAction { return LookRollback })
		}, StateRolledBack, 2, "12.5", "look says Rollback"},
		{"aborted on request", func(s *sim) {
			s.runUntil(StateProgressing, 10*time.Second, time.Minute)
			s.runFor(time.Minute, 10*time.Second) // looks give step 1 a score
			s.request = &Request{Verb: VerbAbort, Revision: "rev2"}
		}, StateRolledBack, 1, "", "aborted on request"},
		{"promoted on request", func(s *sim) {
			s.runFor(time.Minute, 10*time.Second)
			s.request = &Request{Verb: VerbPromote, Revision: "rev2"}
		}, StatePromoted, 1, "", "promoted on request (trimtab.dev/request=promote:rev2) at step 1 of 2"},
		{"a pre-promotion hook fails", func(s *sim) {
			s.hook = func(trimtabv1.HookPhase) bool { return false }
		}, StateRolledBack, 2, "", "pre-promotion hook failed: smoke test returned 503"},
		{"the canary is not ready in step 2", func(s *sim) {
			s.look = passUntilStep2(func(s *sim) LookAction { s.canaryUp = false; return LookContinue })
		}, StateRolledBack, 2, "", "the canary was not ready within the progress deadline (2m0s)"},
		{"no verdict by the deadline", func(s *sim) {
			s.look = passUntilStep2(func(*sim) LookAction { return LookContinue })
		}, StateRolledBack, 2, "", "no verdict within the step's analysis plus the progress deadline (3m0s): look says Continue"},
		{"cancelled: the target is back at the stable template", func(s *sim) {
			s.look = passUntilStep2(func(s *sim) LookAction { s.target = "rev1"; return LookPass })
		}, StateIdle, 2, "", "the target changed to rev1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60}, trimtabv1.CanaryStep{Weight: 50, AnalysisSeconds: 60})
			spec.Analysis.Hooks = hooks
			s := newSim(t, spec)
			s.adopt()
			s.target = "rev2"
			tc.run(s)
			s.runUntil(tc.state, 10*time.Second, 20*time.Minute)
			s.runFor(time.Minute, 10*time.Second)
			require.Equal(t, tc.state, s.st.State)
			require.Equal(t, tc.reason, s.st.Revisions[0].Reason)
			require.Equal(t, tc.step, s.st.Step, "the step it ended at")
			require.Zero(t, s.st.Weight)
			require.Equal(t, tc.score, s.st.Score)
			require.NotEmpty(t, s.st.History, "every look stays in the history")
		})
	}
}

// TestAPromotionsReasonGoesWithItsRelease: a promotion that ends otherwise
// than promoted leaves no reason behind for a revision it did not promote.
func TestAPromotionsReasonGoesWithItsRelease(t *testing.T) {
	cases := []struct {
		name    string
		hook    func(s *sim) bool
		outcome string
	}{
		{"a pre-promotion hook fails", func(*sim) bool { return false }, OutcomeRolledBack},
		{"the target changes before the primary takes the template", func(s *sim) bool { s.target = "rev3"; return true }, OutcomeSuperseded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			spec := canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 60})
			spec.Analysis.Hooks = []trimtabv1.Hook{{Name: "confirm", Phase: trimtabv1.HookPrePromotion, URL: "http://127.0.0.1/"}}
			s := newSim(t, spec)
			s.adopt()
			s.target = "rev2"
			s.hook = func(trimtabv1.HookPhase) bool { return tc.hook(s) }
			s.runFor(5*time.Minute, 10*time.Second)
			require.Contains(t, s.reasons(), ReasonPromoting)
			i := slices.IndexFunc(s.st.Revisions, func(r trimtabv1.RevisionRecord) bool { return r.Revision == "rev2" })
			require.Equal(t, tc.outcome, s.st.Revisions[i].Outcome)
			require.Empty(t, s.st.PromotionReason)
		})
	}
}

func TestNextIsDeterministic(t *testing.T) {
	s := newSim(t, canarySpec())
	s.adopt()
	s.target = "rev2"
	s.runFor(20*time.Minute, 10*time.Second)
	o := Observed{TargetRevision: "rev2", PrimaryRevision: "rev1", PrimaryReady: true, CanaryReadyWeight: 100,
		Look: &Look{Action: LookContinue, Score: 99}}
	a := Next(s.plan, s.st, o, s.now)
	b := Next(s.plan, s.st, o, s.now)
	require.Equal(t, a, b)
}

func TestHistoryIsBounded(t *testing.T) {
	s := newSim(t, canarySpec(trimtabv1.CanaryStep{Weight: 10, AnalysisSeconds: 3600}))
	s.adopt()
	s.target = "rev2"
	s.runFor(30*time.Minute, 10*time.Second)
	require.Len(t, s.st.History, maxHistory)
	require.True(t, slices.IsSortedFunc(s.st.History, func(a, b trimtabv1.AnalysisRecord) int { return b.Time.Compare(a.Time.Time) }), "newest first")
}

func TestNewPlan(t *testing.T) {
	cases := []struct {
		name    string
		spec    trimtabv1.ReleaseSpec
		steps   []Step
		wantErr string
	}{
		{"default schedule", trimtabv1.ReleaseSpec{Strategy: trimtabv1.Strategy{Canary: &trimtabv1.CanaryStrategy{}}}, DefaultSteps, ""},
		{"explicit steps", canarySpec(trimtabv1.CanaryStep{Weight: 5, AnalysisSeconds: 30, ManualGate: true}),
			[]Step{{Weight: 5, Analysis: 30 * time.Second, Gate: true}}, ""},
		{"decreasing weights", canarySpec(trimtabv1.CanaryStep{Weight: 50}, trimtabv1.CanaryStep{Weight: 20}), nil,
			"spec.strategy.canary.steps[1].weight: 20 is below the previous step's 50"},
		{"no strategy", trimtabv1.ReleaseSpec{}, nil, "spec.strategy: set exactly one of canary or blueGreen"},
		{"a hook URL without a host, its token redacted", func() trimtabv1.ReleaseSpec {
			s := canarySpec(trimtabv1.CanaryStep{Weight: 10})
			s.Analysis.Hooks = []trimtabv1.Hook{{Name: "ok", Phase: trimtabv1.HookPreRollout, URL: "http://hooks/ok"},
				{Name: "typo", Phase: trimtabv1.HookPrePromotion, URL: "http:///confirm?token=s3cret"}}
			return s
		}(), nil, "spec.analysis.hooks[1].url http:///confirm?<redacted>: not an absolute http(s) URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewPlan(tc.spec)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.steps, p.Steps)
		})
	}
}

func TestParseRequest(t *testing.T) {
	cases := []struct {
		in      string
		want    *Request
		wantErr string
	}{
		{"abort:abc123", &Request{Verb: VerbAbort, Revision: "abc123"}, ""},
		{" promote:abc ", &Request{Verb: VerbPromote, Revision: "abc"}, ""},
		{"retry:abc", &Request{Verb: VerbRetry, Revision: "abc"}, ""},
		{"approve:abc:2", &Request{Verb: VerbApprove, Revision: "abc", Step: 2}, ""},
		{"abort", nil, "missing the revision"},
		{"abort:", nil, "missing the revision"},
		{"approve:abc", nil, "approve needs the step"},
		{"approve:abc:zero", nil, "the step must be a number from 1"},
		{"approve:abc:0", nil, "the step must be a number from 1"},
		{"abort:abc:1", nil, "too many parts"},
		{"rollback:abc", nil, `unknown verb "rollback"`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRequest(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.ErrorContains(t, err, AnnotationRequest, "the error names the annotation")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.Equal(t, strings.TrimSpace(tc.in), got.String())
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"abort:x", "approve:x:1", "approve:x:-1", ":::", "promote:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(s)
		if err != nil {
			return
		}
		again, err := ParseRequest(r.String())
		require.NoError(t, err)
		require.Equal(t, r, again)
	})
}

// passUntilStep2 passes every look of step 1 and answers step 2's with step2.
func passUntilStep2(step2 func(*sim) LookAction) func(*sim) LookAction {
	return func(s *sim) LookAction {
		if s.st.Step == 2 {
			return step2(s)
		}
		return LookPass
	}
}

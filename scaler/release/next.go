package release

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
)

// States of a Release, as shown in status.state.
const (
	StateInitializing    = "Initializing"
	StateIdle            = "Idle"
	StateProgressing     = "Progressing"
	StateWaitingApproval = "WaitingApproval"
	StatePaused          = "Paused"
	StateFrozen          = "Frozen"
	StatePromoting       = "Promoting"
	StatePromoted        = "Promoted"
	StateRolledBack      = "RolledBack"
)

// Revision outcomes recorded in status.revisions.
const (
	OutcomePromoted   = "Promoted"
	OutcomeRolledBack = "RolledBack"
	OutcomeSuperseded = "Superseded"
)

// Event reasons; one CamelCase word each.
const (
	ReasonInitialized        = "Initialized"
	ReasonReleaseStarted     = "ReleaseStarted"
	ReasonReleaseCancelled   = "ReleaseCancelled"
	ReasonWeightChanged      = "WeightChanged"
	ReasonWaitingForApproval = "WaitingForApproval"
	ReasonApproved           = "Approved"
	ReasonPaused             = "Paused"
	ReasonFrozen             = "Frozen"
	ReasonResumed            = "Resumed"
	ReasonAnalysisHeld       = "AnalysisHeld"
	ReasonPromoting          = "Promoting"
	ReasonPromoted           = "Promoted"
	ReasonRolledBack         = "RolledBack"
	ReasonHookFailed         = "HookFailed"
	ReasonPromotionStalled   = "PromotionStalled"
	ReasonRequestIgnored     = "RequestIgnored"
)

// Bounds on the lists kept in status.
const (
	maxHistory   = 50
	maxRevisions = 20
)

// pollInterval is how often the controller looks again while it waits for
// something it cannot be told about (pods becoming ready).
const pollInterval = 5 * time.Second

// LookAction is what one analysis look concluded about the current step.
type LookAction string

// Look actions, as the analyzer's sequential decision returns them.
const (
	LookContinue LookAction = "Continue"
	LookRollback LookAction = "Rollback"
	LookPass     LookAction = "Promote"
	LookHold     LookAction = "Hold"
)

// Look is the outcome of one analysis look, computed by the controller
// (collector + analyzer) when Next asks for it.
type Look struct {
	Action  LookAction
	Score   float64
	Verdict string
	Reason  string
	Metrics []trimtabv1.MetricOutcome
	// Analysis is the sequential state after this look.
	Analysis trimtabv1.AnalysisProgress
}

// HookResult is the outcome of running every hook of one phase.
type HookResult struct {
	Phase   trimtabv1.HookPhase
	Passed  bool
	Message string
}

// Observed is what the controller saw this reconcile.
type Observed struct {
	// TargetRevision is the hash of the target Deployment's pod template.
	TargetRevision string
	// PrimaryRevision is the hash of the primary's pod template; empty when
	// the primary does not exist yet.
	PrimaryRevision string
	// PrimaryReady: the primary's rollout of PrimaryRevision is complete.
	PrimaryReady bool
	// CanaryReadyWeight is the largest traffic weight the canary's ready pods
	// of TargetRevision can carry (100 when it runs at full size), or -1
	// when it has none. The controller computes it with the router's split.
	CanaryReadyWeight int32
	// RouteRefused: the router refused the release's weight at the last
	// reconcile (a problem only the user can fix, still reported), so the
	// step's traffic is not flowing.
	RouteRefused bool
	// Paused and Frozen come from the Release's annotations.
	Paused, Frozen bool
	// Request is a one-shot request (abort, approve, promote, retry).
	Request *Request
	// Look answers NeedLook; Hooks answer NeedHooks, by phase: one
	// decision may cross two phases (a single step at 100 % runs the
	// pre-rollout and the pre-promotion hooks), and each must run once.
	Look  *Look
	Hooks map[trimtabv1.HookPhase]HookResult
}

// Need is I/O the controller must do before Next can decide.
type Need string

// Needs.
const (
	NeedNothing Need = ""
	NeedLook    Need = "Look"
	NeedHooks   Need = "Hooks"
)

// Event is a Kubernetes Event to record on the Release.
type Event struct {
	Type, Reason, Message string
}

// World is the state the Release's objects must be in. It is derived from
// the status alone, so a controller that restarts after writing the status
// makes the same world again: actions are never lost and never doubled.
type World struct {
	// Canary: the target Deployment runs (at Sizing); otherwise it is at 0.
	Canary bool
	Sizing Sizing
	// Baseline: <name>-baseline runs the stable template, sized like the canary.
	Baseline bool
	// Weight is the canary's share of traffic in percent.
	Weight int32
	// SizeWeight is the weight the canary is sized for: the current step's,
	// so its pods are ready before its traffic grows.
	SizeWeight int32
	// PrimaryRevision is the template revision the primary must carry. The
	// controller copies the target's template into the primary only when the
	// target's revision is this one, so an unreleased revision never reaches
	// the primary.
	PrimaryRevision string
}

// Decision is what Next decided.
type Decision struct {
	Status trimtabv1.ReleaseStatus
	World  World
	// Need, when set, asks the controller for a Look or for running the hooks
	// of NeedHook, then to call Next again with the answer.
	Need     Need
	NeedHook trimtabv1.HookPhase
	Events   []Event
	// RequeueAfter is when to reconcile again if nothing else happens.
	RequeueAfter time.Duration
}

// Next decides the release's next step. It is pure: the same plan, status,
// observation and now always give the same decision.
func Next(p Plan, st trimtabv1.ReleaseStatus, o Observed, now time.Time) Decision {
	m := &machine{p: p, o: o, now: now, st: st.DeepCopy()}
	m.decide()
	m.settleRequest(st.HandledRequest)
	m.st.ExpectedCompletionTime = m.expectedCompletion()
	return Decision{
		Status: *m.st, World: m.world(), Need: m.need, NeedHook: m.needHook,
		Events: m.events, RequeueAfter: m.requeue,
	}
}

type machine struct {
	p        Plan
	o        Observed
	now      time.Time
	st       *trimtabv1.ReleaseStatus
	need     Need
	needHook trimtabv1.HookPhase
	events   []Event
	requeue  time.Duration
	// acted: this decision acted on the request.
	acted bool
}

func (m *machine) decide() {
	switch m.st.State {
	case "", StateInitializing:
		m.initialize()
	case StateIdle, StatePromoted, StateRolledBack:
		m.idle()
	case StatePromoting:
		m.promote()
	default:
		m.progress()
	}
}

// initialize adopts the target: its template becomes the stable revision
// the primary serves.
func (m *machine) initialize() {
	m.st.State = StateInitializing
	if m.st.StableRevision == "" || m.o.PrimaryRevision == "" {
		m.st.StableRevision = m.o.TargetRevision
	}
	if m.o.PrimaryRevision == m.st.StableRevision && m.o.PrimaryReady {
		m.st.State = StateIdle
		m.event(corev1.EventTypeNormal, ReasonInitialized, "Primary serves revision %s; changes to the target's pod template will be released", m.st.StableRevision)
		m.idle()
		return
	}
	m.wait(pollInterval)
}

func (m *machine) idle() {
	// Between any two releases, not only right after the rollback: the
	// template may come back after another revision was promoted.
	if m.o.TargetRevision == m.st.FailedRevision && m.take(Request{Verb: VerbRetry, Revision: m.st.FailedRevision}) {
		m.st.FailedRevision = ""
	}
	switch m.o.TargetRevision {
	case m.st.StableRevision, m.st.FailedRevision:
		return
	}
	m.start()
}

// start begins releasing the target's current revision at step 1.
func (m *machine) start() {
	m.st.CanaryRevision = m.o.TargetRevision
	m.st.State = StateProgressing
	m.st.Step, m.st.Weight = 1, 0
	m.st.Score, m.st.Metrics = "", nil
	m.st.HooksCompleted, m.st.ApprovedStep = nil, 0
	m.restartStep()
	m.event(corev1.EventTypeNormal, ReasonReleaseStarted, "Releasing revision %s (stable %s): %s", m.st.CanaryRevision, m.st.StableRevision, m.p.describe())
	m.progress()
}

// restartStep (re)starts the current step's clock and analysis.
func (m *machine) restartStep() {
	m.st.StepStartTime, m.st.CanaryUnreadySince = m.time(), nil
	m.st.LastLookTime = nil
	m.st.Analysis = nil
}

func (m *machine) progress() {
	if m.o.TargetRevision != m.st.CanaryRevision {
		m.supersede()
		return
	}
	// The spec may have lost steps since the release began.
	m.st.Step = min(max(m.st.Step, 1), int32(len(m.p.Steps)))
	switch {
	case m.take(Request{Verb: VerbAbort, Revision: m.st.CanaryRevision}):
		m.rollback("aborted on request", false)
		return
	case m.take(Request{Verb: VerbPromote, Revision: m.st.CanaryRevision}):
		// A person promotes it, not the last look's score.
		m.st.Score = ""
		m.startPromotion(fmt.Sprintf("promoted on request (%s=%s) at step %d of %d", AnnotationRequest, m.o.Request, m.st.Step, len(m.p.Steps)))
		return
	case m.o.Frozen:
		m.hold(StateFrozen, ReasonFrozen, "Release frozen at step %d (%d%%): weights hold and nothing rolls back until the freeze is lifted")
		return
	case m.o.Paused:
		m.hold(StatePaused, ReasonPaused, "Release paused at step %d (%d%%)")
		return
	case m.st.State == StatePaused || m.st.State == StateFrozen:
		m.st.State = StateProgressing
		m.restartStep()
		m.event(corev1.EventTypeNormal, ReasonResumed, "Release resumed at step %d (%d%%); the step's analysis starts again", m.st.Step, m.st.Weight)
	}
	step := m.p.Steps[m.st.Step-1]

	if m.o.CanaryReadyWeight < step.Weight || m.o.CanaryReadyWeight < 0 {
		if m.st.CanaryUnreadySince == nil {
			m.st.CanaryUnreadySince = m.time()
		}
		if m.now.Sub(m.st.CanaryUnreadySince.Time) >= m.p.ProgressDeadline {
			m.rollback(fmt.Sprintf("the canary was not ready within the progress deadline (%v)", m.p.ProgressDeadline), false)
			return
		}
		m.wait(pollInterval)
		return
	}
	m.st.CanaryUnreadySince = nil
	// Hooks run once the canary's pods are ready, before its traffic: a
	// pre-rollout smoke test needs a canary to call.
	if m.st.Step == 1 && m.hookPending(trimtabv1.HookPreRollout) {
		return
	}
	if step.Weight == 100 && m.st.Weight < 100 && m.hookPending(trimtabv1.HookPrePromotion) {
		return
	}
	if m.st.Weight != step.Weight || m.st.LastLookTime == nil {
		// Analysis starts when the step's traffic flows, or, at a step
		// that keeps the weight (blue-green's preview at 0 %), when its
		// pods are ready: the preview's time must not go to its start-up.
		changed := m.st.Weight != step.Weight
		m.st.Weight = step.Weight
		m.restartStep()
		m.st.LastLookTime = m.time()
		if changed {
			m.event(corev1.EventTypeNormal, ReasonWeightChanged, "Canary weight %d%% (step %d/%d)", step.Weight, m.st.Step, len(m.p.Steps))
		}
	}
	if m.o.RouteRefused {
		// The step's traffic is not flowing: its clock and analysis start
		// when the router takes its weight, once the user's routing is
		// fixed. Nothing advances meanwhile; a rollback still can.
		m.restartStep()
		m.st.LastLookTime = m.time()
		m.wait(pollInterval)
		return
	}
	if m.st.State == StateWaitingApproval && m.take(Request{Verb: VerbApprove, Revision: m.st.CanaryRevision, Step: m.st.Step}) {
		m.st.ApprovedStep = m.st.Step
		m.event(corev1.EventTypeNormal, ReasonApproved, "Step %d approved", m.st.Step)
		m.advance()
		return
	}
	if !m.p.Analysed {
		end := m.st.StepStartTime.Add(step.Analysis)
		switch {
		case m.now.Before(end):
			m.waitUntil(end)
		case m.st.State == StateProgressing:
			m.stepPassed()
		default:
			// Waiting for a person, whose approval (an annotation)
			// reconciles at once: the poll only keeps the state fresh.
			m.wait(pollInterval)
		}
		return
	}
	m.look(step)
}

// look takes an analysis look when one is due and acts on it.
func (m *machine) look(step Step) {
	next := m.st.StepStartTime.Add(m.p.Window())
	if m.st.LastLookTime != nil {
		next = later(next, m.st.LastLookTime.Add(m.p.Interval))
	}
	if m.now.Before(next) {
		m.waitUntil(next)
		return
	}
	l := m.o.Look
	if l == nil {
		m.need = NeedLook
		return
	}
	m.record(l)
	m.wait(m.p.Interval)
	switch {
	case l.Action == LookRollback:
		m.rollback(l.Reason, true)
	case m.st.State == StateWaitingApproval:
		// Only a regression matters while a person decides; keep watching
		// with a fresh analysis once one ends.
		if l.Action != LookContinue {
			m.st.Analysis = nil
		}
	case l.Action == LookPass:
		m.stepPassed()
	default: // Continue or Hold
		// Checked at every look, not only at a Hold: after one, a fresh
		// analysis says Continue for a whole step again, past the
		// deadline the Hold announced.
		deadline := m.st.StepStartTime.Add(step.Analysis + m.p.ProgressDeadline)
		if !m.now.Before(deadline) {
			m.rollback(fmt.Sprintf("no verdict within the step's analysis plus the progress deadline (%v): %s", step.Analysis+m.p.ProgressDeadline, l.Reason), false)
			return
		}
		if l.Action == LookHold {
			// Judge the step afresh as data arrives; the deadline still
			// counts from the step's start.
			m.st.Analysis = nil
			m.event(corev1.EventTypeWarning, ReasonAnalysisHeld, "Step %d holds: %s; rolling back at %s unless it passes", m.st.Step, l.Reason, deadline.UTC().Format(time.RFC3339))
		}
	}
}

func (m *machine) record(l *Look) {
	score := strconv.FormatFloat(l.Score, 'f', 1, 64)
	analysis := l.Analysis
	m.st.Analysis = &analysis
	m.st.LastLookTime = m.time()
	m.st.Score = score
	m.st.Metrics = l.Metrics
	rec := trimtabv1.AnalysisRecord{
		Time: *m.time(), Revision: m.st.CanaryRevision, Step: m.st.Step, Weight: m.st.Weight,
		Score: score, Verdict: l.Verdict, Reason: l.Reason,
	}
	m.st.History = bounded(append([]trimtabv1.AnalysisRecord{rec}, m.st.History...), maxHistory)
}

func (m *machine) stepPassed() {
	if m.p.Steps[m.st.Step-1].Gate && m.st.ApprovedStep < m.st.Step {
		m.st.State = StateWaitingApproval
		m.st.Analysis = nil
		m.event(corev1.EventTypeNormal, ReasonWaitingForApproval,
			"Step %d (%d%%) passed and waits for approval: annotate this Release with %s=approve:%s:%d (kubectl annotate --overwrite: an earlier request may still stand)", m.st.Step, m.st.Weight, AnnotationRequest, m.st.CanaryRevision, m.st.Step)
		return
	}
	m.advance()
}

func (m *machine) advance() {
	if int(m.st.Step) >= len(m.p.Steps) {
		m.startPromotion("every step passed")
		return
	}
	m.st.State = StateProgressing
	m.st.Step++
	m.restartStep()
	m.progress()
}

func (m *machine) startPromotion(reason string) {
	m.st.State = StatePromoting
	m.st.StepStartTime = m.time()
	// Kept for the Promoted record: the primary's rollout takes reconciles.
	m.st.PromotionReason = reason
	m.event(corev1.EventTypeNormal, ReasonPromoting, "Promoting revision %s: %s", m.st.CanaryRevision, reason)
	m.promote()
}

// promote copies the canary's template into the primary (through World),
// waits for the primary's rollout, then returns all traffic to it.
func (m *machine) promote() {
	primaryHasCanary := m.o.PrimaryRevision == m.st.CanaryRevision
	if !primaryHasCanary {
		if m.o.TargetRevision != m.st.CanaryRevision {
			m.supersede()
			return
		}
		if m.take(Request{Verb: VerbAbort, Revision: m.st.CanaryRevision}) {
			m.rollback("aborted on request", false)
			return
		}
		if m.hookPending(trimtabv1.HookPrePromotion) {
			return
		}
	}
	if primaryHasCanary && m.o.PrimaryReady {
		m.st.State = StatePromoted
		m.st.StableRevision = m.st.CanaryRevision
		m.st.Weight = 0
		m.end(OutcomePromoted, m.st.PromotionReason)
		m.event(corev1.EventTypeNormal, ReasonPromoted, "Revision %s promoted; the primary serves all traffic", m.st.CanaryRevision)
		m.hookPending(trimtabv1.HookPostRollout)
		return
	}
	// Repeated at every poll while it lasts; the event recorder folds the
	// repeats into one Event series.
	if m.now.Sub(m.st.StepStartTime.Time) >= m.p.ProgressDeadline {
		m.event(corev1.EventTypeWarning, ReasonPromotionStalled, "The primary has not finished rolling out revision %s within the progress deadline (%v)", m.st.CanaryRevision, m.p.ProgressDeadline)
	}
	m.wait(pollInterval)
}

// rollback sends all traffic back to the primary and stops the canary and
// baseline; World applies both in the same reconcile. judged: a look's
// verdict rolls it back, and its score, kept, explains the rollback; any
// other score would read as the reason (kubectl get shows it).
func (m *machine) rollback(reason string, judged bool) {
	m.st.State = StateRolledBack
	m.st.Weight = 0
	if !judged {
		m.st.Score = ""
	}
	m.st.FailedRevision = m.st.CanaryRevision
	m.end(OutcomeRolledBack, reason)
	m.event(corev1.EventTypeWarning, ReasonRolledBack, "Rolled back revision %s at step %d: %s", m.st.CanaryRevision, m.st.Step, reason)
}

// supersede ends the release of CanaryRevision because the target changed
// again: back to idle when the user reverted, otherwise a new release of the
// newest revision.
func (m *machine) supersede() {
	m.end(OutcomeSuperseded, "the target changed to "+m.o.TargetRevision)
	if m.o.TargetRevision == m.st.StableRevision {
		m.st.State, m.st.Weight, m.st.Score = StateIdle, 0, ""
		m.event(corev1.EventTypeNormal, ReasonReleaseCancelled, "Release of %s cancelled: the target is back at the stable revision", m.st.CanaryRevision)
		return
	}
	m.start()
}

func (m *machine) hold(state, reason, format string) {
	if m.st.State != state {
		m.st.State = state
		m.event(corev1.EventTypeNormal, reason, format, m.st.Step, m.st.Weight)
	}
}

// hookPending asks for the phase's hooks when they have not run for this
// revision, and handles their result when it is in the observation.
func (m *machine) hookPending(phase trimtabv1.HookPhase) bool {
	if !m.p.Hooks[phase] || slices.Contains(m.st.HooksCompleted, phase) {
		return false
	}
	h, ran := m.o.Hooks[phase]
	if !ran {
		m.need, m.needHook = NeedHooks, phase
		return true
	}
	m.st.HooksCompleted = append(m.st.HooksCompleted, phase)
	if h.Passed {
		return false
	}
	if phase == trimtabv1.HookPostRollout {
		m.event(corev1.EventTypeWarning, ReasonHookFailed, "Post-rollout hooks of %s failed: %s", m.st.CanaryRevision, h.Message)
		return false
	}
	m.rollback(fmt.Sprintf("%s hook failed: %s", phase, h.Message), false)
	return true
}

// end records how the release of CanaryRevision ended.
func (m *machine) end(outcome, reason string) {
	m.st.PromotionReason = ""
	rec := trimtabv1.RevisionRecord{Revision: m.st.CanaryRevision, Outcome: outcome, Time: *m.time(), Reason: reason}
	m.st.Revisions = bounded(append([]trimtabv1.RevisionRecord{rec}, m.st.Revisions...), maxRevisions)
}

// step is the current step; the spec may have lost steps since the
// release began.
func (m *machine) step() Step {
	return m.p.Steps[min(max(m.st.Step, 1), int32(len(m.p.Steps)))-1]
}

// world derives the objects' state from the status.
func (m *machine) world() World {
	w := World{PrimaryRevision: m.st.StableRevision, Sizing: m.p.Sizing}
	switch m.st.State {
	case StateProgressing, StateWaitingApproval, StatePaused, StateFrozen:
		w.Canary, w.Baseline, w.Weight = true, m.p.Baseline, m.st.Weight
		w.SizeWeight = max(w.Weight, m.step().Weight)
	case StatePromoting:
		// The canary keeps its share until the primary runs its template.
		w.Canary, w.Baseline, w.Weight, w.SizeWeight = true, m.p.Baseline, m.st.Weight, m.st.Weight
		w.PrimaryRevision = m.st.CanaryRevision
	}
	return w
}

func (m *machine) expectedCompletion() *metav1.Time {
	switch m.st.State {
	case StateProgressing, StateWaitingApproval:
	default:
		return nil
	}
	i := int(m.st.Step) - 1
	end := m.st.StepStartTime.Add(m.p.remaining(i))
	if end.Before(m.now) {
		end = m.now
	}
	t := metav1.NewTime(end)
	return &t
}

func (m *machine) event(typ, reason, format string, args ...any) {
	m.events = append(m.events, Event{Type: typ, Reason: reason, Message: fmt.Sprintf(format, args...)})
}

func (m *machine) wait(d time.Duration) {
	if m.requeue == 0 || d < m.requeue {
		m.requeue = d
	}
}

func (m *machine) waitUntil(t time.Time) { m.wait(max(t.Sub(m.now), time.Second)) }

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (m *machine) time() *metav1.Time {
	t := metav1.NewTime(m.now)
	return &t
}

func (p Plan) describe() string {
	parts := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		parts[i] = fmt.Sprintf("%d%% for %v", s.Weight, s.Analysis)
		if s.Gate {
			parts[i] += " then approval"
		}
	}
	return strings.Join(parts, ", ")
}

func bounded[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

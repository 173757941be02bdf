package analyzer

import (
	"fmt"
	"math"
	"time"
)

// Action is what the sequential decision asks the controller to do.
type Action string

// Actions returned by Decide.
const (
	// Continue: no conclusion yet; judge again at the next interval.
	Continue Action = "Continue"
	// Rollback: the canary regressed (or a critical guard rail broke).
	Rollback Action = "Rollback"
	// Promote: the planned duration passed and the final look passed.
	Promote Action = "Promote"
	// Hold: the analysis ended without a verdict (marginal score or missing
	// data); a person has to decide.
	Hold Action = "Hold"
)

// DefaultFalseRollbackRate is the default α of a whole sequential analysis.
const DefaultFalseRollbackRate = 0.01

// DefaultFinalShare is the part of α reserved for the final look.
const DefaultFinalShare = 0.5

// Plan describes one sequential analysis: looks at any times the controller
// chooses (every interval, on growing windows) between Start and
// Start+Duration.
type Plan struct {
	// Duration is the planned analysis length; Promote only comes at or after
	// it.
	Duration time.Duration `json:"duration"`
	// FalseRollbackRate is α: the probability that an analysis of a canary
	// identical to its baseline rolls back at any look. Default 0.01.
	FalseRollbackRate float64 `json:"falseRollbackRate,omitempty"`
	// FinalShare is the part of α kept for the final look (default 0.5); the
	// rest is spent on the interim looks, O'Brien-Fleming style.
	FinalShare float64 `json:"finalShare,omitempty"`
}

// SequentialState is everything Decide needs from earlier looks: small and
// JSON-serializable, for the Release status.
type SequentialState struct {
	// Start is when the analysis began; Decide sets it on the first look.
	Start time.Time `json:"start"`
	// Looks counts the looks taken.
	Looks int `json:"looks"`
	// Spent is the part of the interim α already spent.
	Spent float64 `json:"spent"`
	// Final is the terminal action once one was reached; later looks repeat it.
	Final Action `json:"final,omitempty"`
}

// Decision is the outcome of one look.
type Decision struct {
	Action Action `json:"action"`
	Reason string `json:"reason"`
	// Fraction is the elapsed share of the planned duration, in [0,1].
	Fraction float64 `json:"fraction"`
	// Alpha is the significance level each metric was judged at.
	Alpha  float64         `json:"alpha"`
	Result Result          `json:"result"`
	State  SequentialState `json:"state"`
}

// Validate reports the first error in the plan, naming the field.
func (p Plan) Validate() error {
	if p.Duration <= 0 {
		return fmt.Errorf("plan.duration: must be positive, got %v", p.Duration)
	}
	if p.FalseRollbackRate != 0 && !(p.FalseRollbackRate > 0 && p.FalseRollbackRate < 1) {
		return fmt.Errorf("plan.falseRollbackRate: must be in (0,1), e.g. 0.01; got %v", p.FalseRollbackRate)
	}
	if p.FinalShare != 0 && !(p.FinalShare > 0 && p.FinalShare <= 1) {
		return fmt.Errorf("plan.finalShare: must be in (0,1], got %v", p.FinalShare)
	}
	return nil
}

// Decide takes one look of a sequential analysis: it judges the current
// windows at this look's significance level and says whether to roll back,
// promote, hold or continue.
//
// The false rollback rate of the whole analysis stays at or under α by a
// union bound that needs no assumption on how the looks correlate: each look
// spends a slice of α, the slices sum to at most α, and the slice is split
// evenly over the scored metrics (Bonferroni). A statistical rollback needs a
// metric whose test rejects at its slice, which under "canary = baseline"
// happens with probability at most that slice. The interim looks together
// spend (1 − FinalShare)·α along the O'Brien-Fleming spending function
// 2 − 2Φ(z_{1−α'/2}/√t) of the elapsed fraction t, so early looks only stop
// on strong evidence; the final look gets FinalShare·α plus whatever the
// interim looks left. Guard-rail and no-data failures are not statistical
// and spend nothing: a critical guard-rail breach rolls back at any look.
//
// The cost of a look is one Judge plus O(1).
func Decide(plan Plan, cfg Config, state SequentialState, metrics []MetricInput, now time.Time) (Decision, error) {
	if err := plan.Validate(); err != nil {
		return Decision{}, err
	}
	if err := validate(cfg, metrics); err != nil {
		return Decision{}, err
	}
	if state.Final != "" {
		return Decision{Action: state.Final, Reason: "analysis already ended", Fraction: 1, State: state}, nil
	}
	if state.Start.IsZero() {
		state.Start = now
	}
	state.Looks++
	alpha := plan.FalseRollbackRate
	if alpha == 0 {
		alpha = DefaultFalseRollbackRate
	}
	share := plan.FinalShare
	if share == 0 {
		share = DefaultFinalShare
	}
	interim := (1 - share) * alpha
	t := float64(now.Sub(state.Start)) / float64(plan.Duration)
	t = math.Max(0, math.Min(1, t))
	final := t >= 1
	var slice float64
	if final {
		slice = alpha - state.Spent
		state.Spent = interim
	} else {
		target := obrienFleming(interim, t)
		slice = math.Max(0, target-state.Spent)
		state.Spent = math.Max(state.Spent, target)
	}
	scored := 0
	for _, m := range metrics {
		if !m.Muted {
			scored++
		}
	}
	level := slice / float64(max(scored, 1))
	if level <= 0 {
		// Nothing to spend at this look: no statistical test may reject.
		level = math.SmallestNonzeroFloat64
	}
	res := judge(cfg, metrics, level)
	d := Decision{Fraction: t, Alpha: level, Result: res}
	d.Action, d.Reason = act(res, final)
	if d.Action != Continue {
		state.Final = d.Action
	}
	d.State = state
	return d, nil
}

// act maps one look's judgement to an action.
func act(res Result, final bool) (Action, string) {
	holds := 0
	for _, m := range res.Metrics {
		if m.Classification == Nodata && !m.Muted {
			holds++
		}
	}
	switch {
	case res.CriticalFailure:
		return Rollback, res.Reason
	case res.Verdict == VerdictFail && !res.TooManyNodata:
		return Rollback, fmt.Sprintf("score %.2f is below the marginal score", res.Score)
	case !final:
		return Continue, fmt.Sprintf("score %.2f, %d metric(s) waiting for data", res.Score, holds)
	case res.TooManyNodata || holds > 0:
		return Hold, fmt.Sprintf("analysis ended with %d metric(s) still without enough data", holds)
	case res.Verdict == VerdictMarginal:
		return Hold, fmt.Sprintf("analysis ended with a marginal score %.2f", res.Score)
	}
	return Promote, fmt.Sprintf("analysis ended with score %.2f", res.Score)
}

// obrienFleming is the Lan-DeMets O'Brien-Fleming-type spending function: the
// share of a two-sided level a spent by information fraction t.
func obrienFleming(a, t float64) float64 {
	if t <= 0 || a <= 0 {
		return 0
	}
	if t >= 1 {
		return a
	}
	z := normQuantile(1 - a/2)
	return 2 * normSurv(z/math.Sqrt(t))
}

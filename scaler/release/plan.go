// Package release decides, as a pure function of a Release's spec, its
// status and what the controller observed, what a release does next: which
// traffic weight, whether the canary runs, when to look at metrics, when to
// promote and when to roll back. The Release controller (internal/controller)
// does the I/O around it: it observes, asks Next, writes the returned status,
// and then makes the world match the returned World, idempotently.
//
// It lives under scaler/ because releases and scaling share the replica
// arithmetic of a workload: the scaler reads World's proportions to scale
// primary and canary together during a release.
//
// The model: the user keeps applying their own Deployment (the target). On
// adoption trimtab creates <name>-primary from the target's pod template and
// serves all traffic from it; the target becomes the canary and is scaled to
// 0 between releases. A change of the target's pod template is a new
// revision and starts a release.
package release

import (
	"fmt"
	"net/url"
	"time"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
)

// DefaultSteps is the canary schedule when a Release names none: 10% for
// 15 minutes, then 25%, 50% and 75% for 5 minutes each.
var DefaultSteps = []Step{
	{Weight: 10, Analysis: 15 * time.Minute},
	{Weight: 25, Analysis: 5 * time.Minute},
	{Weight: 50, Analysis: 5 * time.Minute},
	{Weight: 75, Analysis: 5 * time.Minute},
}

// Step is one traffic weight held for an analysis duration.
type Step struct {
	Weight   int32
	Analysis time.Duration
	// Gate makes the step wait for an approval after it passes.
	Gate bool
}

// Sizing says how large the canary runs.
type Sizing string

const (
	// SizeProportional sizes the canary by its traffic weight (canary steps).
	SizeProportional Sizing = "Proportional"
	// SizeFull runs the canary as large as the primary (blue-green).
	SizeFull Sizing = "Full"
)

// Plan is a Release spec normalised for the state machine: defaults
// applied, durations as time.Duration, blue-green expressed as steps.
type Plan struct {
	Steps  []Step
	Sizing Sizing
	// Baseline runs a copy of the stable version sized like the canary.
	Baseline         bool
	Interval         time.Duration
	ProgressDeadline time.Duration
	// Analysed is false when the Release has no metrics: steps then pass on
	// their duration alone.
	Analysed bool
	// Hooks lists the phases that have at least one hook.
	Hooks map[trimtabv1.HookPhase]bool
}

// NewPlan normalises spec. The API server has validated it; what remains
// are defaults and the blue-green translation: verification at weight 0
// through the preview Service, then a switch to 100% held for the rollback
// window, during which a rollback is instant because the primary stays up.
func NewPlan(spec trimtabv1.ReleaseSpec) (Plan, error) {
	p := Plan{
		Interval:         seconds(spec.Analysis.IntervalSeconds, 30),
		ProgressDeadline: seconds(spec.ProgressDeadlineSeconds, 600),
		Analysed:         len(spec.Analysis.Metrics) > 0,
		Hooks:            map[trimtabv1.HookPhase]bool{},
		Sizing:           SizeProportional,
	}
	for i, h := range spec.Analysis.Hooks {
		// Checked before the release starts: found when the hook runs, a
		// typo would roll back a good canary, at its last step for a
		// pre-promotion hook.
		if !ValidHookURL(h.URL) {
			return Plan{}, fmt.Errorf("spec.analysis.hooks[%d].url %s: not an absolute http(s) URL (http://host/path)", i, collector.RedactURL(h.URL))
		}
		p.Hooks[h.Phase] = true
	}
	switch s := spec.Strategy; {
	case s.Canary != nil && len(s.Canary.Steps) > 0:
		for i, st := range s.Canary.Steps {
			if i > 0 && st.Weight < s.Canary.Steps[i-1].Weight {
				return Plan{}, fmt.Errorf("spec.strategy.canary.steps[%d].weight: %d is below the previous step's %d; weights must not decrease", i, st.Weight, s.Canary.Steps[i-1].Weight)
			}
			p.Steps = append(p.Steps, Step{Weight: st.Weight, Analysis: secs(st.AnalysisSeconds), Gate: st.ManualGate})
		}
		p.Baseline = s.Canary.Baseline
	case s.Canary != nil:
		p.Steps = append([]Step(nil), DefaultSteps...)
		p.Baseline = s.Canary.Baseline
	case s.BlueGreen != nil:
		p.Sizing = SizeFull
		p.Steps = []Step{
			{Weight: 0, Analysis: secs(s.BlueGreen.AnalysisSeconds)},
			{Weight: 100, Analysis: secs(s.BlueGreen.RollbackWindowSeconds)},
		}
	default:
		return Plan{}, fmt.Errorf("spec.strategy: set exactly one of canary or blueGreen")
	}
	return p, nil
}

// ValidHookURL says whether raw is an absolute http(s) URL a hook can call.
func ValidHookURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// secs converts a duration the API server has defaulted; 0 means 0.
func secs(v int32) time.Duration { return time.Duration(v) * time.Second }

// seconds converts a duration whose 0 means "unset".
func seconds(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// Window is the span each analysis sample covers: a rate over two
// intervals always spans two looks' scrapes (Prometheus' rule of thumb: a
// window of at least twice the scrape interval). A step's first look waits
// until one window lies inside the step, so that no sample mixes in what
// the variants did before it (a canary starting up, a lower weight).
func (p Plan) Window() time.Duration { return 2 * p.Interval }

// stepTakes is how long step i (0-based) takes when it passes on its first
// try: an analysed step's analysis starts at its first look, a window in.
func (p Plan) stepTakes(i int) time.Duration {
	if p.Analysed {
		return p.Window() + p.Steps[i].Analysis
	}
	return p.Steps[i].Analysis
}

// remaining is how long the steps from index i (0-based) on take when each
// passes on its first try.
func (p Plan) remaining(i int) time.Duration {
	var d time.Duration
	for ; i < len(p.Steps); i++ {
		d += p.stepTakes(i)
	}
	return d
}

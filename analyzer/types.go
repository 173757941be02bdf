package analyzer

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// Mode selects the judging rules.
type Mode string

const (
	// ModeTrimtab is the default judge: deterministic, exact Hodges-Lehmann
	// interval, tolerance against the baseline level, minimum-sample guard.
	ModeTrimtab Mode = "trimtab"
	// ModeKayenta reproduces Kayenta's NetflixACAJudge-v1.0 verdicts.
	ModeKayenta Mode = "kayenta"
)

// Direction says which change of a metric is a regression.
type Direction string

// Directions accepted by MetricConfig.Direction.
const (
	Increase Direction = "increase"
	Decrease Direction = "decrease"
	Either   Direction = "either"
)

// NaNStrategy says what happens to NaN samples before judging.
type NaNStrategy string

// NaN strategies accepted by MetricConfig.NaNStrategy.
const (
	NaNRemove  NaNStrategy = "remove"
	NaNReplace NaNStrategy = "replace"
)

// OutlierStrategy says whether Kayenta's IQR outlier filter runs.
type OutlierStrategy string

// Outlier strategies accepted by MetricConfig.Outliers.
const (
	OutliersKeep   OutlierStrategy = "keep"
	OutliersRemove OutlierStrategy = "remove"
)

// EffectMeasure names the effect size used by the effect-size gates.
type EffectMeasure string

const (
	// MeanRatio is mean(canary)/mean(baseline); NaN when either mean is 0.
	MeanRatio EffectMeasure = "meanRatio"
	// CLES is the common-language effect size P(canary > baseline), ties ½.
	CLES EffectMeasure = "cles"
)

// NoDataPolicy says what a metric without enough data means (trimtab mode).
type NoDataPolicy string

const (
	// NoDataHold reports Nodata and makes the sequential decision wait.
	NoDataHold NoDataPolicy = "hold"
	// NoDataFail reports NodataFailMetric, a failure in the metric's groups.
	NoDataFail NoDataPolicy = "fail"
	// NoDataPass reports Pass.
	NoDataPass NoDataPolicy = "pass"
)

// Statistic names the canary summary a guard-rail threshold is checked on.
type Statistic string

// Statistics accepted by Thresholds.Statistic.
const (
	StatMean Statistic = "mean"
	StatP50  Statistic = "p50"
	StatP90  Statistic = "p90"
	StatP99  Statistic = "p99"
	StatMax  Statistic = "max"
)

// Classification is the per-metric verdict, with Kayenta's labels.
type Classification string

// Classifications, as in Kayenta.
const (
	Pass             Classification = "Pass"
	High             Classification = "High"
	Low              Classification = "Low"
	Nodata           Classification = "Nodata"
	NodataFailMetric Classification = "NodataFailMetric"
	Error            Classification = "Error"
)

// Verdict classifies the summary score against the pass and marginal scores.
type Verdict string

// Verdicts, as in Kayenta's ThresholdScoreClassifier.
const (
	VerdictPass     Verdict = "Pass"
	VerdictMarginal Verdict = "Marginal"
	VerdictFail     Verdict = "Fail"
)

// Defaults that are the same in both modes.
const (
	DefaultConfidence    = 0.98 // NetflixACAJudge's fixed confidence level
	DefaultPassScore     = 95.0
	DefaultMarginalScore = 75.0
	DefaultOutlierFactor = 3.0
	// DefaultKayentaTolerance is NetflixACAJudge's fixed tolerance: a fraction
	// of |estimate|.
	DefaultKayentaTolerance = 0.25
	// DefaultTrimtabTolerance is a fraction of the baseline level: shifts
	// smaller than 5 % of the baseline are not regressions.
	DefaultTrimtabTolerance = 0.05
	// DefaultMinSamples is the smallest series trimtab mode judges; with
	// fewer points per side the rank test cannot reach usual confidence.
	DefaultMinSamples = 5
)

// EffectSize configures the effect-size gates. Nil thresholds take Kayenta's
// defaults: 1.0 for MeanRatio, 0.5 for CLES.
type EffectSize struct {
	Measure          EffectMeasure `json:"measure,omitempty"`
	AllowedIncrease  *float64      `json:"allowedIncrease,omitempty"`
	AllowedDecrease  *float64      `json:"allowedDecrease,omitempty"`
	CriticalIncrease *float64      `json:"criticalIncrease,omitempty"`
	CriticalDecrease *float64      `json:"criticalDecrease,omitempty"`
}

// Thresholds is a Flagger-style guard rail: the canary's Statistic must lie in
// [Min, Max]. It is checked beside the statistics in both modes; a breach is
// High (above Max) or Low (below Min), and on a critical metric it fails the
// whole canary at once.
type Thresholds struct {
	Min       *float64  `json:"min,omitempty"`
	Max       *float64  `json:"max,omitempty"`
	Statistic Statistic `json:"statistic,omitempty"` // default mean
}

// MetricConfig is the configuration of one metric. Zero values take defaults.
type MetricConfig struct {
	Name         string          `json:"name"`
	Groups       []string        `json:"groups,omitempty"`
	Direction    Direction       `json:"direction,omitempty"` // default either
	Critical     bool            `json:"critical,omitempty"`
	MustHaveData bool            `json:"mustHaveData,omitempty"`
	Muted        bool            `json:"muted,omitempty"` // reported, not scored
	NaNStrategy  NaNStrategy     `json:"nanStrategy,omitempty"`
	Outliers     OutlierStrategy `json:"outliers,omitempty"`
	// OutlierFactor is the IQR multiplier k of the outlier filter (default 3).
	OutlierFactor *float64 `json:"outlierFactor,omitempty"`
	// Confidence and Tolerance override Config's.
	Confidence float64  `json:"confidence,omitempty"`
	Tolerance  *float64 `json:"tolerance,omitempty"`
	// AbsoluteTolerance is a tolerance in metric units (trimtab mode): a shift
	// must exceed both it and Tolerance × baseline level.
	AbsoluteTolerance float64      `json:"absoluteTolerance,omitempty"`
	EffectSize        EffectSize   `json:"effectSize,omitempty"`
	OnNoData          NoDataPolicy `json:"onNoData,omitempty"`   // trimtab; overrides Config
	MinSamples        int          `json:"minSamples,omitempty"` // trimtab; overrides Config
	Thresholds        *Thresholds  `json:"thresholds,omitempty"`
}

// MetricInput is one metric's configuration and its samples for one look.
// Only values count; timestamps play no part. NaN marks a missing point.
type MetricInput struct {
	MetricConfig
	Baseline []float64 `json:"baseline"`
	Canary   []float64 `json:"canary"`
}

// Config holds the judgement-wide settings. Zero values take defaults.
type Config struct {
	Mode       Mode    `json:"mode,omitempty"`
	Confidence float64 `json:"confidence,omitempty"`
	// Tolerance is a fraction of |estimate| in kayenta mode (default 0.25) and
	// a fraction of the baseline level in trimtab mode (default 0.05).
	Tolerance     *float64           `json:"tolerance,omitempty"`
	PassScore     *float64           `json:"passScore,omitempty"`
	MarginalScore *float64           `json:"marginalScore,omitempty"`
	GroupWeights  map[string]float64 `json:"groupWeights,omitempty"`
	OnNoData      NoDataPolicy       `json:"onNoData,omitempty"`   // trimtab, default hold
	MinSamples    int                `json:"minSamples,omitempty"` // trimtab, default 5
}

// Summary describes one preprocessed series.
type Summary struct {
	Count int     `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
}

// MetricResult explains one metric's classification.
type MetricResult struct {
	Name           string         `json:"name"`
	Groups         []string       `json:"groups,omitempty"`
	Classification Classification `json:"classification"`
	// Critical is true when this result fails the whole canary.
	Critical bool `json:"critical"`
	Muted    bool `json:"muted,omitempty"`
	// Estimate is the location shift canary − baseline (Hodges-Lehmann).
	Estimate float64    `json:"estimate"`
	CI       [2]float64 `json:"ci"`
	// PValue is the Mann-Whitney p-value for the configured direction
	// (two-sided for either): exact conditional on the ties for tied
	// samples, R's continuity-corrected normal approximation otherwise.
	PValue float64 `json:"pValue"`
	// Alpha is the significance level the metric was judged at.
	Alpha      float64 `json:"alpha"`
	EffectSize float64 `json:"effectSize"`
	// Ratio is mean(canary)/mean(baseline), Kayenta's "deviation".
	Ratio float64 `json:"ratio"`
	// Bound is the tolerance in metric units that the shift had to exceed.
	Bound    float64 `json:"bound"`
	Baseline Summary `json:"baseline"`
	Canary   Summary `json:"canary"`
	Reason   string  `json:"reason"`
	// GuardRail is true when a Thresholds breach decided the classification.
	GuardRail bool `json:"guardRail,omitempty"`
}

// GroupScore is one group's share of passing metrics.
type GroupScore struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	// NoData is true when no metric of the group was scored.
	NoData bool `json:"noData,omitempty"`
}

// Result is one judgement.
type Result struct {
	Mode    Mode           `json:"mode"`
	Score   float64        `json:"score"`
	Verdict Verdict        `json:"verdict"`
	Reason  string         `json:"reason,omitempty"`
	Groups  []GroupScore   `json:"groups,omitempty"`
	Metrics []MetricResult `json:"metrics"`
	// TooManyNodata is true when Kayenta's rule (≥ 50 % Nodata) forced 0.
	TooManyNodata bool `json:"tooManyNodata,omitempty"`
	// CriticalFailure is true when a critical result forced the score to 0.
	CriticalFailure bool `json:"criticalFailure,omitempty"`
}

// resolved is a MetricConfig with every default applied.
type resolved struct {
	mode          Mode
	direction     Direction
	nan           NaNStrategy
	outliers      OutlierStrategy
	outlierFactor float64
	confidence    float64
	alpha         float64
	tolerance     float64
	absTolerance  float64
	measure       EffectMeasure
	allowedInc    float64
	allowedDec    float64
	criticalInc   float64
	criticalDec   float64
	onNoData      NoDataPolicy
	minSamples    int
	critical      bool
	mustHaveData  bool
	thresholds    *Thresholds
	// sequential is set when the sequential decision chose the level.
	sequential bool
}

func deref(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// resolve applies defaults; alphaOverride > 0 replaces 1 − confidence (the
// sequential decision judges each look at its own level).
func resolve(cfg Config, m MetricConfig, alphaOverride float64) resolved {
	r := resolved{
		mode:          cfg.Mode,
		direction:     m.Direction,
		nan:           m.NaNStrategy,
		outliers:      m.Outliers,
		outlierFactor: deref(m.OutlierFactor, DefaultOutlierFactor),
		confidence:    m.Confidence,
		absTolerance:  m.AbsoluteTolerance,
		measure:       m.EffectSize.Measure,
		onNoData:      m.OnNoData,
		minSamples:    m.MinSamples,
		critical:      m.Critical,
		mustHaveData:  m.MustHaveData,
		thresholds:    m.Thresholds,
	}
	if r.mode == "" {
		r.mode = ModeTrimtab
	}
	if r.direction != Increase && r.direction != Decrease {
		r.direction = Either
	}
	if r.nan != NaNReplace {
		r.nan = NaNRemove
	}
	if r.outliers != OutliersRemove {
		r.outliers = OutliersKeep
	}
	if r.confidence == 0 {
		r.confidence = cfg.Confidence
	}
	if r.confidence == 0 {
		r.confidence = DefaultConfidence
	}
	r.alpha = 1 - r.confidence
	if alphaOverride > 0 {
		r.alpha = alphaOverride
		r.confidence = 1 - alphaOverride
		r.sequential = true
	}
	defTol := DefaultTrimtabTolerance
	if r.mode == ModeKayenta {
		defTol = DefaultKayentaTolerance
	}
	r.tolerance = deref(m.Tolerance, deref(cfg.Tolerance, defTol))
	if r.measure != CLES {
		r.measure = MeanRatio
	}
	def := 1.0
	if r.measure == CLES {
		def = 0.5
	}
	r.allowedInc = deref(m.EffectSize.AllowedIncrease, def)
	r.allowedDec = deref(m.EffectSize.AllowedDecrease, def)
	r.criticalInc = deref(m.EffectSize.CriticalIncrease, def)
	r.criticalDec = deref(m.EffectSize.CriticalDecrease, def)
	if r.onNoData == "" {
		r.onNoData = cfg.OnNoData
	}
	if r.onNoData == "" {
		r.onNoData = NoDataHold
		if m.MustHaveData {
			r.onNoData = NoDataFail
		}
	}
	if r.minSamples == 0 {
		r.minSamples = cfg.MinSamples
	}
	if r.minSamples == 0 {
		r.minSamples = DefaultMinSamples
	}
	return r
}

// Validate reports the first configuration error, naming the field.
func (c Config) Validate() error {
	switch c.Mode {
	case "", ModeTrimtab, ModeKayenta:
	default:
		return fmt.Errorf("mode: unknown mode %q, want kayenta or trimtab", c.Mode)
	}
	if err := checkConfidence("config.confidence", c.Confidence); err != nil {
		return err
	}
	if err := checkTolerance("config.tolerance", c.Tolerance); err != nil {
		return err
	}
	pass, marginal := deref(c.PassScore, DefaultPassScore), deref(c.MarginalScore, DefaultMarginalScore)
	if !(pass >= 0 && pass <= 100) {
		return fmt.Errorf("config.passScore: must be in [0,100], got %v", pass)
	}
	if !(marginal >= 0 && marginal <= pass) {
		return fmt.Errorf("config.marginalScore: must be in [0,passScore=%v], got %v", pass, marginal)
	}
	for _, g := range slices.Sorted(maps.Keys(c.GroupWeights)) {
		if w := c.GroupWeights[g]; !(w >= 0 && w <= 100) {
			return fmt.Errorf("config.groupWeights.%s: must be in [0,100], got %v", g, w)
		}
	}
	if err := checkNoData("config.onNoData", c.OnNoData); err != nil {
		return err
	}
	if c.MinSamples < 0 {
		return fmt.Errorf("config.minSamples: must be ≥ 0, got %d", c.MinSamples)
	}
	return nil
}

// Validate reports the first error in a metric's configuration; path prefixes
// the field names (e.g. "metrics[2]").
func (m MetricConfig) Validate(path string) error {
	if m.Name == "" {
		return fmt.Errorf("%s.name: must not be empty", path)
	}
	switch m.Direction {
	case "", Increase, Decrease, Either:
	default:
		return fmt.Errorf("%s.direction: unknown %q, want increase, decrease or either", path, m.Direction)
	}
	switch m.NaNStrategy {
	case "", NaNRemove, NaNReplace:
	default:
		return fmt.Errorf("%s.nanStrategy: unknown %q, want remove or replace", path, m.NaNStrategy)
	}
	switch m.Outliers {
	case "", OutliersKeep, OutliersRemove:
	default:
		return fmt.Errorf("%s.outliers: unknown %q, want keep or remove", path, m.Outliers)
	}
	if f := m.OutlierFactor; f != nil && (!(*f >= 0) || math.IsInf(*f, 0)) {
		return fmt.Errorf("%s.outlierFactor: must be a finite number ≥ 0 (omit it for the default 3), got %v", path, *f)
	}
	if err := checkConfidence(path+".confidence", m.Confidence); err != nil {
		return err
	}
	if err := checkTolerance(path+".tolerance", m.Tolerance); err != nil {
		return err
	}
	if !(m.AbsoluteTolerance >= 0) || math.IsInf(m.AbsoluteTolerance, 0) {
		return fmt.Errorf("%s.absoluteTolerance: must be a finite number ≥ 0, got %v", path, m.AbsoluteTolerance)
	}
	switch m.EffectSize.Measure {
	case "", MeanRatio, CLES:
	default:
		return fmt.Errorf("%s.effectSize.measure: unknown %q, want meanRatio or cles", path, m.EffectSize.Measure)
	}
	for _, g := range []struct {
		name string
		p    *float64
	}{
		{"allowedIncrease", m.EffectSize.AllowedIncrease}, {"allowedDecrease", m.EffectSize.AllowedDecrease},
		{"criticalIncrease", m.EffectSize.CriticalIncrease}, {"criticalDecrease", m.EffectSize.CriticalDecrease},
	} {
		name, p := g.name, g.p
		if p != nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
			return fmt.Errorf("%s.effectSize.%s: must be a finite number, got %v", path, name, *p)
		}
	}
	if err := checkNoData(path+".onNoData", m.OnNoData); err != nil {
		return err
	}
	if m.MinSamples < 0 {
		return fmt.Errorf("%s.minSamples: must be ≥ 0, got %d", path, m.MinSamples)
	}
	if t := m.Thresholds; t != nil {
		switch t.Statistic {
		case "", StatMean, StatP50, StatP90, StatP99, StatMax:
		default:
			return fmt.Errorf("%s.thresholds.statistic: unknown %q, want mean, p50, p90, p99 or max", path, t.Statistic)
		}
		if t.Min != nil && math.IsNaN(*t.Min) || t.Max != nil && math.IsNaN(*t.Max) {
			return fmt.Errorf("%s.thresholds: min and max must be numbers", path)
		}
		if t.Min != nil && t.Max != nil && *t.Min > *t.Max {
			return fmt.Errorf("%s.thresholds: min %v is above max %v", path, *t.Min, *t.Max)
		}
	}
	return nil
}

func checkConfidence(field string, c float64) error {
	if c == 0 {
		return nil // default
	}
	if !(c > 0 && c < 1) {
		return fmt.Errorf("%s: must be in (0,1), e.g. 0.98; got %v", field, c)
	}
	return nil
}

func checkTolerance(field string, t *float64) error {
	if t != nil && (!(*t >= 0) || math.IsInf(*t, 0)) {
		return fmt.Errorf("%s: must be a finite number ≥ 0, got %v", field, *t)
	}
	return nil
}

func checkNoData(field string, p NoDataPolicy) error {
	switch p {
	case "", NoDataHold, NoDataFail, NoDataPass:
		return nil
	}
	return fmt.Errorf("%s: unknown %q, want hold, fail or pass", field, p)
}

package scaler

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

// Spec defaults that the CRD schema also declares; repeated here because
// policies read from files (trimtab replay) never pass the API server.
const (
	defaultMinReplicas   = 1
	defaultSeasonSeconds = 86400
	defaultBand          = 1.75
	maxSyncPeriodSeconds = 600
	maxBand              = 5
	maxWindowSeconds     = 3600
	maxPeriodSeconds     = 1800
)

// DefaultScaleUp is autoscaling/v2's default scale-up rule: no
// stabilization, the larger of 4 pods or 100% per 15 s.
func DefaultScaleUp(p Params) Rules {
	return Rules{
		SelectPolicy: v1alpha1.SelectMax,
		Policies: []Policy{
			{Type: PodsPolicy, Value: 4, Period: 15 * time.Second},
			{Type: PercentPolicy, Value: 100, Period: 15 * time.Second},
		},
		Tolerance: p.Tolerance,
	}
}

// DefaultScaleDown is autoscaling/v2's default scale-down rule: the
// controller's downscale stabilization window and 100% per 15 s.
func DefaultScaleDown(p Params) Rules {
	return Rules{
		StabilizationWindow: p.DownscaleStabilization,
		SelectPolicy:        v1alpha1.SelectMax,
		Policies:            []Policy{{Type: PercentPolicy, Value: 100, Period: 15 * time.Second}},
		Tolerance:           p.Tolerance,
	}
}

// ConfigFromSpec validates a ScalingPolicySpec and converts it into the
// core's Config with every default applied: minReplicas 1, the HPA's
// behavior defaults per direction and field (only when behavior is set, as
// upstream), predictive off with a 300 s horizon and a daily season. All
// problems are returned together, each naming its field.
func ConfigFromSpec(spec v1alpha1.ScalingPolicySpec, p Params) (Config, error) {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	cfg := Config{MinReplicas: defaultMinReplicas, MaxReplicas: spec.MaxReplicas, Params: p}
	if spec.MinReplicas != nil {
		cfg.MinReplicas = *spec.MinReplicas
		if cfg.MinReplicas < 1 {
			bad("spec.minReplicas", "must be at least 1, got %d", cfg.MinReplicas)
		}
	}
	if spec.MaxReplicas < 1 {
		bad("spec.maxReplicas", "must be at least 1, got %d", spec.MaxReplicas)
	} else if cfg.MinReplicas > spec.MaxReplicas {
		bad("spec.minReplicas", "must be less than or equal to spec.maxReplicas (%d), got %d", spec.MaxReplicas, cfg.MinReplicas)
	}

	if len(spec.Metrics) == 0 {
		bad("spec.metrics", "needs at least one metric")
	}
	if len(spec.Metrics) > 20 {
		bad("spec.metrics", "has %d metrics, at most 20 are allowed", len(spec.Metrics))
	}
	seen := map[string]bool{}
	for i, m := range spec.Metrics {
		field := fmt.Sprintf("spec.metrics[%d]", i)
		ms, err := metricFromSpec(m, field)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[m.Name] {
			bad(field+".name", "duplicate metric name %q; names must be unique", m.Name)
		}
		seen[m.Name] = true
		cfg.Metrics = append(cfg.Metrics, ms)
	}

	if spec.Behavior != nil {
		b := Behavior{ScaleUp: DefaultScaleUp(p), ScaleDown: DefaultScaleDown(p)}
		var err error
		if b.ScaleUp, err = rulesFromSpec(spec.Behavior.ScaleUp, b.ScaleUp, "spec.behavior.scaleUp"); err != nil {
			errs = append(errs, err)
		}
		if b.ScaleDown, err = rulesFromSpec(spec.Behavior.ScaleDown, b.ScaleDown, "spec.behavior.scaleDown"); err != nil {
			errs = append(errs, err)
		}
		cfg.Behavior = &b
	}

	cfg.Predictive = Predictive{Mode: v1alpha1.PredictiveOff, Season: defaultSeasonSeconds * time.Second, Band: defaultBand}
	if pr := spec.Predictive; pr != nil {
		switch pr.Mode {
		case "":
		case v1alpha1.PredictiveOff, v1alpha1.PredictiveShadow, v1alpha1.PredictiveOn:
			cfg.Predictive.Mode = pr.Mode
		default:
			bad("spec.predictive.mode", "must be off, shadow or on, got %q", pr.Mode)
		}
		if pr.HorizonSeconds != 0 {
			if pr.HorizonSeconds < 1 || pr.HorizonSeconds > 86400 {
				bad("spec.predictive.horizonSeconds", "must be between 1 and 86400, got %d", pr.HorizonSeconds)
			}
			cfg.Predictive.Horizon = time.Duration(pr.HorizonSeconds) * time.Second
		}
		if pr.SeasonSeconds != 0 {
			cfg.Predictive.Season = time.Duration(pr.SeasonSeconds) * time.Second
			if err := predict.CheckSeason(cfg.Predictive.Season); err != nil {
				bad("spec.predictive.seasonSeconds", "%v", err)
			}
		}
		if b := pr.BandStdDevs; b != nil {
			cfg.Predictive.Band = b.AsApproximateFloat64()
			if b.Sign() < 0 || cfg.Predictive.Band > maxBand {
				bad("spec.predictive.bandStdDevs", "must be between 0 and %d standard deviations, got %s", maxBand, QuantityText(b))
			}
		}
	}

	if p := spec.SyncPeriodSeconds; p != nil {
		if *p < 1 || *p > maxSyncPeriodSeconds {
			bad("spec.syncPeriodSeconds", "must be between 1 and %d, got %d", maxSyncPeriodSeconds, *p)
		}
		cfg.SyncPeriod = time.Duration(*p) * time.Second
	}

	if fb := spec.Fallback; fb != nil {
		if fb.FailureThreshold < 1 {
			bad("spec.fallback.failureThreshold", "must be at least 1, got %d", fb.FailureThreshold)
		}
		if fb.Replicas < 1 {
			bad("spec.fallback.replicas", "must be at least 1, got %d", fb.Replicas)
		}
		cfg.Fallback = &Fallback{FailureThreshold: fb.FailureThreshold, Replicas: min(max(fb.Replicas, cfg.MinReplicas), max(cfg.MaxReplicas, 1))}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func metricFromSpec(m v1alpha1.ScalingMetric, field string) (MetricSpec, error) {
	var errs []error
	bad := func(f, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", field, f, fmt.Sprintf(format, a...)))
	}
	if m.Name == "" {
		bad(".name", "is required")
	}
	sources := 0
	for _, set := range []bool{m.Prometheus != nil, m.Scrape != nil, m.CloudWatch != nil, m.Web != nil} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		bad("", "exactly one of prometheus, scrape, cloudwatch or web must be set, got %d", sources)
	}
	ms := MetricSpec{Name: m.Name, Kind: MetricKind(m.Kind), Resource: m.Resource, Target: Target{Type: TargetType(m.Target.Type)}}
	switch ms.Kind {
	case KindResource:
		if m.Resource != "cpu" && m.Resource != "memory" {
			bad(".resource", "must be cpu or memory when kind is resource, got %q", m.Resource)
		}
		if ms.Target.Type == Value {
			bad(".target.type", "kind resource needs Utilization or AverageValue, got Value")
		}
	case KindPods:
		if ms.Target.Type != AverageValue {
			bad(".target.type", "kind pods needs AverageValue, got %q", ms.Target.Type)
		}
	case KindObject, KindExternal:
		if ms.Target.Type == Utilization {
			bad(".target.type", "Utilization is only valid with kind resource; use Value or AverageValue")
		}
	default:
		bad(".kind", "must be resource, pods, object or external, got %q", m.Kind)
	}
	if m.Resource != "" && ms.Kind != KindResource {
		bad(".resource", "is only valid with kind resource")
	}
	switch ms.Target.Type {
	case Utilization:
		if m.Target.AverageUtilization == nil || *m.Target.AverageUtilization < 1 {
			bad(".target.averageUtilization", "a percentage of at least 1 is required when type is Utilization, e.g. 70")
		} else {
			ms.Target.Utilization = *m.Target.AverageUtilization
		}
	case AverageValue:
		ms.Target.AverageMilli = positiveMilli(m.Target.AverageValue, field+".target.averageValue", "AverageValue", &errs)
	case Value:
		ms.Target.ValueMilli = positiveMilli(m.Target.Value, field+".target.value", "Value", &errs)
	default:
		bad(".target.type", "must be Utilization, AverageValue or Value, got %q", m.Target.Type)
	}
	if err := errors.Join(errs...); err != nil {
		return MetricSpec{}, err
	}
	return ms, nil
}

// QuantityText is q in canonical form, formatted from a copy: Quantity.String
// keeps the text it formats in the quantity, and a spec read straight from
// the informer cache, as the scaling cycle reads it, is shared with every
// other reader of the cache.
func QuantityText(q *resource.Quantity) string {
	c := q.DeepCopy()
	return c.String()
}

func positiveMilli(q *resource.Quantity, field, typ string, errs *[]error) int64 {
	if q == nil {
		*errs = append(*errs, fmt.Errorf("%s: is required when type is %s, e.g. \"500m\" or \"30\"", field, typ))
		return 0
	}
	v := q.MilliValue()
	if v <= 0 {
		*errs = append(*errs, fmt.Errorf("%s: must be positive, got %s", field, QuantityText(q)))
	}
	return v
}

// rulesFromSpec fills one direction's rule field by field over def: a
// user-supplied policies list replaces the default list entirely.
func rulesFromSpec(r *v1alpha1.ScalingRules, def Rules, field string) (Rules, error) {
	if r == nil {
		return def, nil
	}
	var errs []error
	bad := func(f, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s%s: %s", field, f, fmt.Sprintf(format, a...)))
	}
	out := def
	if w := r.StabilizationWindowSeconds; w != nil {
		if *w < 0 || *w > maxWindowSeconds {
			bad(".stabilizationWindowSeconds", "must be between 0 and %d, got %d", maxWindowSeconds, *w)
		}
		out.StabilizationWindow = time.Duration(*w) * time.Second
	}
	if sp := r.SelectPolicy; sp != nil {
		switch *sp {
		case v1alpha1.SelectMax, v1alpha1.SelectMin, v1alpha1.SelectDisabled:
			out.SelectPolicy = *sp
		default:
			bad(".selectPolicy", "must be Max, Min or Disabled, got %q", *sp)
		}
	}
	if r.Policies != nil {
		if len(r.Policies) == 0 {
			bad(".policies", "must have at least one policy when set; omit it for the defaults")
		}
		out.Policies = nil
		for i, p := range r.Policies {
			pf := fmt.Sprintf(".policies[%d]", i)
			if p.Type != string(PodsPolicy) && p.Type != string(PercentPolicy) {
				bad(pf+".type", "must be Pods or Percent, got %q", p.Type)
			}
			if p.Value < 1 {
				bad(pf+".value", "must be at least 1, got %d", p.Value)
			}
			if p.PeriodSeconds < 1 || p.PeriodSeconds > maxPeriodSeconds {
				bad(pf+".periodSeconds", "must be between 1 and %d, got %d", maxPeriodSeconds, p.PeriodSeconds)
			}
			out.Policies = append(out.Policies, Policy{Type: PolicyType(p.Type), Value: p.Value, Period: time.Duration(p.PeriodSeconds) * time.Second})
		}
	}
	if t := r.Tolerance; t != nil {
		if t.Sign() < 0 {
			bad(".tolerance", "must not be negative, got %s", QuantityText(t))
		}
		out.Tolerance = t.AsApproximateFloat64()
	}
	return out, errors.Join(errs...)
}

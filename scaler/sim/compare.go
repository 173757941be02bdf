package sim

import (
	"errors"
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
)

// ReadPolicy decodes a ScalingPolicy manifest strictly (unknown fields are
// errors) and returns its replayable configuration and the metrics replay
// leaves out (see ReplayConfig).
func ReadPolicy(data []byte) (cfg scaler.Config, dropped []string, err error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return scaler.Config{}, nil, fmt.Errorf("policy is not valid YAML: %w", err)
	}
	// The kind first: another object (a Release) would otherwise fail
	// field by field.
	var kind struct {
		Kind string `json:"kind"`
	}
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(js, &kind); err == nil && kind.Kind != "" && kind.Kind != "ScalingPolicy" {
		return scaler.Config{}, nil, fmt.Errorf("kind: want \"ScalingPolicy\", got %q: replay takes a ScalingPolicy manifest", kind.Kind)
	}
	var sp v1alpha1.ScalingPolicy
	// sigs.k8s.io/json names the full path of an unknown field, as the
	// API server does.
	strict, err := sigsjson.UnmarshalStrict(js, &sp, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
	if err != nil {
		if strings.Contains(err.Error(), "cannot unmarshal bool into") {
			// YAML 1.1, which Kubernetes manifests are read as, takes
			// mode: on for mode: true.
			err = fmt.Errorf("%w (YAML reads an unquoted on, off, yes or no as true or false: quote it, e.g. mode: \"on\")", err)
		}
		return scaler.Config{}, nil, fmt.Errorf("policy is not a valid ScalingPolicy manifest: %w", err)
	}
	if err := errors.Join(strict...); err != nil {
		return scaler.Config{}, nil, fmt.Errorf("policy is not a valid ScalingPolicy manifest: %w", err)
	}
	if want := v1alpha1.GroupVersion.String(); sp.APIVersion != want {
		return scaler.Config{}, nil, fmt.Errorf("apiVersion: want %q, got %q", want, sp.APIVersion)
	}
	if sp.Kind != "ScalingPolicy" {
		return scaler.Config{}, nil, fmt.Errorf("kind: want \"ScalingPolicy\", got %q", sp.Kind)
	}
	if sp.Spec.TargetRef.Name == "" {
		return scaler.Config{}, nil, errors.New("spec.targetRef.name: is required (the Deployment to scale)")
	}
	cfg, err = scaler.ConfigFromSpec(sp.Spec, scaler.DefaultParams())
	if err != nil {
		return scaler.Config{}, nil, err
	}
	return ReplayConfig(cfg)
}

// Comparison is a policy replayed as given and as the pure-HPA baseline
// (the same policy with predictive off).
type Comparison struct {
	Baseline Result `json:"baseline"`
	Policy   Result `json:"policy"`
	// Ratios are policy / baseline; nil where the baseline is zero.
	Ratios Ratios `json:"ratios"`
	// Violation says what counted as a violation second.
	Violation Violation `json:"violation"`
}

// Ratios of the policy's figures to the baseline's.
type Ratios struct {
	ReplicaSeconds   *float64 `json:"replicaSeconds"`
	ViolationSeconds *float64 `json:"violationSeconds"`
	ScaleEvents      *float64 `json:"scaleEvents"`
	PeakReplicas     *float64 `json:"peakReplicas"`
}

// Compare replays tr under cfg and under its pure-HPA baseline.
func Compare(tr Trace, cfg scaler.Config, opt Options) (Comparison, error) {
	base := cfg
	base.Predictive.Mode = v1alpha1.PredictiveOff
	var c Comparison
	var err error
	if c.Baseline, err = Run(tr, base, opt); err != nil {
		return Comparison{}, err
	}
	if c.Policy, err = Run(tr, cfg, opt); err != nil {
		return Comparison{}, err
	}
	if c.Violation, err = opt.Violation(cfg); err != nil {
		return Comparison{}, err
	}
	c.Ratios = Ratios{
		ReplicaSeconds:   ratio(c.Policy.ReplicaSeconds, c.Baseline.ReplicaSeconds),
		ViolationSeconds: ratio(c.Policy.ViolationSeconds, c.Baseline.ViolationSeconds),
		ScaleEvents:      ratio(float64(c.Policy.ScaleEvents), float64(c.Baseline.ScaleEvents)),
		PeakReplicas:     ratio(float64(c.Policy.PeakReplicas), float64(c.Baseline.PeakReplicas)),
	}
	return c, nil
}

func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	r := a / b
	return &r
}

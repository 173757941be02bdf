package analyzer

import (
	"errors"
	"fmt"
)

// Judge classifies every metric and scores the canary: one judgement over the
// samples of the current windows. It is pure; cfg and metrics are only read.
// The error reports invalid configuration, naming the field.
func Judge(cfg Config, metrics []MetricInput) (Result, error) {
	if err := validate(cfg, metrics); err != nil {
		return Result{}, err
	}
	return judge(cfg, metrics, 0), nil
}

func judge(cfg Config, metrics []MetricInput, alphaOverride float64) Result {
	var sc scratch
	results := make([]MetricResult, len(metrics))
	for i, m := range metrics {
		results[i] = classify(cfg, m, alphaOverride, &sc)
	}
	return score(cfg, results)
}

func validate(cfg Config, metrics []MetricInput) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if len(metrics) == 0 {
		return errors.New("metrics: at least one metric is required")
	}
	seen := make(map[string]int, len(metrics))
	for i, m := range metrics {
		path := fmt.Sprintf("metrics[%d]", i)
		if err := m.Validate(path); err != nil {
			return err
		}
		if j, dup := seen[m.Name]; dup {
			return fmt.Errorf("%s.name: %q is already used by metrics[%d]; names must be unique", path, m.Name, j)
		}
		seen[m.Name] = i
	}
	return nil
}

package analyzer

import (
	"fmt"
	"math"
)

// RecentCheck judges only the most recent samples of each metric, at a
// fixed significance level, so that a clear regression late in a long step
// is caught within about one window instead of being diluted by the step's
// earlier, healthy samples (a growing window needs many bad points to move
// its rank statistic) and slowed by Decide's O'Brien-Fleming schedule.
//
// alpha is the part of a step's false-rollback budget the caller sets aside
// for these checks, and looks the number of checks it plans for the step
// (duration / interval). Each check tests every scored metric at
// alpha / (looks × metrics), so the checks of a step together wrongly roll
// back with probability at most alpha, by the same union bound as Decide;
// a caller that gives Decide the rest of the budget keeps the step's total.
//
// It returns whether the recent samples call for a rollback, and why.
func RecentCheck(alpha float64, looks int, cfg Config, metrics []MetricInput) (bool, string, error) {
	if !(alpha > 0 && alpha < 1) {
		return false, "", fmt.Errorf("recent check: alpha must be in (0,1), got %v", alpha)
	}
	if err := validate(cfg, metrics); err != nil {
		return false, "", err
	}
	scored := 0
	for _, m := range metrics {
		if !m.Muted {
			scored++
		}
	}
	level := alpha / float64(max(looks, 1)*max(scored, 1))
	level = math.Max(level, math.SmallestNonzeroFloat64)
	res := judge(cfg, metrics, level)
	switch {
	case res.CriticalFailure:
		return true, "recent samples: " + res.Reason, nil
	case res.Verdict == VerdictFail && !res.TooManyNodata:
		return true, fmt.Sprintf("recent samples score %.2f, below the marginal score", res.Score), nil
	}
	return false, "", nil
}

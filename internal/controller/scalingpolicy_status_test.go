package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestStatusValueRefresh(t *testing.T) {
	cases := []struct {
		name     string
		policies int
		want     time.Duration
	}{
		{"a fleet the budget covers refreshes every sync", 100, 7500 * time.Millisecond},
		{"the budget's edge: 300 policies in 15 s", 300, 7500 * time.Millisecond},
		{"10,000 policies share 20 writes a second", 10_000, 492500 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, statusValueRefresh(tc.policies, 15*time.Second))
		})
	}
}

func TestStatusDue(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	active := []metav1.Condition{{Type: "ScalingActive", Status: metav1.ConditionTrue, Reason: "ValidMetricFound", Message: "cpu 50%"}}
	gist := statusGist(1, active, 2, 2, 0, nil)
	const refresh = time.Minute
	cases := []struct {
		name       string
		lastGist   string
		lastQueued time.Time
		gist       string
		now        time.Time
		due        bool
	}{
		{"the first status after a start", "", time.Time{}, gist, t0, true},
		{"values only, inside the refresh", gist, t0, gist, t0.Add(59 * time.Second), false},
		{"values only, the refresh has passed", gist, t0, gist, t0.Add(time.Minute), true},
		{"a message alone is a value", gist, t0,
			statusGist(1, []metav1.Condition{{Type: "ScalingActive", Status: metav1.ConditionTrue, Reason: "ValidMetricFound", Message: "cpu 90%"}}, 2, 2, 0, nil), t0.Add(time.Second), false},
		{"a condition's reason changed", gist, t0,
			statusGist(1, []metav1.Condition{{Type: "ScalingActive", Status: metav1.ConditionFalse, Reason: "FailedGetResourceMetric"}}, 2, 2, 1, nil), t0.Add(time.Second), true},
		{"the desired replicas changed", gist, t0, statusGist(1, active, 2, 4, 0, nil), t0.Add(time.Second), true},
		{"a scale happened", gist, t0, statusGist(1, active, 2, 2, 0, &metav1.Time{Time: t0}), t0.Add(time.Second), true},
		{"a failure was counted", gist, t0, statusGist(1, active, 2, 2, 1, nil), t0.Add(time.Second), true},
		{"the spec was edited: observedGeneration must follow", gist, t0, statusGist(2, active, 2, 2, 0, nil), t0.Add(time.Second), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.due, statusDue(tc.lastGist, tc.gist, tc.lastQueued, tc.now, refresh))
		})
	}
}

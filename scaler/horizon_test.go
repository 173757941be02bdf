package scaler

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/api/v1alpha1"
)

// startedPod was created at t0 and became Ready startup later.
func startedPod(name string, startup time.Duration) Pod {
	return Pod{Name: name, Created: t0, Phase: PodRunning,
		Ready: &PodReady{Status: ConditionTrue, LastTransitionTime: t0.Add(startup)}}
}

func TestPodStartup(t *testing.T) {
	seconds := func(ss ...int) []Pod {
		var pods []Pod
		for i, s := range ss {
			pods = append(pods, startedPod(string(rune('a'+i)), time.Duration(s)*time.Second))
		}
		return pods
	}
	notReady := startedPod("x", time.Second)
	notReady.Ready.Status = ConditionFalse
	deleting := startedPod("x", time.Hour/4)
	deleting.Deleting = true
	noCreation := startedPod("x", time.Hour/4)
	noCreation.Created = time.Time{}
	beforeCreation := startedPod("x", -time.Minute)
	cases := []struct {
		name string
		pods []Pod
		want time.Duration
		n    int
		late int
	}{
		{"no pods: nothing observed", nil, 0, 0, 0},
		{"one pod", seconds(42), 42 * time.Second, 1, 0},
		{"two pods: the slower", seconds(30, 90), 90 * time.Second, 2, 0},
		{"nine pods: the slowest (⌈8.1⌉ = 9th)", seconds(10, 20, 30, 40, 50, 60, 70, 80, 600), 600 * time.Second, 9, 0},
		{"ten pods: one slow start (a new node) is left out", seconds(60, 61, 62, 63, 64, 65, 66, 67, 68, 900), 68 * time.Second, 10, 0},
		{"order does not matter", seconds(90, 30), 90 * time.Second, 2, 0},
		{"a Ready transition 30 minutes after creation still counts", seconds(1800), 30 * time.Minute, 1, 0},
		{"a later one is a readiness flap, not a start, and is counted late", append(seconds(60), startedPod("flap", 31*time.Minute)), time.Minute, 1, 1},
		{"only late pods: nothing observed", []Pod{startedPod("slow", 45*time.Minute)}, 0, 0, 1},
		{"not Ready, deleting, without creation time or ready before creation: ignored",
			append(seconds(60), notReady, deleting, noCreation, beforeCreation, Pod{Name: "pending", Created: t0}), time.Minute, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, n, late := PodStartup(tc.pods)
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.n, n)
			require.Equal(t, tc.late, late)
		})
	}
}

// TestPodStartupAllocatesNothing: it runs at every sync of every
// predictive policy, and a target's pods' start-ups fit on the stack.
func TestPodStartupAllocatesNothing(t *testing.T) {
	pods := make([]Pod, 32)
	for i := range pods {
		pods[i] = startedPod("p", time.Duration(60-i)*time.Second)
	}
	var got time.Duration
	require.Zero(t, testing.AllocsPerRun(100, func() { got, _, _ = PodStartup(pods) }))
	require.Equal(t, 57*time.Second, got, "⌈0.9·32⌉ = 29th smallest of 29 s … 60 s")
}

// TestPodStartupOfHundredsOfPods: a replay's pods all take one start-up,
// which is the percentile without collecting them; one that differs makes
// it collect and sort them again.
func TestPodStartupOfHundredsOfPods(t *testing.T) {
	pods := make([]Pod, 600)
	for i := range pods {
		pods[i] = startedPod("p", time.Minute)
	}
	var got time.Duration
	var n int
	require.Zero(t, testing.AllocsPerRun(100, func() { got, n, _ = PodStartup(pods) }))
	require.Equal(t, time.Minute, got)
	require.Equal(t, 600, n)

	for i := range 100 {
		pods[i] = startedPod("p", 2*time.Minute)
	}
	got, n, _ = PodStartup(pods)
	require.Equal(t, 2*time.Minute, got, "⌈0.9·600⌉ = 540th smallest: of the 100 slow ones")
	require.Equal(t, 600, n)
	pods[0] = startedPod("p", 2*time.Hour)
	got, n, late := PodStartup(pods)
	require.Equal(t, 2*time.Minute, got, "⌈0.9·599⌉ = 540th smallest: still one of the 99 slow ones, the late one left out")
	require.Equal(t, []int{599, 1}, []int{n, late})
}

func TestPlanHorizon(t *testing.T) {
	sync := 15 * time.Second
	minute := []Pod{startedPod("a", time.Minute), startedPod("b", time.Minute)}
	cases := []struct {
		name     string
		spec     time.Duration
		pods     []Pod
		mode     v1alpha1.PredictiveMode
		horizon  time.Duration
		reason   string
		messages []string
		// untilNext is the time to the next sync; 0: one sync period.
		untilNext time.Duration
	}{
		{"unset: start-up plus one sync", 0, minute, v1alpha1.PredictiveOn, 75 * time.Second, ReasonHorizonFromStartup,
			[]string{"forecasting 1m15s ahead: the pods' observed start-up, 1m0s (90th percentile of 2) plus the 15s sync period"}, 0},
		{"unset, no pod seen starting: the default", 0, nil, v1alpha1.PredictiveOn, DefaultHorizon, ReasonHorizonDefault,
			[]string{"forecasting 5m0s ahead until a pod is seen starting"}, 0},
		{"unset, pods Ready only after 30 minutes: the default, and why", 0, []Pod{startedPod("slow", 45*time.Minute)}, v1alpha1.PredictiveOn, DefaultHorizon, ReasonHorizonDefault,
			[]string{"forecasting 5m0s ahead until a pod is seen starting: 1 Ready pod(s) became Ready more than 30m0s after creation", "set spec.predictive.horizonSeconds"}, 0},
		{"set: as written", 2 * time.Minute, minute, v1alpha1.PredictiveOn, 2 * time.Minute, ReasonHorizonFromSpec,
			[]string{"forecasting 2m0s ahead (spec.predictive.horizonSeconds)"}, 0},
		{"set equal to the start-up: fine", time.Minute, minute, v1alpha1.PredictiveOn, time.Minute, ReasonHorizonFromSpec, nil, 0},
		{"set without pods: as written", 10 * time.Second, nil, v1alpha1.PredictiveOn, 10 * time.Second, ReasonHorizonFromSpec, nil, 0},
		{"set below the start-up: used, with the fix", 30 * time.Second, minute, v1alpha1.PredictiveOn, 30 * time.Second, ReasonHorizonBelowStartup,
			[]string{"spec.predictive.horizonSeconds (30s) is shorter than the pods' observed start-up, 1m0s (90th percentile of 2)", "raise it to at least 75", "or remove it"}, 0},
		{"unset, first sync off the period's ticks: start-up plus the time to the next", 0, minute, v1alpha1.PredictiveOn, 82500 * time.Millisecond, ReasonHorizonFromStartup,
			[]string{"forecasting 1m22.5s ahead: the pods' observed start-up, 1m0s (90th percentile of 2) plus the 22.5s to the next sync (the 15s sync period's next tick)"}, 22*time.Second + 431*time.Millisecond},
		{"unset, next sync within a period: still start-up plus one period", 0, minute, v1alpha1.PredictiveOn, 75 * time.Second, ReasonHorizonFromStartup,
			[]string{"plus the 15s sync period"}, 8 * time.Second},
		{"set: as written whenever the next sync is", 2 * time.Minute, minute, v1alpha1.PredictiveOn, 2 * time.Minute, ReasonHorizonFromSpec, nil, 22 * time.Second},
		{"shadow says so", 0, minute, v1alpha1.PredictiveShadow, 75 * time.Second, ReasonHorizonFromStartup,
			[]string{"shadow mode: the forecast is exported, not acted on"}, 0},
	}
	for _, mode := range []v1alpha1.PredictiveMode{"", v1alpha1.PredictiveOff} {
		require.Zero(t, PlanHorizon(Predictive{Mode: mode, Horizon: time.Minute}, minute, sync, sync), "predictive off plans nothing")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			untilNext := sync
			if tc.untilNext > 0 {
				untilNext = tc.untilNext
			}
			plan := PlanHorizon(Predictive{Mode: tc.mode, Horizon: tc.spec}, tc.pods, sync, untilNext)
			require.Equal(t, tc.horizon, plan.Horizon)
			status, reason := plan.Status(true)
			require.Equal(t, ConditionTrue, status)
			require.Equal(t, tc.reason, reason)
			msg := plan.Message(tc.mode, true)
			for _, m := range tc.messages {
				require.Contains(t, msg, m)
			}
			if tc.mode != v1alpha1.PredictiveShadow {
				require.False(t, strings.Contains(msg, "shadow"), msg)
			}
			// While the model learns, the condition says so and what the
			// horizon will be; a horizon below the start-up is reported all
			// the same.
			status, reason = plan.Status(false)
			require.Equal(t, ConditionFalse, status)
			wantReason := ReasonWarmingUp
			if tc.reason == ReasonHorizonBelowStartup {
				wantReason = ReasonHorizonBelowStartup
			}
			require.Equal(t, wantReason, reason)
			require.Contains(t, plan.Message(tc.mode, false), msg)
		})
	}
}

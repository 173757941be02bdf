package controller

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler"
)

// TestPolicyStateFollowsTheTarget checks that a policy's memory (forecast
// model, recommendations, scale events, failures) belongs to its target: a
// policy moved from a workload needing 40 replicas to another must not
// scale the new one on the old one's forecast.
func TestPolicyStateFollowsTheTarget(t *testing.T) {
	spec := trimtabv1.ScalingPolicySpec{
		TargetRef: trimtabv1.ScaleTargetRef{APIVersion: "apps/v1", Kind: "Deployment", Name: "big"}, MaxReplicas: 100,
		Predictive: &trimtabv1.Predictive{Mode: trimtabv1.PredictiveOn, SeasonSeconds: 3600},
		Metrics: []trimtabv1.ScalingMetric{{Metric: trimtabv1.Metric{Name: "rps", MetricSource: trimtabv1.MetricSource{Prometheus: &trimtabv1.PrometheusSource{Query: "x"}}},
			Kind: trimtabv1.MetricExternal, Target: trimtabv1.MetricTarget{Type: trimtabv1.AverageValueTarget, AverageValue: ptr.To(resource.MustParse("10"))}}},
	}
	cfg, err := scaler.ConfigFromSpec(spec, scaler.DefaultParams())
	require.NoError(t, err)
	t0 := time.Unix(1_700_000_000, 0)
	cases := []struct {
		name       string
		change     func(*trimtabv1.ScalingPolicy)
		keeps      bool
		retargeted bool
	}{
		{name: "the same target keeps the memory", change: func(p *trimtabv1.ScalingPolicy) { p.Generation++ }, keeps: true},
		{name: "another Deployment starts afresh", change: func(p *trimtabv1.ScalingPolicy) { p.Spec.TargetRef.Name = "small" }, retargeted: true},
		{name: "another kind starts afresh", change: func(p *trimtabv1.ScalingPolicy) { p.Spec.TargetRef.Kind = "StatefulSet" }, retargeted: true},
		{name: "a re-created policy starts from its status", change: func(p *trimtabv1.ScalingPolicy) { p.UID = "u2" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &ScalingPolicyController{}
			pol := &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u1", Generation: 1}, Spec: spec}
			pol.Status.ConsecutiveFailures = 2
			old := c.state(pol)
			for i := range 90 {
				now := t0.Add(time.Duration(i) * time.Minute)
				old.forecast(cfg, 5*time.Minute, now)
				old.model.Observe(now, 40)
			}
			old.history.Recommendations = []scaler.Recommendation{{Replicas: 40, Time: t0}}
			f, _, _ := old.forecast(cfg, 5*time.Minute, t0.Add(90*time.Minute))
			require.NotNil(t, f, "the old target's forecast")

			changed := pol.DeepCopy()
			tc.change(changed)
			s := c.state(changed)
			require.Equal(t, tc.keeps, s == old, "the same memory")
			require.Equal(t, tc.retargeted, s.retargeted)
			if tc.keeps {
				return
			}
			f, _, created := s.forecast(cfg, 5*time.Minute, t0.Add(90*time.Minute))
			require.Nil(t, f, "a new model, warming up")
			require.True(t, created)
			require.Empty(t, s.history.Recommendations)
			wantFailures := int32(2) // from status, for the same target
			if tc.retargeted {
				wantFailures = 0
			}
			require.Equal(t, wantFailures, s.history.ConsecutiveFailures)
		})
	}
}

// TestSetReadyUnlessChanged checks the rule by which the cycle writes Ready:
// only over the Ready it read, never over a newer one the reconciler wrote
// while the cycle collected metrics (an HPA appeared meanwhile, say).
// TestSetCycleConditions: the cycle's Ready is written unless the
// reconciler wrote a newer one meanwhile, and then its ScalingActive is not
// either: the reconciler's was written with that Ready.
func TestSetCycleConditions(t *testing.T) {
	cond := func(status metav1.ConditionStatus, reason string) metav1.Condition {
		return metav1.Condition{Type: trimtabv1.ConditionReady, Status: status, Reason: reason, Message: reason + " message"}
	}
	found := cond(metav1.ConditionTrue, trimtabv1.ReasonTargetFound)
	hpa := cond(metav1.ConditionFalse, trimtabv1.ReasonTargetHasHPA)
	missing := cond(metav1.ConditionFalse, trimtabv1.ReasonTargetNotFound)
	// What the reconciler writes with a Ready False, and what the cycle
	// decided from its sync.
	hpaInactive := notScaling(hpa, nil)
	active := metav1.Condition{Type: scaler.ScalingActive, Status: metav1.ConditionTrue, Reason: "ValidMetricFound", Message: "from cpu"}
	able := metav1.Condition{Type: scaler.AbleToScale, Status: metav1.ConditionTrue, Reason: "ReadyForNewScale", Message: "ok"}
	gist := func(c *metav1.Condition) readyGist {
		pol := &trimtabv1.ScalingPolicy{}
		if c != nil {
			pol.Status.Conditions = []metav1.Condition{*c}
		}
		return readySeen(pol)
	}
	cases := []struct {
		name       string
		seen       *metav1.Condition  // what the cycle read
		now        []metav1.Condition // what the status holds at the write
		ready      metav1.Condition   // what the cycle decided
		want       *metav1.Condition
		wantActive metav1.Condition
	}{
		{name: "unchanged: the cycle's is written", seen: &found, now: []metav1.Condition{found}, ready: missing, want: &missing, wantActive: active},
		{name: "none before and none now: written", ready: found, want: &found, wantActive: active},
		{name: "the reconciler wrote a newer one: kept, with its ScalingActive", seen: &found, now: []metav1.Condition{hpa, hpaInactive}, ready: found, want: &hpa, wantActive: hpaInactive},
		{name: "the reconciler wrote the first one: kept, with its ScalingActive", now: []metav1.Condition{hpa, hpaInactive}, ready: found, want: &hpa, wantActive: hpaInactive},
		{name: "the same reason with a new message is a change: kept", seen: &found,
			now:   []metav1.Condition{{Type: trimtabv1.ConditionReady, Status: metav1.ConditionTrue, Reason: trimtabv1.ReasonTargetFound, Message: "Release web manages it"}},
			ready: found, want: &metav1.Condition{Type: trimtabv1.ConditionReady, Status: metav1.ConditionTrue, Reason: trimtabv1.ReasonTargetFound, Message: "Release web manages it"}},
		{name: "removed since it was read: not written back", seen: &found, ready: found},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conds := slices.Clone(tc.now)
			setCycleConditions(&conds, gist(tc.seen), tc.ready, active, able)
			got := meta.FindStatusCondition(conds, trimtabv1.ConditionReady)
			if tc.want == nil {
				require.Nil(t, got)
			} else {
				require.NotNil(t, got)
				require.Equal(t, [3]string{string(tc.want.Status), tc.want.Reason, tc.want.Message}, [3]string{string(got.Status), got.Reason, got.Message})
			}
			if gotActive := meta.FindStatusCondition(conds, scaler.ScalingActive); tc.wantActive.Type != "" {
				require.NotNil(t, gotActive)
				require.Equal(t, [3]string{string(tc.wantActive.Status), tc.wantActive.Reason, tc.wantActive.Message}, [3]string{string(gotActive.Status), gotActive.Reason, gotActive.Message})
			}
			require.NotNil(t, meta.FindStatusCondition(conds, scaler.AbleToScale), "the cycle's other conditions are written")
		})
	}
}

// TestPlanCandidates checks how a cycle reads its candidates: the whole
// fleet at each full list, only the due policies in between, and the whole
// fleet again when half of it or more is due.
func TestPlanCandidates(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	const period = 15 * time.Second
	states := func(lastSyncs ...time.Duration) map[types.NamespacedName]*policyState {
		m := map[types.NamespacedName]*policyState{}
		for i, ago := range lastSyncs {
			m[types.NamespacedName{Namespace: "ns", Name: fmt.Sprint("p", i)}] = &policyState{nextSync: t0.Add(period - ago), period: period}
		}
		return m
	}
	cases := []struct {
		name     string
		states   map[types.NamespacedName]*policyState
		lastList time.Duration // before t0; 0 for never
		relist   bool
		full     bool
		due      int
		next     time.Duration // after t0, when not full
	}{
		{name: "never listed", states: states(), full: true},
		{name: "a relist asked for", states: states(time.Second, time.Second), lastList: time.Second, relist: true, full: true},
		{name: "a period since the last list", states: states(time.Second), lastList: period, full: true},
		{name: "nothing due: the next sync is next", states: states(time.Second, 5*time.Second), lastList: 5 * time.Second, next: 10 * time.Second},
		{name: "one of three due: read alone", states: states(period, time.Second, time.Second), lastList: 5 * time.Second, due: 1, next: 10 * time.Second},
		{name: "the list is sooner than any sync", states: states(time.Second), lastList: 14 * time.Second, next: time.Second},
		{name: "half the fleet due: listed", states: states(period, period, time.Second, time.Second), lastList: 5 * time.Second, full: true},
		{name: "the whole fleet due after a relist: listed", states: states(period, period, period), lastList: 7 * time.Second, full: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lastList time.Time
			if tc.lastList > 0 {
				lastList = t0.Add(-tc.lastList)
			}
			full, due, next := planCandidates(tc.states, lastList, tc.relist, t0, period)
			require.Equal(t, tc.full, full, "full")
			require.Len(t, due, tc.due)
			if !tc.full {
				require.Equal(t, t0.Add(tc.next), next)
			}
		})
	}
}

// TestCyclesStayInStepAfterARelist runs the cycle's schedule (plan, claim,
// wake at the earliest next) over a fleet on the controller's period, with
// a policy created in mid-period, which a relist syncs at once. The list
// must stay in step with the syncs: once split, every period woke twice,
// once to list with nothing due and once to read all 10,000 policies one by
// one, which took a 300 MiB container's controller from 280 to 300 MiB.
// And the new policy must join the fleet's ticks, or it would cost every
// period a cycle and Prometheus requests of its own.
func TestCyclesStayInStepAfterARelist(t *testing.T) {
	const period = 15 * time.Second
	c := &ScalingPolicyController{SyncPeriod: period}
	pols := map[types.NamespacedName]*trimtabv1.ScalingPolicy{}
	create := func(i int) {
		pol := &trimtabv1.ScalingPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: fmt.Sprint("p", i), UID: types.UID(fmt.Sprint("u", i)), Generation: 1}}
		pols[client.ObjectKeyFromObject(pol)] = pol
	}
	cycle := func(now time.Time, relist bool) (next time.Time, synced int) {
		full, due, next := planCandidates(c.states, c.lastList, relist, now, period)
		var candidates []*trimtabv1.ScalingPolicy
		if full {
			c.lastList, next = now, now.Add(period)
			for _, pol := range pols {
				candidates = append(candidates, pol)
			}
		}
		for _, key := range due {
			candidates = append(candidates, pols[key])
		}
		for _, pol := range candidates {
			ok, at := c.claimSync(pol, now)
			next = minTime(next, at)
			if ok {
				synced++
			}
		}
		return next, synced
	}
	for i := range 10 {
		create(i)
	}
	t0 := time.Unix(1_700_000_000, 0) // 5 s past a tick of 15 s
	_, synced := cycle(t0, false)
	require.Equal(t, 10, synced)
	// A policy created 3 s later wakes the cycle to list and sync it.
	create(10)
	next, synced := cycle(t0.Add(3*time.Second), true)
	require.Equal(t, 1, synced)
	require.Equal(t, t0.Add(10*time.Second), next, "the fleet's next tick")
	wakes, perWake := 0, []int{}
	for next.Before(t0.Add(10 * period)) {
		wakes++
		next, synced = cycle(next, false)
		perWake = append(perWake, synced)
	}
	require.Equal(t, 10, wakes, "one wake a period: %v policies synced at each", perWake)
	require.Equal(t, 10, perWake[0], "the first tick: the fleet")
	for i, n := range perWake[1:] {
		require.Equal(t, 11, n, "the wake %d: the fleet and the new policy", i+2)
	}
}

// TestSyncTick checks when a synced policy is due again: on its period's
// ticks, half a period to one and a half after the sync.
func TestSyncTick(t *testing.T) {
	tick := time.Unix(1_700_000_010, 0) // a multiple of 15 s
	cases := []struct {
		name   string
		synced time.Duration // after tick
		period time.Duration
		want   time.Duration // after tick
	}{
		{name: "on a tick: the next one", period: 15 * time.Second, want: 15 * time.Second},
		{name: "just after a tick, as a woken cycle is", synced: time.Millisecond, period: 15 * time.Second, want: 15 * time.Second},
		{name: "early in a period: the next tick, over half a period away", synced: 7 * time.Second, period: 15 * time.Second, want: 15 * time.Second},
		{name: "late in a period: the tick after", synced: 8 * time.Second, period: 15 * time.Second, want: 30 * time.Second},
		{name: "a 30 s period meets the 15 s ticks", synced: 3 * time.Second, period: 30 * time.Second, want: 30 * time.Second},
		{name: "a 1 s period", synced: 1200 * time.Millisecond, period: time.Second, want: 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := syncTick(tick.Add(tc.synced), tc.period)
			require.Equal(t, tick.Add(tc.want), got)
			require.Zero(t, got.Sub(time.Unix(0, 0))%tc.period, "on the period's ticks")
		})
	}
}

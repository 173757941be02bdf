package controller_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/testenv"
	"github.com/trimtab/trimtab/scaler"
)

// hourlyDemand cycles between 2 and 8 replicas once an hour.
func hourlyDemand(t time.Time) float64 {
	return 5 + 3*math.Sin(2*math.Pi*float64(t.Unix()%3600)/3600)
}

// demandHistory is what a Prometheus scraping an earlier controller every
// 15 s would hold for the policies named web in namespaces, as OpenMetrics
// with timestamps.
func demandHistory(from, to time.Time, namespaces ...string) []byte {
	var b strings.Builder
	b.WriteString("# TYPE trimtab_scaler_demand_replicas gauge\n")
	for _, ns := range namespaces {
		for ts := from; ts.Before(to); ts = ts.Add(15 * time.Second) {
			fmt.Fprintf(&b, "trimtab_scaler_demand_replicas{name=\"web\",namespace=%q} %.4f %d\n", ns, hourlyDemand(ts), ts.Unix())
		}
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

// TestForecastWarmStart: a new forecast model (as after a controller
// restart) reads its policy's past demand from the Prometheus given by
// --predictive.history-url, here one backfilled with what an earlier
// controller exported, and forecasts at its next sync instead of after a
// 30-minute warm-up and a season. A policy without history, and one whose
// history source is down, learn from now on and keep scaling. The
// Forecasting condition says which, and how far ahead the forecast looks:
// as the spec says, or, unset, as long as the pods take to start plus a
// sync; a horizon shorter than the start-up is a warning.
func TestForecastWarmStart(t *testing.T) {
	warm, cold, down, again := newWorkload(t, 2), newWorkload(t, 2), newWorkload(t, 2), newWorkload(t, 2)
	// Their pods become Ready 2 s after creation (the kubelet stand-in
	// marks them so).
	auto, short := newStartingWorkload(t, 2, 2*time.Second), newStartingWorkload(t, 2, 2*time.Second)
	now := time.Now()
	// One season (an hour) plus the model's 30-minute warm-up, and more.
	history := testenv.StartPrometheusWithHistory(t, demandHistory(now.Add(-100*time.Minute), now, warm.ns, auto.ns, again.ns))
	source := newFlakyProxy(t, history.URL)
	w := startScalingWorld(t, func(d *controller.Deps) {
		d.PredictiveHistory = prometheus.New(prometheus.Options{DefaultURL: source.url})
	})
	// A policy the controller has synced before (it has a status), as after
	// a restart, switched to predictive: its model is new and reads the
	// policy's past.
	predictive := func(wl *workload, horizonSeconds int32) *trimtabv1.ScalingPolicy {
		w.app.set(wl.ns, load{cpuCores: 0.1})
		p := wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		}})
		require.Eventually(t, func() bool { return wl.get(p).Status.ObservedGeneration == p.Generation }, 20*time.Second, 100*time.Millisecond)
		p.Spec.Predictive = &trimtabv1.Predictive{Mode: trimtabv1.PredictiveShadow, SeasonSeconds: 3600, HorizonSeconds: horizonSeconds}
		require.NoError(t, env.Client.Update(context.Background(), p))
		return p
	}
	forecasting := func(wl *workload, p *trimtabv1.ScalingPolicy, status metav1.ConditionStatus, reason string, message ...string) {
		t.Helper()
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			cond := condition(wl.get(p), scaler.Forecasting)
			require.Equal(c, status, cond.Status, cond.Message)
			require.Equal(c, reason, cond.Reason, cond.Message)
			for _, m := range message {
				require.Contains(c, cond.Message, m)
			}
		}, 20*time.Second, 100*time.Millisecond)
	}
	warmStarts := func(result string) float64 {
		return collectortest.Value(t, w.registry, "trimtab_scaler_forecast_warm_starts_total", map[string]string{"result": result})
	}

	// The source is down: the model stays cold, the policy still scales.
	source.down.Store(true)
	pDown := predictive(down, 120)
	require.Eventually(t, func() bool { return warmStarts("error") == 1 }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		st := down.get(pDown).Status
		return len(st.CurrentMetrics) == 1 && st.CurrentMetrics[0].Value == "50%"
	}, 20*time.Second, 100*time.Millisecond, "status: %+v", pDown.Status)
	source.down.Store(false)

	pWarm, pCold := predictive(warm, 120), predictive(cold, 120)
	pAuto, pShort := predictive(auto, 0), predictive(short, 1)
	require.Eventually(t, func() bool { return warmStarts("loaded") == 2 && warmStarts("no_history") == 2 }, 20*time.Second, 100*time.Millisecond,
		"loaded %v, no history %v, error %v", warmStarts("loaded"), warmStarts("no_history"), warmStarts("error"))

	forecasting(warm, pWarm, metav1.ConditionTrue, scaler.ReasonHorizonFromSpec,
		"forecasting 2m0s ahead (spec.predictive.horizonSeconds); shadow mode: the forecast is exported, not acted on")
	forecasting(cold, pCold, metav1.ConditionFalse, scaler.ReasonWarmingUp,
		"learning the load (30 bins, or its history); scaling reactively until then, then forecasting 2m0s ahead")
	forecasting(auto, pAuto, metav1.ConditionTrue, scaler.ReasonHorizonFromStartup,
		"forecasting 2.5s ahead: the pods' observed start-up, 2s (90th percentile of 2) plus the 500ms sync period")
	forecasting(short, pShort, metav1.ConditionFalse, scaler.ReasonHorizonBelowStartup,
		"spec.predictive.horizonSeconds (1s) is shorter than the pods' observed start-up, 2s (90th percentile of 2)",
		"raise it to at least 3 (start-up plus the 500ms sync period) or remove it", "the forecaster is still learning the load")
	require.Len(t, short.waitEvents(scaler.ReasonHorizonBelowStartup, 1), 1, "one Warning, not one per sync")

	// The warm model forecasts the hourly cycle over the next two minutes:
	// the upper forecast is the cycle's highest point plus a band.
	forecastOf := map[string]string{"namespace": warm.ns, "name": "web"}
	require.Eventually(t, func() bool {
		return len(collectortest.Series(t, w.registry, "trimtab_scaler_forecast_demand_replicas", forecastOf)) == 1
	}, 10*time.Second, 100*time.Millisecond, "no forecast from the warm-started model")
	forecast := collectortest.Value(t, w.registry, "trimtab_scaler_forecast_demand_replicas", forecastOf)
	at := time.Now()
	peak := max(hourlyDemand(at), hourlyDemand(at.Add(time.Minute)), hourlyDemand(at.Add(2*time.Minute)))
	t.Logf("upper forecast %.2f replicas, the cycle's peak over the horizon %.2f", forecast, peak)
	require.GreaterOrEqual(t, forecast, peak-0.5, "the forecast misses the learnt cycle")
	require.LessOrEqual(t, forecast, peak+4, "the band is wider than the history's errors explain")

	// A policy created under a name with history (one deleted and
	// re-created) has no status yet: the history is its namesake's, and its
	// model starts cold.
	w.app.set(again.ns, load{cpuCores: 0.1})
	pAgain := again.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
		MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
		Predictive: &trimtabv1.Predictive{Mode: trimtabv1.PredictiveShadow, SeasonSeconds: 3600, HorizonSeconds: 120},
	}})
	forecasting(again, pAgain, metav1.ConditionFalse, scaler.ReasonWarmingUp, "learning the load")
	require.Equal(t, 2.0, warmStarts("loaded"), "a new policy was warm-started from its namesake's history")

	// The history is read past the collector, whose metrics describe the
	// policies' own metrics only.
	require.Empty(t, collectortest.Series(t, w.registry, "trimtab_metric_value", map[string]string{"metric": "forecast-history"}),
		"the history query's answer was exported as a metric value")

	// Without history the models learn from now on: no forecast for 30 min.
	for _, wl := range []*workload{cold, down, again} {
		require.Empty(t, collectortest.Series(t, w.registry, "trimtab_scaler_forecast_demand_replicas", map[string]string{"namespace": wl.ns, "name": "web"}),
			"a cold model forecast in %s", wl.ns)
	}
}

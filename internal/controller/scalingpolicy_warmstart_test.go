package controller_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/utils/ptr"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/collector/prometheus"
	"github.com/trimtab/trimtab/internal/controller"
	"github.com/trimtab/trimtab/internal/testenv"
)

// hourlyDemand cycles between 2 and 8 replicas once an hour.
func hourlyDemand(t time.Time) float64 {
	return 5 + 3*math.Sin(2*math.Pi*float64(t.Unix()%3600)/3600)
}

// demandHistory is what a Prometheus scraping an earlier controller every
// 15 s would hold for one policy, as OpenMetrics with timestamps.
func demandHistory(namespace, name string, from, to time.Time) []byte {
	var b strings.Builder
	b.WriteString("# TYPE trimtab_scaler_demand_replicas gauge\n")
	for ts := from; ts.Before(to); ts = ts.Add(15 * time.Second) {
		fmt.Fprintf(&b, "trimtab_scaler_demand_replicas{name=%q,namespace=%q} %.4f %d\n", name, namespace, hourlyDemand(ts), ts.Unix())
	}
	b.WriteString("# EOF\n")
	return []byte(b.String())
}

// TestForecastWarmStart: a new forecast model (as after a controller
// restart) reads its policy's past demand from the Prometheus given by
// --predictive.history-url, here one backfilled with what an earlier
// controller exported, and forecasts at its next sync instead of after a
// 30-minute warm-up and a season. A policy without history, and one whose
// history source is down, learn from now on and keep scaling.
func TestForecastWarmStart(t *testing.T) {
	warm, cold, down := newWorkload(t, 2), newWorkload(t, 2), newWorkload(t, 2)
	now := time.Now()
	// One season (an hour) plus the model's 30-minute warm-up, and more.
	history := testenv.StartPrometheusWithHistory(t, demandHistory(warm.ns, "web", now.Add(-100*time.Minute), now))
	source := newFlakyProxy(t, history.URL)
	w := startScalingWorld(t, func(d *controller.Deps) {
		d.PredictiveHistory = prometheus.New(prometheus.Options{DefaultURL: source.url})
	})
	predictive := func(wl *workload) *trimtabv1.ScalingPolicy {
		w.app.set(wl.ns, load{cpuCores: 0.1})
		return wl.policy(&trimtabv1.ScalingPolicy{Spec: trimtabv1.ScalingPolicySpec{
			MinReplicas: ptr.To[int32](2), MaxReplicas: 10, Metrics: []trimtabv1.ScalingMetric{cpuMetric(w.prom.URL)},
			Predictive: &trimtabv1.Predictive{Mode: trimtabv1.PredictiveShadow, SeasonSeconds: 3600, HorizonSeconds: 120},
		}})
	}
	warmStarts := func(result string) float64 {
		return collectortest.Value(t, w.registry, "trimtab_scaler_forecast_warm_starts_total", map[string]string{"result": result})
	}

	// The source is down: the model stays cold, the policy still scales.
	source.down.Store(true)
	pDown := predictive(down)
	require.Eventually(t, func() bool { return warmStarts("error") == 1 }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool {
		st := down.get(pDown).Status
		return len(st.CurrentMetrics) == 1 && st.CurrentMetrics[0].Value == "50%"
	}, 20*time.Second, 100*time.Millisecond, "status: %+v", pDown.Status)
	source.down.Store(false)

	predictive(warm)
	predictive(cold)
	require.Eventually(t, func() bool { return warmStarts("loaded") == 1 && warmStarts("no_history") == 1 }, 20*time.Second, 100*time.Millisecond,
		"loaded %v, no history %v, error %v", warmStarts("loaded"), warmStarts("no_history"), warmStarts("error"))

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

	// The history is read past the collector, whose metrics describe the
	// policies' own metrics only.
	require.Empty(t, collectortest.Series(t, w.registry, "trimtab_metric_value", map[string]string{"metric": "forecast-history"}),
		"the history query's answer was exported as a metric value")

	// Without history the models learn from now on: no forecast for 30 min.
	for _, wl := range []*workload{cold, down} {
		require.Empty(t, collectortest.Series(t, w.registry, "trimtab_scaler_forecast_demand_replicas", map[string]string{"namespace": wl.ns, "name": "web"}),
			"a cold model forecast in %s", wl.ns)
	}
}

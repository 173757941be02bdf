package scaler

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

func TestRecorder(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r := NewRecorder()
	reg.MustRegister(r)

	d := Decision{Demand: 4.5, HasDemand: true, ForecastReplicas: 7, ForecastApplied: true, FallbackActive: true, History: History{ConsecutiveFailures: 3}}
	cfg := Config{Predictive: Predictive{Mode: v1alpha1.PredictiveOn}, Fallback: &Fallback{FailureThreshold: 3, Replicas: 6}}
	d.Replicas = 7
	obs := Observation{Config: cfg, Current: 5, Decision: d, Forecast: &Forecast{PeakDemand: 6.2}, Accuracy: &predict.Accuracy{MeanAbsolute: 0.4, RMS: 0.5},
		MetricFailures: []MetricFailure{{Metric: "cpu", Reason: "unavailable"}}}
	r.Record("shop", "web", obs)
	obs.MetricFailures = append(obs.MetricFailures, MetricFailure{Metric: "queue", Reason: "no_data"})
	r.Record("shop", "web", obs)

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP trimtab_scaler_forecast_demand_replicas Upper forecast of the demand over the predictive horizon, in replicas at target.
# TYPE trimtab_scaler_forecast_demand_replicas gauge
trimtab_scaler_forecast_demand_replicas{name="web",namespace="shop"} 6.2
# HELP trimtab_scaler_forecast_replicas Replicas the forecast proposes (acted on only in predictive mode on).
# TYPE trimtab_scaler_forecast_replicas gauge
trimtab_scaler_forecast_replicas{name="web",namespace="shop"} 7
# HELP trimtab_scaler_forecast_applied_total Syncs in which the forecast raised the replica proposal above the reactive one.
# TYPE trimtab_scaler_forecast_applied_total counter
trimtab_scaler_forecast_applied_total{name="web",namespace="shop"} 2
# HELP trimtab_scaler_fallback_active 1 while the failure threshold is reached and the fallback replicas apply, else 0.
# TYPE trimtab_scaler_fallback_active gauge
trimtab_scaler_fallback_active{name="web",namespace="shop"} 1
# HELP trimtab_scaler_forecast_rms_error_replicas Recent root-mean-square one-step forecast error, in replicas at target.
# TYPE trimtab_scaler_forecast_rms_error_replicas gauge
trimtab_scaler_forecast_rms_error_replicas{name="web",namespace="shop"} 0.5
# HELP trimtab_scaler_current_replicas Replicas of the ScalingPolicy's target at the last sync (the Release's total during a release).
# TYPE trimtab_scaler_current_replicas gauge
trimtab_scaler_current_replicas{name="web",namespace="shop"} 5
# HELP trimtab_scaler_desired_replicas Replicas the last sync decided.
# TYPE trimtab_scaler_desired_replicas gauge
trimtab_scaler_desired_replicas{name="web",namespace="shop"} 7
# HELP trimtab_scaler_demand_replicas Observed load in replicas at target: the metrics' total divided by the per-replica target, before rounding and tolerance.
# TYPE trimtab_scaler_demand_replicas gauge
trimtab_scaler_demand_replicas{name="web",namespace="shop"} 4.5
# HELP trimtab_scaler_metric_failures_total Syncs in which a metric of a ScalingPolicy had no usable value, by metric and reason (no_data, unavailable, bad_query, ...).
# TYPE trimtab_scaler_metric_failures_total counter
trimtab_scaler_metric_failures_total{metric="cpu",name="web",namespace="shop",reason="unavailable"} 2
trimtab_scaler_metric_failures_total{metric="queue",name="web",namespace="shop",reason="no_data"} 1
`), "trimtab_scaler_metric_failures_total", "trimtab_scaler_forecast_demand_replicas", "trimtab_scaler_forecast_replicas", "trimtab_scaler_forecast_applied_total",
		"trimtab_scaler_fallback_active", "trimtab_scaler_forecast_rms_error_replicas", "trimtab_scaler_current_replicas",
		"trimtab_scaler_desired_replicas", "trimtab_scaler_demand_replicas"))

	// The same policy without predictive on or a fallback loses those
	// series; a plain policy never gets them. Failure counts stay, and a
	// policy whose metrics never failed has none.
	plain := Config{Predictive: Predictive{Mode: v1alpha1.PredictiveShadow}}
	r.Record("shop", "web", Observation{Config: plain, Current: 5, Decision: d})
	r.Record("shop", "api", Observation{Config: plain, Current: 5, Decision: d})
	for _, name := range []string{"trimtab_scaler_forecast_applied_total", "trimtab_scaler_fallback_active"} {
		n, err := testutil.GatherAndCount(reg, name)
		require.NoError(t, err)
		require.Zero(t, n, name)
	}
	n, err := testutil.GatherAndCount(reg, "trimtab_scaler_metric_consecutive_failures")
	require.NoError(t, err)
	require.Equal(t, 2, n)
	n, err = testutil.GatherAndCount(reg, "trimtab_scaler_metric_failures_total")
	require.NoError(t, err)
	require.Equal(t, 2, n, "failure counts of web only")

	// Switched to predictive off, web has no forecast: its last one must
	// not stay exported, frozen.
	for _, name := range []string{"trimtab_scaler_forecast_demand_replicas", "trimtab_scaler_forecast_replicas", "trimtab_scaler_forecast_rms_error_replicas", "trimtab_scaler_forecast_absolute_error_replicas"} {
		n, err := testutil.GatherAndCount(reg, name)
		require.NoError(t, err)
		require.Equal(t, 1, n, "%s: web's, in shadow mode", name)
	}
	r.Record("shop", "web", Observation{Config: Config{}, Current: 5, Decision: d})
	for _, name := range []string{"trimtab_scaler_forecast_demand_replicas", "trimtab_scaler_forecast_replicas", "trimtab_scaler_forecast_rms_error_replicas", "trimtab_scaler_forecast_absolute_error_replicas"} {
		n, err := testutil.GatherAndCount(reg, name)
		require.NoError(t, err)
		require.Zero(t, n, "%s after predictive was switched off", name)
	}

	r.Forget("shop", "web")
	r.Forget("shop", "api")
	n, err = testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Zero(t, n)
}

// TestRecorderWriteText checks that the streamed text holds exactly what a
// registry gathers through Collect, escaping included, and that the filter
// leaves the other families out.
func TestRecorderWriteText(t *testing.T) {
	r := NewRecorder()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(r)
	on := Config{Predictive: Predictive{Mode: v1alpha1.PredictiveOn}, Fallback: &Fallback{FailureThreshold: 3, Replicas: 6}}
	r.Record("shop", "web", Observation{Config: on, Current: 5,
		Decision: Decision{Replicas: 7, Demand: 4.25, HasDemand: true, ForecastReplicas: 7, ForecastApplied: true},
		Forecast: &Forecast{PeakDemand: 6.2}, Accuracy: &predict.Accuracy{MeanAbsolute: 1e-9, RMS: 12345678.5},
		MetricFailures: []MetricFailure{{Metric: `p95 "edge"\n` + "\nlatency", Reason: "no_data"}}})
	r.Record("shop", "api", Observation{Current: 2, Decision: Decision{Replicas: 2}})
	r.Record("analytics", "etl", Observation{Current: 1, Decision: Decision{Replicas: 3, Demand: 2.5, HasDemand: true}})

	parse := func(include func(string) bool) map[string]*dto.MetricFamily {
		var b strings.Builder
		require.NoError(t, r.WriteText(&b, include))
		parser := expfmt.NewTextParser(model.UTF8Validation)
		families, err := parser.TextToMetricFamilies(strings.NewReader(b.String()))
		require.NoError(t, err, "the streamed text does not parse:\n%s", b.String())
		return families
	}
	gathered, err := reg.Gather()
	require.NoError(t, err)
	streamed := parse(nil)
	require.Len(t, streamed, len(gathered))
	for _, want := range gathered {
		got := streamed[want.GetName()]
		require.NotNil(t, got, want.GetName())
		// Series order carries no meaning: the registry sorts by label
		// name, the stream by namespace.
		for _, f := range []*dto.MetricFamily{want, got} {
			slices.SortFunc(f.Metric, func(a, b *dto.Metric) int { return strings.Compare(a.String(), b.String()) })
		}
		require.Equal(t, want.String(), got.String())
	}

	only := parse(func(name string) bool { return name == "trimtab_scaler_desired_replicas" })
	require.Len(t, only, 1)
	require.Len(t, only["trimtab_scaler_desired_replicas"].Metric, 3)

	// A family without series is left out, as the registry leaves it out.
	r.Forget("shop", "web")
	require.NotContains(t, parse(nil), "trimtab_scaler_forecast_demand_replicas")
}

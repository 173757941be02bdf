package scaler

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/trimtab/trimtab/scaler/predict"
)

func TestRecorder(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	r, err := NewRecorder(reg)
	require.NoError(t, err)

	d := Decision{Demand: 4.5, HasDemand: true, ForecastReplicas: 7, ForecastApplied: true, FallbackActive: true, History: History{ConsecutiveFailures: 3}}
	r.Record("shop", "web", d, &Forecast{PeakDemand: 6.2}, &predict.Accuracy{MeanAbsolute: 0.4, RMS: 0.5})
	r.Record("shop", "web", d, &Forecast{PeakDemand: 6.2}, &predict.Accuracy{MeanAbsolute: 0.4, RMS: 0.5})

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
`), "trimtab_scaler_forecast_demand_replicas", "trimtab_scaler_forecast_replicas", "trimtab_scaler_forecast_applied_total",
		"trimtab_scaler_fallback_active", "trimtab_scaler_forecast_rms_error_replicas"))

	r.Forget("shop", "web")
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Zero(t, n)

	_, err = NewRecorder(reg)
	require.ErrorContains(t, err, "register scaler metrics")
}

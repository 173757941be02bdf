package scaler

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/scaler/predict"
)

// Recorder exports what the scaler decided and forecast, per ScalingPolicy,
// for dashboards: current and desired replicas, the demand, the forecast
// next to it and its error, the failure policy's state and the metrics'
// failures. The controller calls Record after each decision and Forget
// when a policy is deleted.
//
// It keeps each policy's latest values in a small struct and builds the
// series only when scraped, as kube-state-metrics does: a labelled gauge
// costs about 500 bytes per series for as long as it exists. WriteText
// streams them in the text format without building a metric object per
// series: gathered through a prometheus.Registry (Collect), 10,000
// predictive policies' 90,000 or more series cost some 74 MB of garbage a
// scrape (BenchmarkRecorderScrape).
type Recorder struct {
	mu       sync.Mutex
	policies map[policyKey]*policyValues
}

type policyKey struct{ namespace, name string }

// policyValues are one policy's latest values; the has* flags say which
// series the policy has.
type policyValues struct {
	current, desired                            float64
	demand                                      float64
	forecastDemand, forecastReplicas            float64
	forecastAbsErr, forecastRMS                 float64
	failures, fallback                          float64
	forecastApplied                             float64
	hasDemand, hasForecast, hasAccuracy         bool
	countsForecastApplied, reportsFallbackState bool
	// metricFailures count failed syncs by metric and reason, for as long
	// as the policy exists (a counter's value must never go back).
	metricFailures []metricFailureCount
}

type metricFailureCount struct {
	MetricFailure
	syncs float64
}

// MetricFailure is a metric that had no usable value in a sync, and why
// (a collector.Reason such as no_data or unavailable).
type MetricFailure struct{ Metric, Reason string }

// Observation is one sync of a policy as the Recorder exports it.
type Observation struct {
	// Config is the policy's configuration: the forecast counter exists
	// only in predictive mode on, the fallback gauge only with a fallback.
	Config Config
	// Current is the replica count the sync started from.
	Current  int32
	Decision Decision
	// Forecast went into the decision and Accuracy is the forecaster's;
	// both nil when predictive is off or warming up.
	Forecast *Forecast
	Accuracy *predict.Accuracy
	// MetricFailures are the metrics that failed in this sync.
	MetricFailures []MetricFailure
}

// policyFamily is one per-policy series family, labelled namespace and
// name: value says whether a policy has the series, and its value.
type policyFamily struct {
	name, help string
	typ        prometheus.ValueType
	value      func(*policyValues) (float64, bool)
	desc       *prometheus.Desc
}

// failuresFamily is labelled metric and reason besides namespace and name.
var failuresFamily = policyFamily{name: "trimtab_scaler_metric_failures_total", typ: prometheus.CounterValue,
	help: "Syncs in which a metric of a ScalingPolicy had no usable value, by metric and reason (no_data, unavailable, bad_query, ...)."}

var policyFamilies = []policyFamily{
	{name: "trimtab_scaler_current_replicas", typ: prometheus.GaugeValue,
		help:  "Replicas of the ScalingPolicy's target at the last sync (the Release's total during a release).",
		value: func(v *policyValues) (float64, bool) { return v.current, true }},
	{name: "trimtab_scaler_desired_replicas", typ: prometheus.GaugeValue, help: "Replicas the last sync decided.",
		value: func(v *policyValues) (float64, bool) { return v.desired, true }},
	{name: "trimtab_scaler_metric_consecutive_failures", typ: prometheus.GaugeValue,
		help:  "Consecutive syncs in which at least one metric failed.",
		value: func(v *policyValues) (float64, bool) { return v.failures, true }},
	{name: "trimtab_scaler_demand_replicas", typ: prometheus.GaugeValue,
		help:  "Observed load in replicas at target: the metrics' total divided by the per-replica target, before rounding and tolerance.",
		value: func(v *policyValues) (float64, bool) { return v.demand, v.hasDemand }},
	{name: "trimtab_scaler_forecast_demand_replicas", typ: prometheus.GaugeValue,
		help:  "Upper forecast of the demand over the predictive horizon, in replicas at target.",
		value: func(v *policyValues) (float64, bool) { return v.forecastDemand, v.hasForecast }},
	{name: "trimtab_scaler_forecast_replicas", typ: prometheus.GaugeValue,
		help:  "Replicas the forecast proposes (acted on only in predictive mode on).",
		value: func(v *policyValues) (float64, bool) { return v.forecastReplicas, v.hasForecast }},
	{name: "trimtab_scaler_forecast_absolute_error_replicas", typ: prometheus.GaugeValue,
		help:  "Recent mean absolute one-step forecast error, in replicas at target.",
		value: func(v *policyValues) (float64, bool) { return v.forecastAbsErr, v.hasAccuracy }},
	{name: "trimtab_scaler_forecast_rms_error_replicas", typ: prometheus.GaugeValue,
		help:  "Recent root-mean-square one-step forecast error, in replicas at target.",
		value: func(v *policyValues) (float64, bool) { return v.forecastRMS, v.hasAccuracy }},
	{name: "trimtab_scaler_forecast_applied_total", typ: prometheus.CounterValue,
		help:  "Syncs in which the forecast raised the replica proposal above the reactive one.",
		value: func(v *policyValues) (float64, bool) { return v.forecastApplied, v.countsForecastApplied }},
	{name: "trimtab_scaler_fallback_active", typ: prometheus.GaugeValue,
		help:  "1 while the failure threshold is reached and the fallback replicas apply, else 0.",
		value: func(v *policyValues) (float64, bool) { return v.fallback, v.reportsFallbackState }},
}

func init() {
	for i := range policyFamilies {
		f := &policyFamilies[i]
		f.desc = prometheus.NewDesc(f.name, f.help, []string{"namespace", "name"}, nil)
	}
	failuresFamily.desc = prometheus.NewDesc(failuresFamily.name, failuresFamily.help, []string{"namespace", "name", "metric", "reason"}, nil)
}

// NewRecorder returns an empty Recorder. Serve it with WriteText beside
// the registry, or register it as a prometheus.Collector where its size
// does not matter.
func NewRecorder() *Recorder {
	return &Recorder{policies: map[policyKey]*policyValues{}}
}

// Record exports one sync of a policy.
func (r *Recorder) Record(namespace, name string, o Observation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := policyKey{namespace, name}
	v := r.policies[key]
	if v == nil {
		v = &policyValues{}
		r.policies[key] = v
	}
	d := o.Decision
	v.current, v.desired = float64(o.Current), float64(d.Replicas)
	if d.HasDemand {
		v.demand, v.hasDemand = d.Demand, true
	}
	if mode := o.Config.Predictive.Mode; mode == v1alpha1.PredictiveOff || mode == "" {
		// Switched off: its last forecast would stay exported, frozen.
		v.hasForecast, v.hasAccuracy = false, false
	}
	if f := o.Forecast; f != nil {
		v.forecastDemand, v.forecastReplicas, v.hasForecast = f.PeakDemand, float64(d.ForecastReplicas), true
	}
	if acc := o.Accuracy; acc != nil {
		v.forecastAbsErr, v.forecastRMS, v.hasAccuracy = acc.MeanAbsolute, acc.RMS, true
	}
	v.countsForecastApplied = o.Config.Predictive.Mode == v1alpha1.PredictiveOn
	if !v.countsForecastApplied {
		v.forecastApplied = 0
	} else if d.ForecastApplied {
		v.forecastApplied++
	}
	v.failures = float64(d.History.ConsecutiveFailures)
	v.reportsFallbackState, v.fallback = o.Config.Fallback != nil, 0
	if d.FallbackActive {
		v.fallback = 1
	}
	for _, f := range o.MetricFailures {
		i := slices.IndexFunc(v.metricFailures, func(c metricFailureCount) bool { return c.MetricFailure == f })
		if i < 0 {
			i = len(v.metricFailures)
			v.metricFailures = append(v.metricFailures, metricFailureCount{MetricFailure: f})
		}
		v.metricFailures[i].syncs++
	}
}

// Forget drops a deleted policy's series.
func (r *Recorder) Forget(namespace, name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.policies, policyKey{namespace, name})
}

// Describe implements prometheus.Collector.
func (r *Recorder) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range policyFamilies {
		ch <- f.desc
	}
	ch <- failuresFamily.desc
}

type policyEntry struct {
	key policyKey
	policyValues
}

// snapshot copies the values under the lock, ordered by namespace and
// name, so that a slow scrape never holds up a sync.
func (r *Recorder) snapshot() []policyEntry {
	r.mu.Lock()
	out := make([]policyEntry, 0, len(r.policies))
	for k, v := range r.policies {
		e := policyEntry{k, *v}
		e.metricFailures = slices.Clone(v.metricFailures)
		out = append(out, e)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b policyEntry) int {
		return cmp.Or(strings.Compare(a.key.namespace, b.key.namespace), strings.Compare(a.key.name, b.key.name))
	})
	return out
}

// Collect implements prometheus.Collector.
func (r *Recorder) Collect(ch chan<- prometheus.Metric) {
	snapshot := r.snapshot()
	for _, f := range policyFamilies {
		for i := range snapshot {
			e := &snapshot[i]
			if x, ok := f.value(&e.policyValues); ok {
				ch <- prometheus.MustNewConstMetric(f.desc, f.typ, x, e.key.namespace, e.key.name)
			}
		}
	}
	for _, e := range snapshot {
		for _, c := range e.metricFailures {
			ch <- prometheus.MustNewConstMetric(failuresFamily.desc, failuresFamily.typ, c.syncs, e.key.namespace, e.key.name, c.Metric, c.Reason)
		}
	}
}

// WriteText writes the series of the families include accepts (all when
// nil) in the Prometheus text format (version 0.0.4), as Collect would
// have them gathered, a line at a time.
func (r *Recorder) WriteText(w io.Writer, include func(family string) bool) error {
	snapshot := r.snapshot()
	tw := &textWriter{w: bufio.NewWriterSize(w, 32<<10)}
	for i := range policyFamilies {
		f := &policyFamilies[i]
		if include != nil && !include(f.name) {
			continue
		}
		tw.family = f
		for j := range snapshot {
			e := &snapshot[j]
			if x, ok := f.value(&e.policyValues); ok {
				tw.series(x, "name", e.key.name, "namespace", e.key.namespace)
			}
		}
	}
	if include == nil || include(failuresFamily.name) {
		tw.family = &failuresFamily
		for _, e := range snapshot {
			for _, c := range e.metricFailures {
				tw.series(c.syncs, "metric", c.Metric, "name", e.key.name, "namespace", e.key.namespace, "reason", c.Reason)
			}
		}
	}
	return tw.w.Flush()
}

// textWriter writes one family's series after its HELP and TYPE lines,
// which it writes before the first series: a family without series is left
// out, as a registry leaves it out.
type textWriter struct {
	w      *bufio.Writer
	family *policyFamily
	headed *policyFamily
	line   []byte
}

// series writes one sample; pairs are label names and values, sorted by
// name.
func (t *textWriter) series(x float64, pairs ...string) {
	f := t.family
	if t.headed != f {
		t.headed = f
		typ := "gauge"
		if f.typ == prometheus.CounterValue {
			typ = "counter"
		}
		_, _ = fmt.Fprintf(t.w, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, typ)
	}
	b := append(t.line[:0], f.name...)
	for i := 0; i < len(pairs); i += 2 {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		b = append(b, sep)
		b = append(b, pairs[i]...)
		b = append(b, '=', '"')
		b = appendLabelValue(b, pairs[i+1])
		b = append(b, '"')
	}
	b = append(b, '}', ' ')
	b = appendFloat(b, x)
	b = append(b, '\n')
	_, _ = t.w.Write(b)
	t.line = b
}

// escapeHelp and appendLabelValue escape as the text format requires.
func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func appendLabelValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '"':
			b = append(b, '\\', '"')
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return b
}

func appendFloat(b []byte, x float64) []byte {
	switch {
	case math.IsInf(x, +1):
		return append(b, "+Inf"...)
	case math.IsInf(x, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(x):
		return append(b, "NaN"...)
	}
	return strconv.AppendFloat(b, x, 'g', -1, 64)
}

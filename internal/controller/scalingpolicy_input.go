package controller

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/internal/kube"
	"github.com/trimtab/trimtab/scaler"
)

// podsOf converts pods into what the HPA reads of them.
func podsOf(pods []kube.LeanPod) []scaler.Pod {
	out := make([]scaler.Pod, len(pods))
	for i := range pods {
		p := &pods[i]
		sp := scaler.Pod{Name: p.Name, Created: p.CreationTimestamp.Time, Deleting: p.DeletionTimestamp != nil, Phase: scaler.PodPhase(p.Status.Phase)}
		if r := p.Ready(); r != nil {
			sp.Ready = &scaler.PodReady{Status: scaler.ConditionStatus(r.Status), LastTransitionTime: r.LastTransitionTime.Time}
		}
		if p.Status.StartTime != nil {
			sp.StartTime = &p.Status.StartTime.Time
		}
		for _, c := range p.Spec.Containers {
			sp.Containers = append(sp.Containers, scaler.Container{Name: c.Name, Requests: milliRequests(c.Resources.Requests)})
		}
		regular := len(sp.Containers)
		podLevel := p.Spec.HasPodRequests()
		var inits []scaler.InitContainer
		for _, c := range p.Spec.InitContainers {
			requests := milliRequests(c.Resources.Requests)
			sidecar := c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
			// Sidecars run beside the app and their requests count, as
			// upstream.
			if sidecar {
				sp.Containers = append(sp.Containers, scaler.Container{Name: c.Name, Requests: requests})
			}
			if podLevel {
				inits = append(inits, scaler.InitContainer{Requests: requests, Sidecar: sidecar})
			}
		}
		if podLevel {
			containers := make([]scaler.Requests, regular)
			for j := range containers {
				containers[j] = sp.Containers[j].Requests
			}
			sp.PodRequests = scaler.PodLevelRequests(milliRequests(p.Spec.Resources.Requests), containers, inits, milliRequests(p.Spec.Overhead))
		}
		out[i] = sp
	}
	return out
}

func milliRequests(rs kube.MilliRequests) scaler.Requests {
	out := make(scaler.Requests, len(rs))
	for i, r := range rs {
		out[i] = scaler.Request{Resource: string(r.Name), Milli: r.Milli}
	}
	return out
}

// metricResult converts the collector's answer for one metric into the
// core's shape. resource and pods metrics need one series per pod, labelled
// "pod" (as cAdvisor's and most exporters' series are); object metrics one
// series; external metrics any number, which the core sums. Values are
// scaled to milli-units.
func metricResult(m trimtabv1.ScalingMetric, r collector.Result, window time.Duration) scaler.MetricResult {
	if r.Err != nil {
		return scaler.MetricResult{Err: r.Err}
	}
	switch m.Kind {
	case trimtabv1.MetricResource, trimtabv1.MetricPods:
		series := r.PerPod
		if len(series) == 0 {
			series = r.Series
		}
		pods := make(map[string]scaler.PodSample, len(series))
		for _, s := range series {
			pod := s.Labels["pod"]
			if pod == "" {
				return scaler.MetricResult{Err: collector.Errorf(collector.ReasonBadQuery,
					"metric %q of kind %s needs one series per pod with a \"pod\" label, e.g. sum by (pod) (rate(container_cpu_usage_seconds_total{namespace=\"{{.Namespace}}\",pod=~\"{{.PodRegex}}\"}[{{.Interval}}])); got a series labelled %v",
					m.Name, m.Kind, s.Labels)}
			}
			last := s.Samples[len(s.Samples)-1]
			pods[pod] = scaler.PodSample{Milli: milli(last.Value), Timestamp: last.Time, Window: window}
		}
		return scaler.MetricResult{PodValues: pods}
	case trimtabv1.MetricObject:
		last, err := r.Latest()
		if err != nil {
			return scaler.MetricResult{Err: fmt.Errorf("metric %q: %w", m.Name, err)}
		}
		return scaler.MetricResult{Values: []int64{milli(last.Value)}}
	default:
		values := make([]int64, len(r.Series))
		for i, s := range r.Series {
			values[i] = milli(s.Samples[len(s.Samples)-1].Value)
		}
		return scaler.MetricResult{Values: values}
	}
}

// milli converts a sample to milli-units, saturating.
func milli(v float64) int64 {
	m := math.Round(v * 1000)
	switch {
	case m >= math.MaxInt64:
		return math.MaxInt64
	case m <= math.MinInt64:
		return math.MinInt64
	}
	return int64(m)
}

// metricStatuses is status.currentMetrics: each metric's value against its
// target as the HPA shows them ("85%" against "70%", "250m" against "300m").
func metricStatuses(metrics []trimtabv1.ScalingMetric, d scaler.Decision) []trimtabv1.MetricStatus {
	out := make([]trimtabv1.MetricStatus, len(metrics))
	for i, m := range metrics {
		out[i] = trimtabv1.MetricStatus{Name: m.Name, Target: targetString(m.Target)}
		switch {
		case i >= len(d.Metrics):
		case d.Metrics[i].Err != nil:
			out[i].Error = shorten(d.Metrics[i].Err.Error(), maxMetricError)
		default:
			out[i].Value = valueString(m.Target.Type, d.Metrics[i].Value)
			out[i].ProposedReplicas = d.Metrics[i].Proposal
		}
	}
	return out
}

// maxMetricError bounds status.currentMetrics[].error: a status is written
// for every policy, and the start of an error says what failed.
const maxMetricError = 300

// shorten cuts s to at most n bytes at a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func targetString(t trimtabv1.MetricTarget) string {
	switch {
	case t.Type == trimtabv1.UtilizationTarget && t.AverageUtilization != nil:
		return fmt.Sprintf("%d%%", *t.AverageUtilization)
	case t.Type == trimtabv1.AverageValueTarget && t.AverageValue != nil:
		return scaler.QuantityText(t.AverageValue)
	case t.Type == trimtabv1.ValueTarget && t.Value != nil:
		return scaler.QuantityText(t.Value)
	}
	return ""
}

func valueString(typ trimtabv1.TargetType, v int64) string {
	if typ == trimtabv1.UtilizationTarget {
		return fmt.Sprintf("%d%%", v)
	}
	return resource.NewMilliQuantity(v, resource.DecimalSI).String()
}

// targetValue is the core's target in the unit of MetricStatus.Value.
func targetValue(t scaler.Target) int64 {
	switch t.Type {
	case scaler.Utilization:
		return int64(t.Utilization)
	case scaler.AverageValue:
		return t.AverageMilli
	}
	return t.ValueMilli
}

// rescaleMessage explains a change with the values that drove it:
// "cpu 85% > target 70%: 4 → 6".
func rescaleMessage(cfg scaler.Config, d scaler.Decision, current int32) string {
	why := d.Reason
	describe := func(i int) string {
		m := cfg.Metrics[i]
		typ := trimtabv1.TargetType(m.Target.Type)
		// The sign compares what is shown: an AverageValue is shown per
		// ready replica, and with a replica count in flux it can sit on
		// the other side of its target than the proposal suggests.
		v, target := d.Metrics[i].Value, targetValue(m.Target)
		cmp := "="
		switch {
		case v > target:
			cmp = ">"
		case v < target:
			cmp = "<"
		}
		return fmt.Sprintf("%s %s %s target %s", m.Name, valueString(typ, v), cmp, valueString(typ, target))
	}
	switch {
	case d.Replicas > current:
		for i, ms := range d.Metrics {
			if ms.Err == nil && d.Reason == ms.Name+" above target" {
				why = describe(i)
			}
		}
		if d.ForecastApplied {
			why = fmt.Sprintf("forecast load needs %d replicas within the horizon (metrics alone: %d)", d.ForecastReplicas, d.Reactive)
		}
	case d.Replicas < current && d.Reason == "All metrics below target":
		var parts []string
		for i, ms := range d.Metrics {
			if ms.Err == nil {
				parts = append(parts, describe(i))
			}
		}
		if len(parts) > 0 {
			why = strings.Join(parts, ", ")
		}
	}
	if why == "" {
		// Normalization alone moved the count (a rate limit released, or
		// the stabilization window let a lower recommendation through).
		why = "stabilized recommendation"
	}
	return fmt.Sprintf("%s: %d → %d", why, current, d.Replicas)
}

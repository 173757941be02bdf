// Package collectortest holds helpers shared by the collector's tests.
package collectortest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/trimtab/trimtab/collector"
)

// ProviderFunc adapts a function to collector.Provider.
type ProviderFunc func(ctx context.Context, qs []collector.Query) []collector.Result

// Collect implements collector.Provider.
func (f ProviderFunc) Collect(ctx context.Context, qs []collector.Query) []collector.Result {
	return f(ctx, qs)
}

// ErrorCase is a query that must fail in a given way.
type ErrorCase struct {
	Name    string
	Query   collector.Query
	Class   error
	Reason  collector.Reason
	Message string
}

// RunErrorCases sends all the cases' queries to p in one batch, checks each
// answer in a subtest, and returns the results for further checks.
func RunErrorCases(t *testing.T, p collector.Provider, cases []ErrorCase) []collector.Result {
	t.Helper()
	qs := make([]collector.Query, len(cases))
	for i, tc := range cases {
		qs[i] = tc.Query
	}
	res := p.Collect(context.Background(), qs)
	for i, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			RequireError(t, res[i].Err, tc.Class, tc.Reason, tc.Message)
		})
	}
	return res
}

// RequireError fails the test unless err is of class (ErrNoData,
// ErrRetryable or ErrPermanent), has reason, and its message contains
// message.
func RequireError(t testing.TB, err, class error, reason collector.Reason, message string) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Fatalf("error %v is not %v", err, class)
	}
	if got := collector.ReasonOf(err); got != reason {
		t.Fatalf("error %v has reason %s, want %s", err, got, reason)
	}
	if err == nil || !strings.Contains(err.Error(), message) {
		t.Fatalf("error %v does not contain %q", err, message)
	}
}

// Value returns the value of the counter or gauge name whose labels include
// want, summed over matching series; 0 when there is none.
func Value(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	sum := 0.0
	for _, m := range Series(t, g, name, want) {
		sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	return sum
}

// Series returns the series of metric name whose labels include want.
func Series(t testing.TB, g prometheus.Gatherer, name string, want map[string]string) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	var out []*dto.Metric
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			out = append(out, m)
		}
	}
	return out
}

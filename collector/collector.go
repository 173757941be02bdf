package collector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Provider answers a batch of queries of its kind. Result i answers query i;
// a provider never returns fewer results than queries, and it returns by the
// context's deadline.
type Provider interface {
	Collect(ctx context.Context, qs []Query) []Result
}

// Collector dispatches a batch across providers by source kind.
type Collector struct {
	providers map[Kind]Provider
	metrics   *Metrics
	timeout   time.Duration
}

// DefaultTimeout bounds one collection cycle when Options leave it zero.
const DefaultTimeout = 30 * time.Second

// Options tune a Collector.
type Options struct {
	// Timeout bounds one Collect call across all providers.
	Timeout time.Duration
	// Metrics records what was collected; nil records nothing.
	Metrics *Metrics
}

// New returns a Collector over the given providers. A query whose kind has
// no provider gets a configuration error naming the kind.
func New(providers map[Kind]Provider, opts Options) *Collector {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Collector{providers: providers, metrics: opts.Metrics, timeout: opts.Timeout}
}

// Collect answers every query; result i answers query i. Providers run
// concurrently; one that overruns the cycle's timeout gets timeout errors
// for its queries rather than stalling the others.
func (c *Collector) Collect(ctx context.Context, qs []Query) []Result {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	out := make([]Result, len(qs))
	byKind := map[Kind][]int{}
	for i, q := range qs {
		k, err := KindOf(q.Metric.MetricSource)
		if err != nil {
			out[i].Err = err
			continue
		}
		if c.providers[k] == nil {
			out[i].Err = Errorf(ReasonConfig, "metric %q uses source %s, but the controller has no %s provider configured (see docs/metrics.md)", q.Metric.Name, k, k)
			continue
		}
		byKind[k] = append(byKind[k], i)
	}
	type answer struct {
		kind Kind
		res  []Result
	}
	done := make(chan answer, len(byKind))
	for k, idx := range byKind {
		sub := make([]Query, len(idx))
		for j, i := range idx {
			sub[j] = qs[i]
		}
		go func() { done <- answer{k, c.providers[k].Collect(ctx, sub)} }()
	}
	pending := len(byKind)
	for pending > 0 {
		select {
		case a := <-done:
			pending--
			for j, i := range byKind[a.kind] {
				out[i] = a.res[j]
			}
			delete(byKind, a.kind)
		case <-ctx.Done():
			for k, idx := range byKind {
				for _, i := range idx {
					if errors.Is(ctx.Err(), context.Canceled) {
						out[i].Err = Errorf(ReasonCanceled, "collection was canceled before the %s provider answered: %w", k, ctx.Err())
						continue
					}
					out[i].Err = Errorf(ReasonTimeout, "%s provider did not answer within the cycle timeout %v: %w", k, c.timeout, ctx.Err())
				}
			}
			pending = 0
		}
	}
	for i, q := range qs {
		if out[i].Err == nil {
			out[i] = dropNaN(out[i])
		}
		if out[i].Err != nil {
			out[i].Err = named(q.Metric.Name, out[i].Err)
		}
		k, _ := KindOf(q.Metric.MetricSource)
		c.metrics.record(string(k), q, out[i])
	}
	return out
}

// named makes err name its metric, as Result.Err promises. Where a
// provider's error names it already, the name need not come first: a
// classified error's class precedes it ("no data: metric …").
func named(metric string, err error) error {
	name := fmt.Sprintf("metric %q", metric)
	if strings.Contains(err.Error(), name) {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// dropNaN removes NaN samples, and series left without samples, from every
// provider's answer, and turns an answer left empty into ErrNoData: 0/0 (a
// ratio without traffic) is missing data, not a value.
func dropNaN(r Result) Result {
	if len(r.Series)+len(r.PerPod) == 0 {
		r.Err = Errorf(ReasonNoData, "query returned no series")
		return r
	}
	r.Series, r.PerPod = withoutNaN(r.Series), withoutNaN(r.PerPod)
	if len(r.Series)+len(r.PerPod) == 0 {
		r.Err = Errorf(ReasonNoData, "query returned only NaN (for example 0/0 without traffic)")
	}
	return r
}

// withoutNaN copies rather than filters in place: a provider may hand one
// answer to several queries and keep it in its cache. An answer with
// nothing to drop, nearly every one, is returned as it is: 10,000 policies
// a cycle need not copy.
func withoutNaN(series []Series) []Series {
	if !slices.ContainsFunc(series, func(s Series) bool { return len(s.Samples) == 0 || slices.ContainsFunc(s.Samples, isNaN) }) {
		return series
	}
	var out []Series
	for _, s := range series {
		if slices.ContainsFunc(s.Samples, isNaN) {
			s.Samples = slices.DeleteFunc(slices.Clone(s.Samples), isNaN)
		}
		if len(s.Samples) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func isNaN(s Sample) bool { return math.IsNaN(s.Value) }

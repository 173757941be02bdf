// Package cloudwatch answers CloudWatch sources with GetMetricData, batched
// across every consumer: all queries of one region and time window go out in
// calls of up to 500 queries, following NextToken pages. Credentials come
// from the SDK's default chain (IRSA in a cluster). It also publishes
// trimtab's own decisions with PutMetricData (see Publisher) for users who
// alarm in CloudWatch.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/trimtab/trimtab/collector"
)

// API is the part of the CloudWatch client the provider calls.
type API interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
	ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error)
}

// MaxQueriesPerCall is GetMetricData's limit.
const MaxQueriesPerCall = 500

// Options configure a Provider; zero fields take the documented defaults.
type Options struct {
	// Region is used by sources without one; empty means the SDK's default
	// chain (AWS_REGION, the shared config).
	Region string
	// Endpoint overrides the CloudWatch endpoint (VPC endpoints, emulators).
	Endpoint string
	// ClientOptions are applied to every client after Endpoint; the SDK's
	// defaults (protocol included) stay unless an option changes them.
	ClientOptions []func(*cloudwatch.Options)
	// NewAPI builds the client of a region; default the SDK client over the
	// default credential chain.
	NewAPI func(ctx context.Context, region string) (API, error)
	// Timeout bounds one call, retries by the SDK included (default 20 s).
	Timeout time.Duration
	// MaxDatapoints per call; zero leaves CloudWatch's default (100,800).
	MaxDatapoints int32
	// KnownMetricTTL is how long a ListMetrics answer about a metric's
	// existence is reused (default 10 min).
	KnownMetricTTL time.Duration
	// Now is the clock for queries without At (default time.Now).
	Now func() time.Time
	// Metrics records calls; nil records nothing.
	Metrics *collector.Metrics
}

// Provider implements collector.Provider for cloudwatch sources.
type Provider struct {
	opts    Options
	metrics *collector.ProviderMetrics

	mu    sync.Mutex
	apis  map[string]API
	known map[string]knownMetric
}

type knownMetric struct {
	exists bool
	until  time.Time
}

// New returns a CloudWatch provider.
func New(opts Options) *Provider {
	if opts.NewAPI == nil {
		opts.NewAPI = func(ctx context.Context, region string) (API, error) {
			return NewClient(ctx, region, opts.Endpoint, opts.ClientOptions...)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.KnownMetricTTL <= 0 {
		opts.KnownMetricTTL = 10 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Provider{opts: opts, metrics: opts.Metrics.Provider(string(collector.KindCloudWatch)),
		apis: map[string]API{}, known: map[string]knownMetric{}}
}

// NewClient returns an SDK client for region using the default credential
// chain; endpoint, when set, replaces the regional endpoint.
func NewClient(ctx context.Context, region, endpoint string, extra ...func(*cloudwatch.Options)) (*cloudwatch.Client, error) {
	var load []func(*config.LoadOptions) error
	if region != "" {
		load = append(load, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("no AWS region: set cloudwatch.region, the controller's --aws.region or AWS_REGION")
	}
	opts := extra
	if endpoint != "" {
		opts = append([]func(*cloudwatch.Options){func(o *cloudwatch.Options) { o.BaseEndpoint = aws.String(endpoint) }}, extra...)
	}
	return cloudwatch.NewFromConfig(cfg, opts...), nil
}

// prepared is one validated query.
type prepared struct {
	mdq        types.MetricDataQuery
	region     string
	start, end time.Time
}

var statRE = regexp.MustCompile(`^(Average|Sum|Minimum|Maximum|SampleCount|p\d{1,2}(\.\d+)?)$`)

func (p *Provider) prepare(q collector.Query, now time.Time) (prepared, error) {
	src := q.Metric.CloudWatch
	if src == nil {
		return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch provider got a metric without a cloudwatch source")
	}
	period := src.PeriodSeconds
	if period == 0 {
		period = 60
	}
	if !validPeriod(period) {
		return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch.periodSeconds %d must be 1, 5, 10, 30 or a multiple of 60", period)
	}
	pr := prepared{region: src.Region}
	if pr.region == "" {
		pr.region = p.opts.Region
	}
	vars := q.Vars()
	switch {
	case (src.Expression == "") == (src.MetricName == ""):
		return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch: set exactly one of metricName or expression")
	case src.Expression != "":
		expr, err := collector.Render("cloudwatch.expression", src.Expression, vars)
		if err != nil {
			return prepared{}, err
		}
		if strings.Contains(strings.ToUpper(expr), "METRICS(") {
			return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch.expression: METRICS() would read the other queries trimtab sends in the same request; select the metrics with SEARCH(...) instead")
		}
		pr.mdq = types.MetricDataQuery{Expression: aws.String(expr), Period: aws.Int32(period)}
	default:
		if src.Namespace == "" {
			return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch.namespace is required with metricName (e.g. AWS/SQS)")
		}
		stat := src.Statistic
		if stat == "" {
			stat = "Average"
		}
		if !statRE.MatchString(stat) {
			return prepared{}, collector.Errorf(collector.ReasonConfig, "cloudwatch.statistic %q: use Average, Sum, Minimum, Maximum, SampleCount or a percentile such as p99", stat)
		}
		dims := make([]types.Dimension, len(src.Dimensions))
		for i, d := range src.Dimensions {
			v, err := collector.Render(fmt.Sprintf("cloudwatch.dimensions[%s]", d.Name), d.Value, vars)
			if err != nil {
				return prepared{}, err
			}
			dims[i] = types.Dimension{Name: aws.String(d.Name), Value: aws.String(v)}
		}
		pr.mdq = types.MetricDataQuery{MetricStat: &types.MetricStat{
			Metric: &types.Metric{Namespace: aws.String(src.Namespace), MetricName: aws.String(src.MetricName), Dimensions: dims},
			Period: aws.Int32(period),
			Stat:   aws.String(stat),
		}}
	}
	pr.mdq.ReturnData = aws.Bool(true)
	if r := q.Range; r != nil {
		pr.start, pr.end = r.Start, r.End
	} else {
		end := q.At
		if end.IsZero() {
			end = now
		}
		// Whole periods, so that every consumer in the same period asks for
		// the same window and shares a call.
		p := time.Duration(period) * time.Second
		pr.end = end.Truncate(p)
		pr.start = pr.end.Add(-max(q.Window(), p))
	}
	return pr, nil
}

// Collect implements collector.Provider.
func (p *Provider) Collect(ctx context.Context, qs []collector.Query) []collector.Result {
	out := make([]collector.Result, len(qs))
	now := p.opts.Now()
	groups := map[string][]int{}
	preps := make([]prepared, len(qs))
	for i, q := range qs {
		pr, err := p.prepare(q, now)
		if err != nil {
			out[i].Err = fmt.Errorf("metric %q: %w", q.Metric.Name, err)
			continue
		}
		preps[i] = pr
		key := fmt.Sprintf("%s|%d|%d", pr.region, pr.start.Unix(), pr.end.Unix())
		groups[key] = append(groups[key], i)
	}
	var wg sync.WaitGroup
	for _, idx := range groups {
		for lo := 0; lo < len(idx); lo += MaxQueriesPerCall {
			chunk := idx[lo:min(lo+MaxQueriesPerCall, len(idx))]
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.run(ctx, preps, chunk, out)
				for _, i := range chunk {
					if out[i].Err != nil {
						out[i].Err = fmt.Errorf("metric %q: %w", qs[i].Metric.Name, out[i].Err)
					}
				}
			}()
		}
	}
	wg.Wait()
	return out
}

// run answers the queries idx (one region and window) with one paginated
// GetMetricData call. When CloudWatch rejects the call as a whole, it
// halves the batch until each bad query has its own error.
func (p *Provider) run(ctx context.Context, preps []prepared, idx []int, out []collector.Result) {
	first := preps[idx[0]]
	a, err := p.api(ctx, first.region)
	if err != nil {
		for _, i := range idx {
			out[i].Err = err
		}
		return
	}
	in := &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(first.start),
		EndTime:   aws.Time(first.end),
		ScanBy:    types.ScanByTimestampAscending,
	}
	if p.opts.MaxDatapoints > 0 {
		in.MaxDatapoints = aws.Int32(p.opts.MaxDatapoints)
	}
	for j, i := range idx {
		mdq := preps[i].mdq
		mdq.Id = aws.String(queryID(j))
		in.MetricDataQueries = append(in.MetricDataQueries, mdq)
	}
	byID, warnings, err := p.getAll(ctx, a, in, len(idx))
	if err != nil {
		// Halve only a batch CloudWatch rejected for a query in it, so that
		// each bad query gets its own error; refused credentials concern
		// no query, and halving would cost 999 calls for 500 queries.
		if collector.ReasonOf(err) == collector.ReasonBadQuery && len(idx) > 1 {
			p.run(ctx, preps, idx[:len(idx)/2], out)
			p.run(ctx, preps, idx[len(idx)/2:], out)
			return
		}
		for _, i := range idx {
			out[i].Err = err
		}
		return
	}
	for j, i := range idx {
		res := byID[queryID(j)]
		out[i] = collector.Result{Warnings: warnings}
		if res == nil {
			out[i].Err = collector.Errorf(collector.ReasonBadResponse, "GetMetricData returned no result for the query")
			continue
		}
		// A copy per query: appended to in place, the call's shared
		// warnings would take each query's messages over the others'.
		out[i].Warnings = slices.Concat(warnings, res.messages)
		if res.err != nil {
			out[i].Err = res.err
			continue
		}
		series := res.series()
		if preps[i].mdq.MetricStat != nil && !slices.ContainsFunc(series, hasSamples) {
			if exists, err := p.exists(ctx, a, first.region, preps[i].mdq.MetricStat.Metric); err == nil && !exists {
				out[i].Err = collector.Errorf(collector.ReasonUnknownMetric, "CloudWatch in %s has no metric %s", first.region, describe(preps[i].mdq.MetricStat.Metric))
				continue
			}
		}
		out[i].Series = series
	}
}

func hasSamples(s collector.Series) bool { return len(s.Samples) > 0 }

// queryID names the j-th query of a request. The prefix keeps a user's
// expression from naming another consumer's query by accident (ids such as
// q3 or m1 are what metric math examples use).
func queryID(j int) string { return fmt.Sprintf("trimtab_q%d", j) }

// result accumulates one query id's pages.
type result struct {
	byLabel  map[string]*collector.Series
	messages []string
	err      error
}

func (r *result) series() []collector.Series {
	labels := make([]string, 0, len(r.byLabel))
	for l := range r.byLabel {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	out := make([]collector.Series, 0, len(labels))
	for _, l := range labels {
		s := r.byLabel[l]
		sort.Slice(s.Samples, func(i, j int) bool { return s.Samples[i].Time.Before(s.Samples[j].Time) })
		out = append(out, *s)
	}
	return out
}

func (p *Provider) getAll(ctx context.Context, a API, in *cloudwatch.GetMetricDataInput, batch int) (map[string]*result, []string, error) {
	byID := map[string]*result{}
	var warnings []string
	for {
		began := time.Now()
		cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		page, err := a.GetMetricData(cctx, in)
		cancel()
		p.metrics.Request(time.Since(began), batch)
		if err != nil {
			return nil, nil, classify(err)
		}
		for _, m := range page.Messages {
			warnings = append(warnings, fmt.Sprintf("%s: %s", aws.ToString(m.Code), aws.ToString(m.Value)))
		}
		for _, r := range page.MetricDataResults {
			id := aws.ToString(r.Id)
			res := byID[id]
			if res == nil {
				res = &result{byLabel: map[string]*collector.Series{}}
				byID[id] = res
			}
			for _, m := range r.Messages {
				res.messages = append(res.messages, fmt.Sprintf("%s: %s", aws.ToString(m.Code), aws.ToString(m.Value)))
			}
			switch r.StatusCode {
			case types.StatusCodeInternalError:
				res.err = collector.Errorf(collector.ReasonUnavailable, "CloudWatch reported an internal error: %s", strings.Join(res.messages, "; "))
			case types.StatusCodeForbidden:
				res.err = collector.Errorf(collector.ReasonConfig, "CloudWatch denied access; the controller's role needs cloudwatch:GetMetricData: %s", strings.Join(res.messages, "; "))
			}
			label := aws.ToString(r.Label)
			s := res.byLabel[label]
			if s == nil {
				s = &collector.Series{}
				if label != "" {
					s.Labels = map[string]string{"label": label}
				}
				res.byLabel[label] = s
			}
			for k, ts := range r.Timestamps {
				if k < len(r.Values) {
					s.Samples = append(s.Samples, collector.Sample{Time: ts, Value: r.Values[k]})
				}
			}
		}
		if page.NextToken == nil || *page.NextToken == "" {
			return byID, warnings, nil
		}
		in.NextToken = page.NextToken
	}
}

// exists asks ListMetrics whether a metric exists, so that a typo is a
// permanent error rather than endless "no data".
func (p *Provider) exists(ctx context.Context, a API, region string, m *types.Metric) (bool, error) {
	key := region + "|" + describe(m)
	now := p.opts.Now()
	p.mu.Lock()
	k, ok := p.known[key]
	p.mu.Unlock()
	if ok && now.Before(k.until) {
		return k.exists, nil
	}
	filters := make([]types.DimensionFilter, len(m.Dimensions))
	for i, d := range m.Dimensions {
		filters[i] = types.DimensionFilter{Name: d.Name, Value: d.Value}
	}
	cctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	began := time.Now()
	out, err := a.ListMetrics(cctx, &cloudwatch.ListMetricsInput{Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: filters})
	p.metrics.Request(time.Since(began), 1)
	if err != nil {
		return false, classify(err)
	}
	exists := len(out.Metrics) > 0
	p.mu.Lock()
	p.known[key] = knownMetric{exists: exists, until: now.Add(p.opts.KnownMetricTTL)}
	p.mu.Unlock()
	return exists, nil
}

func describe(m *types.Metric) string {
	dims := make([]string, len(m.Dimensions))
	for i, d := range m.Dimensions {
		dims[i] = aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
	}
	sort.Strings(dims)
	return fmt.Sprintf("%s %s {%s}", aws.ToString(m.Namespace), aws.ToString(m.MetricName), strings.Join(dims, ", "))
}

func (p *Provider) api(ctx context.Context, region string) (API, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.apis[region]; a != nil {
		return a, nil
	}
	a, err := p.opts.NewAPI(ctx, region)
	if err != nil {
		return nil, collector.Errorf(collector.ReasonConfig, "cloudwatch client for region %q: %w", region, err)
	}
	p.apis[region] = a
	return a, nil
}

// permanentCodes are CloudWatch error codes that retrying cannot fix.
var permanentCodes = map[string]bool{
	"InvalidParameterValue": true, "InvalidParameterCombination": true, "MissingParameter": true,
	"ValidationError": true, "InvalidNextToken": true, "InvalidParameterInput": true,
}

func classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); {
		case permanentCodes[code]:
			return collector.Errorf(collector.ReasonBadQuery, "CloudWatch rejected the request: %w", err)
		case code == "AccessDenied" || code == "AccessDeniedException" || code == "UnrecognizedClientException" || code == "InvalidClientTokenId":
			return collector.Errorf(collector.ReasonConfig, "CloudWatch refused the credentials: %w", err)
		case ae.ErrorFault() == smithy.FaultServer || strings.Contains(code, "Throttl") || code == "LimitExceeded":
			return collector.Errorf(collector.ReasonUnavailable, "CloudWatch: %w", err)
		}
	}
	return collector.Classify(fmt.Errorf("CloudWatch: %w", err))
}

func validPeriod(p int32) bool {
	return p == 1 || p == 5 || p == 10 || p == 30 || (p > 0 && p%60 == 0)
}

package cloudwatch_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"
	promclient "github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	"github.com/trimtab/trimtab/collector/cloudwatch"
	"github.com/trimtab/trimtab/collector/collectortest"
	"github.com/trimtab/trimtab/internal/testenv"
)

// moto is one moto server for the package; tests Reset it.
var moto *testenv.Moto

func TestMain(m *testing.M) {
	var err error
	if moto, err = testenv.NewMoto(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	moto.Stop()
	os.Exit(code)
}

// motoClient talks to moto. moto does not speak the smithy-rpcv2-cbor
// protocol the SDK uses by default since cloudwatch v1.53, so the test (and
// only the test) selects awsquery.
func motoClient() *awscw.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	return awscw.NewFromConfig(cfg, func(o *awscw.Options) {
		o.BaseEndpoint = aws.String(moto.URL)
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	})
}

func cwQuery(name, group string, src trimtabv1.CloudWatchSource, target string) collector.Query {
	return collector.Query{
		Owner:    collector.Owner{Kind: "scalingpolicy", Name: target},
		Metric:   trimtabv1.Metric{Name: name, Group: group, MetricSource: trimtabv1.MetricSource{CloudWatch: &src}},
		Target:   collector.Target{Namespace: "shop", Name: target, Variant: collector.VariantPrimary},
		Interval: 10 * time.Minute,
	}
}

func TestCloudWatchMotoPutThenGet(t *testing.T) {
	require.NoError(t, moto.Reset())
	ctx := context.Background()
	client := motoClient()
	now := time.Now()
	const queues = 600

	// Publish through trimtab's own Publisher: backlog per queue, a
	// business metric, and a release decision.
	var data []cloudwatch.Datum
	for i := range queues {
		data = append(data, cloudwatch.Datum{Name: "Backlog", Dimensions: map[string]string{"QueueName": fmt.Sprintf("q-%d", i)},
			Value: float64(i), Unit: types.StandardUnitCount, Time: now.Add(-2 * time.Minute)})
	}
	data = append(data, cloudwatch.Datum{Name: "OrdersPerMinute", Dimensions: map[string]string{"Service": "checkout"},
		Value: 42, Unit: types.StandardUnitCount, Time: now.Add(-2 * time.Minute)})
	require.NoError(t, cloudwatch.NewPublisher(client, "Test/App").Publish(ctx, data))
	require.NoError(t, cloudwatch.NewPublisher(client, "").Publish(ctx, cloudwatch.ReleaseDecision("shop", "checkout", 97, true, now.Add(-2*time.Minute))))

	reg := promclient.NewRegistry()
	metrics := collector.NewMetrics(reg)
	p := cloudwatch.New(cloudwatch.Options{
		Region:  "us-east-1",
		NewAPI:  func(context.Context, string) (cloudwatch.API, error) { return client, nil },
		Metrics: metrics,
	})
	c := collector.New(map[collector.Kind]collector.Provider{collector.KindCloudWatch: p}, collector.Options{Metrics: metrics})

	backlog := trimtabv1.CloudWatchSource{Namespace: "Test/App", MetricName: "Backlog", Statistic: "Maximum", PeriodSeconds: 60,
		Dimensions: []trimtabv1.CloudWatchDimension{{Name: "QueueName", Value: "{{.Name}}"}}}
	var qs []collector.Query
	for i := range queues {
		qs = append(qs, cwQuery("backlog", "infra", backlog, fmt.Sprintf("q-%d", i)))
	}
	qs = append(qs,
		cwQuery("orders", "business", trimtabv1.CloudWatchSource{Namespace: "Test/App", MetricName: "OrdersPerMinute", Statistic: "Sum",
			Dimensions: []trimtabv1.CloudWatchDimension{{Name: "Service", Value: "checkout"}}}, "checkout"),
		cwQuery("score", "app", trimtabv1.CloudWatchSource{Namespace: "Trimtab", MetricName: "ReleaseScore",
			Dimensions: []trimtabv1.CloudWatchDimension{{Name: "Namespace", Value: "shop"}, {Name: "Release", Value: "checkout"}}}, "checkout"),
		cwQuery("typo", "app", trimtabv1.CloudWatchSource{Namespace: "Test/App", MetricName: "Backlgo"}, "q-1"),
		cwQuery("bad-stat", "app", trimtabv1.CloudWatchSource{Namespace: "Test/App", MetricName: "Backlog", Statistic: "Median"}, "q-1"),
	)
	res := c.Collect(ctx, qs)

	for i := range queues {
		require.NoError(t, res[i].Err, "queue %d", i)
		s, err := res[i].Latest()
		require.NoError(t, err)
		require.Equal(t, float64(i), s.Value, "queue %d", i)
	}
	orders, err := res[queues].Latest()
	require.NoError(t, err)
	require.Equal(t, 42.0, orders.Value)
	score, err := res[queues+1].Latest()
	require.NoError(t, err)
	require.Equal(t, 97.0, score.Value)

	require.ErrorIs(t, res[queues+2].Err, collector.ErrPermanent)
	require.Equal(t, collector.ReasonUnknownMetric, collector.ReasonOf(res[queues+2].Err))
	require.Contains(t, res[queues+2].Err.Error(), "no metric Test/App Backlgo")
	require.ErrorIs(t, res[queues+3].Err, collector.ErrPermanent)
	require.Contains(t, res[queues+3].Err.Error(), "cloudwatch.statistic")

	// 603 valid queries share a window: two GetMetricData calls (500 + 103)
	// plus one ListMetrics for the typo.
	require.Equal(t, 3.0, collectortest.Value(t, reg, "trimtab_collector_requests_total", map[string]string{"provider": "cloudwatch"}))
	require.Equal(t, 42.0, collectortest.Value(t, reg, "trimtab_metric_value", map[string]string{"metric": "orders", "group": "business", "owner_kind": "scalingpolicy"}))
}

// fakeAPI is a scripted GetMetricData/ListMetrics: moto 5.2.1 neither
// paginates GetMetricData nor evaluates metric-math expressions.
type fakeAPI struct {
	mu    sync.Mutex
	calls []*awscw.GetMetricDataInput
	pages func(in *awscw.GetMetricDataInput) (*awscw.GetMetricDataOutput, error)
}

func (f *fakeAPI) GetMetricData(_ context.Context, in *awscw.GetMetricDataInput, _ ...func(*awscw.Options)) (*awscw.GetMetricDataOutput, error) {
	f.mu.Lock()
	cp := *in
	f.calls = append(f.calls, &cp)
	f.mu.Unlock()
	return f.pages(in)
}

func (f *fakeAPI) ListMetrics(context.Context, *awscw.ListMetricsInput, ...func(*awscw.Options)) (*awscw.ListMetricsOutput, error) {
	return &awscw.ListMetricsOutput{Metrics: []types.Metric{{}}}, nil
}

func fakeProvider(f *fakeAPI) *cloudwatch.Provider {
	return cloudwatch.New(cloudwatch.Options{Region: "eu-west-1", NewAPI: func(context.Context, string) (cloudwatch.API, error) { return f, nil }})
}

func TestCloudWatchPaginationAndExpressions(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	f := &fakeAPI{}
	f.pages = func(in *awscw.GetMetricDataInput) (*awscw.GetMetricDataOutput, error) {
		// Page 1 has the first datapoint of each series, page 2 the second.
		page := 0
		if in.NextToken != nil {
			page = 1
		}
		out := &awscw.GetMetricDataOutput{}
		if page == 0 {
			out.NextToken = aws.String("page-2")
		}
		ts := []time.Time{t0.Add(time.Duration(page) * time.Minute)}
		for _, q := range in.MetricDataQueries {
			if q.Expression != nil {
				for _, label := range []string{"orders-eu", "orders-us"} {
					out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{Id: q.Id, Label: aws.String(label),
						StatusCode: types.StatusCodeComplete, Timestamps: ts, Values: []float64{float64(10*page + len(label))}})
				}
				continue
			}
			out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{Id: q.Id, Label: aws.String("x"),
				StatusCode: types.StatusCodeComplete, Timestamps: ts, Values: []float64{float64(page + 1)}})
		}
		return out, nil
	}
	expr := trimtabv1.CloudWatchSource{Expression: `SUM(SEARCH('{Shop,Region} MetricName="Orders" Service="{{.Name}}"', 'Sum', 60))`, PeriodSeconds: 60}
	stat := trimtabv1.CloudWatchSource{Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible"}
	res := fakeProvider(f).Collect(context.Background(), []collector.Query{
		cwQuery("orders", "business", expr, "checkout"),
		cwQuery("backlog", "infra", stat, "q"),
	})
	require.Len(t, f.calls, 2, "two pages")
	require.Equal(t, `SUM(SEARCH('{Shop,Region} MetricName="Orders" Service="checkout"', 'Sum', 60))`, aws.ToString(f.calls[0].MetricDataQueries[0].Expression))
	require.Equal(t, "page-2", aws.ToString(f.calls[1].NextToken))

	require.NoError(t, res[0].Err)
	require.Len(t, res[0].Series, 2, "one series per expression label")
	require.Equal(t, map[string]string{"label": "orders-eu"}, res[0].Series[0].Labels)
	require.Equal(t, []collector.Sample{{Time: t0, Value: 9}, {Time: t0.Add(time.Minute), Value: 19}}, res[0].Series[0].Samples)

	require.NoError(t, res[1].Err)
	vals, err := res[1].Values()
	require.NoError(t, err)
	require.Equal(t, []float64{1, 2}, vals, "pages are merged in time order")
}

// TestExpressionsCannotReadOtherQueries: queries of many consumers share
// one GetMetricData request, so an expression must not reach the others:
// METRICS() would sum them all, and an id such as q1 (what metric math
// examples use) must not name one.
func TestExpressionsCannotReadOtherQueries(t *testing.T) {
	f := &fakeAPI{}
	f.pages = func(in *awscw.GetMetricDataInput) (*awscw.GetMetricDataOutput, error) {
		out := &awscw.GetMetricDataOutput{}
		for _, q := range in.MetricDataQueries {
			out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{Id: q.Id, StatusCode: types.StatusCodeComplete,
				Timestamps: []time.Time{time.Unix(1_700_000_000, 0)}, Values: []float64{1}})
		}
		return out, nil
	}
	stat := trimtabv1.CloudWatchSource{Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible"}
	res := fakeProvider(f).Collect(context.Background(), []collector.Query{
		cwQuery("all", "app", trimtabv1.CloudWatchSource{Expression: "SUM(metrics())", PeriodSeconds: 60}, "w"),
		cwQuery("backlog", "infra", stat, "q"),
		cwQuery("orders", "business", trimtabv1.CloudWatchSource{Expression: "SEARCH('{Shop} Orders', 'Sum', 60)", PeriodSeconds: 60}, "w"),
	})
	require.ErrorIs(t, res[0].Err, collector.ErrPermanent)
	require.Equal(t, collector.ReasonConfig, collector.ReasonOf(res[0].Err))
	require.ErrorContains(t, res[0].Err, `metric "all": cloudwatch.expression: METRICS() would read the other queries`)
	require.NoError(t, res[1].Err)
	require.NoError(t, res[2].Err)
	require.Len(t, f.calls, 1)
	var ids []string
	for _, q := range f.calls[0].MetricDataQueries {
		ids = append(ids, aws.ToString(q.Id))
	}
	require.Equal(t, []string{"trimtab_q0", "trimtab_q1"}, ids, "ids a user's expression does not name by accident")
}

func TestCloudWatchBadQueryIsIsolated(t *testing.T) {
	f := &fakeAPI{}
	f.pages = func(in *awscw.GetMetricDataInput) (*awscw.GetMetricDataOutput, error) {
		out := &awscw.GetMetricDataOutput{}
		for _, q := range in.MetricDataQueries {
			if q.Expression != nil && strings.Contains(*q.Expression, "BROKEN") {
				return nil, &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "Syntax error in expression", Fault: smithy.FaultClient}
			}
			out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{Id: q.Id, StatusCode: types.StatusCodeComplete,
				Timestamps: []time.Time{time.Unix(1_700_000_000, 0)}, Values: []float64{1}})
		}
		return out, nil
	}
	var qs []collector.Query
	for i := range 8 {
		src := trimtabv1.CloudWatchSource{Expression: fmt.Sprintf("SEARCH('x%d', 'Sum', 60)", i), PeriodSeconds: 60}
		if i == 5 {
			src.Expression = "BROKEN("
		}
		qs = append(qs, cwQuery(fmt.Sprintf("m%d", i), "app", src, "w"))
	}
	res := fakeProvider(f).Collect(context.Background(), qs)
	for i, r := range res {
		if i == 5 {
			require.ErrorIs(t, r.Err, collector.ErrPermanent)
			require.Equal(t, collector.ReasonBadQuery, collector.ReasonOf(r.Err))
			require.Contains(t, r.Err.Error(), "Syntax error in expression")
			require.Contains(t, r.Err.Error(), `metric "m5"`)
			continue
		}
		require.NoError(t, r.Err, "query %d", i)
	}
	// 1 combined call, then halving: 8 -> 4+4 -> (2+2) -> (1+1): 7 calls.
	require.Len(t, f.calls, 7)
}

// TestCloudWatchRefusedCredentialsCostOneCall: the halving that isolates a
// bad query is for errors about a query; credentials that CloudWatch
// refuses fail every query alike, and 500 queries cost 999 calls a cycle.
func TestCloudWatchRefusedCredentialsCostOneCall(t *testing.T) {
	for _, code := range []string{"AccessDenied", "AccessDeniedException", "UnrecognizedClientException"} {
		t.Run(code, func(t *testing.T) {
			f := &fakeAPI{}
			f.pages = func(*awscw.GetMetricDataInput) (*awscw.GetMetricDataOutput, error) {
				return nil, &smithy.GenericAPIError{Code: code, Message: "not authorized", Fault: smithy.FaultClient}
			}
			var qs []collector.Query
			for i := range 500 {
				src := trimtabv1.CloudWatchSource{Expression: fmt.Sprintf("SEARCH('x%d', 'Sum', 60)", i), PeriodSeconds: 60}
				qs = append(qs, cwQuery(fmt.Sprintf("m%d", i), "app", src, "w"))
			}
			res := fakeProvider(f).Collect(context.Background(), qs)
			for _, r := range res {
				require.Equal(t, collector.ReasonConfig, collector.ReasonOf(r.Err))
			}
			require.Len(t, f.calls, 1)
		})
	}
}

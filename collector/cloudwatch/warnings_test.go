package cloudwatch_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/stretchr/testify/require"

	trimtabv1 "github.com/trimtab/trimtab/api/v1alpha1"
	"github.com/trimtab/trimtab/collector"
	cw "github.com/trimtab/trimtab/collector/cloudwatch"
)

// msgAPI answers with three call-level messages and one message per query.
type msgAPI struct{}

func (msgAPI) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	out := &cloudwatch.GetMetricDataOutput{Messages: []types.MessageData{
		{Code: aws.String("Info"), Value: aws.String("call-1")},
		{Code: aws.String("Info"), Value: aws.String("call-2")},
		{Code: aws.String("Info"), Value: aws.String("call-3")},
	}}
	for _, q := range in.MetricDataQueries {
		out.MetricDataResults = append(out.MetricDataResults, types.MetricDataResult{
			Id: q.Id, Label: aws.String("l"), StatusCode: types.StatusCodeComplete,
			Timestamps: []time.Time{*in.EndTime}, Values: []float64{1},
			Messages: []types.MessageData{{Code: aws.String("ArithmeticError"), Value: aws.String("only for " + *q.Id)}},
		})
	}
	return out, nil
}
func (msgAPI) ListMetrics(context.Context, *cloudwatch.ListMetricsInput, ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	return &cloudwatch.ListMetricsOutput{}, nil
}

// TestWarningsStayWithTheirQuery: each query gets the call's warnings and
// its own messages, none of another query's.
func TestWarningsStayWithTheirQuery(t *testing.T) {
	p := cw.New(cw.Options{Region: "us-east-1", NewAPI: func(context.Context, string) (cw.API, error) { return msgAPI{}, nil }})
	mk := func(name string) collector.Query {
		return collector.Query{Metric: trimtabv1.Metric{Name: name, MetricSource: trimtabv1.MetricSource{CloudWatch: &trimtabv1.CloudWatchSource{
			Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible",
			Dimensions: []trimtabv1.CloudWatchDimension{{Name: "QueueName", Value: name}}}}}}
	}
	res := p.Collect(context.Background(), []collector.Query{mk("orders"), mk("payments")})
	require.NoError(t, res[0].Err)
	t.Logf("query 0 warnings: %q", res[0].Warnings)
	t.Logf("query 1 warnings: %q", res[1].Warnings)
	require.Contains(t, res[0].Warnings, "ArithmeticError: only for trimtab_q0")
	require.NotContains(t, res[0].Warnings, "ArithmeticError: only for trimtab_q1")
}

package cloudwatch

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// PutAPI is the part of the CloudWatch client the Publisher calls.
type PutAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// maxPutData is PutMetricData's limit of metric data per request.
const maxPutData = 1000

// DefaultNamespace is where trimtab publishes its decisions.
const DefaultNamespace = "Trimtab"

// Datum is one value trimtab publishes.
type Datum struct {
	// Name is the CloudWatch metric name, e.g. ReleaseScore.
	Name string
	// Dimensions, e.g. Namespace and Release.
	Dimensions map[string]string
	Value      float64
	Unit       types.StandardUnit
	Time       time.Time
}

// Publisher pushes release and scaling decisions to CloudWatch, for users
// who alarm there (enabled by a controller flag).
type Publisher struct {
	api       PutAPI
	namespace string
}

// NewPublisher publishes into namespace (DefaultNamespace when empty).
func NewPublisher(api PutAPI, namespace string) *Publisher {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Publisher{api: api, namespace: namespace}
}

// ReleaseDecision is the data for one release judgement: its score (0-100)
// and whether it passed.
func ReleaseDecision(namespace, release string, score float64, passed bool, at time.Time) []Datum {
	dims := map[string]string{"Namespace": namespace, "Release": release}
	pass := 0.0
	if passed {
		pass = 1
	}
	return []Datum{
		{Name: "ReleaseScore", Dimensions: dims, Value: score, Unit: types.StandardUnitNone, Time: at},
		{Name: "ReleasePassed", Dimensions: dims, Value: pass, Unit: types.StandardUnitCount, Time: at},
	}
}

// ScalingDecision is the data for one scaling decision.
func ScalingDecision(namespace, policy string, current, desired int32, at time.Time) []Datum {
	dims := map[string]string{"Namespace": namespace, "ScalingPolicy": policy}
	return []Datum{
		{Name: "CurrentReplicas", Dimensions: dims, Value: float64(current), Unit: types.StandardUnitCount, Time: at},
		{Name: "DesiredReplicas", Dimensions: dims, Value: float64(desired), Unit: types.StandardUnitCount, Time: at},
	}
}

// Publish sends data in as few PutMetricData calls as the limit allows.
func (p *Publisher) Publish(ctx context.Context, data []Datum) error {
	for lo := 0; lo < len(data); lo += maxPutData {
		chunk := data[lo:min(lo+maxPutData, len(data))]
		in := &cloudwatch.PutMetricDataInput{Namespace: aws.String(p.namespace)}
		for _, d := range chunk {
			names := make([]string, 0, len(d.Dimensions))
			for n := range d.Dimensions {
				names = append(names, n)
			}
			sort.Strings(names)
			dims := make([]types.Dimension, len(names))
			for i, n := range names {
				dims[i] = types.Dimension{Name: aws.String(n), Value: aws.String(d.Dimensions[n])}
			}
			in.MetricData = append(in.MetricData, types.MetricDatum{
				MetricName: aws.String(d.Name), Dimensions: dims, Value: aws.Float64(d.Value),
				Unit: d.Unit, Timestamp: aws.Time(d.Time),
			})
		}
		if _, err := p.api.PutMetricData(ctx, in); err != nil {
			return fmt.Errorf("put %d metric data into CloudWatch namespace %s: %w", len(chunk), p.namespace, classify(err))
		}
	}
	return nil
}
